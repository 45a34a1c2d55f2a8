"""Regression tests for what the chaos matrix found."""

from __future__ import annotations

from typing import Any

from tests.support.canaries import CANARY_CLIENT_SECRET
from tests.support.context import FakeTaskInstance, task_context


def test_bulk_on_invalid_fail_pushes_every_refused_items_audit_record_to_xcom(sandbox: Any, admin: Any) -> None:
    """on_invalid='fail' used to raise before pushing any audit record: XCom held nothing, while the failure
    message (which lists 50 items) pointed at "the audit records" for the rest."""
    import pytest
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_provider_genesys.operators.interactions import GenesysBulkCreateInteractionsOperator

    items = [
        {"external_id": f"BAD-{n}", "type": "fax", "routing": {"priority": 5}, "participants": []} for n in range(60)
    ]
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


def test_a_token_revoked_while_the_retry_waits_for_its_pacing_slot_is_not_used(sandbox: Any, admin: Any) -> None:
    """Scenario 5 found it: the hook took the token, then waited for its pacing slot. A revocation during that
    wait (a second expiry while a 401's retry waited) made the retry meet a second 401, which fails the item,
    since a call refreshes its token only once. The token is now taken after the pacing slot."""
    import requests

    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook

    hook = GenesysCloudHook()
    hook.get_token()
    requests.post(f"{sandbox.base_url}/_sandbox/tokens/expire", timeout=10).raise_for_status()  # first expiry
    acquire = hook.pacer.acquire
    calls = []

    def acquire_during_a_second_expiry() -> None:
        calls.append(1)
        if len(calls) == 2:  # the retry after the 401 waits for its slot while every token is revoked again
            requests.post(f"{sandbox.base_url}/_sandbox/tokens/expire", timeout=10).raise_for_status()
        acquire()

    hook.pacer.acquire = acquire_during_a_second_expiry  # type: ignore[method-assign]
    body = {
        "type": "voice",
        "routing": {"priority": 5},
        "participants": [{"id": "0d757eec-9938-47cf-8bef-459945278ea7", "roles": ["initiator"]}],
    }

    response = hook.request("POST", "/api/v2/interactions", json=body, headers={"Idempotency-Key": "pacing-401"})

    assert response.status == 201
    assert admin.requests_to("POST /api/v2/interactions") == {"401": 1, "201": 1}
    assert admin.get("requests")["tokens_issued"] == 2  # the first token, one refresh
