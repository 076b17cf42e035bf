"""adapters.engines: the background warm-up reports each engine loading, ready or unavailable."""

from __future__ import annotations

import threading

from adapters.engines import EngineWarmup


def test_states_follow_the_loads_in_order():
    release = threading.Event()
    loaded: list[str] = []
    warmup = EngineWarmup()
    warmup.add("slow", lambda: (release.wait(30), loaded.append("slow")), installed=lambda: True, provider="p")
    warmup.add("broken", lambda: 1 / 0, installed=lambda: True, provider="p")
    warmup.add("fast", lambda: loaded.append("fast"), installed=lambda: True, provider="p")
    assert warmup.state("slow") is None and warmup.probe("slow") == "available"  # not started: installed?
    warmup.start()
    assert [warmup.state(n) for n in ("slow", "broken", "fast")] == ["loading"] * 3
    release.set()
    assert warmup.wait(30)
    assert loaded == ["slow", "fast"]
    assert [warmup.state(n) for n in ("slow", "broken", "fast")] == ["ready", "unavailable", "ready"]
    assert "ZeroDivisionError" in (warmup.error("broken") or "")


def test_probe_without_warmup_reports_what_is_installed():
    warmup = EngineWarmup()
    warmup.add("missing", lambda: None, installed=lambda: False, provider="p")
    warmup.add("failing-check", lambda: None, installed=lambda: 1 / 0, provider="p")
    assert warmup.probe("missing") == "unavailable"
    assert warmup.probe("failing-check") == "unavailable"


def test_stop_skips_what_is_not_loaded_yet():
    release = threading.Event()
    loaded: list[str] = []
    warmup = EngineWarmup()
    warmup.add("first", lambda: (release.wait(30), loaded.append("first")), installed=lambda: True, provider="p")
    warmup.add("second", lambda: loaded.append("second"), installed=lambda: True, provider="p")
    warmup.start()
    threading.Timer(0.05, release.set).start()
    warmup.stop(timeout=30)
    assert loaded == ["first"]
