"""Lint the five served documents with Spectral (``spectral:oas``) and Redocly (``recommended``).

The documents: each API's ``generated/apis/<api>.openapi.yaml`` and the merged
``generated/openapi.yaml``. The gate: 0 errors from either tool; every warning is in the committed
baseline ``tools/lint-baseline.yaml`` (per tool, document and rule: the count allowed and the reason
it is accepted). A warning of a rule the baseline does not list, or more of them than it allows,
fails. Counts are printed per tool and document.

Both tools come from ``tools/node`` (``scripts/node-tools``). Usage: ``python -m tools.contract_lint``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "tools" / "node" / "node_modules" / ".bin"
RULESET = ROOT / "tools" / "node" / "spectral.yaml"
BASELINE = ROOT / "tools" / "lint-baseline.yaml"


def documents(root: Path = ROOT) -> list[Path]:
    """The five served documents: one per API, then the merged one."""
    return sorted((root / "generated" / "apis").glob("*.openapi.yaml")) + [root / "generated" / "openapi.yaml"]


@dataclass
class Report:
    """One tool's findings on one document: ``errors`` and ``warnings`` counted per rule."""

    tool: str
    document: str
    errors: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    details: list[str] = field(default_factory=list)


def spectral(path: Path) -> Report:
    """Spectral ``spectral:oas`` on ``path`` (severity 0 = error, 1 = warning)."""
    proc = subprocess.run([str(BIN / "spectral"), "lint", "-r", str(RULESET), "-f", "json", "--quiet", str(path)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    out = proc.stdout.strip()
    found: list[dict[str, Any]] = json.loads(out[out.index("["):]) if "[" in out else []
    report = Report("spectral", path.name)
    for item in found:
        target = report.errors if item["severity"] == 0 else report.warnings if item["severity"] == 1 else None
        if target is not None:
            target[item["code"]] += 1
            if item["severity"] == 0:
                report.details.append(f"{item['code']} {'/'.join(map(str, item['path']))}: {item['message']}")
    return report


def redocly(path: Path) -> Report:
    """Redocly ``lint --extends=recommended`` on ``path``."""
    proc = subprocess.run([str(BIN / "redocly"), "lint", "--extends=recommended", "--format=json", str(path)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    out = proc.stdout.strip()
    found = json.loads(out[out.index("{"):]).get("problems", []) if "{" in out else []
    report = Report("redocly", path.name)
    for item in found:
        target = report.errors if item["severity"] == "error" else report.warnings
        target[item["ruleId"]] += 1
        if item["severity"] == "error":
            report.details.append(f"{item['ruleId']} {item['location'][0]['pointer']}: {item['message']}")
    return report


def check(reports: list[Report], baseline: dict[str, Any]) -> list[str]:
    """Problems: every error, and every warning the baseline does not cover (rule or count)."""
    problems = []
    for report in reports:
        allowed = (baseline.get(report.tool) or {}).get(report.document) or {}
        problems += [f"{report.tool} {report.document}: error {d}" for d in report.details]
        for rule, count in report.warnings.items():
            entry = allowed.get(rule)
            limit = int(entry["count"]) if isinstance(entry, dict) else 0
            if count > limit:
                problems.append(f"{report.tool} {report.document}: {count} × {rule} warnings, baseline allows {limit}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: print counts; exit 1 on an error or a warning outside the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    reports = [lint(path) for path in documents() for lint in (spectral, redocly)]
    for report in reports:
        print(f"{report.tool:8} {report.document:35} errors {sum(report.errors.values()):3}  "
              f"warnings {sum(report.warnings.values()):3}  {dict(report.warnings)}")
    baseline = yaml.safe_load(BASELINE.read_text(encoding="utf-8")) or {}
    problems = check(reports, baseline)
    for problem in problems:
        print("FAIL", problem)
    print(f"errors {sum(sum(r.errors.values()) for r in reports)}, "
          f"warnings {sum(sum(r.warnings.values()) for r in reports)}, outside the baseline {len(problems)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
