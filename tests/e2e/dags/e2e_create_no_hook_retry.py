"""Test DAG: the hook does not retry (max_attempts=1), so a lost response fails the try and Airflow retries."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag

from airflow_provider_genesys.operators.interactions import GenesysCreateInteractionOperator

INTERACTION = {
    "type": "chat",
    "routing": {"priority": 50, "queue": {"id": "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f601"}},
    "participants": [{"id": "0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c7d", "roles": ["initiator"]}],
}


@dag(
    dag_id="e2e_create_no_hook_retry",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"audit_path": ""},
    default_args={"retries": 2, "retry_delay": timedelta(seconds=0)},
)
def e2e_create_no_hook_retry() -> None:
    GenesysCreateInteractionOperator(
        task_id="create",
        interaction=INTERACTION,
        genesys_conn_id="genesys_no_retry",
        external_id="CASE-DROP",
        audit_path="{{ params.audit_path }}",
    )


e2e_create_no_hook_retry_dag = e2e_create_no_hook_retry()
