"""A run of workitem bulk add jobs: validate, settle earlier tries, submit and queue jobs, read results, report.

Exactly once (docs/genesys-api.md, "Workitem bulk add jobs"): a job creates nothing until it is queued, so the
queueing is the commit. Before queueing a job, the run writes it — id and the keys of its entities, in order —
to the task's job log in its state (Airflow's task state store, visible from every worker). A later
execution of the same task instance (a retry, a clear) first settles every job of the log: an ``Idle`` one is
terminated (it can then never run), a queued or running one is waited for. Only then does it look the keys up
(IN queries by ``externalTag``) and submit what Genesys does not have; a job still unfinished when the wait ends
keeps its keys out of this execution (reported "outcome unknown").

A deferral to the triggerer carries the job ids and the run's start time only, never per-item state: the resumed
run re-validates its input (the same items and keys as before, checked by a digest) and rebuilds each item's
outcome from the job log's keys and the jobs' results (:meth:`BulkJobsRun.resumed_state`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.creation.bulk_jobs import (
    MAX_ENTITIES_PER_JOB,
    EntityResult,
    collect_results,
    create_job,
    find_job,
    get_job,
    is_idle,
    is_terminal,
    job_results,
    job_state,
    parse_results,
    queue_job,
    terminate_idle_job,
)
from airflow_provider_genesys.creation.bulk_run import (
    BulkOptions,
    BulkOutputs,
    BulkResult,
    failure_report,
    fingerprint,
    invalid_report,
    probe_outputs,
    unreadable_report,
)
from airflow_provider_genesys.creation.engine import invalid_audit, item_audit_fields
from airflow_provider_genesys.creation.inputs import BulkInput, ItemCheck, ValidatedItem
from airflow_provider_genesys.creation.items import KindSpec, PreparedItem
from airflow_provider_genesys.creation.lookup import mark_existing
from airflow_provider_genesys.creation.state import KEY_PREFIX, StateStore, numbered_values
from airflow_provider_genesys.creation.task import TaskIdentity
from airflow_provider_genesys.exceptions import GenesysApiError, InteractionValidationError, JobOutcomeUnknownError
from airflow_provider_genesys.models.audit import AuditRecord, RunSummary, utc_now_iso
from airflow_provider_genesys.utils.audit_files import LOG_RECORDS_MAX_ITEMS
from airflow_provider_genesys.utils.redaction import redact
from airflow_provider_genesys.utils.xcom_budget import xcom_max_bytes

if TYPE_CHECKING:
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook

log = logging.getLogger(__name__)

#: Error code of items whose job may still create them (a retry settles the job first).
OUTCOME_UNKNOWN = "outcome.unknown"


class BulkJobLog:
    """The bulk add jobs of one task instance, kept in its state: written before each job is queued.

    One value per job, ``genesys.<kind>.jobs.<n>`` = ``{"job", "keys", "try"}`` (at most 50 keys, far below the
    store's value limit), read once when a run starts. A retry, a clear or the run resumed after its deferral
    finds its jobs here on whatever worker it runs, and reattaches to them instead of sending their items again.

    :param store: the task's state (see :mod:`~airflow_provider_genesys.creation.state`).
    :param kind: the kind of record (part of every key).
    :param try_number: the current Airflow try (written in every value).
    """

    def __init__(self, store: StateStore, *, kind: str, try_number: int) -> None:
        self.store = store
        self.kind = kind
        self.try_number = try_number
        self._lock = threading.Lock()
        values = numbered_values(store, f"{KEY_PREFIX}.{kind}.jobs")
        self._next = len(values)
        self.earlier: dict[str, list[str]] = {
            value["job"]: [str(key) for key in value["keys"]]
            for value in values
            if isinstance(value.get("job"), str) and isinstance(value.get("keys"), list)
        }

    @classmethod
    def open(cls, store: StateStore, task: TaskIdentity, kind: str) -> BulkJobLog:
        """The job log of ``task`` and ``kind`` in ``store`` (earlier executions' jobs in :attr:`earlier`)."""
        return cls(store, kind=kind, try_number=task.try_number)

    @property
    def location(self) -> str:
        """Where the log lives, for messages."""
        return f"the task's state ({KEY_PREFIX}.{self.kind}.jobs.*)"

    def _key(self, index: int) -> str:
        return f"{KEY_PREFIX}.{self.kind}.jobs.{index}"

    def created(self, job_id: str, keys: list[str]) -> None:
        """Record that job ``job_id`` holds ``keys`` (in order) and is about to be queued (one ``set``)."""
        with self._lock:
            index, self._next = self._next, self._next + 1
        self.store.set(self._key(index), {"job": job_id, "keys": keys, "try": self.try_number, "ts": utc_now_iso()})


@dataclass
class JobsState:
    """What a run knows between submitting its jobs and reading their results.

    Only the job ids and :attr:`started_at` cross a deferral; a resumed run rebuilds the rest from its input, the
    job log and the jobs themselves (:meth:`BulkJobsRun.resumed_state`).

    :param started_at: when the run started (Unix time, seconds): its duration holds on whatever machine it ends.
    :param jobs: ``[{"id", "keys"}]``, the jobs this execution queued and the keys of their entities in order.
    :param replayed: key → workitem id of items an earlier try created.
    :param failed: key → ``{"error", "status", "code"}`` of items that were not submitted, or whose job's fate is
        unknown.
    :param results: job id → raw ``BulkJobAddResponse.results`` once read.
    :param states: job id → final ``BulkJob.state`` once known.
    :param problems: what makes the run fail besides its items (an input that changed across a deferral).
    :param created_by_key: key → workitem id of items this execution's jobs created, found by their keys (when the
        order of a job's entities is not known here).
    """

    started_at: float = field(default_factory=time.time)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    replayed: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    created_by_key: dict[str, str] = field(default_factory=dict)

    @property
    def job_ids(self) -> list[str]:
        """The ids of the queued jobs."""
        return [job["id"] for job in self.jobs]

    @property
    def deferrable(self) -> bool:
        """Whether waiting elsewhere loses nothing: every item not in a job can be found again by its key.

        Items that failed before their job was queued carry a reason that exists only in this process; a run
        with such items waits for its jobs where it is.
        """
        return bool(self.jobs) and not self.failed


class BulkJobsRun:
    """One execution of the bulk-jobs operator (the kind is ``workitem``, entities ``WorkitemCommonCreate``).

    :param hook: the Genesys hook.
    :param spec: the bulk-job workitem row (:data:`~airflow_provider_genesys.creation.kinds.WORKITEM_BULK_JOBS`).
    :param task: the task identity.
    :param source: the run's input.
    :param options: the bulk options (``on_invalid``, ``max_invalid``).
    :param batch_size: entities per bulk add job.
    :param client_id: the OAuth client id for audit records.
    :param check: an extra check of each prepared item (``validate_routing``).
    :param poll_interval: seconds between checks of unfinished jobs.
    :param job_timeout: seconds to wait for jobs (this execution's, and earlier executions' before resending).
    :param job_log: the task's job log (opened by the caller; ``None`` keeps no log, tests only).
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
        poll_interval: float = 5.0,
        job_timeout: float = 3600.0,
        job_log: BulkJobLog | None = None,
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
        self.poll_interval = poll_interval
        self.job_timeout = job_timeout
        self.job_log = job_log
        #: the input as a whole could not be read (set by :meth:`validate`)
        self.unreadable: InteractionValidationError | None = None
        #: a digest of every item's position and key (or invalidity), in order (set by :meth:`validate`)
        self.input_digest: str | None = None

    def validate(self) -> tuple[list[PreparedItem], list[ValidatedItem]]:
        """Probe the outputs, read the input once and validate every item; a file source's spool is closed before
        this returns.

        Deterministic: the same items and keys on every call. An input that as a whole is not a list of items
        (a malformed ``interactions=``) gives no items and sets :attr:`unreadable` (see :meth:`refusal`).
        """
        items: list[PreparedItem] = []
        invalid: list[ValidatedItem] = []
        digest = hashlib.sha256()
        self.unreadable = None
        probe_outputs(self.task, self.options.audit_path)
        try:
            self.source.load()
            for item in self.source.validated(self.spec, self.task, self.check):
                digest.update(fingerprint(item.position, item.prepared))
                if isinstance(item.prepared, PreparedItem):
                    items.append(item.prepared)
                else:
                    invalid.append(item)
        except InteractionValidationError as error:  # only the input as a whole raises it
            self.unreadable = error
            return [], []
        finally:
            self.source.close()
        self.input_digest = digest.hexdigest()
        return items, invalid

    def refusal(self, items: list[PreparedItem], invalid: list[ValidatedItem]) -> str | None:
        """Why nothing may be sent: an unreadable input, or invalid items with ``on_invalid='fail'``."""
        if self.unreadable is not None:
            return unreadable_report(self.unreadable)
        if not invalid or self.options.on_invalid != "fail":
            return None
        return (
            invalid_report([item.error for item in invalid if item.error], len(items) + len(invalid))
            + "\nNo create request was sent (on_invalid='fail'). Fix the items, or use on_invalid='skip'."
        )

    # -- submitting ------------------------------------------------------------------------------------

    def submit(self, items: Iterable[PreparedItem], *, resumed: bool) -> JobsState:
        """Settle earlier executions' jobs and look their keys up (when ``resumed``), then submit the rest.

        Each batch of ``batch_size`` items becomes one job: created, written to the job log, queued.
        """
        state = JobsState()
        if self.batch_size > MAX_ENTITIES_PER_JOB:
            self.log.warning(
                "batch_size=%d: Genesys documents at most %d entities per bulk add job.",
                self.batch_size,
                MAX_ENTITIES_PER_JOB,
            )
        pending = list(items)
        if resumed:
            held = self._settle_earlier_jobs(state)
            pending = [item for item in pending if item.key not in held]
            pending = list(mark_existing(self.hook, pending))
            for item in pending:
                if item.existing is not None:
                    state.replayed[item.key] = item.existing.get("id")
        to_send = [item for item in pending if item.existing is None]
        for start in range(0, len(to_send), self.batch_size):
            self._submit_batch(state, to_send[start : start + self.batch_size])
        return state

    def _submit_batch(self, state: JobsState, batch: list[PreparedItem]) -> None:
        keys = [item.key for item in batch]
        try:
            job = create_job(self.hook, [item.body for item in batch])
        except GenesysApiError as error:
            self._fail(state, keys, str(error), error)  # no job was queued: nothing of the batch exists
            return
        job_id = str(job["id"])
        if self.job_log is not None:
            self.job_log.created(job_id, keys)
        try:
            queue_job(self.hook, job_id)
        except JobOutcomeUnknownError as error:
            reason = f"outcome unknown: {error.message}; a retry checks bulk add job {job_id} before sending again"
            self._fail(state, keys, reason, error, code=OUTCOME_UNKNOWN)
            return
        except GenesysApiError as error:
            self._fail(state, keys, str(error), error)
            return
        self.log.info("Queued bulk add job %s with %d workitem(s).", job_id, len(batch))
        state.jobs.append({"id": job_id, "keys": keys})

    @staticmethod
    def _fail(
        state: JobsState, keys: list[str], reason: str, error: GenesysApiError, *, code: str | None = None
    ) -> None:
        for key in keys:
            state.failed[key] = {"error": redact(reason), "status": error.status, "code": code or error.code}

    def _settle_earlier_jobs(self, state: JobsState) -> set[str]:
        """Make every job of earlier executions final; return the keys of jobs still unfinished (held back)."""
        earlier = self.job_log.earlier if self.job_log is not None else {}
        if not earlier and self.task.try_number > 1 and self.job_log is not None:
            self.log.warning(
                "This is try %d, yet no job of an earlier try is in %s (cleared, or kept in local files another "
                "worker has): workitems of an earlier try's finished jobs are found by their keys; a job still "
                "running elsewhere may create some after this lookup.",
                self.task.try_number,
                self.job_log.location,
            )
        held: set[str] = set()
        running: dict[str, list[str]] = {}
        for job_id, keys in earlier.items():
            try:
                job = find_job(self.hook, job_id)
                if job is not None and is_idle(job):
                    job = terminate_idle_job(self.hook, job_id)  # never queued: make sure it never runs
                    self.log.info("Bulk add job %s of an earlier try was never queued: now %s.", job_id, job_state(job))
                if job is not None and job_state(job) and not is_terminal(job) and not is_idle(job):
                    running[job_id] = keys
            except GenesysApiError as error:
                held.update(keys)
                self._fail(state, keys, f"bulk add job {job_id} of an earlier try cannot be checked: {error}", error)
        deadline = time.monotonic() + self.job_timeout
        while running and time.monotonic() < deadline:
            self.log.info("Waiting for %d bulk add job(s) of an earlier try to finish.", len(running))
            time.sleep(self.poll_interval)
            for job_id in list(running):
                if is_terminal(get_job(self.hook, job_id)):
                    del running[job_id]
        for job_id, keys in running.items():
            held.update(keys)
            reason = f"outcome unknown: bulk add job {job_id} of an earlier try is still running; a retry waits for it"
            for key in keys:
                state.failed[key] = {"error": reason, "status": None, "code": OUTCOME_UNKNOWN}
        return held

    # -- waiting and reading ---------------------------------------------------------------------------

    def wait(self, state: JobsState) -> None:
        """Wait for the queued jobs from this worker and read their results (few requests per job)."""
        sizes = {job["id"]: len(job["keys"]) for job in state.jobs if job["id"] not in state.results}
        if sizes:
            results, states = collect_results(
                self.hook, sizes, poll_interval=self.poll_interval, timeout=self.job_timeout
            )
            state.results.update(results)
            state.states.update(states)

    def resumed_state(
        self,
        items: list[PreparedItem],
        *,
        job_ids: list[str],
        states: dict[str, str],
        started_at: float,
        input_digest: str | None,
    ) -> JobsState:
        """The state of a run resumed after its deferral, rebuilt from what crossed it (job ids, a start time).

        The keys of each job's entities, in order, come from the job log (written before each job was queued);
        the other valid items were replayed when the jobs were submitted (a deferred run had no other failures),
        so they are looked up again by their keys. A job the log does not know (the log stayed on another worker)
        is matched through that lookup as well: its workitems are found by their keys and counted by their ids.
        """
        state = JobsState(started_at=started_at, states=dict(states))
        logged = self.job_log.earlier if self.job_log is not None else {}
        unmatched: list[str] = []
        for job_id in job_ids:
            if job_id in logged:
                state.jobs.append({"id": job_id, "keys": list(logged[job_id])})
            else:
                unmatched.append(job_id)
        in_jobs = {key for job in state.jobs for key in job["keys"]}
        valid = {item.key for item in items}
        if input_digest and self.input_digest and input_digest != self.input_digest:
            state.problems.append(
                "The input changed while the task waited for its bulk add jobs: its items or their order differ "
                "from the ones submitted. The outcomes reported are those of the input as it is now; re-run the "
                "task to settle it."
            )
        foreign = in_jobs - valid
        if foreign:
            state.problems.append(
                f"{len(foreign)} entit(ies) of this run's bulk add jobs are not items of the input any more (their "
                "keys are in the task's job log)."
            )
        rest = [item for item in items if item.key not in in_jobs]
        created_by_unmatched = self._created_ids(unmatched)
        for item in mark_existing(self.hook, rest):
            found = item.existing.get("id") if item.existing is not None else None
            if found and str(found) in created_by_unmatched:
                state.created_by_key[item.key] = str(found)
            elif found:
                state.replayed[item.key] = found
            else:
                reason = (
                    f"not created: bulk add job(s) {', '.join(unmatched)} ended without it, and which of their "
                    "entities it was is only in the job log of the worker that submitted them"
                    if unmatched
                    else "not found after the bulk add jobs finished"
                )
                state.failed[item.key] = {"error": reason, "status": None, "code": "bulk.result.missing"}
        return state

    def _created_ids(self, job_ids: list[str]) -> set[str]:
        """The workitem ids created by jobs whose entity order is not known here (their results, read once)."""
        created: set[str] = set()
        for job_id in job_ids:
            entries = parse_results({"results": job_results(self.hook, job_id)})
            created.update(entry.workitem_id for entry in entries if entry.outcome == "created" and entry.workitem_id)
        return created

    def finish(
        self,
        state: JobsState,
        items: list[PreparedItem] | None = None,
        invalid: list[ValidatedItem] | None = None,
    ) -> BulkResult:
        """Read the jobs' results and turn them, the replays and the failures into audit records and a verdict.

        :param items: the valid items (validated again when not given).
        :param invalid: the invalid items (validated again when not given).
        """
        if items is None or invalid is None:
            items, invalid = self.validate()
        created, failed = self._read_results(state)
        created.update(state.created_by_key)
        total = len(items) + len(invalid)
        outputs = BulkOutputs(
            self.task,
            self.options.audit_path,
            max_bytes=xcom_max_bytes(),
            log_records=total <= LOG_RECORDS_MAX_ITEMS,
            logger=self.log,
        )
        try:
            for entry in invalid:
                if entry.error is not None:
                    audit = invalid_audit(
                        self.task,
                        self.spec,
                        entry.error,
                        position=entry.position,
                        external_id=entry.external_id,
                        oauth_client_id=self.client_id,
                    )
                    outputs.record(audit, error_code="invalid")
            for prepared in items:
                base = item_audit_fields(self.task, self.spec, prepared, oauth_client_id=self.client_id)
                if prepared.key in created:
                    outputs.record(AuditRecord(**base, outcome="created", interaction_id=created[prepared.key]))
                elif prepared.key in state.replayed:
                    replayed_id = state.replayed[prepared.key]
                    outputs.record(AuditRecord(**base, outcome="replayed", interaction_id=replayed_id))
                else:
                    failure = failed.get(prepared.key, {"error": "not submitted", "status": None, "code": None})
                    audit = AuditRecord(
                        **base, outcome="failed", http_status=failure.get("status"), error=failure["error"]
                    )
                    outputs.record(audit, error_code=failure.get("code"))
            outputs.fit(self._summary(state, items, invalid, outputs))
        finally:
            outputs.close()
        summary = self._summary(state, items, invalid, outputs)
        self.log.info("genesys_audit_summary %s", summary.model_copy(update={"items": None}).to_json_line())
        problems = list(state.problems)
        if outputs.failures:
            problems.append(failure_report(outputs.failures))
        if invalid and not self.options.invalid_allowed(len(invalid), total):
            problems.append(invalid_report([item.error for item in invalid if item.error], total))
        return BulkResult(summary=summary, audits_xcom=outputs.audits_xcom, problems=problems)

    def _summary(
        self, state: JobsState, items: list[PreparedItem], invalid: list[ValidatedItem], outputs: BulkOutputs
    ) -> RunSummary:
        counts = outputs.counts
        total = len(items) + len(invalid)
        return RunSummary(
            total=total,
            valid=len(items),
            invalid=counts["invalid"],
            created=counts["created"],
            replayed=counts["replayed"],
            failed=counts["failed"],
            validation_pass_rate=len(items) / total if total else 1.0,
            requests_sent=self.hook.requests_sent,
            throttled_429=self.hook.throttled,
            wall_seconds=round(max(0.0, time.time() - state.started_at), 3),
            items=outputs.items(),
            items_path=outputs.items_path,
            audit_path=outputs.audit_file,
        )

    def _read_results(self, state: JobsState) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
        """Workitem ids created by the jobs, and failures (the submissions' and the jobs' entities'), by key.

        Results are matched to keys by position (``BulkJobAddResponse`` keeps the submission order).
        """
        created: dict[str, str] = {}
        failed: dict[str, dict[str, Any]] = dict(state.failed)
        for job in state.jobs:
            job_id = job["id"]
            if job_id not in state.results:
                state.results[job_id] = job_results(self.hook, job_id)
            entries = parse_results({"results": state.results[job_id]})
            if len(entries) > len(job["keys"]):
                self.log.warning(
                    "Bulk add job %s answered %d results for %d entities.", job_id, len(entries), len(job["keys"])
                )
            for index, key in enumerate(job["keys"]):
                entry = entries[index] if index < len(entries) else None
                if entry is not None and entry.outcome == "created" and entry.workitem_id:
                    created[key] = entry.workitem_id
                else:
                    failed[key] = self._entity_failure(job_id, state.states.get(job_id), entry)
        return created, failed

    @staticmethod
    def _entity_failure(job_id: str, final_state: str | None, entry: EntityResult | None) -> dict[str, Any]:
        if entry is None:
            how = f"ended {final_state}" if final_state else "finished"
            message = f"bulk add job {job_id} {how} without a result for this entity"
            ended = (final_state or "").lower()
            code = f"bulk.job.{ended}" if ended and ended != "succeeded" else "bulk.result.missing"
        else:
            message = f"bulk add job {job_id}: {entry.message}"
            code = entry.code or "bulk.entity.rejected"
        return {"error": redact(message), "status": None, "code": code}
