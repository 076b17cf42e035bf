"""The voice session state machine: idle → listening (transcribing) → thinking → speaking
(synthesizing) → idle, tracked per session in this process; every change of the visible
state emits ``session.state_changed``."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from handlers.virtual_banker.events import emit

PRIORITY = ("speaking", "thinking", "listening")


class VoiceActivity:
    """Counts running activities per session; the state is the highest-priority one running."""

    def __init__(self) -> None:
        self._running: dict[str, Counter[str]] = defaultdict(Counter)
        self._errors: dict[tuple[str, str], bool] = {}
        self._realtime: dict[str, str] = {}

    def state(self, session_id: str) -> str:
        """``speaking`` | ``thinking`` | ``listening`` | ``idle``."""
        running = self._running.get(session_id)
        for state in PRIORITY:
            if running and running[state] > 0:
                return state
        return self._realtime.get(session_id, "idle")

    async def set_realtime(self, session_id: str, tenant_id: str, state: str | None) -> None:
        """The state of a realtime conversation on this session (None when it ends)."""
        before = self.state(session_id)
        if state is None or state == "idle":
            self._realtime.pop(session_id, None)
        else:
            self._realtime[session_id] = state
        await self._announce(session_id, tenant_id, before)

    def busy(self, session_id: str, state: str) -> bool:
        """True while at least one ``state`` activity (``listening``/``thinking``/``speaking``) runs."""
        running = self._running.get(session_id)
        return bool(running and running[state] > 0)

    def set_error(self, session_id: str, kind: str, failed: bool) -> None:
        """Remember whether the last ``kind`` (``asr``/``tts``) call of a session failed."""
        self._errors[(session_id, kind)] = failed

    def failed(self, session_id: str, kind: str) -> bool:
        """True when the last ``kind`` (``asr``/``tts``) call of the session failed."""
        return self._errors.get((session_id, kind), False)

    @asynccontextmanager
    async def activity(self, session_id: str, tenant_id: str, state: str) -> AsyncIterator[None]:
        """Mark ``state`` running for the duration of the block (nesting and overlap allowed)."""
        before = self.state(session_id)
        self._running[session_id][state] += 1
        await self._announce(session_id, tenant_id, before)
        try:
            yield
        finally:
            before = self.state(session_id)
            self._running[session_id][state] -= 1
            if not +self._running[session_id]:
                del self._running[session_id]
            await self._announce(session_id, tenant_id, before)

    async def _announce(self, session_id: str, tenant_id: str, before: str) -> None:
        after = self.state(session_id)
        if after != before:
            await emit(tenant_id, "session.state_changed", {"session_id": session_id, "from": before, "to": after})


activity = VoiceActivity()
