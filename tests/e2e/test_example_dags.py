"""Every shipped example DAG imports cleanly, and the workitems example runs against the sandbox."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from tests.support.dags import ROOT, clear_and_rerun, load_dag, run_dag, task_states, xcom

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_every_example_dag_imports_without_errors() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "example_dags"))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) >= {"genesys_create_interaction", "genesys_bulk_interactions", "genesys_workitems"}
    for dag_id in bag.dag_ids:
        assert "example" in bag.get_dag(dag_id).tags


def test_the_workitems_example_creates_routed_workitems_exactly_once(admin: Any) -> None:
    dag = load_dag("genesys_workitems")
    when = datetime(2026, 6, 1, tzinfo=timezone.utc)

    dag_run = run_dag(dag, logical_date=when)

    assert task_states(dag_run) == {"create_workitem": "success", "add_backlog": "success"}
    single = xcom(dag_run, "create_workitem", "genesys_audit")
    assert single["outcome"] == "created" and single["kind"] == "workitem"
    record = xcom(dag_run, "create_workitem")  # the Workitem as Genesys answers it: references, scored agents
    assert record["queue"]["id"] and record["scoredAgents"][0]["agent"]["id"] and record["scoredAgents"][0]["score"]
    bulk = xcom(dag_run, "add_backlog")
    assert bulk["created"] == 50 and bulk["failed"] == 0
    ledger = admin.ledger()
    assert len(ledger["records"]) == 51 and ledger["duplicates"] == 0
    by_route = admin.get("requests")["by_route"]
    jobs = "/api/v2/taskmanagement/workitems/bulk/add/jobs"
    assert by_route[f"POST {jobs}"] == {"202": 2} and by_route[f"PATCH {jobs}/{{job_id}}"] == {"200": 2}

    again = clear_and_rerun(dag, logical_date=when)  # both tasks find their workitems, create none
    assert xcom(again, "create_workitem", "genesys_audit")["outcome"] == "replayed"
    assert xcom(again, "add_backlog")["replayed"] == 50
    assert len(admin.ledger()["records"]) == 51
