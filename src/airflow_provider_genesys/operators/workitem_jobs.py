"""Create many workitems through Genesys' bulk add jobs, exactly once, optionally waiting in the triggerer."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_genesys.creation import TaskIdentity, invalid_audit, item_audit_fields
from airflow_provider_genesys.errors import GenesysApiError, InteractionValidationError, redact
from airflow_provider_genesys.kinds import PreparedItem, get_kind
from airflow_provider_genesys.models.audit import (
    AUDIT_SUMMARY_XCOM_KEY,
    AUDIT_XCOM_KEY,
    AuditRecord,
    ItemResult,
    RunSummary,
)
from airflow_provider_genesys.operators.interactions import (
    GenesysBulkCreateError,
    GenesysBulkCreateInteractionsOperator,
)
from airflow_provider_genesys.strategies import mark_existing
from airflow_provider_genesys.triggers.workitem_jobs import GenesysWorkitemJobsTrigger
from airflow_provider_genesys.workitem_jobs import JobOutcomeUnknownError, job_results, submit_job, wait_for_jobs

if TYPE_CHECKING:
    from airflow.sdk import Context


class GenesysBulkAddWorkitemsOperator(GenesysBulkCreateInteractionsOperator):
    """Create many workitems with ``POST /api/v2/taskmanagement/workitems/bulk/add/jobs``, one job per batch.

    Input, validation and keys are those of
    :class:`~airflow_provider_genesys.operators.interactions.GenesysBulkCreateInteractionsOperator` (the kind is
    always ``workitem``; every key travels in the workitem's ``externalTag``). Then:

    1. on a retry or clear, the keys are looked up first (IN queries of 100 keys); workitems found are
       ``replayed`` and not submitted again;
    2. the other items are submitted in jobs of ``batch_size`` entities;
    3. the operator waits for the jobs — polling from the worker, or with ``deferrable=True`` from the
       triggerer (:class:`~airflow_provider_genesys.triggers.workitem_jobs.GenesysWorkitemJobsTrigger`);
    4. it reads each job's per-entity results: created workitems are ``created``, rejected entities are
       ``failed`` with Genesys' error, like any other failure, and fail the task at the end.

    A job submission whose answer was lost is not re-sent (its job may still create the workitems): its items
    fail as "outcome unknown" and the task fails; the retry looks their keys up first. If the lost job is still
    running when the retry looks, the retry cannot see its workitems yet: keep ``retry_delay`` above the jobs'
    processing time. Per-item results and audit records go to XCom (up to 1,000 items, like the parent).

    :param batch_size: entities per bulk add job (Genesys documents no maximum; the sandbox allows 100).
    :param deferrable: wait for the jobs in the triggerer instead of a worker slot.
    :param poll_interval: seconds between job status checks.
    :param job_timeout: seconds to wait for the jobs before failing.
    """

    template_fields: Sequence[str] = GenesysBulkCreateInteractionsOperator.template_fields

    def __init__(
        self,
        *,
        batch_size: int = 100,
        deferrable: bool = False,
        poll_interval: float = 5.0,
        job_timeout: float = 3600.0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("kind", "workitem")
        if kwargs["kind"] != "workitem":
            raise ValueError("GenesysBulkAddWorkitemsOperator creates workitems only (kind='workitem')")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        super().__init__(**kwargs)
        self.batch_size = batch_size
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.job_timeout = job_timeout

    # -- run --------------------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        started = time.monotonic()
        task = TaskIdentity.from_context(context)
        spec = get_kind("workitem")
        journal = self._open_journal(spec, task)
        items, invalid = self._validate(task)
        if invalid and self.on_invalid == "fail":
            raise AirflowFailException(
                self._invalid_report([error for _, _, error in invalid], len(items) + len(invalid))
                + "\nNo create request was sent (on_invalid='fail'). Fix the items, or use on_invalid='skip'."
            )
        if self._resumed(task, journal):
            items = list(mark_existing(self.hook, items))
        state: dict[str, Any] = {"started": started, "jobs": [], "replayed": {}, "failed": {}}
        for item in items:
            if item.existing is not None:
                state["replayed"][item.key] = item.existing.get("id")
        to_send = [item for item in items if item.existing is None]
        for start in range(0, len(to_send), self.batch_size):
            batch = to_send[start : start + self.batch_size]
            try:
                job = submit_job(self.hook, [item.body for item in batch])
            except GenesysApiError as error:
                reason = str(error)
                if isinstance(error, JobOutcomeUnknownError):
                    reason = f"outcome unknown: {error.message}; a retry looks these keys up before sending"
                for item in batch:
                    state["failed"][item.key] = {"error": redact(reason), "status": error.status, "code": error.code}
                continue
            self.log.info("Submitted bulk add job %s with %d workitem(s).", job["id"], len(batch))
            state["jobs"].append({"id": str(job["id"]), "keys": [item.key for item in batch]})
        job_ids = [job["id"] for job in state["jobs"]]
        if job_ids and self.deferrable:
            self.defer(
                trigger=GenesysWorkitemJobsTrigger(
                    genesys_conn_id=self.genesys_conn_id,
                    job_ids=job_ids,
                    poll_interval=self.poll_interval,
                    carry=state,
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.job_timeout),
            )
        if job_ids:
            wait_for_jobs(self.hook, job_ids, poll_interval=self.poll_interval, timeout=self.job_timeout)
        return self._finish(context, task, state)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: read the jobs' results (the state comes back in the event) and report."""
        if not event or event.get("status") != "success":
            message = (event or {}).get("message", "no event")
            raise GenesysApiError(status=None, message=f"waiting for the bulk add jobs failed: {message}")
        return self._finish(context, TaskIdentity.from_context(context), dict(event.get("carry") or {}))

    # -- helpers ----------------------------------------------------------------------------------------

    def _validate(
        self, task: TaskIdentity
    ) -> tuple[list[PreparedItem], list[tuple[int, str | None, InteractionValidationError]]]:
        items: list[PreparedItem] = []
        invalid: list[tuple[int, str | None, InteractionValidationError]] = []
        for position, external_id, prepared in self._prepared(get_kind("workitem"), task):
            if isinstance(prepared, InteractionValidationError):
                invalid.append((position, external_id, prepared))
            else:
                items.append(prepared)
        return items, invalid

    def _finish(self, context: Context, task: TaskIdentity, state: dict[str, Any]) -> dict[str, Any]:
        """Turn job results, replays and failures into audit records, a summary, and the task's outcome."""
        spec = get_kind("workitem")
        items, invalid = self._validate(task)  # deterministic: the same items and keys as before deferring
        created: dict[str, dict[str, Any]] = {}
        failed: dict[str, dict[str, Any]] = dict(state.get("failed", {}))
        for job in state.get("jobs", []):
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
        client_id = self._client_id()
        audits = [
            invalid_audit(task, spec, error, position=position, external_id=external_id, oauth_client_id=client_id)
            for position, external_id, error in invalid
        ]
        for item in items:
            base = item_audit_fields(task, spec, item, oauth_client_id=client_id)
            if item.key in created:
                audits.append(AuditRecord(**base, outcome="created", interaction_id=created[item.key].get("id")))
            elif item.key in state.get("replayed", {}):
                audits.append(AuditRecord(**base, outcome="replayed", interaction_id=state["replayed"][item.key]))
            else:
                failure = failed.get(item.key, {"error": "not submitted", "status": None, "code": None})
                audits.append(
                    AuditRecord(**base, outcome="failed", http_status=failure.get("status"), error=failure["error"])
                )
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
            wall_seconds=round(max(0.0, time.monotonic() - float(state.get("started", time.monotonic()))), 3),
            items=sorted(results, key=lambda result: result.position or 0),
        ).to_xcom()
        ti = context["ti"]
        ti.xcom_push(key=AUDIT_SUMMARY_XCOM_KEY, value={k: v for k, v in summary.items() if k != "items"})
        ti.xcom_push(key=AUDIT_XCOM_KEY, value=[audit.to_xcom() for audit in audits])
        for audit in audits:
            self._log_audit(audit)
        problems = []
        failures = [result for result in results if result.outcome == "failed"]
        if failures:
            problems.append(self._failure_report(failures))
        if invalid and not self._invalid_allowed(len(invalid), total):
            problems.append(self._invalid_report([error for _, _, error in invalid], total))
        if problems:
            raise GenesysBulkCreateError("\n".join(problems), summary=summary)
        return summary
