"""Nothing counts as created without a record id: hostile 2xx answers for every kind, through the engine.

A proxy's HTML page (200), a 201 with an empty body and a 200 whose JSON carries no id are answered by the
sandbox either instead of the request (a proxy that never forwarded it) or after the record was stored (a gateway
that mangled the answer). Whatever happened, the try reports the item ``failed`` (never ``created`` without an
id), and the next try ends with exactly one record, found by its key or created.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_genesys.creation.engine import CreationEngine
from airflow_provider_genesys.creation.items import PreparedItem
from airflow_provider_genesys.creation.kinds import get_kind
from airflow_provider_genesys.creation.state import SendState, TaskState
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from tests.support.context import task_identity
from tests.support.state_store import RecordingStateStore


@pytest.fixture
def store() -> RecordingStateStore:
    """The task instance's state store (Airflow's, stood in for)."""
    return RecordingStateStore()


CREATE_PATHS = {
    "interaction": "/api/v2/interactions",
    "workitem": "/api/v2/taskmanagement/workitems",
    "callback": "/api/v2/conversations/callbacks",
    "email": "/api/v2/conversations/emails",
}
KINDS = sorted(CREATE_PATHS)
HOSTILE = ["html_200", "empty_201", "json_without_id"]


def _engine(hook: GenesysCloudHook, kind: str, store: RecordingStateStore, try_number: int) -> CreationEngine:
    state = TaskState.load(store, kind=kind, try_number=try_number)
    return CreationEngine(hook, get_kind(kind), task_identity(try_number), state=state)


@pytest.mark.parametrize("after_commit", [False, True], ids=["never-forwarded", "stored-then-mangled"])
@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("kind", KINDS)
def test_a_2xx_without_a_record_id_is_never_created_and_the_next_try_settles_it_once(
    kind: str,
    hostile: str,
    after_commit: bool,
    no_retry_hook: GenesysCloudHook,
    item_of: Callable[..., PreparedItem],
    admin: Any,
    store: RecordingStateStore,
) -> None:
    admin.faults(
        hostile_answer=hostile, hostile_rate=1.0, hostile_after_commit=after_commit, route_prefix=CREATE_PATHS[kind]
    )
    first = _engine(no_retry_hook, kind, store, try_number=1).create_one(item_of(kind), outcome_unknown=False)

    assert first.audit.outcome == "failed" and first.audit.interaction_id is None
    assert first.record is None
    stored = len(admin.records())
    assert stored == (1 if after_commit else 0)

    admin.faults()
    second = _engine(no_retry_hook, kind, store, try_number=2).create_one(item_of(kind), outcome_unknown=True)

    # every kind is resolved by Genesys: the key (interactions), the workitem query, the participant-attribute
    # search of callbacks and emails
    records = admin.records()
    assert second.audit.outcome == ("replayed" if after_commit else "created")
    assert second.audit.interaction_id == records[0]["id"]
    assert len(records) == 1


@pytest.mark.parametrize("hostile", ["html_200", "empty_201"])
@pytest.mark.parametrize("kind", ["interaction", "workitem"])
def test_within_one_call_an_unreadable_answer_is_settled_by_the_key(
    kind: str,
    hostile: str,
    hook: GenesysCloudHook,
    item_of: Callable[..., PreparedItem],
    admin: Any,
    store: RecordingStateStore,
) -> None:
    # the record is stored, its answer mangled once: the retry finds it by its key (409 replay, or the lookup)
    admin.faults(hostile_answer=hostile, hostile_next=1, hostile_after_commit=True, route_prefix=CREATE_PATHS[kind])

    outcome = _engine(hook, kind, store, try_number=1).create_one(item_of(kind))

    records = admin.records()
    assert len(records) == 1
    assert outcome.audit.outcome == "replayed" and outcome.audit.interaction_id == records[0]["id"]


def test_a_callback_journal_never_says_created_without_an_id(
    no_retry_hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    admin.faults(hostile_answer="json_without_id", hostile_rate=1.0, hostile_after_commit=True)
    item = item_of("callback")

    _engine(no_retry_hook, "callback", store, try_number=1).create_one(item)

    history = TaskState.load(store, kind="callback", try_number=2).earlier(item.key)
    assert history.state is SendState.UNKNOWN and history.record_id is None and history.try_number == 1


def test_nothing_without_a_record_id_is_settled_in_the_state(
    no_retry_hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    from airflow_provider_genesys.creation.bulk_run import BulkOptions, BulkRun
    from airflow_provider_genesys.creation.inputs import BulkInput
    from tests.support.payloads import PAYLOADS

    admin.faults(hostile_answer="json_without_id", hostile_rate=1.0, route_prefix=CREATE_PATHS["interaction"])
    task = task_identity(run_id="manual__answers_without_ids")
    items = [{**PAYLOADS["interaction"], "external_id": f"CASE-{n}"} for n in range(3)]
    state = TaskState.load(store, kind="interaction", try_number=1)
    run = BulkRun(
        no_retry_hook, get_kind("interaction"), task, BulkInput(interactions=items), options=BulkOptions(), state=state
    )

    result = run.create(run.validate())

    assert result.summary is not None and (result.summary.created, result.summary.failed) == (0, 3)
    assert result.retry_may_help  # a retry finds the records by their keys, or creates them
    assert TaskState.load(store, kind="interaction", try_number=2).settled() == {}
    assert store.sets == 2  # the batch, written ahead and settled


def test_a_run_stopped_mid_batch_leaves_no_sent_key_recorded_as_never_sent(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    # an error in this thread (an audit write, execution_timeout) stops the run while creates are in flight
    admin.faults(latency_ms=30)
    items = [item_of("callback", external_id=f"CASE-{n}") for n in range(40)]
    engine = _engine(hook, "callback", store, try_number=1)
    seen: list[Any] = []

    def on_outcome(outcome: Any) -> None:
        seen.append(outcome)
        if len(seen) == 3:
            raise OSError("the audit file could not be written")

    with pytest.raises(OSError):
        engine.run(items, total=len(items), on_outcome=on_outcome)

    stored = {record["participants"][0]["attributes"]["genesysIdempotencyKey"] for record in admin.records()}
    later = TaskState.load(store, kind="callback", try_number=2)
    assert stored and len(stored) < len(items)  # stopped part-way
    assert all(later.earlier(key).state is not SendState.NEVER_SENT for key in stored)
    # the creates still queued when the run stopped were dropped, never sent: a retry sends them safely
    assert any(later.earlier(item.key).state is SendState.NEVER_SENT for item in items)
