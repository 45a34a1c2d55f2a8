"""Fixed seed data of the sandbox: an organization, an OAuth client, queues, skills and a worktype.

The ids are constants so that example DAGs, tests and documentation can name them.
"""

from __future__ import annotations

from typing import Any

ORGANIZATION_ID = "6b1f0c2e-5a3d-4c8e-9f10-2a4b6c8d0e01"
ORGANIZATION_NAME = "Sandbox Org"
OAUTH_CLIENT_NAME = "Sandbox OAuth Client"
TOKEN_SUBJECT_ID = "9d0e1f2a-3b4c-4d5e-8f60-718293a4b5c6"

QUEUE_SUPPORT_ID = "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f601"
QUEUE_SALES_ID = "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f602"
QUEUE_BILLING_ID = "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f603"

SKILL_ENGLISH_ID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e01"
SKILL_SPANISH_ID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e02"
SKILL_BILLING_ID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e03"
SKILL_LEGACY_ID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e04"
"""An ``inactive`` skill, for tests of lookups that must reject it."""

WORKTYPE_ID = "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c01"
WORKBIN_ID = "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c02"
WORKTYPE_STATUS_OPEN_ID = "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c03"
WORKTYPE_STATUS_CLOSED_ID = "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c04"
AGENT_USER_ID = "2b3c4d5e-6f70-4a81-9b2c-3d4e5f6a7b01"
"""The agent the simulated ACD assigns records to."""

QUEUES: tuple[dict[str, Any], ...] = (
    {"id": QUEUE_SUPPORT_ID, "name": "Support"},
    {"id": QUEUE_SALES_ID, "name": "Sales"},
    {"id": QUEUE_BILLING_ID, "name": "Billing"},
)

SKILLS: tuple[dict[str, Any], ...] = (
    {"id": SKILL_ENGLISH_ID, "name": "English", "state": "active"},
    {"id": SKILL_SPANISH_ID, "name": "Spanish", "state": "active"},
    {"id": SKILL_BILLING_ID, "name": "Billing", "state": "active"},
    {"id": SKILL_LEGACY_ID, "name": "Legacy Systems", "state": "inactive"},
)

WORKTYPES: tuple[dict[str, Any], ...] = (
    {
        "id": WORKTYPE_ID,
        "name": "Sandbox Case",
        "defaultWorkbinId": WORKBIN_ID,
        "defaultQueueId": QUEUE_SUPPORT_ID,
        "assignmentEnabled": True,
        "defaultStatusId": WORKTYPE_STATUS_OPEN_ID,
        "statuses": (
            {"id": WORKTYPE_STATUS_OPEN_ID, "name": "Open", "category": "Open"},
            {"id": WORKTYPE_STATUS_CLOSED_ID, "name": "Closed", "category": "Closed"},
        ),
    },
)

WORKBINS: tuple[dict[str, Any], ...] = ({"id": WORKBIN_ID, "name": "Sandbox Workbin"},)

QUEUE_IDS: frozenset[str] = frozenset(queue["id"] for queue in QUEUES)
SKILL_IDS: frozenset[str] = frozenset(skill["id"] for skill in SKILLS)
WORKTYPE_IDS: frozenset[str] = frozenset(worktype["id"] for worktype in WORKTYPES)
WORKBIN_IDS: frozenset[str] = frozenset(workbin["id"] for workbin in WORKBINS)
WORKTYPE_STATUSES: dict[str, dict[str, Any]] = {
    status["id"]: status for worktype in WORKTYPES for status in worktype["statuses"]
}


def seed_summary() -> dict[str, Any]:
    """Return the seeded ids, as printed by the command line and served by ``GET /_sandbox/health``."""
    return {
        "organization": {"id": ORGANIZATION_ID, "name": ORGANIZATION_NAME},
        "queues": {queue["name"]: queue["id"] for queue in QUEUES},
        "skills": {skill["name"]: {"id": skill["id"], "state": skill["state"]} for skill in SKILLS},
        "worktypes": {worktype["name"]: worktype["id"] for worktype in WORKTYPES},
        "worktype_statuses": {status["name"]: status_id for status_id, status in WORKTYPE_STATUSES.items()},
        "agent_user_id": AGENT_USER_ID,
        "workbins": {workbin["name"]: workbin["id"] for workbin in WORKBINS},
    }
