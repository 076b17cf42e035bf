"""Virstack provider catalog: listProviders, getProvider, listProviderModels, getProviderModel
(active entries, any authenticated caller) and the admin operations adminListProviders,
adminCreateProvider, adminUpdateProvider, adminDeleteProvider, adminListProviderModels,
adminCreateProviderModel, adminUpdateProviderModel, adminDeleteProviderModel.

The catalog is global, so editing it is reserved to catalog administrators: users with role
``admin`` of the install's operator organization (the first one registered) or listed in
``VIRSTACK_CATALOG_ADMIN_EMAILS``. Other callers get 403.
"""

from __future__ import annotations

from typing import Any

from adapters.storage.virstack_voiceai.catalog import DuplicateEntry, ModelRecord, ProviderRecord
from generated.models.virstack_voiceai import (
    AdminProviderEnvelope,
    AdminProviderListEnvelope,
    AdminProviderModelEnvelope,
    AdminProviderModelListEnvelope,
    AdminProviderModelResponse,
    AdminProviderResponse,
    CreateProviderBody,
    CreateProviderModelBody,
    Model,
    ProviderDeleted,
    ProviderDeletedEnvelope,
    ProviderDetailEnvelope,
    ProviderDetailResponse,
    ProviderListEnvelope,
    ProviderModelCapabilities,
    ProviderModelDeleted,
    ProviderModelDeletedEnvelope,
    ProviderModelEnvelope,
    ProviderModelListEnvelope,
    ProviderModelResponse,
    ProviderModelValidationRules,
    ProviderResponse,
    ProviderVoice,
    UpdateProviderBody,
    UpdateProviderModelBody,
)
from handlers.errors import ApiError
from handlers.results import Reply
from handlers.virstack_voiceai.bundle import bundle
from handlers.virstack_voiceai.common import moment, not_found, ok, require_admin


def provider_response(p: ProviderRecord) -> ProviderResponse:
    """A provider in the discovery list (``ProviderResponse``)."""
    return ProviderResponse(provider_id=p.provider_id, display_name=p.display_name, is_active=p.is_active)


def _model_summaries(p: ProviderRecord) -> list[Model]:
    """The provider's models with the number of their active voices."""
    return [Model(model_id=m.model_id, display_name=m.display_name, is_default=m.is_default,
                  voice_count=len([v for v in m.voices if v.get("is_active", True)])) for m in p.models]


def provider_detail_response(p: ProviderRecord) -> ProviderDetailResponse:
    """A provider with a summary of its models (``ProviderDetailResponse``)."""
    return ProviderDetailResponse(provider_id=p.provider_id, display_name=p.display_name, is_active=p.is_active,
                                  models=_model_summaries(p))


def _model_fields(m: ModelRecord) -> dict[str, object]:
    """The ``ProviderModelResponse`` fields of a model record."""
    return {"model_id": m.model_id, "provider_id": m.provider_id, "display_name": m.display_name,
            "is_active": m.is_active, "is_default": m.is_default,
            "capabilities": ProviderModelCapabilities.model_validate(m.capabilities),
            "voices": [ProviderVoice.model_validate(v) for v in m.voices],
            "validation_rules": ProviderModelValidationRules.model_validate(m.validation_rules)}


def model_response(m: ModelRecord) -> ProviderModelResponse:
    """A model with its capabilities, voices and validation rules (``ProviderModelResponse``)."""
    return ProviderModelResponse.model_validate(_model_fields(m))


def admin_provider_response(p: ProviderRecord) -> AdminProviderResponse:
    """A provider as catalog administrators see it (``AdminProviderResponse``: with timestamps)."""
    return AdminProviderResponse(provider_id=p.provider_id, display_name=p.display_name, is_active=p.is_active,
                                 models=_model_summaries(p), created_at=moment(p.created_at),
                                 updated_at=moment(p.updated_at))


def admin_model_response(m: ModelRecord) -> AdminProviderModelResponse:
    """A model as catalog administrators see it (``AdminProviderModelResponse``: with timestamps)."""
    return AdminProviderModelResponse.model_validate({**_model_fields(m), "created_at": moment(m.created_at),
                                                      "updated_at": moment(m.updated_at)})


def changes(body: UpdateProviderBody | UpdateProviderModelBody) -> dict[str, object]:
    """The fields a PATCH body sent (and only those), as JSON data."""
    return body.model_dump(mode="json", by_alias=True, exclude_unset=True, warnings=False)


async def require_catalog_admin(token_info: dict[str, Any]) -> None:
    """403 unless the caller may edit the global catalog (see module docstring)."""
    require_admin(token_info)
    v = bundle()
    if token_info["org_id"] == await v.accounts.operator_org_id():
        return
    allowed = {e.strip().lower() for e in v.settings.virstack_catalog_admin_emails}
    user = await v.accounts.get_user(token_info["sub"])
    if user is None or user.email not in allowed:
        raise ApiError(403, "FORBIDDEN", "Editing the provider catalog is reserved to catalog administrators")


# ---------------------------------------------------------------- discovery


async def list_providers(token_info: dict[str, Any]) -> Reply:  # noqa: ARG001
    """``GET /v1/providers`` (listProviders) → 200 ``ProviderListEnvelope``: the active providers."""
    providers = await bundle().catalog.list_providers(active_only=True)
    return ok(ProviderListEnvelope, [provider_response(p) for p in providers])


async def get_provider(provider_id: str, token_info: dict[str, Any]) -> Reply:  # noqa: ARG001
    """``GET /v1/providers/{provider_id}`` (getProvider) → 200 ``ProviderDetailEnvelope`` with a
    summary of its active models (``voice_count``). 404 unknown or inactive."""
    provider = await bundle().catalog.get_provider(provider_id, active_only=True)
    if provider is None:
        raise not_found("Provider", provider_id)
    return ok(ProviderDetailEnvelope, provider_detail_response(provider))


async def list_provider_models(provider_id: str, token_info: dict[str, Any]) -> Reply:  # noqa: ARG001
    """``GET /v1/providers/{provider_id}/models`` (listProviderModels) → 200 ``ProviderModelListEnvelope``:
    the active models with capabilities, voices and validation rules. 404 unknown provider."""
    provider = await bundle().catalog.get_provider(provider_id, active_only=True)
    if provider is None:
        raise not_found("Provider", provider_id)
    return ok(ProviderModelListEnvelope, [model_response(m) for m in provider.models])


async def get_provider_model(provider_id: str, model_id: str, token_info: dict[str, Any]) -> Reply:  # noqa: ARG001
    """``GET /v1/providers/{provider_id}/models/{model_id}`` (getProviderModel) → 200
    ``ProviderModelEnvelope``. 404 unknown or inactive."""
    model = await bundle().catalog.get_model(provider_id, model_id, active_only=True)
    if model is None:
        raise not_found("Model", f"{provider_id}/{model_id}")
    return ok(ProviderModelEnvelope, model_response(model))


# ---------------------------------------------------------------- administration


async def admin_list_providers(token_info: dict[str, Any]) -> Reply:
    """``GET /v1/admin/providers`` (adminListProviders) → 200 ``AdminProviderListEnvelope``: every
    provider, inactive ones too, with all their models summarised. 403 not a catalog admin."""
    await require_catalog_admin(token_info)
    providers = await bundle().catalog.list_providers(active_only=False)
    return ok(AdminProviderListEnvelope, [admin_provider_response(p) for p in providers])


async def admin_create_provider(body: CreateProviderBody, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/admin/providers`` (adminCreateProvider) → 201 ``AdminProviderEnvelope``. 403 not a
    catalog admin; 409 duplicate id."""
    await require_catalog_admin(token_info)
    req = body
    try:
        provider = await bundle().catalog.create_provider(req.provider_id, req.display_name, req.is_active)
    except DuplicateEntry:
        raise ApiError(409, "CONFLICT", f"Provider {req.provider_id} already exists") from None
    return ok(AdminProviderEnvelope, admin_provider_response(provider), 201, "Provider created")


async def admin_update_provider(provider_id: str, body: UpdateProviderBody, token_info: dict[str, Any]) -> Reply:
    """``PATCH /v1/admin/providers/{provider_id}`` (adminUpdateProvider) → 200 ``AdminProviderEnvelope``
    (the fields sent replace ``display_name``, ``is_active``). 403 not a catalog admin; 404 unknown."""
    await require_catalog_admin(token_info)
    provider = await bundle().catalog.update_provider(provider_id, changes(body))
    if provider is None:
        raise not_found("Provider", provider_id)
    return ok(AdminProviderEnvelope, admin_provider_response(provider), 200, "Provider updated")


async def admin_delete_provider(provider_id: str, token_info: dict[str, Any]) -> Reply:
    """``DELETE /v1/admin/providers/{provider_id}`` (adminDeleteProvider) → 200 ``ProviderDeletedEnvelope``
    (``data: {provider_id, models_deleted}``): the provider and all its models. 403 not a catalog
    admin; 404 unknown."""
    await require_catalog_admin(token_info)
    deleted = await bundle().catalog.delete_provider(provider_id)
    if deleted is None:
        raise not_found("Provider", provider_id)
    return ok(ProviderDeletedEnvelope, ProviderDeleted(provider_id=provider_id, models_deleted=deleted), 200,
              "Provider deleted")


async def admin_list_provider_models(provider_id: str, token_info: dict[str, Any]) -> Reply:
    """``GET /v1/admin/providers/{provider_id}/models`` (adminListProviderModels) → 200
    ``AdminProviderModelListEnvelope``: every model of the provider, inactive ones too. 403 not a
    catalog admin; 404 unknown provider."""
    await require_catalog_admin(token_info)
    provider = await bundle().catalog.get_provider(provider_id, active_only=False)
    if provider is None:
        raise not_found("Provider", provider_id)
    return ok(AdminProviderModelListEnvelope, [admin_model_response(m) for m in provider.models])


async def admin_create_provider_model(provider_id: str, body: CreateProviderModelBody,
                                      token_info: dict[str, Any]) -> Reply:
    """``POST /v1/admin/providers/{provider_id}/models`` (adminCreateProviderModel) → 201
    ``AdminProviderModelEnvelope``; ``is_default`` true makes it the provider's only default.
    403 not a catalog admin; 404 unknown provider; 409 duplicate model id."""
    await require_catalog_admin(token_info)
    values = {"is_active": True, "is_default": False,
              **body.model_dump(mode="json", by_alias=True, exclude_unset=True, warnings=False)}
    try:
        model = await bundle().catalog.create_model(provider_id, values)
    except DuplicateEntry:
        raise ApiError(409, "CONFLICT", f"Model {body.model_id} already exists for {provider_id}") from None
    if model is None:
        raise not_found("Provider", provider_id)
    return ok(AdminProviderModelEnvelope, admin_model_response(model), 201, "Model created")


async def admin_update_provider_model(provider_id: str, model_id: str, body: UpdateProviderModelBody,
                                      token_info: dict[str, Any]) -> Reply:
    """``PATCH /v1/admin/providers/{provider_id}/models/{model_id}`` (adminUpdateProviderModel)
    → 200 ``AdminProviderModelEnvelope`` (fields given replace the stored ones). 403 not a catalog
    admin; 404 unknown."""
    await require_catalog_admin(token_info)
    model = await bundle().catalog.update_model(provider_id, model_id, changes(body))
    if model is None:
        raise not_found("Model", f"{provider_id}/{model_id}")
    return ok(AdminProviderModelEnvelope, admin_model_response(model), 200, "Model updated")


async def admin_delete_provider_model(provider_id: str, model_id: str, token_info: dict[str, Any]) -> Reply:
    """``DELETE /v1/admin/providers/{provider_id}/models/{model_id}`` (adminDeleteProviderModel)
    → 200 ``ProviderModelDeletedEnvelope`` (``data: {provider_id, model_id}``). 403 not a catalog
    admin; 404 unknown."""
    await require_catalog_admin(token_info)
    if not await bundle().catalog.delete_model(provider_id, model_id):
        raise not_found("Model", f"{provider_id}/{model_id}")
    return ok(ProviderModelDeletedEnvelope, ProviderModelDeleted(provider_id=provider_id, model_id=model_id), 200,
              "Model deleted")
