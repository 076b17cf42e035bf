"""Virtual Banker voice sessions, webhooks and the durable webhook delivery log."""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from adapters.secretbox import SecretBox
from adapters.storage.database import Database
from adapters.storage.virtual_banker.tables import VbVoiceSession, VbWebhook, VbWebhookDelivery


@dataclass(frozen=True)
class VoiceSessionRecord:
    """A voice session: the parent session id, its owner, chosen providers and voice config."""

    session_id: str
    tenant_id: str
    user_id: str
    asr_provider: str
    tts_provider: str
    voice_config: dict[str, Any]
    created_at: datetime


def _voice(row: VbVoiceSession) -> VoiceSessionRecord:
    return VoiceSessionRecord(row.session_id, row.tenant_id, row.user_id, row.asr_provider, row.tts_provider,
                              copy.deepcopy(row.voice_config), row.created_at)


class VbVoiceSessionStore:
    """One voice session per parent session (creating again replaces its configuration)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(self, *, session_id: str, tenant_id: str, user_id: str, asr_provider: str, tts_provider: str,
                     voice_config: dict[str, Any], now: datetime) -> VoiceSessionRecord:
        """Create or reconfigure the voice session of ``session_id``."""

        def work(s: Session) -> VoiceSessionRecord:
            row = s.get(VbVoiceSession, session_id)
            if row is None:
                row = VbVoiceSession(session_id=session_id, tenant_id=tenant_id, user_id=user_id,
                                     asr_provider=asr_provider, tts_provider=tts_provider,
                                     voice_config=voice_config, created_at=now, updated_at=now)
            else:
                row.asr_provider, row.tts_provider = asr_provider, tts_provider
                row.voice_config, row.updated_at = voice_config, now
            s.add(row)
            s.flush()
            return _voice(row)

        return await self.db.run(work)

    async def get(self, session_id: str) -> VoiceSessionRecord | None:
        """The voice session of ``session_id`` (the caller checks the parent is live and theirs)."""

        def work(s: Session) -> VoiceSessionRecord | None:
            row = s.get(VbVoiceSession, session_id)
            return _voice(row) if row else None

        return await self.db.run(work)


@dataclass(frozen=True)
class WebhookRecord:
    """A webhook subscription; ``secret`` is decrypted (None when the tenant gave none)."""

    webhook_id: str
    tenant_id: str
    url: str
    events: list[str]
    secret: str | None
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class DeliveryRecord:
    """A due delivery with everything needed to send it."""

    delivery_id: str
    webhook_id: str
    url: str
    secret: str | None
    event: str
    body: str
    attempts: int


class VbWebhookStore:
    """Webhook subscriptions and their delivery log (pending → delivered | failed)."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    def _record(self, row: VbWebhook) -> WebhookRecord:
        secret = self.box.open(row.secret_encrypted) if row.secret_encrypted else None
        return WebhookRecord(row.webhook_id, row.tenant_id, row.url, list(row.events), secret, row.active,
                             row.created_at)

    async def create(self, *, tenant_id: str, url: str, events: list[str], secret: str | None, active: bool,
                     now: datetime) -> WebhookRecord:
        """Store a subscription; the secret is sealed with the server's key."""

        def work(s: Session) -> WebhookRecord:
            row = VbWebhook(webhook_id=f"wh-{secrets.token_hex(12)}", tenant_id=tenant_id, url=url,
                            events=list(dict.fromkeys(events)),
                            secret_encrypted=self.box.seal(secret) if secret else None, active=active,
                            created_at=now)
            s.add(row)
            s.flush()
            return self._record(row)

        return await self.db.run(work)

    async def enqueue(self, tenant_id: str, event: str, body: str, now: datetime) -> list[str]:
        """Record one pending delivery per active webhook of ``tenant_id`` subscribed to ``event``.
        Returns the delivery ids (empty when nobody listens)."""

        def work(s: Session) -> list[str]:
            hooks = s.exec(select(VbWebhook).where(VbWebhook.tenant_id == tenant_id, VbWebhook.active)).all()
            ids = []
            for hook in hooks:
                if event not in hook.events:
                    continue
                delivery_id = f"dlv-{secrets.token_hex(12)}"
                s.add(VbWebhookDelivery(delivery_id=delivery_id, webhook_id=hook.webhook_id, tenant_id=tenant_id,
                                        event=event, body=body, next_attempt_at=now, created_at=now))
                ids.append(delivery_id)
            return ids

        return await self.db.run(work)

    async def claim(self, delivery_id: str, worker: str, now: datetime, lease_seconds: float,
                    ) -> DeliveryRecord | None:
        """Claim a pending delivery that is due at ``now`` for ``worker`` until ``now`` +
        ``lease_seconds``, unless another worker's claim is still running. One conditional
        UPDATE: of two processes claiming at once exactly one gets it. None otherwise (delivered,
        given up, not due yet, or being sent elsewhere)."""

        def work(s: Session) -> DeliveryRecord | None:
            t = VbWebhookDelivery
            claimed = s.exec(update(t).where(
                col(t.delivery_id) == delivery_id, col(t.status) == "pending", col(t.next_attempt_at) <= now,
                or_(col(t.claimed_by).is_(None), col(t.lease_until) < now),
            ).values(claimed_by=worker, lease_until=now + timedelta(seconds=lease_seconds)))
            if claimed.rowcount != 1:
                return None
            row = s.exec(select(VbWebhookDelivery, VbWebhook)
                         .join(VbWebhook, col(VbWebhook.webhook_id) == col(VbWebhookDelivery.webhook_id))
                         .where(col(VbWebhookDelivery.delivery_id) == delivery_id)).first()
            if row is None:
                return None
            d, h = row
            return DeliveryRecord(d.delivery_id, d.webhook_id, h.url,
                                  self.box.open(h.secret_encrypted) if h.secret_encrypted else None,
                                  d.event, d.body, d.attempts)

        return await self.db.run(work)

    async def stranded(self, now: datetime, grace_seconds: float, limit: int = 100) -> list[str]:
        """Pending deliveries due for ``grace_seconds`` already that nobody holds (never picked
        up, or their sender's claim lapsed: it died), oldest first."""

        def work(s: Session) -> list[str]:
            t = VbWebhookDelivery
            rows = s.exec(select(t.delivery_id).where(
                col(t.status) == "pending", col(t.next_attempt_at) <= now - timedelta(seconds=grace_seconds),
                or_(col(t.claimed_by).is_(None), col(t.lease_until) < now),
            ).order_by(col(t.next_attempt_at)).limit(limit)).all()
            return list(rows)

        return await self.db.run(work)

    async def mark_delivered(self, delivery_id: str, status: int, now: datetime) -> None:
        """Record the successful attempt (HTTP ``status``) at ``now``: status ``delivered``.
        A delivery that no longer exists has nothing to record."""

        def work(s: Session) -> None:
            row = s.get(VbWebhookDelivery, delivery_id)
            if row is None:
                return
            row.status, row.attempts, row.last_status, row.delivered_at = "delivered", row.attempts + 1, status, now
            row.last_error = None
            row.claimed_by, row.lease_until = None, None
            s.add(row)

        await self.db.run(work)

    async def mark_failed_attempt(self, delivery_id: str, status: int | None, error: str, retry_at: datetime | None,
                                  ) -> None:
        """Record a failed attempt (HTTP ``status`` or None, ``error`` cut to 500 characters);
        ``retry_at`` None means give up (status ``failed``). A delivery that no longer exists has
        nothing to record."""

        def work(s: Session) -> None:
            row = s.get(VbWebhookDelivery, delivery_id)
            if row is None:
                return
            row.attempts += 1
            row.last_status, row.last_error = status, error[:500]
            row.claimed_by, row.lease_until = None, None
            if retry_at is None:
                row.status = "failed"
            else:
                row.next_attempt_at = retry_at
            s.add(row)

        await self.db.run(work)

    async def deliveries(self, webhook_id: str) -> list[dict[str, Any]]:
        """The delivery log of one webhook (for operators and tests)."""

        def work(s: Session) -> list[dict[str, Any]]:
            rows = s.exec(select(VbWebhookDelivery).where(VbWebhookDelivery.webhook_id == webhook_id)
                          .order_by(col(VbWebhookDelivery.created_at))).all()
            return [{"delivery_id": r.delivery_id, "event": r.event, "status": r.status, "attempts": r.attempts,
                     "last_status": r.last_status, "last_error": r.last_error} for r in rows]

        return await self.db.run(work)
