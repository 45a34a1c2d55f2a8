"""Genesys' workitem bulk add jobs: create a job, queue it (the commit), wait for it, read its results.

The protocol (SDK ``TaskManagementApi``; developer documentation, "Task management: Bulk Operations"):

1. ``POST /api/v2/taskmanagement/workitems/bulk/add/jobs`` ``BulkJobAddRequest {entities: [WorkitemCommonCreate]}``
   (1..50 entities) answers a ``BulkJob`` in state ``Idle``. An ``Idle`` job creates nothing.
2. ``PATCH .../bulk/add/jobs/{id}`` ``BulkJobUpdate {state: "Queued"}`` starts it. **This is the commit**: only a
   queued job creates workitems. ``{state: "Terminated"}`` (or ``DELETE``) ends a job that is still ``Idle``.
3. ``GET .../bulk/add/jobs/{id}`` reports ``BulkJob.state``: ``Idle``, ``Queued``, ``Running``, then one of
   :data:`TERMINAL_STATES` (``Succeeded``, ``Failed``, ``Cancelled``, ``Terminated``).
4. ``GET .../bulk/add/jobs/{id}/results`` answers ``BulkJobAddResponse {results, errorCount, errorIndexes}``: one
   ``BulkJobAddResult`` per submitted entity, **in submission order** — ``{entity: {id, name, workbin, type,
   selfUri}}`` or ``{error: {message, code}}``. No index, no ``externalTag``: results are matched by position.

What a lost answer means: a lost creation answer leaves an ``Idle`` job that never runs unless someone queues it,
so the batch can simply be sent again (the hook retries it like any request). A lost queueing answer is settled by
asking for the job: ``Idle`` means not queued; anything else means queued. When even that cannot be known, the
job is the one thing to check before sending its entities again (:class:`JobOutcomeUnknownError`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.exceptions import GenesysApiError, JobOutcomeUnknownError

if TYPE_CHECKING:
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook, GenesysResponse
    from airflow_provider_genesys.hooks.genesys_cloud_async import GenesysCloudAsyncHook

JOBS_PATH = "/api/v2/taskmanagement/workitems/bulk/add/jobs"
#: Entities per job Genesys documents ("a minimum of 1 and a maximum of 50 workitem entities").
MAX_ENTITIES_PER_JOB = 50
IDLE, QUEUED, TERMINATED = "Idle", "Queued", "Terminated"
#: ``BulkJob.state`` values after which a job changes no more (compared case-insensitively).
TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled", "terminated"})


def job_state(job: Mapping[str, Any]) -> str:
    """The ``state`` of a ``BulkJob`` (empty when it has none)."""
    return str(job.get("state") or "")


def is_terminal(job: Mapping[str, Any]) -> bool:
    """Whether a ``BulkJob`` has finished (successfully or not)."""
    return job_state(job).lower() in TERMINAL_STATES


def is_idle(job: Mapping[str, Any]) -> bool:
    """Whether a ``BulkJob`` is still ``Idle`` (created, never queued: it creates nothing)."""
    return job_state(job).lower() == IDLE.lower()


def _job_path(job_id: str) -> str:
    return f"{JOBS_PATH}/{job_id}"


def create_job(hook: GenesysCloudHook, entities: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Create an ``Idle`` bulk add job holding ``entities`` and return its ``BulkJob``.

    Safe to re-send after a lost answer (the hook's retries do): a job nobody queues creates nothing.

    :raises GenesysApiError: when Genesys rejects the job (e.g. HTTP 400) or the retries run out.
    """
    response = hook.request("POST", JOBS_PATH, json={"entities": list(entities)})
    job = response.body if isinstance(response.body, Mapping) else {}
    if not job.get("id"):
        raise GenesysApiError(
            status=response.status,
            code="bulk.job.no.id",
            message="the bulk add job answer carries no id",
            correlation_id=response.correlation_id,
            method="POST",
            path=JOBS_PATH,
        )
    return dict(job)


def get_job(hook: GenesysCloudHook, job_id: str) -> dict[str, Any]:
    """The current ``BulkJob`` of ``job_id``."""
    body = hook.request("GET", _job_path(job_id)).body
    return dict(body) if isinstance(body, Mapping) else {}


async def aget_job(hook: GenesysCloudAsyncHook, job_id: str) -> dict[str, Any]:
    """The current ``BulkJob`` of ``job_id``, from an event loop (the trigger)."""
    body = (await hook.request("GET", _job_path(job_id))).body
    return dict(body) if isinstance(body, Mapping) else {}


def find_job(hook: GenesysCloudHook, job_id: str) -> dict[str, Any] | None:
    """The current ``BulkJob`` of ``job_id``, or ``None`` when Genesys no longer has it (404: it cannot run)."""
    response = hook.request("GET", _job_path(job_id), accept_statuses=frozenset({404}))
    if response.status == 404:
        return None
    return dict(response.body) if isinstance(response.body, Mapping) else {}


def queue_job(hook: GenesysCloudHook, job_id: str) -> dict[str, Any]:
    """Queue the ``Idle`` job ``job_id`` (the commit) and return its ``BulkJob``.

    Before re-sending after a lost answer, the job is asked for: not ``Idle`` any more means the lost attempt
    queued it. When queueing fails for good, the job is asked for once more: queued after all → returned; still
    ``Idle`` → terminated, so that nothing of it can ever run, and the error is raised (nothing was created).

    :raises GenesysApiError: the job was not queued (and is terminated); its entities may be sent again.
    :raises JobOutcomeUnknownError: whether the job was queued cannot be known now; check the job first.
    """
    path = _job_path(job_id)

    def queued_already(error: GenesysApiError) -> GenesysResponse | None:
        response = hook.request("GET", path)
        return response if isinstance(response.body, Mapping) and not is_idle(response.body) else None

    try:
        response = hook.request("PATCH", path, json={"state": QUEUED}, before_retry=queued_already)
    except GenesysApiError as error:
        return _settle_failed_queueing(hook, job_id, error)
    body = response.body if isinstance(response.body, Mapping) else {}
    return {**body, "id": job_id} if body else {"id": job_id, "state": QUEUED}


def _settle_failed_queueing(hook: GenesysCloudHook, job_id: str, error: GenesysApiError) -> dict[str, Any]:
    try:
        job = get_job(hook, job_id)
        if job and not is_idle(job):
            return job  # a lost attempt did queue it
        final = terminate_idle_job(hook, job_id)
    except GenesysApiError as check_error:
        raise JobOutcomeUnknownError(
            status=error.status,
            code="outcome.unknown",
            message=(
                f"queueing bulk add job {job_id} failed ({error.message or error.code}) and the job could not be "
                f"checked ({check_error.message or check_error.code}): it may run"
            ),
            correlation_id=error.correlation_id,
            method="PATCH",
            path=_job_path(job_id),
        ) from None
    if job_state(final) and not is_idle(final) and job_state(final).lower() != TERMINATED.lower():
        return final  # queued between the two checks
    error.message = f"bulk add job {job_id} was not queued (now {job_state(final) or 'gone'}): {error.message or ''}"
    raise error


def terminate_idle_job(hook: GenesysCloudHook, job_id: str) -> dict[str, Any]:
    """End the job ``job_id`` if it is still ``Idle``; return the job as it is afterwards.

    Genesys terminates only ``Idle`` jobs: when the job has meanwhile been queued, the refusal is expected and
    the job is returned as it is (queued, running or finished). A job that no longer exists is returned as
    ``{"id": job_id}`` (no state).
    """
    response = hook.request(
        "PATCH", _job_path(job_id), json={"state": TERMINATED}, accept_statuses=frozenset({400, 404, 409})
    )
    if response.status == 404:
        return {"id": job_id}
    if 200 <= response.status < 300 and isinstance(response.body, Mapping) and response.body.get("state"):
        return dict(response.body)
    return get_job(hook, job_id)


@dataclass(frozen=True)
class EntityResult:
    """What a job did with one submitted entity (by position).

    :param workitem_id: the created workitem's id (``created``).
    :param code: Genesys' error code (``rejected``), or the reason a result is unusable.
    :param message: Genesys' error message, or what is wrong with the result.
    """

    outcome: str  # "created" | "rejected" | "missing"
    workitem_id: str | None = None
    code: str | None = None
    message: str | None = None
    entity: dict[str, Any] | None = None


def parse_results(body: Any) -> list[EntityResult]:
    """The entries of a ``BulkJobAddResponse``, in submission order.

    A malformed entry is ``missing`` with a message saying why; an entity without an id is not counted as
    created (nothing counts as created without a record id).
    """
    results = body.get("results") if isinstance(body, Mapping) else None
    parsed: list[EntityResult] = []
    for entry in results if isinstance(results, list) else []:
        entity = entry.get("entity") if isinstance(entry, Mapping) else None
        error = entry.get("error") if isinstance(entry, Mapping) else None
        if isinstance(entity, Mapping) and entity.get("id"):
            parsed.append(EntityResult("created", workitem_id=str(entity["id"]), entity=dict(entity)))
        elif isinstance(error, Mapping):
            parsed.append(
                EntityResult(
                    "rejected",
                    code=str(error.get("code") or "bulk.entity.rejected"),
                    message=str(error.get("message") or "rejected by the bulk add job"),
                )
            )
        elif isinstance(entity, Mapping):
            parsed.append(
                EntityResult("missing", code="bulk.result.no.id", message="reported as created, but with no id")
            )
        else:
            parsed.append(
                EntityResult("missing", code="bulk.result.malformed", message=f"unreadable result {entry!r:.80}")
            )
    return parsed


def job_results(hook: GenesysCloudHook, job_id: str) -> list[dict[str, Any]]:
    """The raw ``results`` entries of job ``job_id`` (``BulkJobAddResponse.results``, in submission order)."""
    body = hook.request("GET", f"{_job_path(job_id)}/results").body
    results = body.get("results") if isinstance(body, Mapping) else None
    return [dict(entry) if isinstance(entry, Mapping) else {"unreadable": entry} for entry in results or []]


def wait_for_jobs(
    hook: GenesysCloudHook, job_ids: Sequence[str], *, poll_interval: float, timeout: float
) -> dict[str, str]:
    """Poll until every job is terminal; return ``{job id: final state}``.

    :raises TimeoutError: when a job is still unfinished after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    pending = list(job_ids)
    while pending:
        for job_id in list(pending):
            job = get_job(hook, job_id)
            if is_terminal(job):
                states[job_id] = job_state(job)
                pending.remove(job_id)
        if not pending:
            break
        if time.monotonic() >= deadline:
            raise TimeoutError(f"bulk add job(s) {', '.join(pending)} unfinished after {timeout:g}s")
        time.sleep(poll_interval)
    return states


def collect_results(
    hook: GenesysCloudHook, jobs: Mapping[str, int], *, poll_interval: float, timeout: float
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """Wait for jobs and read their results with as few requests as possible.

    ``jobs`` maps a job id to its number of entities. A job whose results already hold one entry per entity is
    done (one request); otherwise its state is asked: finished → its results are read once more, as final;
    still running → asked again after ``poll_interval``.

    :returns: ``({job id: raw results}, {job id: final state, when it was asked}})``.
    :raises TimeoutError: when a job is still unfinished after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    results: dict[str, list[dict[str, Any]]] = {}
    states: dict[str, str] = {}
    pending = dict(jobs)
    while pending:
        for job_id, size in list(pending.items()):
            entries = job_results(hook, job_id)
            if len(entries) < size:
                job = get_job(hook, job_id)
                if not is_terminal(job):
                    continue
                states[job_id] = job_state(job)
                entries = job_results(hook, job_id)
            results[job_id] = entries
            del pending[job_id]
        if not pending:
            break
        if time.monotonic() >= deadline:
            raise TimeoutError(f"bulk add job(s) {', '.join(pending)} unfinished after {timeout:g}s")
        time.sleep(poll_interval)
    return results, states
