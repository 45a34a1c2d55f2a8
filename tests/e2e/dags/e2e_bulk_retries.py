"""Test DAG: a small bulk run that Airflow may retry once (the hook itself does not retry)."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag

from airflow_provider_genesys.operators.interactions import GenesysBulkCreateInteractionsOperator

ITEMS = [
    {
        "external_id": f"CASE-R{number}",
        "type": "sms",
        "routing": {"priority": 20 + number, "queue": {"id": "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f602"}},
        "participants": [{"id": f"0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c{number:02d}", "roles": ["initiator"]}],
    }
    for number in range(3)
]


@dag(
    dag_id="e2e_bulk_retries",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=0)},
)
def e2e_bulk_retries() -> None:
    GenesysBulkCreateInteractionsOperator(
        task_id="bulk", interactions=ITEMS, genesys_conn_id="genesys_no_retry", max_concurrency=1
    )


e2e_bulk_retries_dag = e2e_bulk_retries()
