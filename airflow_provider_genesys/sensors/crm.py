"""Sensor waiting until a CRM has finished processing asynchronously accepted deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_genesys.exceptions import CrmDeliveryError, CrmSyncError
from airflow_provider_genesys.hooks.crm import CrmWebhookHook
from airflow_provider_genesys.sync.records import accepted_deliveries, render_failures
from airflow_provider_genesys.triggers.crm import CrmDeliveryStatusTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class GenesysCrmSyncSensor(BaseSensorOperator):
    """Wait until every ``accepted`` CRM delivery's status URL reports ``done``.

    Deliveries the CRM answered with 2xx (``delivered``) need no wait and are ignored. A status check that fails
    transiently (network, 5xx, 429 once the hook's retries are spent) counts as "still pending". A status that reports
    ``failed`` fails the task at once (no retry: the CRM has spoken), naming the records; re-run the sync task to
    redeliver them (their ``webhook-id`` is unchanged, so the CRM deduplicates the rest).

    With ``deferrable=True`` the sensor checks once and, if anything is still pending, hands the wait to
    :class:`~airflow_provider_genesys.triggers.crm.CrmDeliveryStatusTrigger` so no worker slot is held.

    Returns (XCom) ``{"done": [webhook ids], "count": n}``.

    :param receipts: the sync operator's result, or its ``receipts`` list (templated).
    :param crm_conn_id: the ``crm_webhook`` connection.
    :param poke_interval: seconds between checks.
    :param timeout: seconds to wait in all before failing.
    :param deferrable: wait in the triggerer instead of a worker (default: Airflow's
        ``[operators] default_deferrable``).
    """

    template_fields: Sequence[str] = ("receipts", "crm_conn_id")
    template_fields_renderers = {"receipts": "json"}

    def __init__(
        self,
        *,
        receipts: Any,
        crm_conn_id: str = CrmWebhookHook.default_conn_name,
        poke_interval: timedelta | float = 10.0,
        timeout: timedelta | float = 60 * 60,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, timeout=timeout, **kwargs)
        self.receipts = receipts
        self.crm_conn_id = crm_conn_id
        self.deferrable = deferrable
        self._done: set[str] = set()

    @cached_property
    def hook(self) -> CrmWebhookHook:
        """The CRM hook, built on first use."""
        return CrmWebhookHook(self.crm_conn_id)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        first = self.poke(context)
        if isinstance(first, PokeReturnValue) and first.is_done:
            return first.xcom_value
        pending = [item for item in accepted_deliveries(self.receipts) if item["webhook_id"] not in self._done]
        self.log.info("Deferring: %d CRM deliveries pending", len(pending))
        self.defer(
            trigger=CrmDeliveryStatusTrigger(
                crm_conn_id=self.crm_conn_id, pending=pending, poke_interval=self.poke_interval
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def poke(self, context: Context) -> PokeReturnValue:
        pending = [item for item in accepted_deliveries(self.receipts) if item["webhook_id"] not in self._done]
        failed: list[dict[str, Any]] = []
        for item in pending:
            try:
                status = self.hook.check_status(item["status_url"])
            except CrmDeliveryError as error:
                if not error.retryable:
                    raise
                self.log.warning("CRM status check of %s failed (%s); will check again", item["webhook_id"], error)
                continue
            if status.state == "done":
                self._done.add(item["webhook_id"])
            elif status.state == "failed":
                failed.append({**item, "reason": status.detail})
        if failed:
            self._fail(failed)
        remaining = len(pending) - len(failed) - sum(1 for item in pending if item["webhook_id"] in self._done)
        if remaining:
            self.log.info("%d CRM deliveries still pending", remaining)
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(is_done=True, xcom_value={"done": sorted(self._done), "count": len(self._done)})

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger fired: succeed, or fail naming the records."""
        if not event:
            raise CrmSyncError("CRM status trigger ended without an event")
        if event.get("status") == "success":
            done = sorted({*self._done, *event.get("done", [])})
            self.log.info("%s", event.get("message"))
            return {"done": done, "count": len(done)}
        if event.get("status") == "failed":
            self._fail([{**item, "reason": item.get("detail")} for item in event.get("failed", [])])
        raise CrmSyncError(str(event.get("message") or "CRM status trigger reported an error"))

    def _fail(self, failed: list[dict[str, Any]]) -> None:
        message = render_failures(f"The CRM reported {len(failed)} delivery failure(s):", failed)
        raise AirflowFailException(message) from CrmSyncError(message, failed=failed, permanent=True)
