"""Create many workitems through Genesys' bulk add jobs, exactly once, optionally waiting in the triggerer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import conf
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_genesys.creation.bulk_jobs_run import BulkJobsRun, JobsState
from airflow_provider_genesys.creation.bulk_run import BulkOptions
from airflow_provider_genesys.creation.inputs import BulkInput
from airflow_provider_genesys.creation.kinds import get_kind
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
    :param deferrable: wait for the jobs in the triggerer instead of a worker slot (default: Airflow's
        ``[operators] default_deferrable``).
    :param poll_interval: seconds between job status checks.
    :param job_timeout: seconds to wait for the jobs before failing.
    """

    template_fields: Sequence[str] = GenesysBulkCreateInteractionsOperator.template_fields

    def __init__(
        self,
        *,
        batch_size: int = 100,
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

    def _jobs_run(self, task: TaskIdentity) -> BulkJobsRun:
        return BulkJobsRun(
            self.hook,
            get_kind("workitem"),
            task,
            BulkInput(interactions=self.interactions, source=self.source, external_id_field=self.external_id_field),
            options=BulkOptions(on_invalid=self.on_invalid, max_invalid=self.max_invalid),
            batch_size=self.batch_size,
            client_id=self._client_id(),
            check=self._check_routing if self.validate_routing else None,
            logger=self.log,
        )

    def execute(self, context: Context) -> dict[str, Any]:
        task = TaskIdentity.from_context(context)
        journal = self._open_journal(get_kind("workitem"), task)
        run = self._jobs_run(task)
        items, invalid = run.validate()
        refusal = run.refusal(items, invalid)
        if refusal:
            raise AirflowFailException(refusal)
        resumed = task.try_number > 1 or (journal is not None and journal.resumed)
        state = run.submit(items, resumed=resumed)
        if state.job_ids and self.deferrable:
            self.defer(
                trigger=GenesysWorkitemJobsTrigger(
                    genesys_conn_id=self.genesys_conn_id,
                    job_ids=state.job_ids,
                    poll_interval=self.poll_interval,
                    carry=state.to_json(),
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.job_timeout),
            )
        run.wait(state, poll_interval=self.poll_interval, timeout=self.job_timeout)
        return self._finish(context, run, state)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: read the jobs' results (the state comes back in the event) and report."""
        if not event or event.get("status") != "success":
            message = (event or {}).get("message", "no event")
            raise GenesysApiError(status=None, message=f"waiting for the bulk add jobs failed: {message}")
        run = self._jobs_run(TaskIdentity.from_context(context))
        return self._finish(context, run, JobsState.from_json(dict(event.get("carry") or {})))

    def _finish(self, context: Context, run: BulkJobsRun, state: JobsState) -> dict[str, Any]:
        result = run.finish(state)
        self._push(context, result)
        self._report(context, result)
        if result.problems:
            raise GenesysBulkCreateError(result.message, summary=result.summary_xcom())
        return result.summary_xcom()
