"""Regression tests for what the chaos matrix found."""

from __future__ import annotations

from typing import Any

from benchmarks.chaos_support import FakeTaskInstance, task_context
from tests.conftest import CANARY_CLIENT_SECRET


def test_bulk_on_invalid_fail_pushes_every_refused_items_audit_record_to_xcom(sandbox: Any, admin: Any) -> None:
    """on_invalid='fail' used to raise before pushing any audit record: XCom held nothing, while the failure
    message (which lists 50 items) pointed at "the audit records" for the rest."""
    import pytest
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_provider_genesys.operators.interactions import GenesysBulkCreateInteractionsOperator

    items = [{"external_id": f"BAD-{n}", "type": "fax", "routing": {"priority": 5}, "participants": []}
             for n in range(60)]
    operator = GenesysBulkCreateInteractionsOperator(task_id="bulk", interactions=items, on_invalid="fail")
    ti = FakeTaskInstance(dag_id="regression", task_id="bulk", run_id="manual__regression")

    with pytest.raises(AirflowFailException) as raised:
        operator.execute(task_context(ti))

    assert "and 10 more" in str(raised.value)
    audits = ti.xcom["genesys_audit"]
    assert len(audits) == 60
    assert {audit["external_id"] for audit in audits} == {f"BAD-{n}" for n in range(60)}
    assert all(audit["outcome"] == "invalid" and audit["validation_errors"] for audit in audits)
    by_route = admin.get("requests")["by_route"]
    assert not [route for route in by_route if " /api/" in route or route.endswith("/oauth/token")]  # nothing sent
    assert CANARY_CLIENT_SECRET not in repr(audits)
