"""Real Genesys Cloud records: workitems routed to a queue, one from DAG params and many in bulk add jobs.

``/api/v2/interactions`` is the contract the sandbox implements; a real Genesys Cloud org creates routable work
as workitems (``POST /api/v2/taskmanagement/workitems``, body ``WorkitemCreate``). The provider keeps each
workitem's idempotency key in its ``externalTag`` and, whenever an earlier attempt's outcome is unknown, looks the
key up before creating, so retries and clears never create a second workitem. ``validate_routing=True`` checks the
queue and the skills in Genesys first (one lookup per distinct id per task run).

The backlog goes through bulk add jobs: 50 workitems per job at most (Genesys' limit; here 25), each job created
``Idle`` and then queued, waited for in the triggerer, its results read by position. Bulk jobs take
``WorkitemCommonCreate`` entities: no ``scoredAgents``, ``preferredAgentIds``, ``wrapupCode`` or
``utilizationLabelId`` (the single create above takes them).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import dag

from airflow_provider_genesys.operators.interactions import GenesysCreateInteractionOperator
from airflow_provider_genesys.operators.workitem_jobs import GenesysBulkAddWorkitemsOperator

# The local sandbox seeds these ids; against a real org, use your own worktype, queue and skill ids.
WORKTYPE_ID = "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c01"
SUPPORT_QUEUE_ID = "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f601"
ENGLISH_SKILL_ID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e01"
AGENT_ID = "2b3c4d5e-6f70-4a81-9b2c-3d4e5f6a7b01"

WORKITEM: dict[str, Any] = {
    "name": "Refund request for order 4411",
    "typeId": WORKTYPE_ID,
    "queueId": SUPPORT_QUEUE_ID,
    "skillIds": [ENGLISH_SKILL_ID],
    "priority": 5,
    "description": "The customer asks for a refund of a damaged item.",
    "customFields": {"orderId": "4411"},
    "scoredAgents": [{"id": AGENT_ID, "score": 90}],  # WorkitemScoredAgentRequest: {id, score}
}

BACKLOG: list[dict[str, Any]] = [
    {
        "external_id": f"ORDER-{number}",
        "name": f"Follow up on order {number}",
        "typeId": WORKTYPE_ID,
        "queueId": SUPPORT_QUEUE_ID,
        "priority": number % 10,
    }
    for number in range(5000, 5050)
]


@dag(
    dag_id="genesys_workitems",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    render_template_as_native_obj=True,
    params={"workitem": WORKITEM, "case_id": "CASE-4411"},
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["genesys", "example"],
)
def genesys_workitems() -> None:
    GenesysCreateInteractionOperator(
        task_id="create_workitem",
        kind="workitem",
        interaction="{{ params.workitem }}",
        external_id="{{ params.case_id }}",
        validate_routing=True,
        return_record=True,  # the Workitem as Genesys answers it (by default: its id and the audit fields only)
    )
    GenesysBulkAddWorkitemsOperator(
        task_id="add_backlog",
        interactions=BACKLOG,
        batch_size=25,
        deferrable=True,
        poll_interval=1,
    )


genesys_workitems_dag = genesys_workitems()
