"""Every request the provider sends exists in the SDK's APIs, with a body of the operation's model.

The provider's operators, trigger and hook run against the sandbox over loopback (creates of every kind, the
lookups of a re-run, bulk creates, bulk add jobs with and without deferral, routing checks, the connection
test) while every ``GenesysCloudHook.request`` is recorded. Each recorded method and path must match an
operation of the SDK (``/api/v2/interactions``, this provider's own seed contract, is the one exception, by
name), and each body must conform to that operation's body model. A static scan adds every ``/api/v2`` path
constant in the provider's code, so a path no run reaches is still checked.
"""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_genesys.creation.conversation_search import (
    SEARCH_PATH,
    SearchVerdict,
    find_conversation_by_key,
)
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from airflow_provider_genesys.operators.interactions import (
    GenesysBulkCreateInteractionsOperator,
    GenesysCreateInteractionOperator,
)
from airflow_provider_genesys.operators.workitem_jobs import GenesysBulkAddWorkitemsOperator
from airflow_provider_genesys.triggers.workitem_jobs import GenesysWorkitemJobsTrigger
from tests.contract.sdk_oracle import assert_conforms, operation_for, operation_for_template
from tests.support.context import FakeTaskInstance, task_context, task_identity
from tests.support.payloads import PAYLOADS
from tests.support.sandbox_client import SandboxAdmin

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_genesys"
#: Not a Genesys Cloud API: the seed contract the sandbox implements (docs/genesys-api.md).
SEED_CONTRACT = {"/api/v2/interactions", "/api/v2/interactions/{id}"}

Sent = tuple[str, str, Any]


@pytest.fixture
def sent(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Sent]]:
    """Every ``(method, path, json)`` any Genesys hook sends during the test."""
    recorded: list[Sent] = []
    original = GenesysCloudHook.request

    def recording(self: GenesysCloudHook, method: str, path: str, **kwargs: Any) -> Any:
        recorded.append((method, path, kwargs.get("json")))
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(GenesysCloudHook, "request", recording)
    yield recorded


def _context(dag_id: str, task_id: str = "create", try_number: int = 1) -> dict[str, Any]:
    return task_context(FakeTaskInstance(dag_id=dag_id, task_id=task_id, try_number=try_number))


def _records(kind: str, count: int) -> list[dict[str, Any]]:
    return [{**PAYLOADS[kind], "external_id": f"CASE-{n}"} for n in range(count)]


def _exercise_every_call(dag_id: str) -> None:
    """The provider's calls: creates and replays of each kind, bulk lookups, bulk add jobs, the trigger, checks."""
    for kind in ("interaction", "workitem", "callback", "email"):
        single = GenesysCreateInteractionOperator(
            task_id="create", kind=kind, interaction=PAYLOADS[kind], external_id="CASE-1", validate_routing=True
        )
        single.execute(_context(f"{dag_id}_{kind}"))
        single.execute(_context(f"{dag_id}_{kind}"))  # a clear: looks up (workitem) or confirms (callback, email)
    bulk = GenesysBulkCreateInteractionsOperator(task_id="bulk", kind="workitem", interactions=_records("workitem", 3))
    bulk.execute(_context(f"{dag_id}_bulk", "bulk"))
    bulk.execute(_context(f"{dag_id}_bulk", "bulk", try_number=2))  # a retry: one IN lookup
    jobs = GenesysBulkAddWorkitemsOperator(
        task_id="jobs", interactions=_records("workitem", 3), batch_size=2, poll_interval=0.05, job_timeout=30
    )
    jobs.execute(_context(f"{dag_id}_jobs", "jobs"))
    jobs.execute(_context(f"{dag_id}_jobs", "jobs", try_number=2))
    # the deferrable path: the operator submits, the trigger polls
    deferrable = GenesysBulkAddWorkitemsOperator(task_id="jobs", interactions=_records("workitem", 2), deferrable=True)
    run = deferrable._jobs_run(task_identity(dag_id=f"{dag_id}_trigger", task_id="jobs"))
    items, _ = run.validate()
    state = run.submit(items, resumed=False)
    trigger = GenesysWorkitemJobsTrigger(
        genesys_conn_id="genesys_cloud_default", job_ids=state.job_ids, poll_interval=0.05
    )

    async def first_event() -> Any:
        async for event in trigger.run():
            return event.payload
        return None

    assert asyncio.run(first_event())["status"] == "success"
    assert GenesysCloudHook().test_connection()[0]


def _template(path: str) -> str:
    return re.sub(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "/{id}", path)


def test_every_request_sent_is_an_sdk_operation_with_a_body_of_its_model(sent: list[Sent]) -> None:
    _exercise_every_call("contract_calls")

    seen: set[str] = set()
    for method, path, body in sent:
        if _template(path) in SEED_CONTRACT:
            continue
        operation = operation_for(method, path)
        assert operation is not None, f"{method} {path}: no such operation in the SDK's APIs"
        seen.add(f"{method} {operation.path}")
        if operation.body is None:
            assert body is None, f"{method} {operation.path} takes no body, yet one was sent: {body!r}"
        else:
            assert_conforms(body, operation.body, what=f"the body of {method} {operation.path}")
    # the run reached every kind of call the provider makes
    assert {
        "POST /api/v2/taskmanagement/workitems",
        "POST /api/v2/taskmanagement/workitems/query",
        "POST /api/v2/taskmanagement/workitems/bulk/add/jobs",
        "GET /api/v2/taskmanagement/workitems/bulk/add/jobs/{bulkJobId}",
        "GET /api/v2/taskmanagement/workitems/bulk/add/jobs/{bulkJobId}/results",
        "POST /api/v2/conversations/callbacks",
        "POST /api/v2/conversations/emails",
        "GET /api/v2/conversations/{conversationId}",
        "GET /api/v2/routing/queues/{queueId}",
        "GET /api/v2/routing/skills/{skillId}",
        "GET /api/v2/tokens/me",
    } <= seen, sorted(seen)


def test_the_participant_search_sends_bodies_of_the_sdk_model_and_reads_its_answer(
    sent: list[Sent], admin: SandboxAdmin
) -> None:
    for kind in ("callback", "email"):
        GenesysCreateInteractionOperator(
            task_id="create", kind=kind, interaction=PAYLOADS[kind], external_id="CASE-1"
        ).execute(_context(f"contract_search_{kind}"))
    keys = {record["kind"]: record["idempotencyKey"] for record in admin.records()}
    an_hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)

    for kind in ("callback", "email"):
        answer = find_conversation_by_key(GenesysCloudHook(), key=keys[kind], sent_at=an_hour_ago)
        assert answer.verdict is SearchVerdict.FOUND, answer
    assert find_conversation_by_key(GenesysCloudHook(), key="0" * 64, sent_at=an_hour_ago).verdict is (
        SearchVerdict.ABSENT
    )

    searches = [(method, path, body) for method, path, body in sent if path == SEARCH_PATH]
    assert len(searches) == 3
    for method, path, body in searches:
        operation = operation_for(method, path)
        assert operation is not None
        assert (operation.body, operation.response) == (
            "ConversationParticipantSearchRequest",
            "JsonCursorSearchResponse",
        )
        assert_conforms(body, operation.body, what=f"the body of {method} {operation.path}")


def _path_constants() -> Iterator[tuple[Path, int, str]]:
    for source in PACKAGE.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        docstrings = {
            id(node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.startswith("/api/v2/")
                and " " not in node.value
                and id(node) not in docstrings
            ):
                yield source, node.lineno, node.value


def test_every_api_path_constant_in_the_provider_is_an_sdk_path() -> None:
    constants = list(_path_constants())
    assert len(constants) >= 8, constants
    for source, line, path in constants:
        if path in SEED_CONTRACT:
            continue
        methods = [m for m in ("GET", "POST", "PATCH", "PUT", "DELETE") if operation_for_template(m, path)]
        assert methods, f"{source.name}:{line}: {path} is no path of the SDK's APIs"
