"""Every operationId of the merged contract binds to a function; pending ones to a 501."""

import pytest

from gateway.contract import Contract
from gateway.resolver import OperationResolver, UnboundOperation, snake_case
from tools.ops_report import report

CONTRACT = Contract()
OPERATION_IDS = [op["operationId"] for _, _, op in CONTRACT.operations()]


def test_operation_ids_unique_and_namespaced():
    assert len(OPERATION_IDS) == len(set(OPERATION_IDS)) == 95
    assert {op_id.split(".")[0] for op_id in OPERATION_IDS} == {"vb", "virstack", "serviceai", "vertebro"}


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_every_operation_resolves(operation_id):
    resolver = OperationResolver(CONTRACT)
    function = resolver.resolve_function_from_operation_id(operation_id)
    assert callable(function)
    api, local = CONTRACT.split(operation_id)
    pending = api.aliases.get(local, local) in api.pending
    assert getattr(function, "pending", False) is pending
    if not pending:
        assert function.__doc__, f"{operation_id}: public handler without a docstring"


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_pending_and_implemented_never_overlap(operation_id):
    """An operation built since must be removed from `pending` in specs/merge.yaml."""
    resolver = OperationResolver(CONTRACT)
    api, local = CONTRACT.split(operation_id)
    if api.aliases.get(local, local) in api.pending:
        assert resolver.lookup(operation_id) is None, f"{operation_id} is implemented but still listed as pending"


def test_missing_handler_fails_loudly():
    contract = Contract()
    vb = contract.apis["vb"]
    object.__setattr__(vb, "package", "handlers.serviceai")  # a package without VB functions
    with pytest.raises(UnboundOperation, match="vb.createSession"):
        OperationResolver(contract).resolve_function_from_operation_id("vb.createSession")


def test_snake_case():
    assert snake_case("createSession") == "create_session"
    assert snake_case("getHealthAtRoot") == "get_health_at_root"
    assert snake_case("listTeamMembers") == "list_team_members"


def test_ops_report_counts_every_operation_once():
    rows = report(CONTRACT)
    assert sum(total for _, total, _ in rows.values()) == 94  # 95 minus the /health root alias
    for api in CONTRACT.apis.values():
        done, total, pending = rows[api.name]
        assert done == total - len(api.pending) and sorted(pending) == sorted(api.pending)
