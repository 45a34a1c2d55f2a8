"""The workitem-jobs trigger on the sandbox: asynchronous polling, bounded kwargs, and the operator's resume."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred
from airflow.sdk.module_loading import import_string

from airflow_provider_genesys.creation.bulk_jobs import JOBS_PATH, create_job, queue_job, wait_for_jobs
from airflow_provider_genesys.creation.bulk_jobs_run import BulkJobLog
from airflow_provider_genesys.creation.items import PreparedItem
from airflow_provider_genesys.creation.keys import item_identity
from airflow_provider_genesys.creation.task import TaskIdentity
from airflow_provider_genesys.exceptions import GenesysBulkCreateError
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from airflow_provider_genesys.operators.workitem_jobs import GenesysBulkAddWorkitemsOperator
from airflow_provider_genesys.sync.records import load_records
from airflow_provider_genesys.triggers.workitem_jobs import GenesysWorkitemJobsTrigger
from tests.support.context import FakeTaskInstance, task_context
from tests.support.payloads import PAYLOADS
from tests.support.state_store import RecordingStateStore

JOB_ROUTE = f"GET {JOBS_PATH}/{{job_id}}"


async def _first_event(trigger: GenesysWorkitemJobsTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


def _rebuilt(trigger: GenesysWorkitemJobsTrigger) -> GenesysWorkitemJobsTrigger:
    """The trigger as the triggerer builds it: from its class path and plain-JSON kwargs."""
    classpath, kwargs = trigger.serialize()
    rebuilt = import_string(classpath)(**json.loads(json.dumps(kwargs)))
    assert isinstance(rebuilt, GenesysWorkitemJobsTrigger)
    return rebuilt


def _finished_job(hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], count: int = 1) -> str:
    job = create_job(hook, [item_of("workitem", external_id=f"CASE-{n}").body for n in range(count)])
    queue_job(hook, job["id"])
    wait_for_jobs(hook, [job["id"]], poll_interval=0.05, timeout=10)
    return str(job["id"])


def test_the_trigger_runs_from_its_serialized_form_and_reports_every_final_state(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem]
) -> None:
    job = create_job(hook, [item_of("workitem").body])
    queue_job(hook, job["id"])  # still queued: the trigger polls until it ends
    trigger = GenesysWorkitemJobsTrigger(
        genesys_conn_id="genesys_cloud_default",
        job_ids=[job["id"]],
        poll_interval=0.05,
        started_at=1_700_000_000.0,
        input_digest="abc",
    )

    payload = asyncio.run(_first_event(_rebuilt(trigger)))

    assert payload == {
        "status": "success",
        "job_ids": [job["id"]],
        "states": {job["id"]: "Succeeded"},
        "started_at": 1_700_000_000.0,
        "input_digest": "abc",
    }


def test_an_unknown_job_is_reported_as_an_error_naming_it(sandbox: Any) -> None:
    trigger = GenesysWorkitemJobsTrigger(genesys_conn_id="genesys_no_retry", job_ids=["nope"], poll_interval=0.05)

    payload = asyncio.run(_first_event(trigger))

    assert payload["status"] == "error" and "nope" in payload["message"] and "HTTP 404" in payload["message"]


def test_an_unusable_connection_is_an_error_event_without_its_secret(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_GENESYS_BROKEN",
        json.dumps({"conn_type": "genesys_cloud", "login": "id", "password": "s3cr3t-value", "extra": {"timeout": -1}}),
    )

    payload = asyncio.run(_first_event(GenesysWorkitemJobsTrigger(genesys_conn_id="genesys_broken", job_ids=["x"])))

    assert payload["status"] == "error" and "'timeout'" in payload["message"]
    assert "s3cr3t-value" not in json.dumps(payload)


def test_throttled_polls_wait_on_the_event_loop_never_in_its_thread_pool(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    job_id = _finished_job(hook, item_of)
    polled = admin.requests_to(JOB_ROUTE).get("200", 0)
    admin.faults(fail_next=[429, 429], retry_after=1, route_prefix=f"{JOBS_PATH}/")
    trigger = GenesysWorkitemJobsTrigger(genesys_conn_id="genesys_cloud_default", job_ids=[job_id], poll_interval=0.05)

    async def with_the_pool_taken() -> dict[str, Any]:
        # The loop's default executor (what asyncio.to_thread uses) gets one thread, held until the trigger is
        # done: a trigger that slept or polled in a thread would wait for it forever.
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
        release = threading.Event()
        held = loop.run_in_executor(None, release.wait)
        try:
            return await asyncio.wait_for(_first_event(trigger), timeout=60)
        finally:
            release.set()
            await held

    payload = asyncio.run(with_the_pool_taken())

    assert payload["status"] == "success" and payload["states"] == {job_id: "Succeeded"}
    # both 429s were waited out (Retry-After: 1 s each), then the poll was answered
    assert admin.requests_to(JOB_ROUTE) == {"429": 2, "200": polled + 1}


# -- the operator: deferral and resume ----------------------------------------------------------------------


def _records(count: int) -> list[dict[str, Any]]:
    return [{**PAYLOADS["workitem"], "external_id": f"CASE-{n}"} for n in range(count)]


def _operator(records: list[dict[str, Any]], **kwargs: Any) -> GenesysBulkAddWorkitemsOperator:
    return GenesysBulkAddWorkitemsOperator(
        task_id="add_jobs",
        interactions=records,
        batch_size=50,
        poll_interval=0.05,
        job_timeout=30,
        deferrable=True,
        **kwargs,
    )


def _defer(
    operator: GenesysBulkAddWorkitemsOperator, ti: FakeTaskInstance, store: RecordingStateStore | None = None
) -> GenesysWorkitemJobsTrigger:
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(task_context(ti, state_store=store))
    assert deferred.value.method_name == "execute_complete"
    trigger = deferred.value.trigger
    assert isinstance(trigger, GenesysWorkitemJobsTrigger)
    return trigger


@pytest.mark.parametrize("count", [10, 120])
def test_the_deferral_carries_job_ids_never_per_item_state(count: int, sandbox: Any) -> None:
    records = _records(count)
    ti = FakeTaskInstance(dag_id=f"jobs_kwargs_{count}", task_id="add_jobs")

    trigger = _defer(_operator(records), ti)

    _, kwargs = trigger.serialize()
    assert set(kwargs) == {"genesys_conn_id", "job_ids", "poll_interval", "started_at", "input_digest"}
    assert len(kwargs["job_ids"]) == -(-count // 50)  # one id per job of 50, whatever the items hold
    text = json.dumps(kwargs)
    assert "CASE-" not in text and "externalTag" not in text
    task = TaskIdentity.from_context(task_context(ti))
    keys = [task.key_for("workitem", item_identity(external_id=f"CASE-{n}", payload=None)) for n in range(count)]
    assert not any(key in text for key in keys)


def test_a_resumed_task_rebuilds_every_item_and_counts_its_duration_from_the_first_start(
    sandbox: Any, admin: Any
) -> None:
    records = _records(60)
    ti = FakeTaskInstance(dag_id="jobs_resume", task_id="add_jobs")
    trigger = _defer(_operator(records), ti)
    payload = asyncio.run(_first_event(_rebuilt(trigger)))
    an_hour_ago = time.time() - 3600
    payload["started_at"] = an_hour_ago  # as if the triggerer had waited an hour (another machine, another clock)

    resumed = _operator(records)  # the task resumes in a fresh operator, as on a worker
    summary = resumed.execute_complete(task_context(ti), payload)

    assert (summary["created"], summary["replayed"], summary["failed"]) == (60, 0, 0)
    assert summary["wall_seconds"] >= 3600
    by_tag = {record["externalTag"]: record["id"] for record in admin.records()}
    assert len(by_tag) == 60 and admin.ledger()["duplicates"] == 0
    items = load_records(summary)  # inline, or from items_path beyond the XCom budget
    assert {item["key"]: item["interaction_id"] for item in items} == by_tag


def test_a_task_resumed_without_the_job_log_finds_its_workitems_by_their_keys(sandbox: Any, admin: Any) -> None:
    records = _records(5)
    records[3]["queueId"] = "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f6ff"  # rejected by the job: no such queue
    ti = FakeTaskInstance(dag_id="jobs_no_log", task_id="add_jobs")
    store = RecordingStateStore()
    trigger = _defer(_operator(records), ti, store)
    payload = asyncio.run(_first_event(_rebuilt(trigger)))
    assert BulkJobLog.open(store, TaskIdentity.from_context(task_context(ti)), "workitem").earlier  # it was written
    lost = RecordingStateStore()  # the resume finds no job log (a deployment that lost or cleared the task's state)

    with pytest.raises(GenesysBulkCreateError) as failed:
        _operator(records).execute_complete(task_context(ti, state_store=lost), payload)

    summary = failed.value.summary
    assert (summary["created"], summary["failed"]) == (4, 1)
    outcomes = {item["external_id"]: item["outcome"] for item in load_records(summary)}
    assert outcomes == {
        "CASE-0": "created",
        "CASE-1": "created",
        "CASE-2": "created",
        "CASE-3": "failed",
        "CASE-4": "created",
    }
    assert len(admin.records()) == 4 and admin.ledger()["duplicates"] == 0


def test_an_input_changed_while_the_task_was_deferred_fails_the_task_naming_it(sandbox: Any) -> None:
    records = _records(3)
    ti = FakeTaskInstance(dag_id="jobs_changed", task_id="add_jobs")
    trigger = _defer(_operator(records), ti)
    payload = asyncio.run(_first_event(_rebuilt(trigger)))

    with pytest.raises(GenesysBulkCreateError, match="The input changed while the task waited"):
        _operator([*records, *_records(5)[3:]]).execute_complete(task_context(ti), payload)
