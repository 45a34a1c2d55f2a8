"""Trigger waiting for a CRM's asynchronous deliveries (202 + status URL) to report ``done``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import aiohttp
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_genesys.hooks.crm import CrmSettings, CrmWebhookHook, DeliveryStatus, parse_status_body
from airflow_provider_genesys.sync.records import PENDING_KEYS
from airflow_provider_genesys.utils.redaction import redact

#: Status checks in flight at once.
MAX_PARALLEL_CHECKS = 8


class CrmDeliveryStatusTrigger(BaseTrigger):
    """Poll the status URLs of accepted CRM deliveries until all are ``done`` or one ``failed``.

    Yields exactly one event, a plain-JSON dict:

    * ``{"status": "success", "done": [webhook ids], "failed": [], "message": ...}`` when every delivery is done;
    * ``{"status": "failed", "done": [...], "failed": [{"webhook_id", "interaction_id", "external_id",
      "position", "status_url", "detail"}], "pending": n, "message": ...}`` as soon as a poll round sees a
      reported failure;
    * ``{"status": "error", "message": ...}`` when the connection cannot be used.

    Transient problems (network errors, 5xx, 429) are logged and retried at the next poll; the operator's
    deferral timeout bounds the wait. The HTTP session lives inside :meth:`run` and is closed when the trigger is
    cancelled (task killed, deferral timed out, triggerer shutting down).

    :param crm_conn_id: the ``crm_webhook`` connection (looked up asynchronously in the triggerer).
    :param pending: the accepted deliveries, each ``{"webhook_id", "status_url", ...}`` (plain JSON).
    :param poke_interval: seconds between poll rounds.
    """

    def __init__(
        self,
        *,
        crm_conn_id: str,
        pending: Sequence[Mapping[str, Any]],
        poke_interval: float = 30.0,
    ) -> None:
        super().__init__()
        self.crm_conn_id = crm_conn_id
        self.pending: list[dict[str, Any]] = [{key: item.get(key) for key in PENDING_KEYS} for item in pending]
        self.poke_interval = float(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and plain-JSON keyword arguments to rebuild this trigger in the triggerer."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "crm_conn_id": self.crm_conn_id,
                "pending": [dict(item) for item in self.pending],
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until done; yield one event."""
        try:
            settings = await CrmWebhookHook(self.crm_conn_id).aget_settings()
        except Exception as error:
            yield TriggerEvent({"status": "error", "message": f"CRM connection {self.crm_conn_id!r} unusable: {error}"})
            return
        secrets = (settings.signing_secret, settings.signing_secret.removeprefix("whsec_"))
        waiting: dict[str, dict[str, Any]] = {str(item["webhook_id"]): item for item in self.pending}
        done: list[str] = []
        timeout = aiohttp.ClientTimeout(total=settings.timeout, connect=min(10.0, settings.timeout))
        limiter = asyncio.Semaphore(MAX_PARALLEL_CHECKS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                ids = list(waiting)
                results = await asyncio.gather(
                    *(self._check(session, limiter, settings, str(waiting[i]["status_url"]), secrets) for i in ids)
                )
                failed: list[dict[str, Any]] = []
                for webhook_id, status in zip(ids, results, strict=True):
                    if status is None or status.state == "pending":
                        continue
                    item = waiting.pop(webhook_id)
                    if status.state == "done":
                        done.append(webhook_id)
                    else:
                        failed.append({**item, "detail": status.detail})
                if failed:
                    yield TriggerEvent(
                        {
                            "status": "failed",
                            "done": done,
                            "failed": failed,
                            "pending": len(waiting),
                            "message": f"{len(failed)} CRM deliveries reported failure",
                        }
                    )
                    return
                if not waiting:
                    yield TriggerEvent(
                        {
                            "status": "success",
                            "done": done,
                            "failed": [],
                            "message": f"All {len(done)} accepted CRM deliveries are done",
                        }
                    )
                    return
                self.log.info("%d CRM deliveries still pending; next check in %ss", len(waiting), self.poke_interval)
                await asyncio.sleep(self.poke_interval)

    async def _check(
        self,
        session: aiohttp.ClientSession,
        limiter: asyncio.Semaphore,
        settings: CrmSettings,
        status_url: str,
        secrets: tuple[str, ...],
    ) -> DeliveryStatus | None:
        """One status check; ``None`` when the answer is transient (checked again next round)."""
        url = settings.resolve(status_url)
        async with limiter:
            try:
                async with session.get(url, headers={"Accept": "application/json"}) as response:
                    if response.status == 404:
                        return DeliveryStatus(
                            "failed", "the CRM does not know this delivery (HTTP 404 on its status URL)"
                        )
                    if response.status >= 400:
                        self.log.warning("CRM status check answered HTTP %d; will check again", response.status)
                        return None
                    try:
                        body = await response.json(content_type=None)
                    except ValueError:
                        body = None
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                self.log.warning(
                    "CRM status check failed (%s); will check again",
                    redact(f"{type(error).__name__}: {error}"[:200], secrets),
                )
                return None
        return parse_status_body(body, secrets=secrets)
