"""A run of workitem bulk add jobs: validate, look earlier tries up, submit batches, read results, report.

The state carried from submitting to reading results (:class:`JobsState`) is plain JSON, so it survives a
deferral to the triggerer. Reading results re-validates the input (the same items and keys as before).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.creation.bulk_jobs import job_results, submit_job, wait_for_jobs
from airflow_provider_genesys.creation.bulk_run import (
    BulkOptions,
    BulkResult,
    failure_report,
    invalid_report,
)
from airflow_provider_genesys.creation.engine import invalid_audit, item_audit_fields
from airflow_provider_genesys.creation.inputs import BulkInput, ItemCheck, ValidatedItem
from airflow_provider_genesys.creation.items import KindSpec, PreparedItem
from airflow_provider_genesys.creation.lookup import mark_existing
from airflow_provider_genesys.creation.task import TaskIdentity
from airflow_provider_genesys.exceptions import GenesysApiError, JobOutcomeUnknownError
from airflow_provider_genesys.models.audit import AuditRecord, ItemResult, RunSummary
from airflow_provider_genesys.utils.redaction import redact

if TYPE_CHECKING:
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook

log = logging.getLogger(__name__)


@dataclass
class JobsState:
    """What a run knows between submitting its jobs and reading their results (plain JSON).

    :param started: monotonic start time (wall seconds of the summary).
    :param jobs: ``[{"id", "keys"}]``, the submitted jobs and the keys of their entities in order.
    :param replayed: key → workitem id of items an earlier try created.
    :param failed: key → ``{"error", "status", "code"}`` of items whose submission failed.
    """

    started: float = field(default_factory=time.monotonic)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    replayed: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def job_ids(self) -> list[str]:
        """The ids of the submitted jobs."""
        return [job["id"] for job in self.jobs]

    def to_json(self) -> dict[str, Any]:
        """The state as plain JSON (a deferral's carry)."""
        return asdict(self)

    @classmethod
    def from_json(cls, carry: dict[str, Any]) -> JobsState:
        """The state back from :meth:`to_json`."""
        return cls(
            started=float(carry.get("started", time.monotonic())),
            jobs=list(carry.get("jobs", [])),
            replayed=dict(carry.get("replayed", {})),
            failed=dict(carry.get("failed", {})),
        )


class BulkJobsRun:
    """One execution of the bulk-jobs operator (the kind is ``workitem``).

    :param hook: the Genesys hook.
    :param spec: the workitem row of the kinds table.
    :param task: the task identity.
    :param source: the run's input.
    :param options: the bulk options (``on_invalid``, ``max_invalid``).
    :param batch_size: entities per bulk add job.
    :param client_id: the OAuth client id for audit records.
    :param check: an extra check of each prepared item (``validate_routing``).
    """

    def __init__(
        self,
        hook: GenesysCloudHook,
        spec: KindSpec,
        task: TaskIdentity,
        source: BulkInput,
        *,
        options: BulkOptions,
        batch_size: int,
        client_id: str | None = None,
        check: ItemCheck | None = None,
        logger: Any = None,
    ) -> None:
        self.hook = hook
        self.spec = spec
        self.task = task
        self.source = source
        self.options = options
        self.batch_size = batch_size
        self.client_id = client_id
        self.check = check
        self.log = logger or log

    def validate(self) -> tuple[list[PreparedItem], list[ValidatedItem]]:
        """The valid items and the invalid ones (deterministic: the same items and keys on every call)."""
        items: list[PreparedItem] = []
        invalid: list[ValidatedItem] = []
        for item in self.source.validated(self.spec, self.task, self.check):
            if item.error is not None:
                invalid.append(item)
            else:
                items.append(item.prepared)  # type: ignore[arg-type]
        return items, invalid

    def refusal(self, items: list[PreparedItem], invalid: list[ValidatedItem]) -> str | None:
        """The failure message when invalid items with ``on_invalid='fail'`` forbid sending anything."""
        if not invalid or self.options.on_invalid != "fail":
            return None
        return (
            invalid_report([item.error for item in invalid if item.error], len(items) + len(invalid))
            + "\nNo create request was sent (on_invalid='fail'). Fix the items, or use on_invalid='skip'."
        )

    def submit(self, items: Iterable[PreparedItem], *, resumed: bool) -> JobsState:
        """Look earlier tries' workitems up (when ``resumed``), then submit the rest in jobs of ``batch_size``."""
        state = JobsState()
        prepared = list(mark_existing(self.hook, items)) if resumed else list(items)
        for item in prepared:
            if item.existing is not None:
                state.replayed[item.key] = item.existing.get("id")
        to_send = [item for item in prepared if item.existing is None]
        for start in range(0, len(to_send), self.batch_size):
            batch = to_send[start : start + self.batch_size]
            try:
                job = submit_job(self.hook, [item.body for item in batch])
            except GenesysApiError as error:
                reason = str(error)
                if isinstance(error, JobOutcomeUnknownError):
                    reason = f"outcome unknown: {error.message}; a retry looks these keys up before sending"
                for item in batch:
                    state.failed[item.key] = {"error": redact(reason), "status": error.status, "code": error.code}
                continue
            self.log.info("Submitted bulk add job %s with %d workitem(s).", job["id"], len(batch))
            state.jobs.append({"id": str(job["id"]), "keys": [item.key for item in batch]})
        return state

    def wait(self, state: JobsState, *, poll_interval: float, timeout: float) -> None:
        """Poll the jobs from this worker until every one has finished."""
        if state.job_ids:
            wait_for_jobs(self.hook, state.job_ids, poll_interval=poll_interval, timeout=timeout)

    def finish(self, state: JobsState) -> BulkResult:
        """Read the jobs' results and turn them, the replays and the failures into audit records and a verdict."""
        items, invalid = self.validate()
        created, failed = self._read_results(state)
        audits = [
            invalid_audit(
                self.task,
                self.spec,
                item.error,
                position=item.position,
                external_id=item.external_id,
                oauth_client_id=self.client_id,
            )
            for item in invalid
            if item.error is not None
        ]
        for prepared in items:
            base = item_audit_fields(self.task, self.spec, prepared, oauth_client_id=self.client_id)
            if prepared.key in created:
                audits.append(AuditRecord(**base, outcome="created", interaction_id=created[prepared.key].get("id")))
            elif prepared.key in state.replayed:
                audits.append(AuditRecord(**base, outcome="replayed", interaction_id=state.replayed[prepared.key]))
            else:
                failure = failed.get(prepared.key, {"error": "not submitted", "status": None, "code": None})
                audits.append(
                    AuditRecord(**base, outcome="failed", http_status=failure.get("status"), error=failure["error"])
                )
        for audit in audits:
            self.log.info("genesys_audit %s", audit.to_json_line())
        codes = {key: value.get("code") for key, value in failed.items()}
        results = [
            ItemResult.from_audit_record(
                audit, error_code="invalid" if audit.outcome == "invalid" else codes.get(audit.idempotency_key or "")
            )
            for audit in audits
        ]
        count = {
            outcome: sum(1 for audit in audits if audit.outcome == outcome)
            for outcome in ("created", "replayed", "failed", "invalid")
        }
        total = len(items) + len(invalid)
        summary = RunSummary(
            total=total,
            valid=len(items),
            invalid=count["invalid"],
            created=count["created"],
            replayed=count["replayed"],
            failed=count["failed"],
            validation_pass_rate=len(items) / total if total else 1.0,
            requests_sent=self.hook.requests_sent,
            throttled_429=self.hook.throttled,
            wall_seconds=round(max(0.0, time.monotonic() - state.started), 3),
            items=sorted(results, key=lambda result: result.position or 0),
        )
        problems = []
        failures = [result for result in results if result.outcome == "failed"]
        if failures:
            problems.append(failure_report(failures))
        if invalid and not self.options.invalid_allowed(len(invalid), total):
            problems.append(invalid_report([item.error for item in invalid if item.error], total))
        return BulkResult(summary=summary, audits_xcom=[audit.to_xcom() for audit in audits], problems=problems)

    def _read_results(self, state: JobsState) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """Workitems created by the jobs, and failures (the submission's and the rejected entities'), by key."""
        created: dict[str, dict[str, Any]] = {}
        failed: dict[str, dict[str, Any]] = dict(state.failed)
        for job in state.jobs:
            by_index = {int(entry.get("index", -1)): entry for entry in job_results(self.hook, job["id"])}
            for index, key in enumerate(job["keys"]):
                entry = by_index.get(index)
                if entry and isinstance(entry.get("workitem"), dict):
                    created[key] = entry["workitem"]
                else:
                    error = (entry or {}).get("error") or {}
                    failed[key] = {
                        "error": redact(
                            f"bulk add job {job['id']}: {error.get('message') or 'no result for this entity'}"
                        ),
                        "status": error.get("status"),
                        "code": error.get("code") or "bulk.job.failed",
                    }
        return created, failed
