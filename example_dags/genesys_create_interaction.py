"""Create one Genesys Cloud interaction from DAG params, exactly once, then print its audit record.

Trigger it with a config to create another interaction; the defaults target the sandbox's seeded queue and skill.
Retries and clears of ``create_interaction`` in the same DAG run reuse its idempotency key: Genesys answers with the
record the first attempt created (outcome ``replayed``) instead of creating a second one.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import dag, task

from airflow_provider_genesys.operators.interactions import GenesysCreateInteractionOperator

# The local sandbox seeds these ids; against a real org, use your own queue and skill ids.
SUPPORT_QUEUE_ID = "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f601"
ENGLISH_SKILL_ID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e01"

DEFAULT_INTERACTION: dict[str, Any] = {
    "type": "voice",
    "routing": {
        "priority": 10,
        "queue": {"id": SUPPORT_QUEUE_ID},
        "skills": [{"id": ENGLISH_SKILL_ID, "level": 3}],
    },
    "participants": [
        {
            "id": "6f1c0d8e-2b4a-4e6f-9a1b-3c5d7e9f1a2b",
            "roles": ["initiator", "customer"],
            "channel": {"id": "+15551230001"},
        }
    ],
}


@dag(
    dag_id="genesys_create_interaction",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    render_template_as_native_obj=True,
    params={"interaction": DEFAULT_INTERACTION, "external_id": "CASE-1001"},
    default_args={"retries": 2, "retry_delay": timedelta(seconds=1)},
    tags=["genesys", "example"],
)
def genesys_create_interaction() -> None:
    create = GenesysCreateInteractionOperator(
        task_id="create_interaction",
        interaction="{{ params.interaction }}",
        external_id="{{ params.external_id }}",
    )

    @task
    def print_audit(**context: Any) -> dict[str, Any]:
        audit = context["ti"].xcom_pull(task_ids="create_interaction", key="genesys_audit")
        print("Audit record:", json.dumps(audit, indent=2, sort_keys=True))
        return dict(audit)

    create >> print_audit()


genesys_create_interaction_dag = genesys_create_interaction()
