"""Virstack SIP trunks, dispatch rules, phone numbers and embedded rooms: persistence only.

Trunks and rules are validated for conflicts with LiveKit's rules (adapters/sip/routing.py)
inside the inserting transaction, against every inbound trunk of the install (a called number
must route to one trunk whoever owns it) and every rule of the same organization.
"""

from __future__ import annotations

import copy
import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from adapters.secretbox import SecretBox
from adapters.sip.routing import Rule, Trunk, conflicting_rules, conflicting_trunks
from adapters.storage.database import Database
from adapters.storage.virstack_voiceai.tables import VsDispatchRule, VsPhoneNumber, VsRoom, VsSipTrunk

_ALPHABET = string.ascii_letters + string.digits


def livekit_id(prefix: str) -> str:
    """An id shaped like LiveKit's (``ST_``/``SDR_``/``RM_``/``PA_`` + 12 base62 characters)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(12))


class Conflict(Exception):
    """The new trunk / rule / number collides with an existing one (``message`` says how)."""


@dataclass(frozen=True)
class TrunkRecord:
    """A SIP trunk (inbound or outbound) of an organization; ``has_password`` only, never the password."""

    trunk_id: str
    org_id: str
    kind: str
    name: str
    numbers: list[str]
    allowed_numbers: list[str]
    allowed_addresses: list[str]
    address: str | None
    auth_username: str | None
    has_password: bool
    created_at: datetime

    def routing(self) -> Trunk:
        """This record in the form the SIP routing rules (adapters/sip/routing.py) take."""
        return Trunk(self.trunk_id, self.org_id, tuple(self.numbers), tuple(self.allowed_numbers),
                     tuple(self.allowed_addresses))


@dataclass(frozen=True)
class RuleRecord:
    """A dispatch rule of an organization (individual rooms ``<room_prefix>_<caller>_<random>``)."""

    rule_id: str
    org_id: str
    name: str
    rule_type: str
    trunk_ids: list[str]
    inbound_numbers: list[str]
    room_prefix: str
    room_name: str
    pin: str
    hide_phone_number: bool
    agent_name: str | None
    metadata: dict[str, Any]
    created_at: datetime

    def routing(self) -> Rule:
        """This record in the form the SIP routing rules (adapters/sip/routing.py) take."""
        return Rule(self.rule_id, self.org_id, self.rule_type, tuple(self.trunk_ids), tuple(self.inbound_numbers),
                    self.room_prefix, self.room_name, self.pin, False, self.hide_phone_number)


@dataclass(frozen=True)
class PhoneNumberRecord:
    """A registered number: its trunks, dispatch rule, bound agents; ``provisioned`` when the server created its trunks
    and rule."""

    id: str
    org_id: str
    number: str
    trunk_id: str | None
    outbound_trunk_id: str | None
    dispatch_rule_id: str | None
    inbound_agent_id: str | None
    outbound_agent_id: str | None
    provider: str
    nickname: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime
    provisioned: bool = False


@dataclass(frozen=True)
class RoomRecord:
    """A room of the built-in telephony backend and its participants."""

    name: str
    sid: str
    metadata: str
    agent_name: str | None
    participants: list[dict[str, Any]]
    empty_timeout: int
    created_at: datetime
    deleted_at: datetime | None


def _trunk(row: VsSipTrunk) -> TrunkRecord:
    return TrunkRecord(row.trunk_id, row.org_id, row.kind, row.name, list(row.numbers), list(row.allowed_numbers),
                       list(row.allowed_addresses), row.address, row.auth_username,
                       row.auth_password_sealed is not None, row.created_at)


def _rule(row: VsDispatchRule) -> RuleRecord:
    return RuleRecord(row.rule_id, row.org_id, row.name, row.rule_type, list(row.trunk_ids),
                      list(row.inbound_numbers), row.room_prefix, row.room_name, row.pin, row.hide_phone_number,
                      row.agent_name, copy.deepcopy(row.metadata_), row.created_at)


def _number(row: VsPhoneNumber) -> PhoneNumberRecord:
    return PhoneNumberRecord(row.id, row.org_id, row.number, row.trunk_id, row.outbound_trunk_id,
                             row.dispatch_rule_id, row.inbound_agent_id, row.outbound_agent_id, row.provider,
                             row.nickname, row.is_active, row.created_at, row.updated_at, row.provisioned)


def _room(row: VsRoom) -> RoomRecord:
    return RoomRecord(row.name, row.sid, row.metadata_, row.agent_name, copy.deepcopy(row.participants),
                      row.empty_timeout, row.created_at, row.deleted_at)


class SipStore:
    """Trunks (passwords sealed), dispatch rules, phone numbers, embedded rooms."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    # ---------------------------------------------------------------- trunks

    async def add_trunk(self, *, trunk_id: str, org_id: str, kind: str, name: str, numbers: list[str],
                        address: str | None, auth_username: str | None, auth_password: str | None,
                        now: datetime, allowed_numbers: list[str] | None = None,
                        allowed_addresses: list[str] | None = None) -> TrunkRecord:
        """Insert a trunk. Inbound trunks are checked against every inbound trunk → :class:`Conflict`."""
        sealed = self.box.seal(auth_password) if auth_password else None

        def work(s: Session) -> TrunkRecord:
            row = VsSipTrunk(trunk_id=trunk_id, org_id=org_id, kind=kind, name=name, numbers=numbers,
                             allowed_numbers=allowed_numbers or [], allowed_addresses=allowed_addresses or [],
                             address=address, auth_username=auth_username, auth_password_sealed=sealed,
                             created_at=now)
            if kind == "inbound":
                existing = [_trunk(r).routing() for r in
                            s.exec(select(VsSipTrunk).where(VsSipTrunk.kind == "inbound")).all()]
                clash = conflicting_trunks([*existing, _trunk(row).routing()])
                if clash:
                    raise Conflict(f"Conflicting inbound SIP trunks: {clash[0].trunk_id} already serves "
                                   f"{', '.join(clash[0].numbers) or 'every number (default trunk)'}")
            s.add(row)
            s.flush()
            return _trunk(row)

        return await self.db.run(work)

    async def check_inbound_trunk(self, org_id: str, numbers: list[str]) -> None:
        """Raise :class:`Conflict` if an inbound trunk with ``numbers`` would conflict (no insert)."""

        def work(s: Session) -> None:
            existing = [_trunk(r).routing() for r in
                        s.exec(select(VsSipTrunk).where(VsSipTrunk.kind == "inbound")).all()]
            clash = conflicting_trunks([*existing, Trunk("<new>", org_id, tuple(numbers))])
            if clash:
                raise Conflict(f"Conflicting inbound SIP trunks: {clash[0].trunk_id} already serves "
                               f"{', '.join(clash[0].numbers) or 'every number (default trunk)'}")

        await self.db.run(work)

    async def add_trunk_number(self, org_id: str, trunk_id: str, number: str) -> TrunkRecord | None:
        """Let the inbound trunk serve ``number`` too (conflict-checked) → the trunk; None if not the org's."""

        def work(s: Session) -> TrunkRecord | None:
            row = s.get(VsSipTrunk, trunk_id, with_for_update=True)
            if row is None or row.org_id != org_id:
                return None
            if number in row.numbers or not row.numbers:  # already served, or a default trunk serves all
                return _trunk(row)
            row.numbers = [*row.numbers, number]
            others = [_trunk(r).routing() for r in s.exec(select(VsSipTrunk).where(
                VsSipTrunk.kind == "inbound", VsSipTrunk.trunk_id != trunk_id)).all()]
            clash = conflicting_trunks([*others, _trunk(row).routing()])
            if clash:
                raise Conflict(f"Conflicting inbound SIP trunks: {clash[0].trunk_id} already serves {number}")
            s.add(row)
            s.flush()
            return _trunk(row)

        return await self.db.run(work)

    async def list_trunks(self, org_id: str, kind: str | None = None) -> list[TrunkRecord]:
        """The organization's trunks, oldest first (``kind``: inbound or outbound only)."""
        def work(s: Session) -> list[TrunkRecord]:
            query = select(VsSipTrunk).where(VsSipTrunk.org_id == org_id)
            if kind:
                query = query.where(VsSipTrunk.kind == kind)
            query = query.order_by(col(VsSipTrunk.created_at), col(VsSipTrunk.trunk_id))
            return [_trunk(r) for r in s.exec(query).all()]

        return await self.db.run(work)

    async def all_inbound_trunks(self) -> list[TrunkRecord]:
        """Every inbound trunk of the install (for routing inbound calls)."""
        return await self.db.run(lambda s: [_trunk(r) for r in s.exec(
            select(VsSipTrunk).where(VsSipTrunk.kind == "inbound")).all()])

    async def get_trunk(self, org_id: str, trunk_id: str) -> TrunkRecord | None:
        """The organization's trunk ``trunk_id``, or None."""
        def work(s: Session) -> TrunkRecord | None:
            row = s.get(VsSipTrunk, trunk_id)
            return _trunk(row) if row is not None and row.org_id == org_id else None

        return await self.db.run(work)

    async def trunk_password(self, trunk_id: str) -> str | None:
        """The trunk's SIP password in the clear (for the SIP stack only; never returned by the API)."""
        row = await self.db.run(lambda s: s.get(VsSipTrunk, trunk_id))
        return self.box.open(row.auth_password_sealed) if row is not None and row.auth_password_sealed else None

    async def delete_trunk(self, org_id: str, trunk_id: str) -> bool:
        """Delete the trunk; phone numbers using it lose the reference. False if not the org's."""

        def work(s: Session) -> bool:
            row = s.get(VsSipTrunk, trunk_id, with_for_update=True)
            if row is None or row.org_id != org_id:
                return False
            s.exec(update(VsPhoneNumber).where(col(VsPhoneNumber.trunk_id) == trunk_id)
                   .values(trunk_id=None))
            s.exec(update(VsPhoneNumber).where(col(VsPhoneNumber.outbound_trunk_id) == trunk_id)
                   .values(outbound_trunk_id=None))
            s.delete(row)
            return True

        return await self.db.run(work)

    # ---------------------------------------------------------------- dispatch rules

    async def add_rule(self, *, rule_id: str, org_id: str, name: str, trunk_ids: list[str], room_prefix: str,
                       metadata: dict[str, Any], agent_name: str | None, now: datetime,
                       rule_type: str = "individual", inbound_numbers: list[str] | None = None,
                       pin: str = "", room_name: str = "", hide_phone_number: bool = False) -> RuleRecord:
        """Insert a rule; :class:`Conflict` when it collides with one of the organization's rules."""

        def work(s: Session) -> RuleRecord:
            row = VsDispatchRule(rule_id=rule_id, org_id=org_id, name=name, rule_type=rule_type, trunk_ids=trunk_ids,
                                 inbound_numbers=inbound_numbers or [], room_prefix=room_prefix, room_name=room_name,
                                 pin=pin, hide_phone_number=hide_phone_number, agent_name=agent_name,
                                 metadata_=metadata, created_at=now)
            existing = [_rule(r).routing() for r in
                        s.exec(select(VsDispatchRule).where(VsDispatchRule.org_id == org_id)).all()]
            clash = conflicting_rules([*existing, _rule(row).routing()])
            if clash:
                raise Conflict(f"Conflicting SIP dispatch rules: same trunk, number and PIN as {clash[0].rule_id}")
            s.add(row)
            s.flush()
            return _rule(row)

        return await self.db.run(work)

    async def check_rule(self, org_id: str, trunk_ids: list[str]) -> None:
        """Raise :class:`Conflict` if a new open rule on ``trunk_ids`` would collide (no insert)."""

        def work(s: Session) -> None:
            existing = [_rule(r).routing() for r in
                        s.exec(select(VsDispatchRule).where(VsDispatchRule.org_id == org_id)).all()]
            clash = conflicting_rules([*existing, Rule("<new>", org_id, trunk_ids=tuple(trunk_ids))])
            if clash:
                raise Conflict(f"Conflicting SIP dispatch rules: same trunk, number and PIN as {clash[0].rule_id}")

        await self.db.run(work)

    async def list_rules(self, org_id: str) -> list[RuleRecord]:
        """The organization's dispatch rules, oldest first."""
        return await self.db.run(lambda s: [_rule(r) for r in s.exec(
            select(VsDispatchRule).where(VsDispatchRule.org_id == org_id)
            .order_by(col(VsDispatchRule.created_at), col(VsDispatchRule.rule_id))).all()])

    async def all_rules(self) -> list[RuleRecord]:
        """Every dispatch rule of the install (for routing inbound calls)."""
        return await self.db.run(lambda s: [_rule(r) for r in s.exec(select(VsDispatchRule)).all()])

    async def get_rule(self, org_id: str, rule_id: str) -> RuleRecord | None:
        """The organization's dispatch rule ``rule_id``, or None."""
        def work(s: Session) -> RuleRecord | None:
            row = s.get(VsDispatchRule, rule_id)
            return _rule(row) if row is not None and row.org_id == org_id else None

        return await self.db.run(work)

    async def delete_rule(self, org_id: str, rule_id: str) -> bool:
        """Delete the organization's rule (numbers using it lose the reference) → False when unknown."""
        def work(s: Session) -> bool:
            row = s.get(VsDispatchRule, rule_id, with_for_update=True)
            if row is None or row.org_id != org_id:
                return False
            s.exec(update(VsPhoneNumber).where(col(VsPhoneNumber.dispatch_rule_id) == rule_id)
                   .values(dispatch_rule_id=None))
            s.delete(row)
            return True

        return await self.db.run(work)

    # ---------------------------------------------------------------- phone numbers

    async def add_number(self, *, org_id: str, number: str, trunk_id: str | None, outbound_trunk_id: str | None,
                         dispatch_rule_id: str | None, inbound_agent_id: str | None, outbound_agent_id: str | None,
                         provider: str, nickname: str | None, now: datetime,
                         provisioned: bool = False) -> PhoneNumberRecord:
        """Register ``number`` (unique across the install) → :class:`Conflict` when taken."""

        def work(s: Session) -> PhoneNumberRecord:
            if s.exec(select(VsPhoneNumber).where(VsPhoneNumber.number == number)).first() is not None:
                raise Conflict(f"Phone number {number} is already registered")
            row = VsPhoneNumber(id=secrets.token_hex(12), org_id=org_id, number=number, trunk_id=trunk_id,
                                outbound_trunk_id=outbound_trunk_id, dispatch_rule_id=dispatch_rule_id,
                                inbound_agent_id=inbound_agent_id, outbound_agent_id=outbound_agent_id,
                                provider=provider, nickname=nickname, is_active=True, created_at=now, updated_at=now,
                                provisioned=provisioned)
            s.add(row)
            s.flush()
            return _number(row)

        try:
            return await self.db.run(work)
        except IntegrityError:
            raise Conflict(f"Phone number {number} is already registered") from None

    async def number_taken(self, number: str) -> bool:
        """Whether ``number`` is registered by any organization."""
        return await self.db.run(lambda s: s.exec(
            select(VsPhoneNumber).where(VsPhoneNumber.number == number)).first() is not None)

    async def list_numbers(self, org_id: str, active: bool | None = None,
                           inbound_agent_id: str | None = None) -> list[PhoneNumberRecord]:
        """The organization's numbers, oldest first, filtered by ``active`` and ``inbound_agent_id``."""
        def work(s: Session) -> list[PhoneNumberRecord]:
            query = select(VsPhoneNumber).where(VsPhoneNumber.org_id == org_id)
            if active is not None:
                query = query.where(col(VsPhoneNumber.is_active).is_(active))
            if inbound_agent_id is not None:
                query = query.where(VsPhoneNumber.inbound_agent_id == inbound_agent_id)
            query = query.order_by(col(VsPhoneNumber.created_at), col(VsPhoneNumber.id))
            return [_number(r) for r in s.exec(query).all()]

        return await self.db.run(work)

    async def get_number(self, org_id: str, number_id: str) -> PhoneNumberRecord | None:
        """The organization's number ``number_id``, or None."""
        def work(s: Session) -> PhoneNumberRecord | None:
            row = s.get(VsPhoneNumber, number_id)
            return _number(row) if row is not None and row.org_id == org_id else None

        return await self.db.run(work)

    async def find_number(self, number: str) -> PhoneNumberRecord | None:
        """The registration of ``number`` (any organization) - for inbound routing."""
        row = await self.db.run(lambda s: s.exec(select(VsPhoneNumber).where(VsPhoneNumber.number == number)).first())
        return _number(row) if row else None

    async def update_number(self, org_id: str, number_id: str, changes: dict[str, Any],
                            now: datetime) -> PhoneNumberRecord | None:
        """Apply ``changes`` (inbound_agent_id, outbound_agent_id, nickname, is_active) → the number, or None."""
        def work(s: Session) -> PhoneNumberRecord | None:
            row = s.get(VsPhoneNumber, number_id, with_for_update=True)
            if row is None or row.org_id != org_id:
                return None
            for key in ("inbound_agent_id", "outbound_agent_id", "nickname", "is_active"):
                if key in changes:
                    setattr(row, key, changes[key])
            row.updated_at = now
            s.add(row)
            s.flush()
            return _number(row)

        return await self.db.run(work)

    async def delete_number(self, org_id: str, number_id: str) -> PhoneNumberRecord | None:
        """Delete the organization's number → the deleted record, or None when unknown."""
        def work(s: Session) -> PhoneNumberRecord | None:
            row = s.get(VsPhoneNumber, number_id, with_for_update=True)
            if row is None or row.org_id != org_id:
                return None
            record = _number(row)
            s.delete(row)
            return record

        return await self.db.run(work)

    async def release_agent(self, org_id: str, agent_id: str, now: datetime) -> int:
        """An agent is gone: numbers answering with it are deactivated, outbound bindings cleared."""

        def work(s: Session) -> int:
            rows = s.exec(select(VsPhoneNumber).where(VsPhoneNumber.org_id == org_id)).all()
            changed = 0
            for row in rows:
                touched = False
                if row.inbound_agent_id == agent_id:
                    row.inbound_agent_id = None
                    row.is_active = False
                    touched = True
                if row.outbound_agent_id == agent_id:
                    row.outbound_agent_id = None
                    touched = True
                if touched:
                    row.updated_at = now
                    s.add(row)
                    changed += 1
            return changed

        return await self.db.run(work)

    # ---------------------------------------------------------------- embedded rooms

    async def create_room(self, *, name: str, metadata: str, agent_name: str | None, empty_timeout: int,
                          now: datetime) -> RoomRecord:
        """Create (or return the live) room ``name`` - LiveKit's CreateRoom is idempotent too."""

        def work(s: Session) -> RoomRecord:
            row = s.get(VsRoom, name, with_for_update=True)
            if row is not None and row.deleted_at is None:
                return _room(row)
            if row is None:
                row = VsRoom(name=name, sid=livekit_id("RM_"), metadata_=metadata, agent_name=agent_name,
                             participants=[], empty_timeout=empty_timeout, created_at=now)
            else:  # a closed room of that name is opened anew
                row.sid, row.metadata_, row.agent_name = livekit_id("RM_"), metadata, agent_name
                row.participants, row.empty_timeout, row.created_at, row.deleted_at = [], empty_timeout, now, None
            s.add(row)
            s.flush()
            return _room(row)

        return await self.db.run(work)

    async def get_room(self, name: str) -> RoomRecord | None:
        """The room ``name`` of the built-in backend, or None."""
        def work(s: Session) -> RoomRecord | None:
            row = s.get(VsRoom, name)
            return _room(row) if row is not None and row.deleted_at is None else None

        return await self.db.run(work)

    async def add_participant(self, room: str, participant: dict[str, Any]) -> RoomRecord | None:
        """Add ``participant`` to room ``room`` → the room, or None when it does not exist."""
        def work(s: Session) -> RoomRecord | None:
            row = s.get(VsRoom, room, with_for_update=True)
            if row is None or row.deleted_at is not None:
                return None
            row.participants = [*[p for p in row.participants if p.get("identity") != participant.get("identity")],
                                participant]
            s.add(row)
            s.flush()
            return _room(row)

        return await self.db.run(work)

    async def delete_room(self, name: str, now: datetime) -> bool:
        """Close the room; False when no live room has that name."""

        def work(s: Session) -> bool:
            row = s.get(VsRoom, name, with_for_update=True)
            if row is None or row.deleted_at is not None:
                return False
            row.deleted_at = now
            row.participants = []
            s.add(row)
            return True

        return await self.db.run(work)
