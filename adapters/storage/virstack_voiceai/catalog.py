"""The global provider / model / voice catalog of Virstack (not tenant-owned).

Seeded once, on the first start of an install (``seed_once``; recorded in ``vs_meta`` so that
admin deletions are not undone by a restart), with the engines seed 004 names: Google Gemini
(Live API models, its 30 prebuilt voices) and xAI Grok (voice agent, its 5 voices). Everything
is editable afterwards through the /admin/providers operations.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from adapters.storage.database import Database
from adapters.storage.virstack_voiceai.tables import VsMeta, VsProvider, VsProviderModel
from core.clock import utcnow

SEED_KEY = "catalog_seed_version"
SEED_VERSION = "1"

LANGUAGES = [
    ("en", "English"), ("es", "Spanish"), ("fr", "French"), ("de", "German"), ("it", "Italian"),
    ("pt", "Portuguese"), ("nl", "Dutch"), ("pl", "Polish"), ("ru", "Russian"), ("tr", "Turkish"),
    ("hi", "Hindi"), ("ja", "Japanese"), ("ko", "Korean"), ("zh", "Chinese"), ("ar", "Arabic"),
    ("id", "Indonesian"), ("vi", "Vietnamese"), ("th", "Thai"), ("bn", "Bengali"), ("ta", "Tamil"),
]

# Gemini's 30 prebuilt voices: (name, gender, style).
GEMINI_VOICES = [
    ("Zephyr", "female", "Bright"), ("Puck", "male", "Upbeat"), ("Charon", "male", "Informative"),
    ("Kore", "female", "Firm"), ("Fenrir", "male", "Excitable"), ("Leda", "female", "Youthful"),
    ("Orus", "male", "Firm"), ("Aoede", "female", "Breezy"), ("Callirrhoe", "female", "Easy-going"),
    ("Autonoe", "female", "Bright"), ("Enceladus", "male", "Breathy"), ("Iapetus", "male", "Clear"),
    ("Umbriel", "male", "Easy-going"), ("Algieba", "male", "Smooth"), ("Despina", "female", "Smooth"),
    ("Erinome", "female", "Clear"), ("Algenib", "male", "Gravelly"), ("Rasalgethi", "male", "Informative"),
    ("Laomedeia", "female", "Upbeat"), ("Achernar", "female", "Soft"), ("Alnilam", "male", "Firm"),
    ("Schedar", "male", "Even"), ("Gacrux", "female", "Mature"), ("Pulcherrima", "female", "Forward"),
    ("Achird", "male", "Friendly"), ("Zubenelgenubi", "male", "Casual"), ("Vindemiatrix", "female", "Gentle"),
    ("Sadachbia", "male", "Lively"), ("Sadaltager", "male", "Knowledgeable"), ("Sulafat", "female", "Warm"),
]
GROK_VOICES = [
    ("Ara", "female", "Warm, friendly"), ("Rex", "male", "Confident, clear"), ("Sal", "neutral", "Smooth, balanced"),
    ("Eve", "female", "Energetic, upbeat"), ("Leo", "male", "Authoritative, strong"),
]


def _voices(table: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [{"voice_id": n, "display_name": n, "gender": g, "description": d, "is_active": True} for n, g, d in table]


def _languages(codes: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"code": c, "display_name": n} for c, n in codes]


def seed_catalog() -> list[dict[str, Any]]:
    """The catalog written on first start: providers with their models."""
    thinking = ["minimal", "low", "medium", "high"]
    return [
        {
            "provider_id": "gemini",
            "display_name": "Google Gemini",
            "models": [
                {
                    "model_id": "gemini-2.0-flash-live",
                    "display_name": "Gemini 2.0 Flash Live",
                    "is_default": True,
                    "capabilities": {
                        "supports_thinking": False, "thinking_levels": [],
                        "supported_languages": _languages(LANGUAGES), "supports_voice_config": True,
                        "supports_knowledge_base": True, "supports_tools": True,
                    },
                    "voices": _voices(GEMINI_VOICES),
                    "validation_rules": {"required_fields": [], "exclusive_languages": []},
                },
                {
                    "model_id": "gemini-2.5-flash-native-audio",
                    "display_name": "Gemini 2.5 Flash Native Audio",
                    "is_default": False,
                    "capabilities": {
                        "supports_thinking": True, "thinking_levels": thinking,
                        "supported_languages": _languages(LANGUAGES + [("si", "Sinhala")]),
                        "supports_voice_config": True, "supports_knowledge_base": True, "supports_tools": True,
                    },
                    "voices": _voices(GEMINI_VOICES),
                    "validation_rules": {"required_fields": ["include_thoughts", "thinking_level"],
                                         "exclusive_languages": ["si"]},
                },
            ],
        },
        {
            "provider_id": "grok",
            "display_name": "xAI Grok",
            "models": [
                {
                    "model_id": "grok-voice-agent",
                    "display_name": "Grok Voice Agent",
                    "is_default": True,
                    "capabilities": {
                        "supports_thinking": False, "thinking_levels": [],
                        "supported_languages": _languages(LANGUAGES[:10]), "supports_voice_config": True,
                        "supports_knowledge_base": True, "supports_tools": True,
                    },
                    "voices": _voices(GROK_VOICES),
                    "validation_rules": {"required_fields": [], "exclusive_languages": []},
                },
            ],
        },
    ]


class DuplicateEntry(Exception):
    """A provider or model with that id already exists."""


@dataclass(frozen=True)
class ModelRecord:
    """A catalog model: capabilities, voices and validation rules as stored, flags, UTC timestamps."""

    provider_id: str
    model_id: str
    display_name: str
    is_active: bool
    is_default: bool
    capabilities: dict[str, Any]
    voices: list[dict[str, Any]]
    validation_rules: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ProviderRecord:
    """A catalog provider with its models (in catalog order)."""

    provider_id: str
    display_name: str
    is_active: bool
    created_at: datetime
    updated_at: datetime
    models: list[ModelRecord] = field(default_factory=list)


def _model(row: VsProviderModel) -> ModelRecord:
    return ModelRecord(row.provider_id, row.model_id, row.display_name, row.is_active, row.is_default,
                       copy.deepcopy(row.capabilities), copy.deepcopy(row.voices), copy.deepcopy(row.validation_rules),
                       row.created_at, row.updated_at)


def _models(s: Session, provider_id: str, active_only: bool) -> list[ModelRecord]:
    query = select(VsProviderModel).where(VsProviderModel.provider_id == provider_id)
    if active_only:
        query = query.where(col(VsProviderModel.is_active).is_(True))
    rows = s.exec(query.order_by(col(VsProviderModel.position), col(VsProviderModel.id))).all()
    return [_model(r) for r in rows]


def _provider(s: Session, row: VsProvider, active_only: bool) -> ProviderRecord:
    return ProviderRecord(row.provider_id, row.display_name, row.is_active, row.created_at, row.updated_at,
                          _models(s, row.provider_id, active_only))


class CatalogStore:
    """The global provider / model / voice catalog (not tenant-owned)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def seed_once(self) -> bool:
        """Write :func:`seed_catalog` unless this install was seeded before. True when it wrote.

        Processes starting at the same time race here: the loser's insert (at flush or commit)
        violates a primary key, its transaction is rolled back and it returns False.
        """
        now = utcnow()
        with self.db.session() as s:
            if s.get(VsMeta, SEED_KEY) is not None:
                return False
            try:
                for p_index, provider in enumerate(seed_catalog()):
                    if s.get(VsProvider, provider["provider_id"]) is None:
                        s.add(VsProvider(provider_id=provider["provider_id"], display_name=provider["display_name"],
                                         is_active=True, position=p_index, created_at=now, updated_at=now))
                        s.flush()
                        for m_index, model in enumerate(provider["models"]):
                            s.add(VsProviderModel(provider_id=provider["provider_id"], position=m_index,
                                                  is_active=True, created_at=now, updated_at=now, **model))
                s.add(VsMeta(key=SEED_KEY, value=SEED_VERSION))
                s.commit()
            except IntegrityError:  # another process seeded concurrently
                s.rollback()
                return False
            return True

    async def list_providers(self, active_only: bool) -> list[ProviderRecord]:
        """Every provider in catalog order (``active_only``: active providers with their active models)."""
        def work(s: Session) -> list[ProviderRecord]:
            query = select(VsProvider)
            if active_only:
                query = query.where(col(VsProvider.is_active).is_(True))
            rows = s.exec(query.order_by(col(VsProvider.position), col(VsProvider.provider_id))).all()
            return [_provider(s, r, active_only) for r in rows]

        return await self.db.run(work)

    async def get_provider(self, provider_id: str, active_only: bool) -> ProviderRecord | None:
        """The provider ``provider_id`` with its models, or None (``active_only``: None when inactive)."""
        def work(s: Session) -> ProviderRecord | None:
            row = s.get(VsProvider, provider_id)
            if row is None or (active_only and not row.is_active):
                return None
            return _provider(s, row, active_only)

        return await self.db.run(work)

    async def get_model(self, provider_id: str, model_id: str, active_only: bool) -> ModelRecord | None:
        """The model ``model_id`` of ``provider_id``, or None (``active_only``: None when it or its provider is
        inactive)."""
        def work(s: Session) -> ModelRecord | None:
            provider = s.get(VsProvider, provider_id)
            if provider is None or (active_only and not provider.is_active):
                return None
            row = s.exec(select(VsProviderModel).where(VsProviderModel.provider_id == provider_id,
                                                       VsProviderModel.model_id == model_id)).first()
            if row is None or (active_only and not row.is_active):
                return None
            return _model(row)

        return await self.db.run(work)

    async def create_provider(self, provider_id: str, display_name: str, is_active: bool) -> ProviderRecord:
        """Add a provider → the record; DuplicateEntry when ``provider_id`` exists."""
        now = utcnow()

        def work(s: Session) -> ProviderRecord:
            if s.get(VsProvider, provider_id) is not None:
                raise DuplicateEntry(provider_id)
            position = (s.exec(select(func.max(VsProvider.position))).one() or 0) + 1
            row = VsProvider(provider_id=provider_id, display_name=display_name, is_active=is_active,
                             position=position, created_at=now, updated_at=now)
            s.add(row)
            s.flush()
            return _provider(s, row, False)

        try:
            return await self.db.run(work)
        except IntegrityError:
            raise DuplicateEntry(provider_id) from None

    async def update_provider(self, provider_id: str, changes: dict[str, Any]) -> ProviderRecord | None:
        """Apply ``changes`` (display_name, is_active) → the provider, or None when unknown."""
        def work(s: Session) -> ProviderRecord | None:
            row = s.get(VsProvider, provider_id, with_for_update=True)
            if row is None:
                return None
            for key in ("display_name", "is_active"):
                if key in changes:
                    setattr(row, key, changes[key])
            row.updated_at = utcnow()
            s.add(row)
            s.flush()
            return _provider(s, row, False)

        return await self.db.run(work)

    async def delete_provider(self, provider_id: str) -> int | None:
        """Delete the provider and all its models → number of models deleted; None if unknown."""

        def work(s: Session) -> int | None:
            row = s.get(VsProvider, provider_id, with_for_update=True)
            if row is None:
                return None
            result = s.exec(delete(VsProviderModel).where(col(VsProviderModel.provider_id) == provider_id))
            s.delete(row)
            return result.rowcount or 0

        return await self.db.run(work)

    async def create_model(self, provider_id: str, values: dict[str, Any]) -> ModelRecord | None:
        """A new model; None when the provider is unknown. Raises :class:`DuplicateEntry`.
        ``is_default`` true clears the provider's previous default."""
        now = utcnow()

        def work(s: Session) -> ModelRecord | None:
            if s.get(VsProvider, provider_id) is None:
                return None
            exists = s.exec(select(VsProviderModel).where(VsProviderModel.provider_id == provider_id,
                                                          VsProviderModel.model_id == values["model_id"])).first()
            if exists is not None:
                raise DuplicateEntry(values["model_id"])
            if values.get("is_default"):
                self._clear_default(s, provider_id)
            position = (s.exec(select(func.max(VsProviderModel.position))
                               .where(VsProviderModel.provider_id == provider_id)).one() or 0) + 1
            row = VsProviderModel(provider_id=provider_id, position=position, created_at=now, updated_at=now,
                                  model_id=values["model_id"], display_name=values["display_name"],
                                  is_active=values.get("is_active", True), is_default=values.get("is_default", False),
                                  capabilities=values.get("capabilities") or {}, voices=values.get("voices") or [],
                                  validation_rules=values.get("validation_rules") or {})
            s.add(row)
            s.flush()
            return _model(row)

        try:
            return await self.db.run(work)
        except IntegrityError:
            raise DuplicateEntry(values["model_id"]) from None

    @staticmethod
    def _clear_default(s: Session, provider_id: str) -> None:
        s.exec(update(VsProviderModel).where(col(VsProviderModel.provider_id) == provider_id)
               .values(is_default=False))

    async def update_model(self, provider_id: str, model_id: str, changes: dict[str, Any]) -> ModelRecord | None:
        """Apply ``changes`` (display_name, is_active, is_default, capabilities, voices, validation_rules; is_default
        true clears the provider's other default) → the model, or None."""
        def work(s: Session) -> ModelRecord | None:
            row = s.exec(select(VsProviderModel).where(VsProviderModel.provider_id == provider_id,
                                                       VsProviderModel.model_id == model_id)
                         .with_for_update()).first()
            if row is None:
                return None
            if changes.get("is_default"):
                self._clear_default(s, provider_id)
            for key in ("display_name", "is_active", "is_default", "capabilities", "voices", "validation_rules"):
                if key in changes:
                    setattr(row, key, changes[key])
            row.updated_at = utcnow()
            s.add(row)
            s.flush()
            s.refresh(row)
            return _model(row)

        return await self.db.run(work)

    async def delete_model(self, provider_id: str, model_id: str) -> bool:
        """Delete the model → False when unknown."""
        def work(s: Session) -> bool:
            row = s.exec(select(VsProviderModel).where(VsProviderModel.provider_id == provider_id,
                                                       VsProviderModel.model_id == model_id)).first()
            if row is None:
                return False
            s.delete(row)
            return True

        return await self.db.run(work)
