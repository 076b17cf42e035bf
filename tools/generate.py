"""Generate everything under generated/ from specs/ — deterministically.

Pipeline per API (configured in specs/merge.yaml): load with duplicate-key detection →
repair the expected duplicates by merging their media-type maps (printed) → apply
overlays → declare gateway responses (431 and 503 everywhere, 413/415 on bodies, 501 on pending operations) →
validate → write ``generated/apis/<api>.openapi.yaml``. Then down-convert to 3.0.3,
namespace, merge, validate and write ``generated/openapi.yaml`` (and the same document as
``generated/openapi.json``, which the server loads), the routing metadata
``generated/apis.json``, and pydantic v2 models ``generated/models/<api>.py``.

Usage: ``python -m tools.generate`` (write), ``python -m tools.generate --check``
(regenerate into a temporary directory and fail if ``generated/`` differs).
"""

from __future__ import annotations

import argparse
import copy
import filecmp
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from openapi_spec_validator import validate

from tools.downconvert import downconvert
from tools.merge import Mount, merge, operations
from tools.overlay import apply_overlay
from tools.yamlload import Duplicate, load_file

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
MODEL_ARGS = [
    "--input-file-type", "openapi",
    "--output-model-type", "pydantic_v2.BaseModel",
    "--strict-nullable",
    "--use-annotated",
    "--field-constraints",
    "--target-python-version", "3.11",
    "--use-standard-collections",
    "--use-union-operator",
    "--disable-timestamp",
    # `format: uri` stays the string the client sent (validated against the contract by the
    # gateway): pydantic's AnyUrl would re-serialize it (adding a root "/"), so a URL valid at
    # maxLength could not be checked and stored in its own canonical form (adapters/webhooks).
    "--type-mappings", "string+uri=string",
    "--formatters", "black", "isort",
]


class _NoAliasDumper(yaml.SafeDumper):
    """Writes shared objects (YAML anchors in the source) out in full, every time."""

    def ignore_aliases(self, data: Any) -> bool:  # noqa: ARG002
        return True


def dump_yaml(document: Any) -> str:
    """Deterministic YAML text: key order kept, no aliases, no line folding."""
    return yaml.dump(document, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=10_000)


def module_name(api: dict[str, Any]) -> str:
    return str(api["name"]).replace("-", "_")


def repair(document: dict[str, Any], duplicates: list[Duplicate], repairs: list[dict[str, str]], name: str,
           log: Callable[[str], None]) -> dict[str, Any]:
    """Merge the media-type maps of each expected duplicate ``content`` key.

    Raises ``ValueError`` when a listed repair has no duplicate behind it, or when both
    maps define the same media type differently.
    """
    by_pointer = {d.pointer: d for d in duplicates}
    for item in repairs:
        dup = by_pointer.get(item["pointer"])
        if dup is None:
            raise ValueError(f"{name}: repair {item['pointer']} listed but no repeated key found there")
        merged: dict[str, Any] = {}
        for value in dup.values:
            for media_type, body in value.items():
                if media_type in merged and merged[media_type] != body:
                    raise ValueError(f"{name}: {item['pointer']} defines {media_type} twice, differently")
                merged[media_type] = body
        node = document
        for part in dup.path:  # the document's own keys and list indices (see tools.yamlload)
            node = node[part]
        node[dup.key] = merged
        groups = " + ".join("[" + ", ".join(v) + "]" for v in dup.values)
        log(f"repaired {name}{item['pointer']}: merged {groups} ({item['reason']})")
    return document


def pending_ids(api: dict[str, Any], document: dict[str, Any], specs: Path = SPECS) -> list[str]:
    """The API's pending operationIds: ``pending`` names a YAML file beside the spec holding
    ``all`` or a list (an inline list or ``all`` in merge.yaml works too)."""
    pending = api.get("pending")
    if isinstance(pending, str) and pending.endswith(".yaml"):
        pending = yaml.safe_load((specs / pending).read_text(encoding="utf-8"))
    if pending == "all":
        return [op["operationId"] for _, _, op in operations(document)]
    return list(pending or [])


def add_gateway_responses(document: dict[str, Any], api: dict[str, Any], specs: Path = SPECS) -> None:
    """Declare the statuses the gateway itself answers (see specs/merge.yaml)."""
    error_ref = {"$ref": f"#/components/schemas/{api['error_schema']}"}
    if api["error_schema"] not in document.get("components", {}).get("schemas", {}):
        raise ValueError(f"{api['name']}: error_schema {api['error_schema']} is not a schema of the document")
    body = {"content": {"application/json": {"schema": error_ref}}}
    pending = set(pending_ids(api, document, specs))
    known = {op["operationId"] for _, _, op in operations(document)}
    unknown = pending - known
    if unknown:
        raise ValueError(f"{api['name']}: pending lists unknown operationIds {sorted(unknown)}")
    for _, _, op in operations(document):
        responses = op.setdefault("responses", {})
        responses.setdefault("431", {"description": "Request header fields too large: the request line and headers "
                                                    "exceed the server's MAX_HEADER_BYTES.", **copy.deepcopy(body)})
        responses.setdefault("503", {
            "description": "A storage service (the database, or the shared rate-limit counters) is temporarily "
                           "unavailable; nothing was done. Retry after Retry-After seconds.",
            "headers": {"Retry-After": {"description": "Seconds to wait before retrying.",
                                        "schema": {"type": "integer", "minimum": 1}}},
            **copy.deepcopy(body),
        })
        if "requestBody" in op:
            responses.setdefault("413", {"description": "Request body larger than the server accepts.", **body})
            responses.setdefault("415", {"description": "Content-Type not offered by this operation.", **body})
        if "101" in responses:
            responses.setdefault("426", {
                "description": "Upgrade Required: this operation is a WebSocket; send the Upgrade handshake.",
                **copy.deepcopy(body),
            })
        if op["operationId"] in pending:
            op["x-gateway-pending"] = True
            responses["501"] = {"description": "Not implemented yet by this server.", **copy.deepcopy(body)}


def build(out: Path, log: Callable[[str], None] = print, specs: Path = SPECS) -> None:
    """Run the whole pipeline over ``specs`` (a ``specs/`` directory with its ``merge.yaml``),
    writing into ``out`` (a ``generated/`` directory)."""
    config = yaml.safe_load((specs / "merge.yaml").read_text(encoding="utf-8"))
    (out / "apis").mkdir(parents=True, exist_ok=True)
    (out / "models").mkdir(parents=True, exist_ok=True)
    mounts: list[Mount] = []
    routing: dict[str, Any] = {}
    for api in config["apis"]:
        expected = {r["pointer"] for r in api.get("repairs", [])}
        loaded = load_file(specs / api["source"], expected_duplicates=expected)
        document = repair(loaded.document, loaded.duplicates, api.get("repairs", []), api["name"], log)
        for overlay_path in api.get("overlays", []):
            overlay = load_file(specs / overlay_path).document
            document = apply_overlay(document, overlay, name=overlay_path)
        add_gateway_responses(document, api, specs)
        document["servers"] = [{"url": api["mount"], "description": "This gateway"}] + [
            s for s in document.get("servers", []) if s.get("url") != api["mount"]
        ]
        validate(document)
        api_file = out / "apis" / f"{api['name']}.openapi.yaml"
        api_file.write_text(dump_yaml(document), encoding="utf-8")
        converted = downconvert(document, name=api["name"])
        extra: dict[str, Any] = {}
        for item in api.get("extra_mounts", []):
            extra.setdefault(item["path"], []).append((item["prefix"], item["operation_id_suffix"]))
        mounts.append(Mount(api["name"], api["namespace"], api["mount"], converted, extra))
        routing[api["namespace"]] = {
            "name": api["name"],
            "title": api["title"],
            "mount": api["mount"],
            "package": api["package"],
            "error_schema": api["error_schema"],
            "validation_status": api["validation_status"],
            "document": f"apis/{api['name']}.openapi.yaml",
            "pending": sorted(pending_ids(api, document, specs)),
            "aliases": {
                f"{op_id}{item['operation_id_suffix']}": op_id
                for item in api.get("extra_mounts", [])
                for op_id in [
                    op["operationId"] for path, _, op in operations(document) if path == item["path"]
                ]
            },
        }
        model_file = out / "models" / f"{module_name(api)}.py"
        subprocess.run(
            [sys.executable, "-m", "datamodel_code_generator", "--input", str(api_file), "--output", str(model_file),
             *MODEL_ARGS],
            check=True,
            cwd=out,
            capture_output=True,
        )
    merged = merge(mounts, config["info"], [{"url": "/", "description": "This gateway"}])
    validate(merged)
    (out / "openapi.yaml").write_text(dump_yaml(merged), encoding="utf-8")
    # the same document as JSON, which the server loads (json parses it ~40x faster than YAML: start-up)
    (out / "openapi.json").write_text(json.dumps(merged, ensure_ascii=False, separators=(",", ":")) + "\n",
                                      encoding="utf-8")
    (out / "apis.json").write_text(json.dumps(routing, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (out / "models" / "__init__.py").write_text('"""Pydantic v2 models generated from generated/apis/*.yaml."""\n')
    (out / "__init__.py").write_text('"""Output of tools/generate.py. Never edit by hand."""\n')
    (out / "README.md").write_text(
        "# generated/\n\nOutput of `make generate` (tools/generate.py) from specs/. Never edit by hand;"
        " CI regenerates and fails on any difference (`make check`).\n"
    )


def _diff(a: Path, b: Path) -> list[str]:
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    problems = [f"only in {a.name}: {x}" for x in cmp.left_only] + [f"only in {b.name}: {x}" for x in cmp.right_only]
    problems += [f"differs: {x}" for x in cmp.diff_files]
    problems += [f"{sub}: {p}" for sub in cmp.common_dirs for p in _diff(a / sub, b / sub)]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if generated/ is not what specs/ produce")
    args = parser.parse_args(argv)
    target = ROOT / "generated"
    if not args.check:
        tmp = Path(tempfile.mkdtemp(prefix="generated-"))
        try:
            build(tmp)
            staged = target.with_name(".generated-new")
            shutil.rmtree(staged, ignore_errors=True)
            shutil.copytree(tmp, staged, ignore=shutil.ignore_patterns("__pycache__"))
            old = target.with_name(".generated-old")
            shutil.rmtree(old, ignore_errors=True)
            if target.exists():
                target.rename(old)
            staged.rename(target)  # near-atomic swap: readers never see a half-written tree
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"wrote {target.relative_to(ROOT)}/")
        return 0
    with tempfile.TemporaryDirectory(prefix="generated-check-") as scratch:
        fresh = Path(scratch) / "generated"
        build(fresh, log=lambda _msg: None)
        problems = _diff(target, fresh) if target.exists() else ["generated/ is missing"]
    if problems:
        print("generated/ is out of date with specs/ (run `make generate`):", *problems, sep="\n  ")
        return 1
    print("generated/ is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
