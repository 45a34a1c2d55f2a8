"""Daily bulk creation: 1,000 interactions from a JSON-lines file, in one task, exactly once — then CRM sync.

The file holds a handful of deliberately invalid rows; ``on_invalid="skip"`` with ``max_invalid=10`` creates
the valid ones and reports the rest (XCom, audit records, the log) without failing the run. A retry or a clear of
``create_interactions`` re-sends under the same idempotency keys, so nothing is created twice.

Then every created interaction is delivered to the CRM as a signed webhook (``webhook-id`` = its idempotency
key), and a deferrable sensor waits until a CRM that acknowledges asynchronously reports every delivery done.

When ``create_interactions`` succeeds it emits an event of the ``genesys_interactions`` Asset, with the run's counts
as the event's extra; ``genesys_interactions_consumer`` is scheduled on it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Asset, dag, task

from airflow_provider_genesys.operators.crm import GenesysCrmSyncOperator
from airflow_provider_genesys.operators.interactions import GenesysBulkCreateInteractionsOperator
from airflow_provider_genesys.sensors.crm import GenesysCrmSyncSensor

DATA_FILE = Path(__file__).resolve().parent / "data" / "interactions.jsonl"
#: Interactions in the Genesys org at mypurecloud.com (the default region): ``genesys://<domain>/<kind>``.
GENESYS_INTERACTIONS = Asset(name="genesys_interactions", uri="genesys://mypurecloud.com/interaction")


@dag(
    dag_id="genesys_bulk_interactions",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["genesys", "example"],
)
def genesys_bulk_interactions() -> None:
    create = GenesysBulkCreateInteractionsOperator(
        task_id="create_interactions",
        source=str(DATA_FILE),
        max_concurrency=8,
        on_invalid="skip",
        max_invalid=10,
        external_id_field="external_id",
        outlets=[GENESYS_INTERACTIONS],
    )

    @task
    def print_summary(summary: dict[str, Any]) -> None:
        counts = {key: summary[key] for key in ("total", "created", "replayed", "invalid", "failed")}
        print("Bulk summary:", json.dumps(counts))
        print(
            f"latency (HTTP round trip) p50={summary['latency_ms_p50']} ms p95={summary['latency_ms_p95']} ms, "
            f"pacing wait p50={summary['pacing_wait_ms_p50']} ms, "
            f"{summary['requests_sent']} requests, {summary['throttled_429']} throttled, "
            f"{summary['wall_seconds']} s"
        )
        if summary.get("items_path"):
            print("Per-item results:", summary["items_path"])

    sync = GenesysCrmSyncOperator(task_id="sync_to_crm", records=create.output, max_concurrency=4)
    wait_for_crm = GenesysCrmSyncSensor(
        task_id="wait_for_crm", receipts=sync.output, poke_interval=1, timeout=600, deferrable=True
    )

    print_summary(create.output)
    sync >> wait_for_crm


genesys_bulk_interactions_dag = genesys_bulk_interactions()
