"""Bulk add jobs client and its trigger against the sandbox (job state machine on loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_genesys.creation.bulk_jobs import job_results, submit_job, wait_for_jobs
from airflow_provider_genesys.creation.items import PreparedItem
from airflow_provider_genesys.exceptions import JobOutcomeUnknownError
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from airflow_provider_genesys.triggers.workitem_jobs import GenesysWorkitemJobsTrigger

JOBS = "POST /api/v2/taskmanagement/workitems/bulk/add/jobs"


def test_a_job_is_submitted_waited_for_and_read(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    items = [item_of("workitem", external_id=f"CASE-{n}") for n in range(3)]

    job = submit_job(hook, [item.body for item in items])
    states = wait_for_jobs(hook, [job["id"]], poll_interval=0.05, timeout=10)
    results = job_results(hook, job["id"])

    assert states == {job["id"]: "Complete"}
    assert [entry["index"] for entry in results] == [0, 1, 2]
    assert [entry["workitem"]["externalTag"] for entry in results] == [item.key for item in items]


def test_a_lost_submission_is_not_resent(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    admin.faults(drop_after_commit_next=1)

    with pytest.raises(JobOutcomeUnknownError, match="answer was lost"):
        submit_job(hook, [item_of("workitem").body])
    assert admin.requests_to(JOBS) == {"dropped": 1}


def test_the_trigger_round_trips_plain_json_and_reports_terminal_states(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem]
) -> None:
    job = submit_job(hook, [item_of("workitem").body])
    trigger = GenesysWorkitemJobsTrigger(
        genesys_conn_id="genesys_cloud_default", job_ids=[job["id"]], poll_interval=0.05, carry={"jobs": [1]}
    )
    classpath, kwargs = trigger.serialize()
    assert classpath.endswith("GenesysWorkitemJobsTrigger")
    rebuilt = GenesysWorkitemJobsTrigger(**kwargs)

    async def first_event() -> Any:
        async for event in rebuilt.run():
            return event.payload
        return None

    payload = asyncio.run(first_event())

    assert payload == {"status": "success", "states": {job["id"]: "Complete"}, "carry": {"jobs": [1]}}


def test_the_trigger_reports_an_unknown_job_as_an_error(sandbox: Any) -> None:
    trigger = GenesysWorkitemJobsTrigger(genesys_conn_id="genesys_no_retry", job_ids=["nope"], poll_interval=0.05)

    async def first_event() -> Any:
        async for event in trigger.run():
            return event.payload
        return None

    payload = asyncio.run(first_event())

    assert payload["status"] == "error" and "nope" in payload["message"]
