"""What the cluster's own test DAGs create: bulk callbacks and bulk workitems, every item valid, each with an id.

Imported by the DAG file (``tests/cluster/dags/``, parsed by the DAG processor and the workers) and by the
harness, which expects exactly one record per item.
"""

from __future__ import annotations

from typing import Any

from genesys_sandbox.seeds import QUEUE_SUPPORT_ID, SKILL_ENGLISH_ID, WORKTYPE_ID

#: Items per task: enough that a worker can be killed part-way while the sandbox answers slowly.
ITEMS_PER_TASK = 40

CALLBACKS_DAG = "cluster_bulk_callbacks"
CALLBACKS_TASK = "create_callbacks"
WORKITEMS_DAG = "cluster_bulk_workitems"
WORKITEMS_TASK = "create_workitems"


def callbacks() -> list[dict[str, Any]]:
    """Callback rows (``CreateCallbackCommand`` bodies with an ``external_id``)."""
    return [
        {
            "external_id": f"CB-{number:04d}",
            "callbackNumbers": [f"+1555010{number:04d}"],
            "routingData": {"queueId": QUEUE_SUPPORT_ID, "skillIds": [SKILL_ENGLISH_ID], "priority": 3},
            "callbackUserName": f"Customer {number}",
            "data": {"caseId": f"CB-{number:04d}"},
        }
        for number in range(1, ITEMS_PER_TASK + 1)
    ]


def workitems() -> list[dict[str, Any]]:
    """Workitem rows (``WorkitemCreate`` bodies with an ``external_id``)."""
    return [
        {
            "external_id": f"WI-{number:04d}",
            "name": f"Follow up on case WI-{number:04d}",
            "typeId": WORKTYPE_ID,
            "queueId": QUEUE_SUPPORT_ID,
            "skillIds": [SKILL_ENGLISH_ID],
            "priority": 5,
        }
        for number in range(1, ITEMS_PER_TASK + 1)
    ]
