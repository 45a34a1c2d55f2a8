"""Workitem bulk add jobs, as Genesys runs them: created ``Idle``, queued by ``PATCH``, results by position.

* ``POST /api/v2/taskmanagement/workitems/bulk/add/jobs`` ``BulkJobAddRequest {entities: [WorkitemCommonCreate]}``
  (1..``bulk_max_entities``, 50 as Genesys documents) → 202 ``BulkJob`` in state ``Idle``. Entities are validated
  one by one; an invalid one becomes an error result, not a refused request.
* ``PATCH .../bulk/add/jobs/{id}`` ``BulkJobUpdate {state}``: ``Queued`` starts an ``Idle`` job; ``Terminated``
  ends an ``Idle`` job (it then never runs); anything else is a 400. ``DELETE`` removes an ``Idle`` job (204).
* The state of a queued job goes ``Queued`` → ``Running`` (``bulk_job_start_seconds`` after queueing) → the end
  (``bulk_job_process_seconds`` later): ``Succeeded``, or ``Failed`` / ``Terminated`` when the fault setting
  ``bulk_job_end_state`` says so at queueing time (creating nothing, with no results). Workitems are created
  when the job ends; the fault settings ``bulk_reject_tags`` / ``bulk_reject_rate`` make it reject chosen
  entities instead (``{"error": {"message", "code": "entity.rejected"}}``).
* ``GET .../bulk/add/jobs/{id}`` → ``BulkJob {id, state, action, totalCount, successfulCount, failedCount,
  dateStarted, dateFinished, dateModified, selfUri}``; ``GET .../results`` → ``BulkJobAddResponse {results,
  errorCount, errorIndexes}``: once the job has ended, one entry per entity in submission order — ``{entity:
  {id, name, workbin, type, selfUri}}`` or ``{error: {message, code}}`` — and empty before.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from genesys_sandbox.common import read_json, validate_body
from genesys_sandbox.errors import SandboxHTTPError
from genesys_sandbox.middleware import DroppedResponse
from genesys_sandbox.platform import WorkitemCommonCreate, iso, new_workitem, validated_workitem
from genesys_sandbox.state import SandboxState

JOBS_PATH = "/api/v2/taskmanagement/workitems/bulk/add/jobs"
BULK_JOBS_KEY = "bulk_add_jobs"
REJECTED_CODE = "entity.rejected"


class BulkJobAddRequest(BaseModel):
    """``BulkJobAddRequest`` (entities are validated one by one)."""

    model_config = ConfigDict(extra="forbid")

    entities: list[Any] = Field(min_length=1)


class BulkJobUpdate(BaseModel):
    """``BulkJobUpdate``: the state a job is asked to move to."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["Queued", "Terminated"]


@dataclass
class BulkJob:
    """A bulk add job: validated entities (or their errors), its life cycle, its results once it ended."""

    id: str
    date_created: datetime
    entities: list[WorkitemCommonCreate | SandboxHTTPError]
    start_after: float
    run_for: float
    queued_at: float | None = None
    date_queued: datetime | None = None
    end_state: str = "Succeeded"
    terminated: datetime | None = None
    results: list[dict[str, Any]] | None = None
    date_modified: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def current_state(self) -> str:
        """``Idle``, ``Terminated`` (while Idle), or ``Queued`` → ``Running`` → the end state, by elapsed time."""
        if self.terminated is not None:
            return "Terminated"
        if self.queued_at is None:
            return "Idle"
        elapsed = time.monotonic() - self.queued_at
        if elapsed >= self.start_after + self.run_for:
            return self.end_state
        return "Running" if elapsed >= self.start_after else "Queued"

    @property
    def ended(self) -> bool:
        """Whether the job has reached a state it never leaves."""
        return self.current_state() in ("Succeeded", "Failed", "Cancelled", "Terminated")

    def view(self) -> dict[str, Any]:
        """The ``BulkJob``."""
        state = self.current_state()
        failed = sum(1 for result in self.results or [] if "error" in result)
        if self.queued_at is not None and state in ("Failed", "Terminated"):
            failed = len(self.entities)  # the job ended before creating anything
        view: dict[str, Any] = {
            "id": self.id,
            "state": state,
            "action": "AddWorkitems",
            "totalCount": len(self.entities),
            "dateModified": iso(self.date_modified),
            "selfUri": f"{JOBS_PATH}/{self.id}",
        }
        if self.results is not None:
            view.update(successfulCount=len(self.results) - failed, failedCount=failed)
        if self.date_queued is not None and state != "Queued":
            view["dateStarted"] = iso(self.date_queued + timedelta(seconds=self.start_after))
        if self.ended:
            finished = self.terminated or (self.date_queued or self.date_created) + timedelta(
                seconds=self.start_after + self.run_for
            )
            view["dateFinished"] = iso(finished)
        return view

    def results_view(self) -> dict[str, Any]:
        """The ``BulkJobAddResponse`` (empty until the job has ended)."""
        results = self.results or []
        error_indexes = [index for index, result in enumerate(results) if "error" in result]
        return {"results": results, "errorCount": len(error_indexes), "errorIndexes": error_indexes}


def _entity_summary(record_body: dict[str, Any]) -> dict[str, Any]:
    return {key: record_body[key] for key in ("id", "name", "workbin", "type", "selfUri") if record_body.get(key)}


def _finish(state: SandboxState, job: BulkJob) -> None:
    """Create the workitems of a job that has just ended (once); reject the chosen entities."""
    with state.lock:
        if job.results is not None or not job.ended:
            return
        results: list[dict[str, Any]] = []
        if job.current_state() == "Succeeded":
            for entity in job.entities:
                if isinstance(entity, SandboxHTTPError):
                    results.append({"error": {"message": entity.message or "invalid entity", "code": entity.code}})
                elif state.faults.rejects_entity(entity.externalTag):
                    results.append({"error": {"message": "The job rejected this entity.", "code": REJECTED_CODE}})
                else:
                    record = state.store_record(new_workitem(entity))
                    results.append({"entity": _entity_summary(record.body)})
        job.results = results
        job.date_modified = datetime.now(timezone.utc)


def _jobs(state: SandboxState) -> dict[str, BulkJob]:
    with state.lock:
        jobs: dict[str, BulkJob] = state.extras.setdefault(BULK_JOBS_KEY, {})
        return jobs


def _finish_all(state: SandboxState) -> None:
    for job in list(_jobs(state).values()):
        _finish(state, job)


def _validated_entity(payload: Any, index: int) -> WorkitemCommonCreate | SandboxHTTPError:
    try:
        return validated_workitem(payload, WorkitemCommonCreate)
    except SandboxHTTPError as error:
        error.message = f"entities[{index}]: {error.message}"
        return error


def _not_idle(job: BulkJob, action: str) -> SandboxHTTPError:
    return SandboxHTTPError(
        400,
        code="bad.request",
        message=f"The bulk add job {job.id} is {job.current_state()}: only an Idle job can be {action}.",
        details=[{"errorCode": "invalid.state", "fieldName": "state", "entityId": job.id}],
    )


def build_bulk_jobs_router(state: SandboxState) -> APIRouter:
    """Return the router of the workitem bulk add jobs."""
    router = APIRouter()
    config = state.config
    state.refreshers.append(lambda: _finish_all(state))

    @router.post(JOBS_PATH)
    async def create_job(request: Request) -> Response:
        bulk = validate_body(BulkJobAddRequest, await read_json(request))
        if len(bulk.entities) > config.bulk_max_entities:
            raise SandboxHTTPError(
                400,
                code="constraint.validation",
                message=f"entities: at most {config.bulk_max_entities} entities per job.",
                details=[{"errorCode": "constraint.validation", "fieldName": "entities"}],
            )
        job = BulkJob(
            id=str(uuid.uuid4()),
            date_created=datetime.now(timezone.utc),
            entities=[_validated_entity(payload, index) for index, payload in enumerate(bulk.entities)],
            start_after=config.bulk_job_start_seconds,
            run_for=config.bulk_job_process_seconds,
        )
        with state.lock:
            _jobs(state)[job.id] = job
        if state.faults.should_drop_after_commit(request.url.path):
            return DroppedResponse()
        return JSONResponse(job.view(), status_code=202)

    def _job(job_id: str) -> BulkJob:
        job = _jobs(state).get(job_id)
        if job is None:
            raise SandboxHTTPError(404, message=f"The bulk add job {job_id} was not found.")
        _finish(state, job)
        return job

    @router.get(JOBS_PATH + "/{job_id}")
    async def get_job(job_id: str) -> dict[str, Any]:
        return _job(job_id).view()

    @router.patch(JOBS_PATH + "/{job_id}")
    async def update_job(job_id: str, request: Request) -> Response:
        update = validate_body(BulkJobUpdate, await read_json(request))
        with state.lock:
            job = _job(job_id)
            if job.current_state() != "Idle":
                raise _not_idle(job, "queued" if update.state == "Queued" else "terminated")
            now = datetime.now(timezone.utc)
            if update.state == "Queued":
                job.queued_at, job.date_queued = time.monotonic(), now
                job.end_state = state.faults.snapshot().bulk_job_end_state or "Succeeded"
            else:
                job.terminated = now
                job.results = []
            job.date_modified = now
        if state.faults.should_drop_after_commit(request.url.path):
            return DroppedResponse()
        return JSONResponse(job.view(), status_code=200)

    @router.delete(JOBS_PATH + "/{job_id}")
    async def delete_job(job_id: str) -> Response:
        with state.lock:
            job = _job(job_id)
            if job.current_state() != "Idle":
                raise _not_idle(job, "deleted")
            del _jobs(state)[job_id]
        return Response(status_code=204)

    @router.get(JOBS_PATH + "/{job_id}/results")
    async def get_results(job_id: str) -> dict[str, Any]:
        return _job(job_id).results_view()

    return router
