"""Genesys' workitem bulk add jobs: submit a batch, wait for the job, read one result per entity.

``POST /api/v2/taskmanagement/workitems/bulk/add/jobs`` with ``{"entities": [WorkitemCreate, ...]}`` answers
with a ``BulkJob`` (``id``, ``state``, counts); ``GET .../bulk/add/jobs/{id}`` reports its state and
``GET .../bulk/add/jobs/{id}/results`` lists, once the job is done, one entry per submitted entity in order:
``{"index": i, "workitem": Workitem}`` or ``{"index": i, "error": ErrorBody}``. Genesys documents no maximum
number of entities per job: the batch size is a setting.

A submission whose answer was lost is never re-sent: its job may exist and create its workitems later, which a
re-sent batch would duplicate. Its items fail as "outcome unknown"; a later try finds whatever the lost job
created by their ``externalTag`` before sending anything.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.exceptions import GenesysApiError, JobOutcomeUnknownError

if TYPE_CHECKING:
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook, GenesysResponse

JOBS_PATH = "/api/v2/taskmanagement/workitems/bulk/add/jobs"
#: Job states after which nothing changes any more (compared case-insensitively).
TERMINAL_STATES = frozenset({"complete", "completed", "failed", "cancelled", "canceled"})


def is_terminal(job: Mapping[str, Any]) -> bool:
    """Whether a ``BulkJob`` has finished (successfully or not)."""
    return str(job.get("state", "")).lower() in TERMINAL_STATES


def submit_job(hook: GenesysCloudHook, entities: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Submit one bulk add job and return its ``BulkJob``; a lost answer is never re-sent.

    :raises JobOutcomeUnknownError: after a timeout, a dropped connection or a 5xx on the submission.
    :raises GenesysApiError: when Genesys rejects the job (e.g. HTTP 400, too many entities).
    """

    def refuse_resend(error: GenesysApiError) -> GenesysResponse | None:
        raise JobOutcomeUnknownError(
            status=error.status,
            code="outcome.unknown",
            message=f"the bulk add job was submitted and its answer was lost ({error.message or error.code})",
            correlation_id=error.correlation_id,
            method="POST",
            path=JOBS_PATH,
        )

    try:
        response = hook.request("POST", JOBS_PATH, json={"entities": list(entities)}, before_retry=refuse_resend)
    except JobOutcomeUnknownError:
        raise
    except GenesysApiError as error:
        if error.status is None or error.status >= 500:
            raise JobOutcomeUnknownError(
                status=error.status,
                code="outcome.unknown",
                message=f"the bulk add job was submitted and no answer came ({error.message or error.code})",
                correlation_id=error.correlation_id,
                method="POST",
                path=JOBS_PATH,
            ) from None
        raise
    job = response.body if isinstance(response.body, Mapping) else {}
    if not job.get("id"):
        raise GenesysApiError(status=response.status, message="the bulk add job answer carries no id", path=JOBS_PATH)
    return dict(job)


def get_job(hook: GenesysCloudHook, job_id: str) -> dict[str, Any]:
    """The current ``BulkJob`` of ``job_id``."""
    body = hook.request("GET", f"{JOBS_PATH}/{job_id}").body
    return dict(body) if isinstance(body, Mapping) else {}


def job_results(hook: GenesysCloudHook, job_id: str) -> list[dict[str, Any]]:
    """The per-entity results of a finished job (``index`` plus ``workitem`` or ``error``)."""
    body = hook.request("GET", f"{JOBS_PATH}/{job_id}/results").body
    entities = body.get("entities") if isinstance(body, Mapping) else None
    return [dict(entry) for entry in entities or [] if isinstance(entry, Mapping)]


def wait_for_jobs(
    hook: GenesysCloudHook, job_ids: Sequence[str], *, poll_interval: float, timeout: float
) -> dict[str, str]:
    """Poll until every job is terminal; return ``{job id: final state}``.

    :raises TimeoutError: when a job is still running after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    pending = list(job_ids)
    while pending:
        for job_id in list(pending):
            job = get_job(hook, job_id)
            if is_terminal(job):
                states[job_id] = str(job.get("state"))
                pending.remove(job_id)
        if not pending:
            break
        if time.monotonic() >= deadline:
            raise TimeoutError(f"bulk add job(s) {', '.join(pending)} still running after {timeout:g}s")
        time.sleep(poll_interval)
    return states
