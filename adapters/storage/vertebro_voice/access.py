"""Who may see what in Vertebro Voice: project members, admins, and the caller's :class:`Scope`.

Rules (the contract's "Ownership" decision): a project's data (samples, training jobs, analytics,
intent examples, knowledge, cached audio made for it) is visible to the project's members; a
session is visible to the Basic user who started it while that user is a member of its project;
an admin sees everything. Anything outside a caller's scope is answered exactly as if it did not
exist. Memberships and admins are granted with ``python -m handlers.vertebro_voice.manage``
(``grant`` / ``revoke`` / ``grant-admin`` / ``revoke-admin``); admins may also be named in
``VERTEBRO_ADMIN_USERS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from adapters.storage.database import Database
from adapters.storage.vertebro_voice.tables import VertebroAdmin, VertebroProjectMember

__all__ = ["Scope", "VertebroAccessStore"]


@dataclass(frozen=True)
class Scope:
    """What the Basic user ``user`` may see: everything when ``admin``, else the ``projects`` it is
    a member of (and, of sessions, only its own)."""

    user: str
    admin: bool
    projects: frozenset[str]

    def sees_project(self, project: str) -> bool:
        """True when the caller may use ``project``'s data."""
        return self.admin or project in self.projects

    def sees_session(self, owner: str | None, project: str) -> bool:
        """True when the caller may use a session started by ``owner`` in ``project`` (sessions from
        before ownership have no owner: admins only)."""
        return self.admin or (owner is not None and owner == self.user and project in self.projects)

    def sees_audio(self, owner: str | None, project: str | None) -> bool:
        """True when the caller may fetch cached audio made for ``project`` (members) or, without a
        project, by ``owner`` (that user only); entries with neither: admins only."""
        if self.admin:
            return True
        if project is not None:
            return project in self.projects
        return owner is not None and owner == self.user


class VertebroAccessStore:
    """Project memberships and admins (the Basic users themselves are elsewhere)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def scope(self, user: str, admins: Iterable[str] = ()) -> Scope:
        """The :class:`Scope` of ``user``: admin when named in ``admins`` (the setting) or stored as
        one; its projects from the memberships (one read transaction, on every request: two
        indexed lookups, read on the calling thread like :meth:`Database.read`)."""
        named = user in set(admins)

        def work(s: Session) -> Scope:
            admin = named or s.get(VertebroAdmin, user) is not None
            rows = s.exec(select(VertebroProjectMember.project).where(VertebroProjectMember.username == user)).all()
            return Scope(user, admin, frozenset(rows))

        return await self.db.read(work)

    async def grant(self, project: str, user: str, now: datetime) -> bool:
        """Make ``user`` a member of ``project``; False when it already was."""

        def work(s: Session) -> bool:
            if s.get(VertebroProjectMember, (project, user)) is not None:
                return False
            s.add(VertebroProjectMember(project=project, username=user, created_at=now))
            return True

        return await self.db.run(work)

    async def revoke(self, project: str, user: str) -> bool:
        """End ``user``'s membership of ``project``; False when it was not a member. Its sessions
        in that project become invisible to it (they stay stored)."""

        def work(s: Session) -> bool:
            row = s.get(VertebroProjectMember, (project, user))
            if row is None:
                return False
            s.delete(row)
            return True

        return await self.db.run(work)

    async def members(self, project: str) -> list[str]:
        """The members of ``project``, sorted."""

        def work(s: Session) -> list[str]:
            return list(s.exec(select(VertebroProjectMember.username).where(VertebroProjectMember.project == project)
                               .order_by(col(VertebroProjectMember.username))).all())

        return await self.db.run(work)

    async def grant_admin(self, user: str, now: datetime) -> bool:
        """Make ``user`` an admin (sees every project and session); False when it already was."""

        def work(s: Session) -> bool:
            if s.get(VertebroAdmin, user) is not None:
                return False
            s.add(VertebroAdmin(username=user, created_at=now))
            return True

        return await self.db.run(work)

    async def revoke_admin(self, user: str) -> bool:
        """Remove ``user``'s stored admin role; False when it had none (``VERTEBRO_ADMIN_USERS`` is
        not changed by this)."""

        def work(s: Session) -> bool:
            row = s.get(VertebroAdmin, user)
            if row is None:
                return False
            s.delete(row)
            return True

        return await self.db.run(work)
