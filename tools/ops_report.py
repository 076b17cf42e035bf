"""``make ops``: implemented/total operations per API, from the contract and the handler packages."""

from __future__ import annotations

from gateway.contract import Contract
from gateway.resolver import OperationResolver


def report(contract: Contract | None = None) -> dict[str, tuple[int, int, list[str]]]:
    """``{api name: (implemented, total, pending operationIds)}`` (root aliases not counted)."""
    contract = contract or Contract()
    resolver = OperationResolver(contract)
    out: dict[str, tuple[int, int, list[str]]] = {}
    for _, _, op in contract.operations():
        api, local = contract.split(op["operationId"])
        if local in api.aliases:
            continue
        done, total, pending = out.get(api.name, (0, 0, []))
        implemented = local not in api.pending and resolver.lookup(op["operationId"]) is not None
        out[api.name] = (done + implemented, total + 1, pending + ([] if implemented else [local]))
    return out


def main() -> int:
    rows = report()
    width = max(len(n) for n in rows)
    for name, (done, total, _pending) in sorted(rows.items()):
        print(f"{name:<{width}}  {done:>3}/{total:<3} implemented")
    done = sum(r[0] for r in rows.values())
    total = sum(r[1] for r in rows.values())
    print(f"{'total':<{width}}  {done:>3}/{total:<3}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
