"""Test DAGs: one record of each real Genesys kind (workitem, callback, inbound email) from DAG params.

Two connections per kind: ``genesys_no_retry`` (the hook does not retry, so a lost answer fails the try and
Airflow retries the task) and ``genesys_cloud_default`` (the hook retries inside the call). Every DAG retries
its task twice without delay.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG

from airflow_provider_genesys.operators.interactions import (
    GenesysBulkCreateInteractionsOperator,
    GenesysCreateInteractionOperator,
)

QUEUE_ID = "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f601"
SKILL_ID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e01"
WORKTYPE_ID = "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c01"

PAYLOADS: dict[str, dict[str, Any]] = {
    "workitem": {
        "name": "Refund request CASE-1",
        "typeId": WORKTYPE_ID,
        "queueId": QUEUE_ID,
        "skillIds": [SKILL_ID],
        "priority": 5,
        "description": "Customer asks for a refund",
    },
    "callback": {
        "callbackNumbers": ["+15551230001"],
        "routingData": {"queueId": QUEUE_ID, "skillIds": [SKILL_ID], "priority": 3},
        "callbackUserName": "Ada Lovelace",
        "data": {"caseId": "CASE-1"},
    },
    "email": {
        "provider": "Acme CRM",
        "queueId": QUEUE_ID,
        "skillIds": [SKILL_ID],
        "toAddress": "support@example.com",
        "fromAddress": "ada@example.com",
        "subject": "Refund for CASE-1",
        "textBody": "Please refund my order.",
        "attributes": {"caseId": "CASE-1"},
    },
}

START = pendulum.datetime(2026, 1, 1, tz="UTC")
DEFAULT_ARGS = {"retries": 2, "retry_delay": timedelta(seconds=0)}


def _single(kind: str, conn_id: str, suffix: str) -> DAG:
    with DAG(
        dag_id=f"e2e_{kind}_{suffix}",
        schedule=None,
        start_date=START,
        catchup=False,
        render_template_as_native_obj=True,
        params={"payload": PAYLOADS[kind], "validate_routing": False},
        default_args=DEFAULT_ARGS,
    ) as dag:
        GenesysCreateInteractionOperator(
            task_id="create",
            kind=kind,
            interaction="{{ params.payload }}",
            external_id="CASE-1",
            genesys_conn_id=conn_id,
        )
    return dag


def _routing_checked(kind: str) -> DAG:
    with DAG(
        dag_id=f"e2e_{kind}_routing",
        schedule=None,
        start_date=START,
        catchup=False,
        render_template_as_native_obj=True,
        params={"payload": PAYLOADS[kind]},
        default_args={"retries": 0},
    ) as dag:
        GenesysCreateInteractionOperator(
            task_id="create",
            kind=kind,
            interaction="{{ params.payload }}",
            external_id="CASE-1",
            validate_routing=True,
        )
    return dag


def _bulk(kind: str) -> DAG:
    with DAG(
        dag_id=f"e2e_{kind}_bulk",
        schedule=None,
        start_date=START,
        catchup=False,
        render_template_as_native_obj=True,
        params={"records": [{**PAYLOADS[kind], "external_id": f"CASE-{n}"} for n in range(5)]},
        default_args=DEFAULT_ARGS,
    ) as dag:
        GenesysBulkCreateInteractionsOperator(
            task_id="create_many",
            kind=kind,
            interactions="{{ params.records }}",
            genesys_conn_id="genesys_no_retry",
            max_concurrency=2,
            validate_routing=True,
        )
    return dag


e2e_workitem_no_retry_dag = _single("workitem", "genesys_no_retry", "no_retry")
e2e_workitem_hook_retry_dag = _single("workitem", "genesys_cloud_default", "hook_retry")
e2e_callback_no_retry_dag = _single("callback", "genesys_no_retry", "no_retry")
e2e_callback_hook_retry_dag = _single("callback", "genesys_cloud_default", "hook_retry")
e2e_email_no_retry_dag = _single("email", "genesys_no_retry", "no_retry")
e2e_email_hook_retry_dag = _single("email", "genesys_cloud_default", "hook_retry")
e2e_workitem_routing_dag = _routing_checked("workitem")
e2e_callback_routing_dag = _routing_checked("callback")
e2e_workitem_bulk_dag = _bulk("workitem")
e2e_callback_bulk_dag = _bulk("callback")


def _bulk_jobs(deferrable: bool) -> DAG:
    from airflow_provider_genesys.operators.workitem_jobs import GenesysBulkAddWorkitemsOperator

    with DAG(
        dag_id=f"e2e_workitem_jobs{'_deferrable' if deferrable else ''}",
        schedule=None,
        start_date=START,
        catchup=False,
        render_template_as_native_obj=True,
        params={"records": [{**PAYLOADS["workitem"], "external_id": f"CASE-{n}"} for n in range(5)]},
        default_args={"retries": 1, "retry_delay": timedelta(seconds=1)},
    ) as dag:
        GenesysBulkAddWorkitemsOperator(
            task_id="add_jobs",
            interactions="{{ params.records }}",
            genesys_conn_id="genesys_no_retry",
            batch_size=2,
            deferrable=deferrable,
            poll_interval=0.1,
            job_timeout=30,
        )
    return dag


e2e_workitem_jobs_dag = _bulk_jobs(deferrable=False)
e2e_workitem_jobs_deferrable_dag = _bulk_jobs(deferrable=True)
