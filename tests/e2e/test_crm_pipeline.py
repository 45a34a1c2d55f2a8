"""The shipped bulk DAG end to end: bulk create → signed CRM sync → deferrable sensor, the CRM asynchronous."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from genesys_sandbox import DEFAULT_CRM_SIGNING_SECRET
from tests.support.dags import load_dag, run_dag, task_states, xcom

pytestmark = pytest.mark.usefixtures("airflow_db")


@pytest.fixture
def async_crm(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    base = sandbox.base_url
    requests.post(f"{base}/_sandbox/crm/reset", timeout=10).raise_for_status()
    requests.put(
        f"{base}/_sandbox/crm/mode", json={"mode": "async", "async_delay_seconds": 0.5}, timeout=10
    ).raise_for_status()
    monkeypatch.setenv(
        "AIRFLOW_CONN_CRM_DEFAULT",
        json.dumps(
            {
                "conn_type": "crm_webhook",
                "host": base,
                "extra": {"endpoint": "/crm/interactions", "signing_secret": DEFAULT_CRM_SIGNING_SECRET},
            }
        ),
    )
    yield base
    requests.put(f"{base}/_sandbox/crm/mode", json={"mode": "sync"}, timeout=10)


def test_every_created_interaction_reaches_the_async_crm_exactly_once(admin: Any, async_crm: str) -> None:
    dag = load_dag("genesys_bulk_interactions")
    when = datetime(2026, 5, 1, tzinfo=timezone.utc)

    dag_run = run_dag(dag, logical_date=when)

    assert task_states(dag_run) == {
        "create_interactions": "success",
        "print_summary": "success",
        "sync_to_crm": "success",
        "wait_for_crm": "success",
    }
    summary = xcom(dag_run, "create_interactions")
    assert summary["created"] == 992 and summary["invalid"] == 8 and summary["failed"] == 0
    sync = xcom(dag_run, "sync_to_crm")
    assert sync["accepted"] == 992 and sync["failed"] == 0  # the CRM answered 202 + a status URL each time
    assert xcom(dag_run, "wait_for_crm")["count"] == 992  # the deferred sensor saw every delivery done

    crm = requests.get(f"{async_crm}/_sandbox/crm", timeout=30).json()
    stored_ids = {entry["payload"]["interaction_id"] for entry in crm["stored"]}
    created_ids = {record["id"] for record in admin.records()}
    assert stored_ids == created_ids and len(crm["stored"]) == 992
    assert all(count == 1 for count in crm["counts"].values())
    assert crm["totals"]["rejected"] == 0

    # the same DAG run again (a clear): replays only; the CRM deduplicates every redelivery
    again = run_dag(dag, logical_date=when)
    assert task_states(again)["wait_for_crm"] == "success"
    assert xcom(again, "create_interactions")["replayed"] == 992
    crm = requests.get(f"{async_crm}/_sandbox/crm", timeout=30).json()
    assert len(crm["stored"]) == 992 and crm["totals"]["duplicates"] == 992
    assert len(admin.records()) == 992 and admin.ledger()["duplicates"] == 0
