"""Regenerate typed clients from the served per-API documents and measure them (issue 12 §2).

Python: openapi-python-client 0.29 (configuration ``tools/clients/openapi-python-client.yaml``)
per API; counted: the generator's warnings (each a dropped endpoint, response or schema), modules
that fail to import, and mypy errors on the generated package.

TypeScript: openapi-typescript (``tools/node``) per API; counted: ``Record<string, never>``
outside ``webhooks``/``$defs`` (an object nothing can be assigned to), and ``tsc --strict`` errors
on generated code that, for every operation, builds its request (path and query parameters, the
JSON body from the document's example when it has one) and reads its success response.

Usage: ``python -m tools.client_check [--out DIR]``; prints one line per API and exits 1 when
anything is dropped, fails to import, or does not type-check.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
APIS = ROOT / "generated" / "apis"
CONFIG = ROOT / "tools" / "clients" / "openapi-python-client.yaml"
NODE_BIN = ROOT / "tools" / "node" / "node_modules" / ".bin"
METHODS = ("get", "put", "post", "delete", "patch")


@dataclass
class PythonClient:
    """One generated Python client: where, what the generator dropped, imports, mypy errors."""

    api: str
    path: Path
    package: Path
    dropped: list[str]
    import_failures: list[str]
    mypy_errors: int
    mypy_output: str


@dataclass
class TypeScriptTypes:
    """One API's generated TypeScript types: empty objects and tsc errors on the usage code."""

    api: str
    never_records: list[str]
    tsc_errors: int
    tsc_output: str


def python_clients(apis: Sequence[str], out: Path) -> dict[str, PythonClient]:
    """Generate the clients of ``apis`` into ``out/<api>`` and measure them: the generators run
    side by side (one process each), then one import check per client and one mypy run over all
    of them (mypy's start-up, typeshed included, is most of a small package's check)."""
    generators = {api: subprocess.Popen(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(APIS / f"{api}.openapi.yaml"),
         "--output-path", str(out / api), "--overwrite", "--config", str(CONFIG)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for api in apis}
    dropped: dict[str, list[str]] = {}
    packages: dict[str, Path] = {}
    for api, proc in generators.items():
        stdout, stderr = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"openapi-python-client failed for {api}:\n{stdout}\n{stderr}")
        dropped[api] = [line for line in stdout.splitlines() if line.startswith(("WARNING", "Unable to process"))]
        packages[api] = next(p for p in (out / api).iterdir() if p.is_dir() and (p / "__init__.py").exists())
    mypy = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--ignore-missing-imports",
                           "--config-file", "/dev/null", *(str(p.relative_to(out)) for p in packages.values())],
                          cwd=out, capture_output=True, text=True, timeout=900)
    clients = {}
    for api, package in packages.items():
        mine = [line for line in mypy.stdout.splitlines() if line.startswith(str(package.relative_to(out)) + "/")]
        clients[api] = PythonClient(api, out / api, package, dropped[api], _import_failures(package),
                                    sum(": error:" in line for line in mine), "\n".join(mine))
    return clients


def python_client(api: str, out: Path) -> PythonClient:
    """Generate the client of ``api`` into ``out/<api>`` and measure it (see :func:`python_clients`)."""
    return python_clients([api], out)[api]


def _import_failures(package: Path) -> list[str]:
    """Modules of the generated ``package`` that fail to import (``module: error``), in a child
    process whose working directory is the package's parent."""
    target = package.parent
    modules = [".".join(p.relative_to(target).with_suffix("").parts) for p in package.rglob("*.py")]
    script = ("import importlib, json, sys\nfailed = []\nfor m in json.loads(sys.argv[1]):\n"
              "    try:\n        importlib.import_module(m.removesuffix('.__init__'))\n"
              "    except Exception as exc:\n        failed.append(f'{m}: {exc!r}')\nprint(json.dumps(failed))\n")
    imported = subprocess.run([sys.executable, "-c", script, json.dumps(modules)], cwd=target, capture_output=True,
                              text=True, timeout=600)
    if imported.returncode != 0:
        return [imported.stderr]
    failures: list[str] = json.loads(imported.stdout.strip().splitlines()[-1])
    return failures


def _ts_string(value: str) -> str:
    return json.dumps(value)


def _usage(api: str, document: dict[str, Any]) -> str:
    """TypeScript that builds every operation's request and reads its success response."""
    lines = [f'import type {{ paths }} from "./{api}";', "", "export const reads: unknown[] = [];", ""]
    for n, (path, method, op) in enumerate(
            (p, m, item[m]) for p, item in document.get("paths", {}).items() for m in METHODS if m in item):
        op_type = f"paths[{_ts_string(path)}][{_ts_string(method)}]"
        lines.append(f"// {op.get('operationId')}: {method.upper()} {path}")
        lines.append(f"type Op{n} = {op_type};")
        lines.append(f"export const params{n}: Op{n}[\"parameters\"] = "
                     f"{{}} as Op{n}[\"parameters\"];")
        body = (op.get("requestBody") or {}).get("content", {}).get("application/json")
        if body is not None:
            example = body.get("example")
            rb = f"NonNullable<Op{n}[\"requestBody\"]>[\"content\"][\"application/json\"]"
            if example is not None:
                lines.append(f"export const body{n}: {rb} = {json.dumps(example)};")
            else:
                lines.append(f"export declare const body{n}: {rb};")
        for status, response in (op.get("responses") or {}).items():
            if not str(status).startswith("2"):
                continue
            content = (response or {}).get("content") or {}
            if "application/json" in content:
                json_type = f"Op{n}[\"responses\"][{status}][\"content\"][\"application/json\"]"
                lines.append(f"declare const res{n}: {json_type};")
                lines.append(f"reads.push(res{n});")
            break
        lines.append("")
    return "\n".join(lines)


def typescript_types(api: str, out: Path) -> TypeScriptTypes:
    """openapi-typescript for ``api`` into ``out/ts``, then ``tsc --strict`` on the usage code."""
    ts = out / "ts"
    ts.mkdir(parents=True, exist_ok=True)
    dts = ts / f"{api}.ts"
    subprocess.run([str(NODE_BIN / "openapi-typescript"), str(APIS / f"{api}.openapi.yaml"), "-o", str(dts),
                    "--default-non-nullable=false"],
                   check=True, capture_output=True, text=True, timeout=600)
    text = dts.read_text(encoding="utf-8")
    never = []
    section = ""
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"^export (?:interface|type) ([\w$]+)", line)
        if match:
            section = match.group(1)
        if "Record<string, never>" in line and section not in ("webhooks", "$defs"):
            never.append(f"{dts.name}:{number}: {line.strip()}")
    document = yaml.safe_load((APIS / f"{api}.openapi.yaml").read_text(encoding="utf-8"))
    usage = ts / f"use-{api}.ts"
    usage.write_text(_usage(api, document), encoding="utf-8")
    proc = subprocess.run([str(NODE_BIN / "tsc"), "--noEmit", "--strict", "--target", "es2022", "--module",
                           "es2022", "--moduleResolution", "bundler", str(usage)], capture_output=True, text=True,
                          timeout=600, cwd=ts)
    errors = len(re.findall(r"error TS\d+", proc.stdout))
    return TypeScriptTypes(api, never, errors, proc.stdout)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="clients-"))
    bad = False
    apis = [document.name.removesuffix(".openapi.yaml") for document in sorted(APIS.glob("*.openapi.yaml"))]
    python = python_clients(apis, out)
    for api in apis:
        py = python[api]
        ts = typescript_types(api, out)
        print(f"{api}: python dropped {len(py.dropped)}, import failures {len(py.import_failures)}, "
              f"mypy errors {py.mypy_errors}; typescript Record<string, never> {len(ts.never_records)}, "
              f"tsc --strict errors {ts.tsc_errors}")
        for line in py.dropped + py.import_failures + ts.never_records:
            print("   ", line)
        bad = bad or bool(py.dropped or py.import_failures or ts.never_records or ts.tsc_errors)
    print(f"clients in {out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
