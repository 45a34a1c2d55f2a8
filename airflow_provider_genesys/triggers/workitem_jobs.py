"""Trigger waiting for Genesys workitem bulk add jobs to finish (deferrable mode of the bulk-jobs operator)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_genesys.creation.bulk_jobs import get_job, is_terminal
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from airflow_provider_genesys.utils.redaction import redact


class GenesysWorkitemJobsTrigger(BaseTrigger):
    """Poll bulk add jobs until every one is terminal; yield one plain-JSON event.

    A job is polled with ``GET /api/v2/taskmanagement/workitems/bulk/add/jobs/{id}`` while its ``BulkJob.state``
    is ``Idle``, ``Queued`` or ``Running``; it is terminal once ``Succeeded``, ``Failed``, ``Cancelled`` or
    ``Terminated`` (the operator queued it before deferring, so an ``Idle`` job only waits for the timeout).

    * ``{"status": "success", "states": {job id: state}, "carry": ...}`` when every job has finished (its
      per-entity results are read by the operator, which reports failed entities like any other failure);
    * ``{"status": "error", "message": ..., "carry": ...}`` when a poll fails for good (after the hook's own
      retries).

    ``carry`` is handed back unchanged in the event: the operator's plain-JSON state across the deferral (the
    event reaches the resumed operator everywhere, ``dag.test()`` included, where method kwargs may not).

    The hook's calls are synchronous; they run in a thread so the triggerer's event loop never blocks. The
    operator's deferral timeout bounds the wait.

    :param genesys_conn_id: the Genesys connection.
    :param job_ids: the jobs to wait for.
    :param poll_interval: seconds between poll rounds.
    :param carry: plain JSON returned in the event as is.
    """

    def __init__(
        self,
        *,
        genesys_conn_id: str,
        job_ids: Sequence[str],
        poll_interval: float = 5.0,
        carry: Any = None,
    ) -> None:
        super().__init__()
        self.genesys_conn_id = genesys_conn_id
        self.job_ids = [str(job_id) for job_id in job_ids]
        self.poll_interval = float(poll_interval)
        self.carry = carry

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and plain-JSON keyword arguments to rebuild this trigger in the triggerer."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "genesys_conn_id": self.genesys_conn_id,
                "job_ids": list(self.job_ids),
                "poll_interval": self.poll_interval,
                "carry": self.carry,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until every job is terminal."""
        try:
            hook = await asyncio.to_thread(self._hook)
        except Exception as error:
            message = f"Genesys connection unusable: {redact(str(error))}"
            yield TriggerEvent({"status": "error", "message": message, "carry": self.carry})
            return
        states: dict[str, str] = {}
        pending = list(self.job_ids)
        while pending:
            for job_id in list(pending):
                try:
                    job = await asyncio.to_thread(get_job, hook, job_id)
                except Exception as error:
                    message = f"polling bulk add job {job_id} failed: {redact(str(error))}"
                    yield TriggerEvent({"status": "error", "message": message, "states": states, "carry": self.carry})
                    return
                if is_terminal(job):
                    states[job_id] = str(job.get("state"))
                    pending.remove(job_id)
            if pending:
                self.log.info("%d bulk add job(s) still running; next check in %ss", len(pending), self.poll_interval)
                await asyncio.sleep(self.poll_interval)
        yield TriggerEvent({"status": "success", "states": states, "carry": self.carry})

    def _hook(self) -> GenesysCloudHook:
        hook = GenesysCloudHook(genesys_conn_id=self.genesys_conn_id)
        hook.settings  # noqa: B018 - read the connection now, in this thread
        return hook
