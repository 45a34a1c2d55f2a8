"""Operator telling a CRM which Genesys interactions were created, with signed, idempotent webhooks."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_genesys.creation.task import TaskIdentity
from airflow_provider_genesys.exceptions import CrmSyncError
from airflow_provider_genesys.hooks.crm import CrmWebhookHook
from airflow_provider_genesys.lineage import RunCounts, operator_lineage
from airflow_provider_genesys.sync.records import load_records
from airflow_provider_genesys.sync.run import CrmSyncRun

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

#: XCom key of the per-delivery audit records.
CRM_AUDIT_XCOM_KEY = "crm_audit"


class GenesysCrmSyncOperator(BaseOperator):
    """Send each created Genesys interaction to a CRM as a signed, idempotent webhook.

    Each record (typically the XCom of a create or bulk-create task) becomes one JSON delivery::

        {"interaction_id", "kind", "type", "queue_id", "external_id", "idempotency_key", "outcome", "timestamp"}

    ``queue_id`` is ``None`` when the record names no queue; ``kind`` defaults to ``interaction``; ``timestamp``
    is the record's own (the time it was created or found), else the time of the sync. A record as Genesys
    returned it (the create operator's return value: ``id``, ``type``, ``routing``, ``createTime``) works too,
    but has no idempotency key: pass the create operator's audit record (XCom key ``genesys_audit``) to get
    ``webhook-id`` = the key that created it. Records whose ``outcome`` is neither ``created`` nor ``replayed``
    (``invalid``, ``failed``) are skipped and counted; so are records without an ``interaction_id``. A record
    without ``outcome`` but with an ``interaction_id`` counts as ``created``.

    The ``webhook-id`` of a delivery is the record's idempotency key (``key`` or ``idempotency_key``; when a
    record has none, a key derived from its ``interaction_id``). The same key on every try of every attempt is
    what makes retries safe: a CRM deduplicating by ``webhook-id`` stores a redelivery as nothing new.

    **Retries of the task.** XCom (and so any memory of the previous try) is cleared when a new try starts, so a
    retry cannot know from Airflow what was delivered. It sends every record again and relies on the CRM's
    deduplication: records delivered by an earlier try are answered as duplicates and stored once; only what had
    not arrived is new to the CRM. Failures that no retry can fix (a rejected signature, any 4xx except
    408/409/429) fail the task without retries.

    Returns ``{"total", "deliverable", "delivered", "accepted", "failed", "skipped", "skipped_by_outcome",
    "duplicates_in_input", "receipts", "receipts_path", "audit_path"}``; each receipt is ``{"position",
    "webhook_id", "interaction_id", "external_id", "state" ("delivered" | "accepted" | "failed"), "http_status",
    "status_url", "attempts", "latency_ms", "duplicate", "reason", "retryable"}`` (``retryable`` is set on failed
    receipts only). Pass it
    to :class:`~airflow_provider_genesys.sensors.crm.GenesysCrmSyncSensor` to wait for ``accepted`` deliveries.
    One audit record per delivery goes to XCom (key ``crm_audit``), to ``audit_path`` when given, and (up to 1,000
    deliveries) to the log as one JSON line. Receipts and audit records stay in XCom while the run's XCom fits
    ``[genesys] xcom_max_bytes`` (64 KB by default); beyond it they go to JSON-lines files (beside ``audit_path``,
    else in the state directory): ``receipts`` is then ``None``, ``receipts_path`` names their file — the sensor
    reads it — and ``crm_audit`` holds the audit file's path. Any failed delivery fails the task at the end,
    naming the records.

    :param records: what to synchronise (templated): a list of per-item dicts, a single dict, a bulk run summary
        (``items`` or ``items_path``), or the path of a JSON-lines file of per-item results.
    :param crm_conn_id: the ``crm_webhook`` connection.
    :param max_concurrency: deliveries in flight at once (threads sharing one pooled session).
    :param fields: extra payload fields, ``{output name: source}``. ``source`` is a dotted path looked up in the
        record first, then in the standard payload (``{"case_id": "external_id"}`` adds ``case_id``;
        ``{"priority": "routing.priority"}`` reads a nested value; a missing source gives ``None``). A ``None``
        source removes that output field, so ``{"case_id": "external_id", "external_id": None}`` renames.
    :param audit_path: file (``*.jsonl``) or directory/URI that receives every delivery's audit record (templated).
    """

    #: What the last run delivered (set by ``execute``; read by the OpenLineage methods).
    _run_counts: RunCounts | None = None

    template_fields: Sequence[str] = ("records", "crm_conn_id", "fields", "audit_path")
    template_fields_renderers = {"records": "json", "fields": "json"}
    ui_color = "#ff4f1f"

    def __init__(
        self,
        *,
        records: Any,
        crm_conn_id: str = CrmWebhookHook.default_conn_name,
        max_concurrency: int = 4,
        fields: dict[str, str | None] | None = None,
        audit_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.records = records
        self.crm_conn_id = crm_conn_id
        self.max_concurrency = max_concurrency
        self.fields = fields
        self.audit_path = audit_path

    @cached_property
    def hook(self) -> CrmWebhookHook:
        """The CRM hook, built on first use."""
        return CrmWebhookHook(self.crm_conn_id, pool_maxsize=self.max_concurrency)

    def execute(self, context: Context) -> dict[str, Any]:
        records = load_records(self.records)
        self.hook.settings  # noqa: B018 -- read the connection first: a bad one fails before anything is sent
        run = CrmSyncRun(
            self.hook,
            TaskIdentity.from_context(context),
            crm_conn_id=self.crm_conn_id,
            fields=self.fields,
            max_concurrency=self.max_concurrency,
            audit_path=self.audit_path,
            logger=self.log,
        )
        run.probe()
        result = run.run(records)
        self._run_counts = RunCounts.of_sync(result.summary)
        context["ti"].xcom_push(key=CRM_AUDIT_XCOM_KEY, value=result.audits)
        if result.failed:
            error = CrmSyncError(result.message, failed=result.failed, permanent=result.permanent)
            if result.permanent:
                raise AirflowFailException(str(error)) from error
            raise error
        return result.summary

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        """OpenLineage: the records file read (when ``records`` is a path), and the CRM endpoint with counts."""
        try:
            settings = self.hook.settings
        except Exception:  # an unusable connection: there is no output to name
            return None
        inputs = [self.records] if isinstance(self.records, str) else []
        return operator_lineage(inputs, f"{settings.base_url}{settings.endpoint}", self._run_counts)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage | None:
        """OpenLineage of a failed run: the deliveries made before failing count too."""
        return self.get_openlineage_facets_on_complete(task_instance)
