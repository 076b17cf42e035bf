"""Pydantic v2 models generated from generated/apis/*.yaml."""
