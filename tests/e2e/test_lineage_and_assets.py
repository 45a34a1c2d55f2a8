"""Lineage and Assets through real DAG runs: OpenLineage events of ``dag.test()`` (file transport, the
OpenLineage provider's own listener), and a bulk run's Asset event scheduling the example consumer DAG."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from genesys_sandbox import DEFAULT_CRM_SIGNING_SECRET
from tests.support.dags import ROOT, load_dag, run_dag, task_states
from tests.support.payloads import interaction_body, items_for, rows, write_jsonl

pytest.importorskip("airflow.providers.openlineage")
pytestmark = pytest.mark.usefixtures("airflow_db")

ASSET_URI = "genesys://mypurecloud.com/interaction"
CONSUMER = "genesys_interactions_consumer"
RUN_ONE_DAG = """
import json, sys
import pendulum
from tests.support.dags import load_dag, run_dag
run = run_dag(load_dag("e2e_lineage"), logical_date=pendulum.parse(sys.argv[1]), conf=json.loads(sys.argv[2]))
print("STATE", run.state, run.run_id)
"""


@pytest.fixture
def crm_default(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    connection = {
        "conn_type": "crm_webhook",
        "host": sandbox.base_url,
        "extra": {"endpoint": "/crm/interactions", "signing_secret": DEFAULT_CRM_SIGNING_SECRET},
    }
    monkeypatch.setenv("AIRFLOW_CONN_CRM_DEFAULT", json.dumps(connection))
    yield sandbox.base_url


def _unpause(dag_id: str) -> None:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        model = session.get(DagModel, dag_id)
        assert model is not None, f"{dag_id} is not in the metadata DB"
        model.is_paused = False


def _complete_events(path: Path) -> dict[str, dict[str, Any]]:
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {event["job"]["name"]: event for event in events if event["eventType"] == "COMPLETE"}


def _dataset(dataset: dict[str, Any]) -> tuple[str, str, int | None, dict[str, int] | None]:
    facets = dataset.get("outputFacets") or dataset.get("inputFacets") or {}
    statistics = facets.get("outputStatistics") or facets.get("inputStatistics") or {}
    outcomes = facets.get("genesysOutcomes", {}).get("outcomes")
    return dataset["namespace"], dataset["name"], statistics.get("rowCount"), outcomes


def test_a_dag_run_reports_lineage_and_schedules_the_consumer_of_its_asset(
    sandbox: Any, crm_default: str, tmp_path: Path
) -> None:
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    # the example consumer runs on its own (a manual run: no triggering events) and is then unpaused
    consumer_run = run_dag(load_dag(CONSUMER), logical_date=datetime(2026, 7, 1, tzinfo=timezone.utc))
    assert task_states(consumer_run) == {"report_new_interactions": "success"}
    _unpause(CONSUMER)

    source = write_jsonl(tmp_path / "interactions.jsonl", rows(6, invalid=1))
    conf = {"source": str(source), "interaction": interaction_body(), "workitems": items_for("workitem", 3)}
    events_file = tmp_path / "openlineage.jsonl"
    env = {
        **os.environ,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "e2e",
    }
    result = subprocess.run(
        [sys.executable, "-c", RUN_ONE_DAG, "2026-07-02T00:00:00+00:00", json.dumps(conf)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0 and "STATE success" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]

    # OpenLineage: what the provider's listener sent for each task
    genesys = f"genesys://{urlsplit(sandbox.base_url).netloc}"
    complete = _complete_events(events_file)
    bulk = complete["e2e_lineage.bulk"]
    assert [_dataset(d) for d in bulk["inputs"]] == [("file", str(source), 6, None)]
    assert [_dataset(d) for d in bulk["outputs"]] == [
        (genesys, "interaction", 5, {"created": 5, "replayed": 0, "invalid": 1, "failed": 0})
    ]
    assert [_dataset(d) for d in complete["e2e_lineage.create"]["outputs"]] == [
        (genesys, "interaction", 1, {"created": 1, "replayed": 0, "invalid": 0, "failed": 0})
    ]
    assert [_dataset(d) for d in complete["e2e_lineage.workitems"]["outputs"]] == [
        (genesys, "workitem", 3, {"created": 3, "replayed": 0, "invalid": 0, "failed": 0})
    ]
    assert [_dataset(d) for d in complete["e2e_lineage.sync"]["outputs"]] == [
        (crm_default, "/crm/interactions", 5, {"delivered": 5, "accepted": 0, "failed": 0, "skipped": 1})
    ]

    # Assets: the bulk task's event carries the run's counts, and the consumer is due for a run
    with create_session() as session:
        asset = session.query(AssetModel).filter(AssetModel.uri == ASSET_URI).one()
        (event,) = session.query(AssetEvent).filter(
            AssetEvent.asset_id == asset.id, AssetEvent.source_dag_id == "e2e_lineage"
        )
        assert event.source_task_id == "bulk"
        assert event.extra == {"rows": 6, "written": 5, "created": 5, "replayed": 0, "invalid": 1, "failed": 0}
        queued = session.query(AssetDagRunQueue).filter(AssetDagRunQueue.asset_id == asset.id).all()
        assert [row.target_dag_id for row in queued] == [CONSUMER]
        due, _ = DagModel.dags_needing_dagruns(session)
        assert CONSUMER in {model.dag_id for model in due}
        session.rollback()  # release the scheduler's row locks; schedule nothing
