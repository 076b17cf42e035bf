"""``make fuzz URL=… [API=…]``: schemathesis against any deployment, from each served per-API document.

For each API (``generated/apis.json``), the run loads ``{URL}/openapi/{api}.json`` — the document
client teams use — and runs the schemathesis CLI with every phase (examples, coverage, fuzzing,
stateful through the documents' OpenAPI links) and every check (``ignored_auth``,
``use_after_free``, ``ensure_resource_availability`` and ``object_level_authorization`` included,
the last with two users as peers), responses validated against the document. It prints per API
the depth — operations driven to a 2xx out of the operations a plain HTTP client can succeed on
(WebSocket handshakes and pending operations excluded) — the operations never driven to a 2xx,
and the failures; it writes a JUnit report (and schemathesis' JSON run report) per API into
``--report-dir``, and exits 1 when any check failed (2 when a run could not start).

Credentials come from environment variables named after the API's namespace ``NS`` and its
security scheme (a second user, for the ownership checks, adds ``_2``):

- HTTP bearer: ``FUZZ_<NS>_TOKEN`` and ``FUZZ_<NS>_TOKEN_2``;
- HTTP Basic: ``FUZZ_<NS>_USER`` / ``FUZZ_<NS>_PASSWORD`` and ``FUZZ_<NS>_USER_2`` / ``FUZZ_<NS>_PASSWORD_2``;
- ``FUZZ_<NS>_HEADERS``: a JSON object of extra headers sent by both users.

Virstack needs none: without ``FUZZ_VIRSTACK_TOKEN`` the run registers two organizations and
uses an API key of each (``POST /users/register``, ``/users/login``, ``/auth/api-keys``). Its
LiveKit webhook is signed per body when ``FUZZ_VIRSTACK_LIVEKIT_KEY`` and
``FUZZ_VIRSTACK_LIVEKIT_SECRET`` (the deployment's ``LIVEKIT_API_KEY``/``LIVEKIT_API_SECRET``) are set.

Usage: ``python -m tools.fuzz --url http://127.0.0.1:8081 [--api virstack-voiceai] [--max-examples 25]``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
APIS = ROOT / "generated" / "apis.json"
PHASES = ("examples", "coverage", "fuzzing", "stateful")
STATEFUL_STEPS = 10  # the longest chain: agent → import number → phone call → its call operations
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Statuses a schema-valid request may get besides 2xx, per operation, because the contract states
# a rule in prose (or a state precondition) that JSON Schema cannot express. Each entry says why.
EXTRA_ACCEPTED: dict[str, tuple[list[str], str]] = {
    "vb.createVoiceSession": (["400"], "a provider whose key the deployment lacks: 400 naming the setting"),
    "vb.synthesizeSpeech": (["400"], "a provider whose key the deployment lacks: 400 naming the setting"),
    "vb.synthesizeSpeechStream": (["400"], "a provider whose key the deployment lacks: 400 naming the setting"),
    "vb.transcribeAudio": (["400"], "schema-valid bytes need not be decodable audio (400 INVALID_AUDIO)"),
    "vb.transcribeAudioStream": (["400"], "schema-valid bytes need not be decodable audio (400 INVALID_AUDIO)"),
    "virstack.purchasePhoneNumber": (["400", "409"], "buying needs a configured carrier; numbers are unique"),
    "virstack.receiveLivekitWebhook": (["400"], "a free-form object need not be a LiveKit WebhookEvent (protobuf)"),
    "serviceai.exchangeRealtimeWebrtcSdp": (["400"], "a string need not be an SDP offer a WebRTC peer can answer"),
    "virstack.createAgent": (["400", "404", "409"], "custom tool names unique per agent, filler variants sum ≤ 5"),
    "virstack.updateAgent": (["400", "404", "409"], "custom tool names unique per agent, filler variants sum ≤ 5"),
    "vertebro.recognizeSpeech": (["400", "404", "415"], "schema-valid base64 need not be decodable audio"),
    "vertebro.uploadVoiceSamples": (["400", "415"], "schema-valid bytes need not be audio; empty files are 400"),
    "vertebro.startTraining": (["400", "409"], "needs ≥ 3 uploaded samples of the project (state)"),
}
# Failures (schemathesis codes) that are not failures for an operation, and why.
IGNORED_FAILURES: dict[str, tuple[list[str], str]] = {
    **{f"virstack.{op}": (["ST402"], "object-level authorization: the provider catalog is one list shared by "
                                     "every organization (admin-managed), so every peer may read every entry")
       for op in ("getProvider", "listProviderModels", "getProviderModel")},
}
# Statuses a whole API may answer a schema-valid request with, and why.
API_ACCEPTED: dict[str, tuple[list[str], str]] = {
    "serviceai": (["426"], "an X-Client-Version whose MAJOR is below minClientVersion's is refused (server setting)"),
}


@dataclass
class ApiRun:
    """One API's outcome: depth, missing operations, failures, exit code and report paths."""

    name: str
    operations: list[str]
    reached: set[str] = field(default_factory=set)
    failures: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int = 0
    junit: Path | None = None
    output: str = ""

    @property
    def missing(self) -> list[str]:
        """Operations never answered with a 2xx."""
        return sorted(set(self.operations) - self.reached)

    def summary(self) -> str:
        """One line: ``name: depth N/M operations driven to a 2xx, F failures``."""
        return (f"{self.name}: depth {len(self.reached & set(self.operations))}/{len(self.operations)} operations "
                f"driven to a 2xx, {sum(int(f.get('count', 1)) for f in self.failures)} failures")


def testable_operations(document: Mapping[str, Any]) -> list[str]:
    """operationIds a plain HTTP client can drive to a 2xx: not WebSocket handshakes (``101``),
    not pending (``x-gateway-pending``)."""
    ids = []
    for item in document.get("paths", {}).values():
        for method in METHODS:
            op = item.get(method)
            if not op or "101" in op.get("responses", {}) or op.get("x-gateway-pending"):
                continue
            ids.append(op["operationId"])
    return ids


def websocket_operations(document: Mapping[str, Any]) -> list[str]:
    """operationIds answered with ``101`` (a WebSocket handshake)."""
    return [op["operationId"] for item in document.get("paths", {}).values() for method in METHODS
            if (op := item.get(method)) and "101" in op.get("responses", {})]


def _env_user(prefix: str, scheme: Mapping[str, Any], suffix: str, env: Mapping[str, str]) -> dict[str, str] | None:
    kind = str(scheme.get("scheme", "")).lower() if scheme.get("type") == "http" else ""
    if kind == "bearer" and env.get(f"{prefix}_TOKEN{suffix}"):
        return {"Authorization": f"Bearer {env[f'{prefix}_TOKEN{suffix}']}"}
    if kind == "basic" and env.get(f"{prefix}_USER{suffix}"):
        pair = f"{env[f'{prefix}_USER{suffix}']}:{env.get(f'{prefix}_PASSWORD{suffix}', '')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    return None


def virstack_self_register(base: str) -> list[dict[str, str]]:
    """Two fresh Virstack organizations, each as ``Authorization`` with an API key of its admin."""
    users = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for n in (1, 2):
            email = f"fuzz-{secrets.token_hex(6)}@example.com"
            password = secrets.token_urlsafe(18)
            client.post("/users/register", json={"organization_name": f"Fuzz Org {n}", "first_name": "Fuzz",
                                                 "last_name": f"User{n}", "email": email, "password": password})
            login = client.post("/users/login", json={"email": email, "password": password})
            login.raise_for_status()
            token = login.json()["data"]["token"]
            key = client.post("/auth/api-keys", json={"name": f"fuzz-{n}"},
                              headers={"Authorization": f"Bearer {token}"})
            key.raise_for_status()
            users.append({"Authorization": f"Bearer {key.json()['data']['api_key']}"})
    return users


def credentials(api: Mapping[str, Any], document: Mapping[str, Any], base: str,
                env: Mapping[str, str]) -> list[dict[str, str]]:
    """The users (as headers) to fuzz ``api`` with, from the environment (see the module docstring)."""
    prefix = f"FUZZ_{str(api['namespace']).upper()}"
    extra = json.loads(env.get(f"{prefix}_HEADERS", "{}"))
    users = []
    for scheme in document.get("components", {}).get("securitySchemes", {}).values():
        for suffix in ("", "_2"):
            user = _env_user(prefix, scheme, suffix, env)
            if user is not None:
                users.append(user)
        if users:
            break
    if not users and api["namespace"] == "virstack":
        users = virstack_self_register(base)
    return [{**extra, **user} for user in users] or ([extra] if extra else [])


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


def write_config(directory: Path, namespace: str, users: Sequence[Mapping[str, str]], *, seed: int,
                 max_examples: int, phases: Sequence[str], websocket_operations: Sequence[str] = (),
                 stateful_examples: int = 100) -> Path:
    """schemathesis.toml (and its WFC auth file) for one API's run; returns the TOML path."""
    lines = [f"seed = {seed}", "", "[generation]", 'mode = "all"', f"max-examples = {max_examples}", ""]
    for phase in PHASES:
        lines += [f"[phases.{phase}]", f"enabled = {_toml(phase in phases)}"]
        if phase == "stateful":
            lines += [f"max-steps = {STATEFUL_STEPS}", f"generation.max-examples = {stateful_examples}"]
        lines.append("")
    if users:
        wfc = {"auth": [{"name": f"user{i + 1}", "fixedHeaders": [{"name": k, "value": v} for k, v in user.items()]}
                        for i, user in enumerate(users)]}
        (directory / "wfc.json").write_text(json.dumps(wfc, indent=2), encoding="utf-8")
        lines += ["[auth.wfc]", f"path = {_toml(str(directory / 'wfc.json'))}", 'user = "user1"']
        if len(users) > 1:
            lines.append(f"peers = {_toml([f'user{i + 1}' for i in range(len(users))])}")
        lines.append("")
    base = ["2xx", "3xx", "401", "403", "404", "429", "5xx"]
    api_extra = API_ACCEPTED.get(namespace, ([], ""))[0]
    extra = {op_id.split(".", 1)[1]: statuses for op_id, (statuses, _why) in EXTRA_ACCEPTED.items()
             if op_id.split(".", 1)[0] == namespace}
    for op_id in websocket_operations:  # over plain HTTP a WebSocket operation answers its declared 426
        extra[op_id] = [*extra.get(op_id, []), "426"]
    for local, statuses in extra.items():
        lines += ["[[operations]]", f"include-operation-id = {_toml([local])}",
                  f"checks.positive_data_acceptance.expected-statuses = {_toml(base + statuses + api_extra)}", ""]
    if api_extra:
        lines += ["[checks.positive_data_acceptance]", f"expected-statuses = {_toml(base + api_extra)}", ""]
    path = directory / "schemathesis.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run_api(url: str, api: Mapping[str, Any], env: Mapping[str, str], report_dir: Path, *, seed: int,
            max_examples: int, phases: Sequence[str], stream: bool, stateful_examples: int = 100) -> ApiRun:
    """Fuzz one API of the deployment at ``url``; the schemathesis CLI runs in a subprocess."""
    name = str(api["name"])
    document = httpx.get(f"{url}/openapi/{name}.json", timeout=30).raise_for_status().json()
    mount = str(api["mount"]).rstrip("/")
    result = ApiRun(name, testable_operations(document))
    work = Path(tempfile.mkdtemp(prefix=f"fuzz-{name}-"))
    users = credentials(api, document, url + mount, env)
    config = write_config(work, str(api["namespace"]), users, seed=seed, max_examples=max_examples, phases=phases,
                          websocket_operations=websocket_operations(document), stateful_examples=stateful_examples)
    record = work / "record.jsonl"
    report_dir.mkdir(parents=True, exist_ok=True)
    result.junit = report_dir / f"{name}.junit.xml"
    json_report = report_dir / f"{name}.json"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", f"{url}/openapi/{name}.json",
        "--url", url + mount, "--checks", "all", "--workers", "1", "--phases", ",".join(phases),
        "--report", "junit,json", "--report-junit-path", str(result.junit), "--report-json-path", str(json_report),
        "--suppress-health-check", "all", "--no-color",
    ]
    ignored = {op_id.split(".", 1)[1]: codes for op_id, (codes, _why) in IGNORED_FAILURES.items()
               if op_id.split(".", 1)[0] == api["namespace"]}
    child_env = {**os.environ, **env, "SCHEMATHESIS_HOOKS": "tools.fuzz_hooks", "FUZZ_RECORD": str(record),
                 "FUZZ_BASE_URL": url + mount,
                 "FUZZ_IGNORED": json.dumps(ignored),
                 "FUZZ_USER_AUTH": json.dumps([u.get("Authorization") for u in users if u.get("Authorization")]),
                 "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(command, env=child_env, cwd=work, text=True,
                          stdout=None if stream else subprocess.PIPE, stderr=subprocess.STDOUT)
    result.exit_code = proc.returncode
    result.output = proc.stdout or ""
    if record.exists():
        for line in record.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if 200 <= int(entry["status"]) < 300:
                result.reached.add(entry["operation"])
    if json_report.exists():
        result.failures = json.loads(json_report.read_text(encoding="utf-8")).get("failures") or []
    return result


def report(runs: Sequence[ApiRun]) -> str:
    """The printed summary: per API its depth, operations never driven to a 2xx, and failures."""
    lines = []
    for run in runs:
        lines.append(run.summary())
        if run.missing:
            lines.append(f"  never 2xx: {', '.join(run.missing)}")
        for failure in run.failures:
            where = ", ".join(failure.get("operations", []))
            lines.append(f"  FAIL {failure.get('title')} ×{failure.get('count')}: {where}")
        if run.exit_code not in (0, 1):
            lines.append(f"  schemathesis exited {run.exit_code}")
    total = sum(len(r.reached & set(r.operations)) for r in runs)
    ops = sum(len(r.operations) for r in runs)
    failures = sum(int(f.get("count", 1)) for r in runs for f in r.failures)
    lines.append(f"total: depth {total}/{ops}, {failures} failures")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="deployment root, e.g. http://127.0.0.1:8081")
    parser.add_argument("--api", action="append", help="API name (repeatable); default: every API")
    parser.add_argument("--report-dir", type=Path, default=Path("var/fuzz-report"))
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 1_000_000)
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--stateful-examples", type=int, default=100, help="scenarios of the stateful phase")
    args = parser.parse_args(argv)
    apis = json.loads(APIS.read_text(encoding="utf-8"))
    selected = [a for a in apis.values() if not args.api or a["name"] in args.api]
    if not selected:
        parser.error(f"no API named {args.api}; known: {', '.join(a['name'] for a in apis.values())}")
    url = args.url.rstrip("/")
    runs = []
    for api in selected:
        api = {**api, "namespace": next(ns for ns, a in apis.items() if a is api)}
        print(f"== {api['name']} (seed {args.seed})", flush=True)
        runs.append(run_api(url, api, os.environ, args.report_dir, seed=args.seed, max_examples=args.max_examples,
                            phases=args.phases.split(","), stream=True, stateful_examples=args.stateful_examples))
    print(report(runs))
    print(f"JUnit reports: {args.report_dir}/<api>.junit.xml")
    if any(r.exit_code not in (0, 1) for r in runs):
        return 2
    return 1 if any(r.exit_code or r.failures for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
