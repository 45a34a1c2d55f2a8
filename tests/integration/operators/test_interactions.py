"""The create operators through their real path (hook → sandbox on loopback) with an Airflow 3 task context."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_genesys.operators.interactions import (
    GenesysBulkCreateInteractionsOperator,
    GenesysCreateInteractionOperator,
)
from tests.support.context import FakeTaskInstance, task_context
from tests.support.payloads import PAYLOADS

CREATE = "POST /api/v2/interactions"


def _interaction(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(PAYLOADS["interaction"]), **changes}


def test_a_changed_payload_under_the_same_key_fails_the_single_create_without_retries(sandbox: Any, admin: Any) -> None:
    ti = FakeTaskInstance(task_id="create")
    first = GenesysCreateInteractionOperator(task_id="create", interaction=_interaction(), external_id="CASE-1")
    first.execute(task_context(ti))

    changed = GenesysCreateInteractionOperator(
        task_id="create", interaction=_interaction(type="voice"), external_id="CASE-1"
    )
    with pytest.raises(AirflowFailException, match="different payload"):
        changed.execute(task_context(FakeTaskInstance(task_id="create", try_number=2)))

    assert admin.requests_to(CREATE) == {"201": 1, "422": 1}


def test_a_changed_payload_in_a_bulk_run_fails_the_task_without_retries(sandbox: Any, admin: Any) -> None:
    items = [{"external_id": f"CASE-{n}", **_interaction()} for n in range(3)]
    GenesysBulkCreateInteractionsOperator(task_id="bulk", interactions=items).execute(
        task_context(FakeTaskInstance(task_id="bulk"))
    )
    items[1] = {"external_id": "CASE-1", **_interaction(type="voice")}
    ti = FakeTaskInstance(task_id="bulk", try_number=2)

    with pytest.raises(AirflowFailException, match="A retry cannot change this outcome"):
        GenesysBulkCreateInteractionsOperator(task_id="bulk", interactions=items, resume=False).execute(
            task_context(ti)
        )

    outcomes = {audit["external_id"]: (audit["outcome"], audit["http_status"]) for audit in ti.xcom["genesys_audit"]}
    assert outcomes == {"CASE-0": ("replayed", 409), "CASE-1": ("failed", 422), "CASE-2": ("replayed", 409)}
    assert len(admin.records()) == 3


def test_duplicate_external_ids_are_invalid_items_and_nothing_is_sent(sandbox: Any, admin: Any) -> None:
    items = [{"external_id": external_id, **_interaction()} for external_id in ("A", "B", "A")]
    ti = FakeTaskInstance(task_id="bulk")

    with pytest.raises(AirflowFailException, match="duplicate external id: item 0 has the same one"):
        GenesysBulkCreateInteractionsOperator(task_id="bulk", interactions=items).execute(task_context(ti))

    invalid = [audit for audit in ti.xcom["genesys_audit"] if audit["outcome"] == "invalid"]
    assert [(audit["position"], audit["external_id"]) for audit in invalid] == [(2, "A")]
    assert admin.requests_to(CREATE) == {}
