"""Text basics of the offline engine (adapters/providers/llm/offline/text.py)."""

from __future__ import annotations

from adapters.providers.llm import detect_language


def test_language_detection_by_script():
    assert detect_language("Здравствуйте, как дела?") == "ru"
    assert detect_language("Hello there") == "en"
    assert detect_language("12345", default="ru") == "ru"
    assert detect_language("Мой адрес: a@b.com, спасибо") == "ru"
