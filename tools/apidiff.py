"""``make diff``: the breaking-change gate of the served per-API documents.

Each API's document (``generated/apis/<api>.openapi.yaml``) is compared with its baseline — the
published document as rebuilt, before any overlay (``source`` of specs/merge.yaml, with its
repairs), or for Vertebro the released copy ``specs/vertebro-voice/released/openapi.yaml``. A
change breaks a client of the baseline when it

- removes a path, an operation, an operationId the baseline had (or renames it), a response
  status, a response media type, a response property, or a request media type;
- adds a required request property or a required parameter, or makes one required;
- narrows a request value: another ``type``, a new or different ``format``/``pattern``, fewer or
  new ``enum`` values, tighter ``minLength``/``maxLength``/``minimum``/``maximum``/``minItems``/
  ``maxItems``, ``additionalProperties: false``; or changes a response value's ``type``;
- changes an operation's security requirements or a security scheme;
- drops a server URL.

A finding is accepted only when the overlay action that makes it says why: an ``x-breaking``
reason on the action (a non-empty string). An action makes a finding when it wrote the node the
finding is at — each finding is located at the changed keyword (``…/name/maxLength``, ``…/security``,
``…/requestBody/required``, a removed ``…/properties/x``): its target (selected in the baseline or
in the result) plus a key path of its ``update``, or anything inside a value it replaced or a node
it removed. A broad target (``$``,
``$.components.schemas``) acknowledges only what its update writes, never everything below it; a
change of the global ``security`` is found at ``/security``. Everything else fails the gate, and
the refusal names the action(s) that made it.

Optic (``@useoptic/optic``, installed by scripts/node-tools) runs beside these checks when
present; its verdicts are printed for the record (it misses pattern narrowing and security
changes, and it cannot read the acknowledged reasons), the gate's decision is this module's.

Usage: ``python -m tools.apidiff [--api NAME] [--optic]``; ``--base FILE --head FILE`` compares two
files (no overlay acknowledgements), as the gate's own tests do.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonpath
import yaml

from tools.generate import repair
from tools.yamlload import load_file

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
GENERATED = ROOT / "generated" / "apis"
OPTIC = ROOT / "tools" / "node" / "node_modules" / ".bin" / "optic"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Keywords whose larger value narrows (min*) or whose smaller value narrows (max*).
LOWER_BOUNDS = ("minLength", "minimum", "minItems", "minProperties", "exclusiveMinimum")
UPPER_BOUNDS = ("maxLength", "maximum", "maxItems", "maxProperties", "exclusiveMaximum")


@dataclass(frozen=True)
class Finding:
    """One breaking change: where (a JSON pointer in the head, else the base document) and what."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer}: {self.message}"


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _join(pointer: str, *parts: str | int) -> str:
    return pointer + "".join("/" + _escape(str(p)) for p in parts)


class Doc:
    """A document with ``$ref`` resolution that remembers where each resolved node lives."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def at(self, pointer: str) -> Any:
        """The node at ``pointer`` (``#/…`` or ``/…``)."""
        node: Any = self.document
        for raw in pointer.lstrip("#").strip("/").split("/") if pointer.strip("#/") else []:
            part = raw.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def resolve(self, node: Any, pointer: str) -> tuple[Any, str]:
        """Follow ``$ref`` chains: ``(node, its pointer)``."""
        seen = 0
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
            pointer = node["$ref"].lstrip("#")
            node = self.at(pointer)
            seen += 1
            if seen > 50:
                break
        return node, pointer


def _operations(doc: Doc) -> Iterator[tuple[str, str, Mapping[str, Any], str]]:
    for path, item in (doc.document.get("paths") or {}).items():
        for method in METHODS:
            if isinstance(item, Mapping) and isinstance(item.get(method), Mapping):
                yield path, method, item[method], _join("/paths", path, method)


def _params(doc: Doc, path: str, op: Mapping[str, Any], pointer: str) -> dict[tuple[str, str], tuple[Any, str]]:
    item = doc.document["paths"][path]
    out: dict[tuple[str, str], tuple[Any, str]] = {}
    for base, params in ((_join("/paths", path), item.get("parameters") or []), (pointer, op.get("parameters") or [])):
        for i, raw in enumerate(params):
            param, where = doc.resolve(raw, _join(base, "parameters", i))
            name = str(param.get("name"))
            out[(str(param.get("in")), name.lower() if param.get("in") == "header" else name)] = (param, where)
    return out


def _types(schema: Mapping[str, Any]) -> set[str] | None:
    value = schema.get("type")
    if value is None:
        return None
    types = {value} if isinstance(value, str) else set(value)
    if schema.get("nullable"):
        types.add("null")
    if "integer" in types:
        types.add("integer")
    return types


def _widened(old: set[str], new: set[str]) -> bool:
    """``new`` accepts every value ``old`` did (``integer`` ⊂ ``number``)."""
    return all(t in new or (t == "integer" and "number" in new) for t in old)


class Comparer:
    """The checks of the module docstring between a ``base`` and a ``head`` document."""

    def __init__(self, base: Mapping[str, Any], head: Mapping[str, Any]) -> None:
        self.base, self.head = Doc(base), Doc(head)
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, str, str]] = set()

    def add(self, pointer: str, message: str) -> None:
        """Record a finding once."""
        if (pointer, message, "") not in self._seen:
            self._seen.add((pointer, message, ""))
            self.findings.append(Finding(pointer, message))

    def run(self) -> list[Finding]:
        """Every breaking change from base to head."""
        self._servers()
        head_ops = {(p, m): (op, ptr) for p, m, op, ptr in _operations(self.head)}
        base_schemes = (self.base.document.get("components") or {}).get("securitySchemes") or {}
        head_schemes = (self.head.document.get("components") or {}).get("securitySchemes") or {}
        # A scheme the baseline uses without declaring it (seed 004's `bearerAuth`) is the head's
        # scheme of the same name in another case, when there is one.
        base_lookup = {**{name.lower(): s for name, s in head_schemes.items()}, **base_schemes}
        for name, scheme in base_schemes.items():
            where = _join("/components/securitySchemes", name)
            if name in head_schemes:
                for key in ("type", "scheme", "in", "name"):
                    if scheme.get(key) != head_schemes[name].get(key):
                        self.add(_join(where, key), f"security scheme {name}: {key} {scheme.get(key)!r} → "
                                        f"{head_schemes[name].get(key)!r}")
        for path, method, op, pointer in _operations(self.base):
            label = f"{method.upper()} {path}"
            if (path, method) not in head_ops:
                self.add(pointer, f"{label} removed")
                continue
            new, new_ptr = head_ops[(path, method)]
            if op.get("operationId") and op.get("operationId") != new.get("operationId"):
                self.add(_join(new_ptr, "operationId"),
                         f"{label}: operationId {op['operationId']!r} → {new.get('operationId')!r}")
            old_sec = op.get("security", self.base.document.get("security"))
            new_sec = new.get("security", self.head.document.get("security"))
            if _security_key(old_sec, base_lookup) != _security_key(new_sec, head_schemes):
                # Where the effective requirement now comes from: the operation's own, or the global one.
                where = _join(new_ptr, "security") if "security" in new else "/security"
                self.add(where, f"{label}: security {old_sec} → {new_sec}")
            self._parameters(path, op, pointer, new, new_ptr, label)
            self._request(op, pointer, new, new_ptr, label)
            self._responses(op, pointer, new, new_ptr, label)
        return self.findings

    def _servers(self) -> None:
        new_urls = {s.get("url") for s in self.head.document.get("servers") or []}
        for i, server in enumerate(self.base.document.get("servers") or []):
            if server.get("url") not in new_urls:
                self.add(_join("/servers", i), f"server {server.get('url')!r} removed")

    def _parameters(self, path: str, op: Mapping[str, Any], pointer: str, new: Mapping[str, Any], new_ptr: str,
                    label: str) -> None:
        old_params = _params(self.base, path, op, pointer)
        new_params = _params(self.head, next(p for p, m, o, _ in _operations(self.head) if o is new), new, new_ptr)
        for key, (param, where) in new_params.items():
            old = old_params.get(key)
            if param.get("required") and (old is None or not old[0].get("required")):
                self.add(_join(where, "required"), f"{label}: parameter {key[1]} ({key[0]}) is now required")
            if old is not None and "schema" in param and "schema" in old[0]:
                self._schema(old[0]["schema"], _join(old[1], "schema"), param["schema"], _join(where, "schema"),
                             f"{label} parameter {key[1]}", request=True)

    def _request(self, op: Mapping[str, Any], pointer: str, new: Mapping[str, Any], new_ptr: str,
                 label: str) -> None:
        if "requestBody" not in op:
            if "requestBody" in new:
                body, where = self.head.resolve(new["requestBody"], _join(new_ptr, "requestBody"))
                if body.get("required"):
                    self.add(_join(where, "required"), f"{label}: a request body is now required")
            return
        old_body, old_where = self.base.resolve(op["requestBody"], _join(pointer, "requestBody"))
        if "requestBody" not in new:
            self.add(_join(new_ptr, "requestBody"), f"{label}: request body removed")
            return
        new_body, new_where = self.head.resolve(new["requestBody"], _join(new_ptr, "requestBody"))
        if new_body.get("required") and not old_body.get("required"):
            self.add(_join(new_where, "required"), f"{label}: the request body is now required")
        new_content = new_body.get("content") or {}
        for media, old_media in (old_body.get("content") or {}).items():
            if media not in new_content:
                self.add(_join(new_where, "content", media), f"{label}: request media type {media} removed")
                continue
            old_schema = old_media.get("schema") if isinstance(old_media, Mapping) else None
            new_schema = new_content[media].get("schema") if isinstance(new_content[media], Mapping) else None
            if old_schema is not None and new_schema is not None:
                self._schema(old_schema, _join(old_where, "content", media, "schema"), new_schema,
                             _join(new_where, "content", media, "schema"), f"{label} request {media}", request=True)

    def _responses(self, op: Mapping[str, Any], pointer: str, new: Mapping[str, Any], new_ptr: str,
                   label: str) -> None:
        new_responses = new.get("responses") or {}
        for status, raw in (op.get("responses") or {}).items():
            if status not in new_responses:
                self.add(_join(new_ptr, "responses", status), f"{label}: response {status} removed")
                continue
            old_resp, old_where = self.base.resolve(raw, _join(pointer, "responses", status))
            new_resp, new_where = self.head.resolve(new_responses[status], _join(new_ptr, "responses", status))
            new_content = new_resp.get("content") or {}
            for media, old_media in (old_resp.get("content") or {}).items():
                if media not in new_content:
                    self.add(_join(new_where, "content", media), f"{label}: {status} media type {media} removed")
                    continue
                old_schema = old_media.get("schema") if isinstance(old_media, Mapping) else None
                new_schema = new_content[media].get("schema") if isinstance(new_content[media], Mapping) else None
                if old_schema is not None and new_schema is not None:
                    self._schema(old_schema, _join(old_where, "content", media, "schema"), new_schema,
                                 _join(new_where, "content", media, "schema"), f"{label} {status} {media}",
                                 request=False)

    def _properties(self, doc: Doc, schema: Mapping[str, Any], pointer: str) -> dict[str, tuple[Any, str]]:
        """Properties of ``schema`` including its ``allOf`` parts, with where each is declared."""
        out: dict[str, tuple[Any, str]] = {}
        for i, part in enumerate(schema.get("allOf") or []):
            resolved, where = doc.resolve(part, _join(pointer, "allOf", i))
            out.update(self._properties(doc, resolved, where))
        for name, prop in (schema.get("properties") or {}).items():
            out[name] = (prop, _join(pointer, "properties", name))
        return out

    def _required(self, doc: Doc, schema: Mapping[str, Any]) -> set[str]:
        names = set(schema.get("required") or [])
        for part in schema.get("allOf") or []:
            names |= self._required(doc, doc.resolve(part, "")[0])
        return names

    def _schema(self, old_raw: Any, old_ptr: str, new_raw: Any, new_ptr: str, label: str, *, request: bool,
                depth: int = 0) -> None:
        old, old_ptr = self.base.resolve(old_raw, old_ptr)
        new, new_ptr = self.head.resolve(new_raw, new_ptr)
        key = (old_ptr, new_ptr, "request" if request else "response")
        if depth > 30 or key in self._seen or not isinstance(old, Mapping) or not isinstance(new, Mapping):
            return
        self._seen.add(key)
        old_types, new_types = _types(old), _types(new)
        if old_types is not None and new_types is not None and old_types != new_types:
            if request and not _widened(old_types, new_types):
                self.add(_join(new_ptr, "type"), f"{label}: type {sorted(old_types)} → {sorted(new_types)} (narrowed)")
            if not request and not _widened(new_types, old_types):
                self.add(_join(new_ptr, "type"), f"{label}: response type {sorted(old_types)} → {sorted(new_types)}")
        elif request and old_types is None and new_types is not None and not (
                "properties" in old or "items" in old or "allOf" in old or "anyOf" in old or "oneOf" in old):
            self.add(_join(new_ptr, "type"), f"{label}: type {sorted(new_types)} added (narrowed)")
        if request:
            self._narrowing(old, new, new_ptr, label)
        old_props, new_props = self._properties(self.base, old, old_ptr), self._properties(self.head, new, new_ptr)
        if request:
            newly_required = self._required(self.head, new) - self._required(self.base, old)
            for name in sorted(newly_required):
                self.add(_join(new_ptr, "required"), f"{label}: property {name!r} is now required")
            if new.get("additionalProperties") is False and old.get("additionalProperties") is not False:
                self.add(_join(new_ptr, "additionalProperties"),
                         f"{label}: additionalProperties: false (unknown properties now refused)")
        else:
            for name in old_props:
                if name not in new_props and new.get("additionalProperties") in (None, False) and new_props:
                    self.add(old_props[name][1], f"{label}: response property {name!r} removed")
        for name, (prop, where) in old_props.items():
            if name in new_props:
                self._schema(prop, where, new_props[name][0], new_props[name][1], f"{label}.{name}",
                             request=request, depth=depth + 1)
        if "items" in old and "items" in new:
            self._schema(old["items"], _join(old_ptr, "items"), new["items"], _join(new_ptr, "items"),
                         f"{label}[]", request=request, depth=depth + 1)

    def _narrowing(self, old: Mapping[str, Any], new: Mapping[str, Any], where: str, label: str) -> None:
        for word in ("format", "pattern"):
            if new.get(word) is not None and new.get(word) != old.get(word):
                self.add(_join(where, word), f"{label}: {word} {old.get(word)!r} → {new.get(word)!r} (narrowed)")
        if "enum" in new:
            if "enum" not in old:
                self.add(_join(where, "enum"), f"{label}: enum {new['enum']} added (narrowed)")
            else:
                dropped = [v for v in old["enum"] if v not in new["enum"]]
                if dropped:
                    self.add(_join(where, "enum"), f"{label}: enum values {dropped} removed (narrowed)")
        for word in LOWER_BOUNDS:
            if isinstance(new.get(word), (int, float)) and not isinstance(new.get(word), bool) and (
                    not isinstance(old.get(word), (int, float)) or new[word] > old[word]):
                self.add(_join(where, word), f"{label}: {word} {old.get(word)} → {new[word]} (narrowed)")
        for word in UPPER_BOUNDS:
            if isinstance(new.get(word), (int, float)) and not isinstance(new.get(word), bool) and (
                    not isinstance(old.get(word), (int, float)) or new[word] < old[word]):
                self.add(_join(where, word), f"{label}: {word} {old.get(word)} → {new[word]} (narrowed)")


def _security_key(requirements: Any, schemes: Mapping[str, Any]) -> Any:
    """Requirements compared by what the schemes are (type, scheme, in, name), not what they are
    called; a scheme the document does not declare counts by its name, case-insensitively."""
    if requirements is None:
        return None

    def scheme(name: str) -> str:
        found = schemes.get(name, schemes.get(name.lower()))
        if found is None:
            return f"undeclared:{name.lower()}"
        return json.dumps({k: str(found.get(k, "")).lower() for k in ("type", "scheme", "in", "name")},
                          sort_keys=True)

    return sorted(json.dumps(sorted((scheme(n), sorted(s or [])) for n, s in r.items())) for r in requirements)


def compare(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[Finding]:
    """Every breaking change from ``base`` to ``head`` (see the module docstring)."""
    return Comparer(base, head).run()


def _pointer(parts: tuple[Any, ...]) -> str:
    return "".join("/" + _escape(str(p)) for p in parts)


@dataclass(frozen=True)
class Action:
    """One overlay action as the gate sees it: where it is, its reason (``x-breaking``, or ``""``)
    and the nodes it writes, as ``(pointer, whole)`` pairs (``whole``: the action replaced or
    removed everything below the pointer; otherwise it merged into an object there)."""

    overlay: str
    index: int
    target: str
    reason: str
    writes: tuple[tuple[str, bool], ...]

    @property
    def name(self) -> str:
        """``overlay#index`` (the action's position in its overlay's ``actions``)."""
        return f"{self.overlay}#{self.index}"

    def makes(self, pointer: str) -> bool:
        """Whether this action wrote the node at ``pointer`` (a finding's location, the changed
        keyword itself, e.g. ``…/name/maxLength``): the node itself, or a node inside a value it
        replaced or a subtree it removed."""
        return any(pointer == written or (whole and pointer.startswith(written + "/"))
                   for written, whole in self.writes)


def _written(pointer: str, update: Any) -> Iterator[tuple[str, bool]]:
    if isinstance(update, Mapping):
        yield pointer, False
        for key, value in update.items():
            yield from _written(_join(pointer, str(key)), value)
    else:
        yield pointer, True


def actions(overlays: list[tuple[str, Mapping[str, Any]]], documents: list[Mapping[str, Any]]) -> list[Action]:
    """Every action of ``overlays`` with the nodes it writes, its target evaluated in each of
    ``documents`` (the baseline, where removed nodes still are, and the result)."""
    out = []
    for name, overlay in overlays:
        for index, action in enumerate(overlay.get("actions") or []):
            writes: list[tuple[str, bool]] = []
            for document in documents:
                for match in jsonpath.finditer(str(action["target"]), document):
                    where = _pointer(tuple(match.parts))
                    if action.get("remove"):
                        writes.append((where, True))
                    else:
                        writes.extend(_written(where, action.get("update")))
            reason = action.get("x-breaking")
            out.append(Action(name, index, str(action["target"]),
                              reason.strip() if isinstance(reason, str) else "", tuple(dict.fromkeys(writes))))
    return out


@dataclass
class Gate:
    """One API's verdict: every finding, which are acknowledged (with their reason), and the
    actions that make each finding."""

    api: str
    findings: list[Finding]
    accepted: dict[Finding, str]
    makers: dict[Finding, list[Action]]

    @property
    def refused(self) -> list[Finding]:
        """Findings no overlay action that makes them states a reason for."""
        return [f for f in self.findings if f not in self.accepted]


def baseline(api: Mapping[str, Any], specs: Path = SPECS) -> dict[str, Any]:
    """The API's baseline: ``released/openapi.yaml`` beside its source when present, else the
    source as rebuilt (repairs applied, no overlay)."""
    source = specs / str(api["source"])
    released = source.parent / "released" / "openapi.yaml"
    if released.exists():
        return dict(load_file(released).document)
    expected = {r["pointer"] for r in api.get("repairs", [])}
    loaded = load_file(source, expected_duplicates=expected)
    return repair(loaded.document, loaded.duplicates, api.get("repairs", []), str(api["name"]), lambda _m: None)


def gate(api: Mapping[str, Any], specs: Path = SPECS, generated: Path = GENERATED) -> Gate:
    """Compare one API's served document with its baseline; a finding is accepted when an overlay
    action that makes it (:meth:`Action.makes`) carries an ``x-breaking`` reason."""
    base = baseline(api, specs)
    head = yaml.safe_load((generated / f"{api['name']}.openapi.yaml").read_text(encoding="utf-8"))
    findings = compare(base, head)
    overlays = [(str(p), load_file(specs / str(p)).document) for p in api.get("overlays", [])]
    every = actions(overlays, [base, head])
    accepted, makers = {}, {}
    for finding in findings:
        makers[finding] = [a for a in every if a.makes(finding.pointer)]
        reasons = [a for a in makers[finding] if a.reason]
        if reasons:
            accepted[finding] = f"{reasons[-1].overlay}: {reasons[-1].reason}"
    return Gate(str(api["name"]), findings, accepted, makers)


def optic(base: Mapping[str, Any], head: Mapping[str, Any], scratch: Path) -> str | None:
    """Optic's breaking-change verdict on the two documents (its own output), or None when Optic
    is not installed (scripts/node-tools installs it)."""
    if not OPTIC.exists() or shutil.which("node") is None:
        return None
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "base.json").write_text(json.dumps(base), encoding="utf-8")
    (scratch / "head.json").write_text(json.dumps(head), encoding="utf-8")
    proc = subprocess.run([str(OPTIC), "diff", "base.json", "head.json", "--check"], cwd=scratch, text=True,
                          capture_output=True, timeout=300)
    return (proc.stdout + proc.stderr).strip()


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: exit 1 when any API has a breaking change without a stated reason."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", action="append", help="API name (repeatable); default: every API")
    parser.add_argument("--optic", action="store_true", help="also print Optic's verdict")
    parser.add_argument("--base", type=Path, help="compare this file …")
    parser.add_argument("--head", type=Path, help="… with this file (no overlay acknowledgements)")
    args = parser.parse_args(argv)
    if args.base or args.head:
        if not (args.base and args.head):
            parser.error("--base and --head go together")
        findings = compare(load_file(args.base).document, load_file(args.head).document)
        for finding in findings:
            print(f"BREAKING {finding}")
        print(f"{len(findings)} breaking changes")
        return 1 if findings else 0
    config = yaml.safe_load((SPECS / "merge.yaml").read_text(encoding="utf-8"))
    failed = False
    for api in config["apis"]:
        if args.api and api["name"] not in args.api:
            continue
        result = gate(api, SPECS, GENERATED)
        print(f"== {result.api}: {len(result.findings)} breaking changes, {len(result.accepted)} with a stated "
              f"reason, {len(result.refused)} refused")
        for finding, reason in result.accepted.items():
            print(f"  accepted {finding}\n           because {reason}")
        for finding in result.refused:
            made = ", ".join(f"{a.name} ({a.target})" for a in result.makers[finding][-2:]) or "no overlay action"
            print(f"  BREAKING {finding}\n           made by {made}")
        failed = failed or bool(result.refused)
        if args.optic:
            verdict = optic(baseline(api, SPECS), yaml.safe_load(
                (GENERATED / f"{api['name']}.openapi.yaml").read_text(encoding="utf-8")),
                ROOT / "var" / "apidiff" / str(api["name"]))
            print("  optic:", "not installed (scripts/node-tools)" if verdict is None else "")
            for line in (verdict or "").splitlines()[-15:]:
                print("   ", line[:300])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
