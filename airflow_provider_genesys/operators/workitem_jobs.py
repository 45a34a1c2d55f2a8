"""Create many workitems through Genesys' bulk add jobs, exactly once, optionally waiting in the triggerer."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import conf
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_genesys.creation.bulk_jobs import MAX_ENTITIES_PER_JOB
from airflow_provider_genesys.creation.bulk_jobs_run import BulkJobLog, BulkJobsRun, JobsState
from airflow_provider_genesys.creation.bulk_run import BulkOptions
from airflow_provider_genesys.creation.inputs import BulkInput, ValidatedItem
from airflow_provider_genesys.creation.items import PreparedItem
from airflow_provider_genesys.creation.kinds import WORKITEM_BULK_JOBS
from airflow_provider_genesys.creation.state import state_store_for
from airflow_provider_genesys.creation.task import TaskIdentity
from airflow_provider_genesys.exceptions import GenesysApiError, GenesysBulkCreateError
from airflow_provider_genesys.operators.interactions import GenesysBulkCreateInteractionsOperator
from airflow_provider_genesys.triggers.workitem_jobs import GenesysWorkitemJobsTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class GenesysBulkAddWorkitemsOperator(GenesysBulkCreateInteractionsOperator):
    """Create many workitems with ``POST /api/v2/taskmanagement/workitems/bulk/add/jobs``, one job per batch.

    Input, validation and keys are those of
    :class:`~airflow_provider_genesys.operators.interactions.GenesysBulkCreateInteractionsOperator` (the kind is
    always ``workitem``; every key travels in the workitem's ``externalTag``); items are validated as
    ``WorkitemCommonCreate``, so one that sets ``scoredAgents``, ``preferredAgentIds``, ``wrapupCode`` or
    ``utilizationLabelId`` (which bulk jobs cannot set) is invalid, never sent without them. Then:

    1. on a retry or clear, the jobs of earlier tries are settled (an ``Idle`` one terminated, a running one
       waited for) and the keys looked up (IN queries of 100 keys); workitems found are ``replayed``;
    2. the other items go in jobs of ``batch_size`` entities: each job is created ``Idle``, written to the
       task's job log, then queued (``PATCH {"state": "Queued"}``, the commit);
    3. the operator waits for the jobs — from the worker, or with ``deferrable=True`` from the triggerer
       (:class:`~airflow_provider_genesys.triggers.workitem_jobs.GenesysWorkitemJobsTrigger`);
    4. it reads each job's results by position: created workitems are ``created``, rejected entities are
       ``failed`` with Genesys' error code, like any other failure, and fail the task at the end.

    A job whose creation answer was lost creates nothing (it stays ``Idle``), so its batch is sent again; a job
    whose queueing answer was lost is asked for; when that cannot be known, its items fail as "outcome unknown"
    and the retry settles the job before sending anything. Per-item results and audit records go to XCom while
    the run's XCom stays within ``[genesys] xcom_max_bytes``, and to files beyond (``audit_path``, else the state
    directory), like the parent's.

    Deferred, the trigger carries the job ids, the run's start time and a digest of the input — never per-item
    state: the resumed task validates its input again and rebuilds each item's outcome from the job log and the
    jobs' results. A run with items that failed before their job was queued waits in the worker instead (their
    reasons exist only there).

    :param batch_size: entities per bulk add job (Genesys documents at most 50).
    :param deferrable: wait for the jobs in the triggerer instead of a worker slot (default: Airflow's
        ``[operators] default_deferrable``).
    :param poll_interval: seconds between checks of an unfinished job.
    :param job_timeout: seconds to wait for the jobs (and for an earlier try's jobs) before failing.
    """

    template_fields: Sequence[str] = GenesysBulkCreateInteractionsOperator.template_fields

    def __init__(
        self,
        *,
        batch_size: int = MAX_ENTITIES_PER_JOB,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
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

    def _jobs_run(self, task: TaskIdentity, job_log: BulkJobLog | None = None) -> BulkJobsRun:
        return BulkJobsRun(
            self.hook,
            WORKITEM_BULK_JOBS,
            task,
            BulkInput(interactions=self.interactions, source=self.source, external_id_field=self.external_id_field),
            options=BulkOptions(on_invalid=self.on_invalid, max_invalid=self.max_invalid, audit_path=self.audit_path),
            batch_size=self.batch_size,
            client_id=self._client_id(),
            check=self._check_routing if self.validate_routing else None,
            logger=self.log,
            poll_interval=self.poll_interval,
            job_timeout=self.job_timeout,
            job_log=job_log,
        )

    def execute(self, context: Context) -> dict[str, Any]:
        task = TaskIdentity.from_context(context)
        job_log = BulkJobLog.open(state_store_for(context, task), task, WORKITEM_BULK_JOBS.name)
        run = self._jobs_run(task, job_log)
        items, invalid = run.validate()
        refusal = run.refusal(items, invalid)
        if refusal:
            raise AirflowFailException(refusal)
        resumed = task.try_number > 1 or bool(job_log.earlier)
        state = run.submit(items, resumed=resumed)
        if self.deferrable and state.deferrable:
            self.defer(
                trigger=GenesysWorkitemJobsTrigger(
                    genesys_conn_id=self.genesys_conn_id,
                    job_ids=state.job_ids,
                    poll_interval=self.poll_interval,
                    started_at=state.started_at,
                    input_digest=run.input_digest,
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.job_timeout),
            )
        if self.deferrable and state.jobs:
            self.log.info("Some items failed before their jobs were queued: waiting for the jobs in this worker.")
        run.wait(state)
        return self._finish(context, run, state, items, invalid)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: re-derive each item from the input, the job log and the jobs' results."""
        if not event or event.get("status") != "success":
            message = (event or {}).get("message", "no event")
            raise GenesysApiError(status=None, message=f"waiting for the bulk add jobs failed: {message}")
        task = TaskIdentity.from_context(context)
        run = self._jobs_run(task, BulkJobLog.open(state_store_for(context, task), task, WORKITEM_BULK_JOBS.name))
        items, invalid = run.validate()
        state = run.resumed_state(
            items,
            job_ids=[str(job_id) for job_id in event.get("job_ids") or []],
            states=dict(event.get("states") or {}),
            started_at=float(event.get("started_at") or time.time()),
            input_digest=event.get("input_digest"),
        )
        return self._finish(context, run, state, items, invalid)

    def _finish(
        self,
        context: Context,
        run: BulkJobsRun,
        state: JobsState,
        items: list[PreparedItem],
        invalid: list[ValidatedItem],
    ) -> dict[str, Any]:
        result = run.finish(state, items, invalid)
        self._push(context, result)
        self._report(context, result)
        if result.problems:
            raise GenesysBulkCreateError(result.message, summary=result.summary_xcom())
        return result.summary_xcom()
