"""ServiceAi API 1.1.24 (seed 002): the rebuilt OpenAPI 3.1 document and its overlay.

Seed 002 is a diffend.io registry diff page of ``package/openapi.yaml`` (1.1.22 -> 1.1.24)
with all indentation lost. Each diff line is rendered over several text lines:

* context:  ``<old no>`` / ``<new no>`` / ``|`` / ``<text>``
* removed:  ``<old no>`` / ``|`` / ``-`` / ``<text>``
* added:    ``<new no>`` / ``|`` / ``+`` / ``<text>``

with ``|`` separator lines and ``@@ -a,b +c,d @@`` hunk headers in between. The tests
read the byte-for-byte copy in ``specs/serviceai/seed/`` so they run on a clean clone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from tools.overlay import apply_overlay
from tools.yamlload import load_file

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "specs" / "serviceai"
SEED = SPEC_DIR / "seed" / "002_openapi.yaml.diff.txt"
SPEC = SPEC_DIR / "openapi.yaml"
OVERLAY = SPEC_DIR / "overlay.yaml"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


# --------------------------------------------------------------------------- diff parser


@dataclass(frozen=True)
class DiffLine:
    """One line of the unified diff: kind is ' ' (context), '-' (removed) or '+' (added)."""

    kind: str
    old: int | None
    new: int | None
    text: str


def parse_diffend(text: str) -> list[DiffLine]:
    """Parse a diffend.io diff page (one file's section) into its diff lines.

    Checks every hunk against its header: line numbers run consecutively on each side
    and the old/new line counts match ``@@ -a,b +c,d @@``.
    """
    tokens = text.split("\n")
    start = next((i for i, t in enumerate(tokens) if t.startswith("@@")), None)
    if start is None:
        raise ValueError("no hunk header found")
    result: list[DiffLine] = []
    hunk: list[int] | None = None  # [next old, next new, old left, new left]

    def close_hunk() -> None:
        if hunk is not None and (hunk[2] or hunk[3]):
            raise ValueError(f"hunk ended early: {hunk[2]} old / {hunk[3]} new lines missing")

    i = start
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("@@"):
            close_hunk()
            m = HUNK.match(tok)
            if not m:
                raise ValueError(f"bad hunk header {tok!r}")
            a, b, c, d = m.groups()
            hunk = [int(a), int(c), int(b or 1), int(d or 1)]
            i += 1
        elif tok == "|":
            i += 1
        elif tok.isdigit():
            if hunk is None:
                raise ValueError(f"line number {tok} outside a hunk")
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if nxt.isdigit():  # context: old, new, '|', text
                if tokens[i + 2] != "|":
                    raise ValueError(f"token {i + 2}: expected '|' after a context line's numbers")
                line = DiffLine(" ", int(tok), int(nxt), tokens[i + 3])
            elif nxt == "|" and tokens[i + 2] in ("+", "-"):  # added / removed: no, '|', sign, text
                sign = tokens[i + 2]
                number = int(tok)
                line = DiffLine(sign, number if sign == "-" else None, number if sign == "+" else None, tokens[i + 3])
            else:
                raise ValueError(f"token {i}: cannot read a diff line at {tokens[i:i + 4]!r}")
            if line.old is not None:
                if line.old != hunk[0] or hunk[2] <= 0:
                    raise ValueError(f"old line {line.old} out of sequence (expected {hunk[0]})")
                hunk[0] += 1
                hunk[2] -= 1
            if line.new is not None:
                if line.new != hunk[1] or hunk[3] <= 0:
                    raise ValueError(f"new line {line.new} out of sequence (expected {hunk[1]})")
                hunk[1] += 1
                hunk[3] -= 1
            result.append(line)
            i += 4
        else:
            raise ValueError(f"token {i}: unexpected {tok!r}")
    close_hunk()
    return result


def new_side(lines: list[DiffLine]) -> list[DiffLine]:
    """The lines present in the new version (context and added), in order."""
    return [line for line in lines if line.kind in (" ", "+")]


# --------------------------------------------------------------------------- helpers


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in (doc.get("paths") or {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def _has_client_version(op: dict[str, Any]) -> bool:
    return any(p.get("name") == "X-Client-Version" and p.get("in") == "header" for p in op.get("parameters") or [])


@pytest.fixture(scope="module")
def diff_lines() -> list[DiffLine]:
    return parse_diffend(SEED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_file(SPEC).document


@pytest.fixture(scope="module")
def patched(spec: dict[str, Any]) -> dict[str, Any]:
    overlay = load_file(OVERLAY).document
    return apply_overlay(spec, overlay, name="serviceai overlay")


# --------------------------------------------------------------------------- tests


def test_parser_reads_the_expected_hunks(diff_lines: list[DiffLine]) -> None:
    # openapi.yaml +630 -2 in the page's summary; the final line is `webhooks: {}`.
    assert sum(1 for line in diff_lines if line.kind == "+") == 630
    assert sum(1 for line in diff_lines if line.kind == "-") == 2
    assert diff_lines[-1] == DiffLine(" ", 3246, 3874, "webhooks: {}")
    assert [line.new for line in new_side(diff_lines)][:3] == [1, 2, 3]


def test_every_new_side_line_appears_in_order(diff_lines: list[DiffLine]) -> None:
    wanted = [line.text.strip() for line in new_side(diff_lines) if line.text.strip()]
    have = [line.strip() for line in SPEC.read_text(encoding="utf-8").splitlines() if line.strip()]
    position = 0
    for index, text in enumerate(wanted):
        try:
            position = have.index(text, position) + 1
        except ValueError:
            pytest.fail(f"new-side line #{index} {text!r} missing (or out of order) in {SPEC.name}")


def test_spec_parses_and_validates(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["version"] == "1.1.24"
    assert "security" not in spec  # the overlay adds it
    validate(spec)
    assert list(spec["paths"])[0] == "/api/version"
    assert list(spec)[-1] == "webhooks"


def test_client_version_header_is_one_optional_alias() -> None:
    raw = yaml.safe_load(SPEC.read_text(encoding="utf-8"))  # PyYAML keeps aliases as the same object
    found = [
        p
        for _, _, op in _operations(raw)
        for p in op.get("parameters") or []
        if p.get("name") == "X-Client-Version"
    ]
    assert len(found) == 7
    assert all(p is found[0] for p in found)
    assert found[0]["in"] == "header"
    assert found[0]["required"] is False
    assert found[0]["schema"] == {"type": "string"}


def test_overlay_applies_and_fixes_the_defects(patched: dict[str, Any]) -> None:
    validate(patched)
    ops = list(_operations(patched))
    ids = [op.get("operationId") for _, _, op in ops]
    assert all(ids), ids
    assert len(set(ids)) == len(ids)
    assert patched["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    top_security = patched.get("security")
    for path, method, op in ops:
        where = f"{method.upper()} {path}"
        security = op.get("security", top_security)
        if op["operationId"] == "getApiVersion":
            assert security == [], where
            continue
        assert "401" in op["responses"], where
        assert any("bearerAuth" in requirement for requirement in security), where
        if _has_client_version(op):
            assert "426" in op["responses"], where
            assert op["responses"]["426"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/UpgradeRequiredEnvelope"
            }, where
        if "requestBody" in op or any(p.get("in") == "header" for p in op.get("parameters") or []):
            assert "400" in op["responses"], where


SEMVER_OK = ["0.0.0", "1", "1.2", "1.2.3", "10.20.30", "1.0.0-alpha.1", "1.0.0+build.5", "1.0.0-rc.1+sha.5114f85"]
SEMVER_BAD = ["", "v1.2.3", "1.2.3.4", "01.2.3", "1..2", "1.2.3-", "1.2.3+", "a.b.c", " 1.2.3"]


def test_overlay_client_version_pattern_hint_and_bodies(patched: dict[str, Any]) -> None:
    # (e) one semver schema on every use of the shared header
    headers = [p for _, _, op in _operations(patched) for p in op.get("parameters") or []
               if p.get("name") == "X-Client-Version"]
    assert len(headers) == 7
    pattern = re.compile(headers[0]["schema"]["pattern"])
    assert all(h["schema"] == headers[0]["schema"] and h["required"] is False for h in headers)
    assert all(pattern.search(v) for v in SEMVER_OK)
    assert not any(pattern.search(v) for v in SEMVER_BAD)
    for path, method, op in _operations(patched):
        where = f"{method.upper()} {path}"
        # (f) the soft-upgrade hint is declared wherever the header is accepted
        assert "X-Upgrade-Available" in op["responses"]["200"]["headers"], where
    execute = patched["paths"]["/api/chatty-voice/tools/execute"]["post"]
    token = patched["paths"]["/api/realtime-token"]["post"]
    # (g) per-tool denials are 200 envelopes, the 403 is the entitlement only
    assert "per-tool permission is not a 403" in execute["responses"]["403"]["description"]
    # (h) Retry-After on the mint limit
    assert token["responses"]["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}
    # (i) an absent body is {}
    for op in (execute, token):
        assert "required" not in op["requestBody"]
        assert op["requestBody"]["content"]["application/json"]["schema"]["default"] == {}
