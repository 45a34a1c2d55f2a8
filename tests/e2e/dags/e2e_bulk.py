"""Test DAG: the bulk operator over a file given in the run's conf (one try per run, fast retries in the hook)."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag

from airflow_provider_genesys.operators.interactions import GenesysBulkCreateInteractionsOperator


@dag(
    dag_id="e2e_bulk",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"source": "", "on_invalid": "skip", "max_invalid": 0, "max_concurrency": 8},
    render_template_as_native_obj=True,
)
def e2e_bulk() -> None:
    GenesysBulkCreateInteractionsOperator(
        task_id="bulk",
        source="{{ params.source }}",
        on_invalid="skip",
        max_invalid=1000,
        max_concurrency=4,
        progress_interval=1.0,
    )


e2e_bulk_dag = e2e_bulk()
