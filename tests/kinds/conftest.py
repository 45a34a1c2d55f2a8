"""Fixtures of the kinds tests: prepared items of each kind and a hook on the (reset) session sandbox."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_genesys.creation import TaskIdentity, prepare_item
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from airflow_provider_genesys.kinds import PreparedItem, get_kind
from airflow_provider_genesys.sandbox import seeds

PAYLOADS: dict[str, dict[str, Any]] = {
    "workitem": {
        "name": "Refund CASE-1",
        "typeId": seeds.WORKTYPE_ID,
        "queueId": seeds.QUEUE_SUPPORT_ID,
        "skillIds": [seeds.SKILL_ENGLISH_ID],
        "priority": 5,
    },
    "callback": {
        "callbackNumbers": ["+15551230001"],
        "routingData": {"queueId": seeds.QUEUE_SUPPORT_ID, "skillIds": [seeds.SKILL_ENGLISH_ID]},
        "data": {"caseId": "CASE-1"},
    },
    "email": {
        "provider": "Acme CRM",
        "queueId": seeds.QUEUE_SUPPORT_ID,
        "skillIds": [seeds.SKILL_ENGLISH_ID],
        "fromAddress": "ada@example.com",
        "toAddress": "support@example.com",
        "subject": "Refund",
        "textBody": "Please refund.",
        "attributes": {"caseId": "CASE-1"},
    },
    "interaction": {
        "type": "chat",
        "routing": {
            "priority": 5,
            "queue": {"id": seeds.QUEUE_SUPPORT_ID},
            "skills": [{"id": seeds.SKILL_ENGLISH_ID, "level": 2}],
        },
        "participants": [{"id": "0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c7d", "roles": ["initiator"]}],
    },
}


def task_identity(try_number: int = 1, run_id: str = "manual__2026-05-01") -> TaskIdentity:
    """A task identity for keys (what a task context would give)."""
    return TaskIdentity(dag_id="kinds_dag", task_id="create", run_id=run_id, map_index=-1, try_number=try_number)


@pytest.fixture
def item_of() -> Callable[..., PreparedItem]:
    """``item_of(kind, external_id=..., **changes)``: a prepared item of the default payload of ``kind``."""

    def make(kind: str, external_id: str = "CASE-1", position: int | None = None, **changes: Any) -> PreparedItem:
        payload = {**copy.deepcopy(PAYLOADS[kind]), **changes}
        return prepare_item(get_kind(kind), payload, task_identity(), external_id=external_id, position=position)

    return make


@pytest.fixture
def hook(sandbox: Any) -> GenesysCloudHook:
    """A hook on the reset sandbox (fast retries)."""
    return GenesysCloudHook()


@pytest.fixture
def no_retry_hook(sandbox: Any) -> GenesysCloudHook:
    """A hook on the reset sandbox that never retries."""
    return GenesysCloudHook("genesys_no_retry")


@pytest.fixture
def state_dir(tmp_path: Path) -> str:
    """A fresh journal directory."""
    return str(tmp_path / "state")
