"""core.settings: every setting is an environment variable the README documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented_in_the_readme(field: str) -> None:
    assert f"`{field.upper()}`" in README, f"{field.upper()} is read from the environment but not in README.md"


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALTIME_MAX_PEERS", "7")
    monkeypatch.setenv("REALTIME_HOST_ADDRESSES", '["127.0.0.1"]')
    settings = Settings()
    assert settings.realtime_max_peers == 7 and settings.realtime_host_addresses == ["127.0.0.1"]
