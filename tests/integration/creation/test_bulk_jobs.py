"""Bulk add jobs against the sandbox: the two-phase protocol, lost answers, earlier tries' jobs, the input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_genesys.creation.bulk_jobs import (
    JOBS_PATH,
    create_job,
    get_job,
    is_terminal,
    parse_results,
    queue_job,
    wait_for_jobs,
)
from airflow_provider_genesys.creation.bulk_jobs_run import BulkJobLog, BulkJobsRun
from airflow_provider_genesys.creation.bulk_run import BulkOptions
from airflow_provider_genesys.creation.inputs import BulkInput
from airflow_provider_genesys.creation.items import PreparedItem
from airflow_provider_genesys.creation.kinds import WORKITEM_BULK_JOBS
from airflow_provider_genesys.exceptions import GenesysApiError, JobOutcomeUnknownError
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from tests.support.context import task_identity
from tests.support.payloads import PAYLOADS
from tests.support.state_store import RecordingStateStore

CREATE = f"POST {JOBS_PATH}"
JOB = JOBS_PATH + "/{job_id}"


def _entities(item_of: Callable[..., PreparedItem], count: int) -> list[dict[str, Any]]:
    return [item_of("workitem", external_id=f"CASE-{n}").body for n in range(count)]


def _routes(admin: Any, method: str) -> dict[str, int]:
    return admin.requests_to(f"{method} {JOB}")


def test_a_job_is_idle_until_queued_then_succeeds_with_results_by_position(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    entities = _entities(item_of, 3)

    job = create_job(hook, entities)
    assert job["state"] == "Idle" and admin.records() == []
    queued = queue_job(hook, job["id"])
    states = wait_for_jobs(hook, [job["id"]], poll_interval=0.05, timeout=10)
    results = parse_results({"results": hook.request("GET", f"{JOBS_PATH}/{job['id']}/results").body["results"]})

    assert queued["state"] == "Queued" and states == {job["id"]: "Succeeded"}
    by_tag = {record["externalTag"]: record["id"] for record in admin.records()}
    assert [result.workitem_id for result in results] == [by_tag[entity["externalTag"]] for entity in entities]


def test_a_lost_creation_answer_leaves_an_inert_idle_job_and_the_batch_is_sent_again(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    admin.faults(drop_after_commit_next=1)

    job = create_job(hook, _entities(item_of, 2))
    queue_job(hook, job["id"])
    wait_for_jobs(hook, [job["id"]], poll_interval=0.05, timeout=10)

    assert admin.requests_to(CREATE) == {"dropped": 1, "202": 1}  # two jobs exist; the first was never queued
    assert len(admin.records()) == 2 and admin.ledger()["duplicates"] == 0


def test_a_lost_queueing_answer_is_settled_by_asking_for_the_job(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    job = create_job(hook, _entities(item_of, 2))
    admin.faults(drop_after_commit_next=1, route_prefix=f"{JOBS_PATH}/")  # the PATCH commits, then drops

    queued = queue_job(hook, job["id"])

    assert queued["state"] in ("Queued", "Running", "Succeeded")
    assert _routes(admin, "PATCH") == {"dropped": 1}  # never sent twice: the GET said it was queued
    wait_for_jobs(hook, [job["id"]], poll_interval=0.05, timeout=10)
    assert len(admin.records()) == 2 and admin.ledger()["duplicates"] == 0


def test_queueing_that_fails_for_good_terminates_the_job_so_it_never_runs(
    no_retry_hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    job = create_job(no_retry_hook, _entities(item_of, 1))
    admin.faults(fail_next=[503], route_prefix=f"{JOBS_PATH}/")

    with pytest.raises(GenesysApiError, match="was not queued") as caught:
        queue_job(no_retry_hook, job["id"])

    assert not isinstance(caught.value, JobOutcomeUnknownError)
    assert get_job(no_retry_hook, job["id"])["state"] == "Terminated"
    assert _routes(admin, "PATCH") == {"503": 1, "200": 1}  # the failed queueing, then the termination


def test_when_the_job_cannot_even_be_checked_the_outcome_is_unknown(
    no_retry_hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    job = create_job(no_retry_hook, _entities(item_of, 1))
    admin.faults(fail_next=[503, 503], route_prefix=f"{JOBS_PATH}/")

    with pytest.raises(JobOutcomeUnknownError, match="may run"):
        queue_job(no_retry_hook, job["id"])


def _run(hook: GenesysCloudHook, store: RecordingStateStore, try_number: int) -> tuple[BulkJobsRun, list[PreparedItem]]:
    task = task_identity(try_number=try_number, task_id="jobs")
    records = [{**PAYLOADS["workitem"], "external_id": f"CASE-{n}"} for n in range(4)]
    run = BulkJobsRun(
        hook,
        WORKITEM_BULK_JOBS,
        task,
        BulkInput(interactions=records, source=None, external_id_field="external_id"),
        options=BulkOptions(),
        batch_size=2,
        poll_interval=0.05,
        job_timeout=10,
        job_log=BulkJobLog.open(store, task, "workitem"),
    )
    items, _ = run.validate()
    return run, items


def test_a_retry_terminates_an_earlier_tries_idle_job_before_sending_its_items(
    hook: GenesysCloudHook, admin: Any
) -> None:
    store = RecordingStateStore()
    first, items = _run(hook, store, try_number=1)
    idle = create_job(hook, [item.body for item in items[:2]])
    assert first.job_log is not None
    first.job_log.created(str(idle["id"]), [item.key for item in items[:2]])  # the try died before queueing

    retry, items = _run(hook, store, try_number=2)
    state = retry.submit(items, resumed=True)
    retry.wait(state)
    result = retry.finish(state)

    assert get_job(hook, idle["id"])["state"] == "Terminated"
    assert result.summary is not None and (result.summary.created, result.summary.failed) == (4, 0)
    assert len(admin.records()) == 4 and admin.ledger()["duplicates"] == 0


def test_a_retry_waits_for_an_earlier_tries_running_job_and_replays_its_workitems(
    hook: GenesysCloudHook, admin: Any
) -> None:
    store = RecordingStateStore()
    first, items = _run(hook, store, try_number=1)
    first.submit(items, resumed=False)  # queued, then the try died without reading results

    retry, items = _run(hook, store, try_number=2)
    state = retry.submit(items, resumed=True)

    assert state.jobs == [] and sorted(state.replayed) == sorted(item.key for item in items)
    assert all(is_terminal(get_job(hook, job_id)) for job_id in retry.job_log.earlier)  # type: ignore[union-attr]
    assert admin.requests_to(CREATE) == {"202": 2}  # nothing submitted again
    assert len(admin.records()) == 4 and admin.ledger()["duplicates"] == 0


def _file_run(hook: GenesysCloudHook, source: str, tmp_path: Path) -> BulkJobsRun:
    task = task_identity(task_id="jobs_from_file")
    return BulkJobsRun(
        hook,
        WORKITEM_BULK_JOBS,
        task,
        BulkInput(source=source, external_id_field="external_id"),
        options=BulkOptions(),
        batch_size=2,
        poll_interval=0.05,
        job_timeout=10,
        job_log=BulkJobLog.open(RecordingStateStore(), task, "workitem"),
    )


def test_a_file_source_is_spooled_once_and_the_spool_is_closed_after_validation(
    hook: GenesysCloudHook, admin: Any, tmp_path: Path
) -> None:
    path = tmp_path / "items.jsonl"
    rows = [{**PAYLOADS["workitem"], "external_id": f"CASE-{n}"} for n in range(3)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    run = _file_run(hook, str(path), tmp_path)

    items, invalid = run.validate()

    assert (len(items), invalid) == (3, [])
    assert run.source._spool is None  # closed at once, not left to the garbage collector
    path.unlink()  # the run never needs the file again: results are matched with the items of the one pass
    state = run.submit(items, resumed=False)
    run.wait(state)
    result = run.finish(state, items, invalid)
    assert result.summary is not None and result.summary.created == 3 and not result.problems
    assert run.source._spool is None


def test_a_malformed_interactions_value_is_refused_before_anything_is_sent(
    hook: GenesysCloudHook, admin: Any, tmp_path: Path
) -> None:
    task = task_identity(task_id="jobs_malformed")
    run = BulkJobsRun(
        hook,
        WORKITEM_BULK_JOBS,
        task,
        BulkInput(interactions="[{'name': 'x'}]"),  # a Python repr rendered by a template, not JSON
        options=BulkOptions(on_invalid="skip", max_invalid=100),
        batch_size=2,
    )

    items, invalid = run.validate()
    refusal = run.refusal(items, invalid)

    assert items == [] and refusal is not None
    assert "interactions: is a string but not JSON text of a list of objects" in refusal
    assert "No create request was sent" in refusal
    assert admin.requests_to(CREATE) == {}
