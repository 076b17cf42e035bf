"""Handlers of this API: none built yet — every operation is pending (specs/merge.yaml)."""
