"""Trigger waiting for Genesys workitem bulk add jobs to finish (deferrable mode of the bulk-jobs operator)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_genesys.creation.bulk_jobs import aget_job, is_terminal, job_state
from airflow_provider_genesys.hooks.genesys_cloud_async import GenesysCloudAsyncHook
from airflow_provider_genesys.utils.redaction import redact


class GenesysWorkitemJobsTrigger(BaseTrigger):
    """Poll bulk add jobs until every one is terminal; yield one plain-JSON event.

    A job is polled with ``GET /api/v2/taskmanagement/workitems/bulk/add/jobs/{id}`` while its ``BulkJob.state``
    is ``Idle``, ``Queued`` or ``Running``; it is terminal once ``Succeeded``, ``Failed``, ``Cancelled`` or
    ``Terminated`` (the operator queued it before deferring, so an ``Idle`` job only waits for the timeout).

    * ``{"status": "success", "job_ids": [...], "states": {job id: state}, "started_at": ..., "input_digest": ...}``
      when every job has finished (the resumed operator reads their per-entity results and re-derives each
      item's outcome from its input);
    * ``{"status": "error", "message": ..., "job_ids": [...], "states": {...}, "started_at": ...}`` when a poll
      fails for good (after the retry policy of the connection).

    Everything runs on the triggerer's event loop: the asynchronous hook
    (:class:`~airflow_provider_genesys.hooks.genesys_cloud_async.GenesysCloudAsyncHook`) looks the connection up,
    paces and retries with ``asyncio.sleep``, so no wait holds a thread. The keyword arguments stay small whatever
    the number of items: job ids, a start time and a digest — never per-item state. The operator's deferral
    timeout bounds the wait.

    :param genesys_conn_id: the Genesys connection.
    :param job_ids: the jobs to wait for, in the order they were submitted.
    :param poll_interval: seconds between poll rounds.
    :param started_at: when the run started (Unix time, seconds): the resumed run's duration counts from it, on
        whatever machine it resumes.
    :param input_digest: the digest of the run's validated items, handed back to check the input at resume.
    """

    def __init__(
        self,
        *,
        genesys_conn_id: str,
        job_ids: Sequence[str],
        poll_interval: float = 5.0,
        started_at: float | None = None,
        input_digest: str | None = None,
    ) -> None:
        super().__init__()
        self.genesys_conn_id = genesys_conn_id
        self.job_ids = [str(job_id) for job_id in job_ids]
        self.poll_interval = float(poll_interval)
        self.started_at = time.time() if started_at is None else float(started_at)
        self.input_digest = input_digest

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and plain-JSON keyword arguments to rebuild this trigger in the triggerer."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "genesys_conn_id": self.genesys_conn_id,
                "job_ids": list(self.job_ids),
                "poll_interval": self.poll_interval,
                "started_at": self.started_at,
                "input_digest": self.input_digest,
            },
        )

    def _event(self, status: str, states: dict[str, str], **more: Any) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "job_ids": list(self.job_ids),
                "states": states,
                "started_at": self.started_at,
                "input_digest": self.input_digest,
                **more,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until every job is terminal (the HTTP session is closed when the trigger ends or is cancelled)."""
        states: dict[str, str] = {}
        async with GenesysCloudAsyncHook(self.genesys_conn_id) as hook:
            try:
                await hook.aget_settings()
            except Exception as error:
                message = f"Genesys connection unusable: {redact(str(error))}"
                yield self._event("error", states, message=message)
                return
            pending = list(self.job_ids)
            while pending:
                for job_id in list(pending):
                    try:
                        job = await aget_job(hook, job_id)
                    except Exception as error:
                        message = f"polling bulk add job {job_id} failed: {redact(str(error))}"
                        yield self._event("error", states, message=message)
                        return
                    if is_terminal(job):
                        states[job_id] = job_state(job)
                        pending.remove(job_id)
                if pending:
                    self.log.info(
                        "%d of %d bulk add job(s) still running after %.0fs; next check in %ss",
                        len(pending),
                        len(self.job_ids),
                        max(0.0, time.time() - self.started_at),
                        self.poll_interval,
                    )
                    await asyncio.sleep(self.poll_interval)
        yield self._event("success", states)
