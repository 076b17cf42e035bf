"""Spectral (spectral:oas) and Redocly (recommended) on the five served documents: 0 errors, every
warning in the committed baseline tools/lint-baseline.yaml with its reason (issue 12 §2)."""

from __future__ import annotations

import pytest

from tools import contract_lint


@pytest.mark.timeout(900)
def test_documents_lint_clean_against_the_baseline(capsys):
    code = contract_lint.main([])
    out = capsys.readouterr().out
    print(out)
    assert code == 0, out


def test_a_warning_outside_the_baseline_fails():
    report = contract_lint.Report("spectral", "x.yaml")
    report.warnings["operation-description"] = 3
    baseline = {"spectral": {"x.yaml": {"operation-description": {"count": 2, "reason": "r"}}}}
    assert contract_lint.check([report], baseline) == [
        "spectral x.yaml: 3 × operation-description warnings, baseline allows 2"]
    report.warnings["operation-description"] = 2
    report.details.append("oas3-schema /paths: broken")
    assert contract_lint.check([report], baseline) == ["spectral x.yaml: error oas3-schema /paths: broken"]
