"""One CRM sync: choose the records to deliver, deliver them in parallel, and account for every one.

Records whose upstream ``outcome`` is neither ``created`` nor ``replayed``, or that carry no interaction id,
are skipped and counted; records repeating a ``webhook-id`` are delivered once. Each delivery ends as a receipt
(``delivered`` | ``accepted`` | ``failed``) and an audit record; the result says whether the task fails and
whether a retry could help.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.exceptions import CrmDeliveryError
from airflow_provider_genesys.models.audit import utc_now_iso
from airflow_provider_genesys.sync.records import (
    SYNCABLE_OUTCOMES,
    build_payload,
    interaction_id_of,
    render_failures,
    webhook_id_for,
)
from airflow_provider_genesys.utils.audit_files import (
    LOG_RECORDS_MAX_ITEMS,
    probe_location,
    resolve_audit_file,
    run_file,
)
from airflow_provider_genesys.utils.redaction import redact
from airflow_provider_genesys.utils.xcom_budget import SpillingRecords, xcom_max_bytes, xcom_size

if TYPE_CHECKING:
    from airflow_provider_genesys.creation.task import TaskIdentity
    from airflow_provider_genesys.hooks.crm import CrmWebhookHook

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """One record to deliver: its position, the record, its ``webhook-id`` and the payload to send."""

    position: int
    record: dict[str, Any]
    webhook_id: str
    payload: dict[str, Any]


@dataclass
class DeliveryPlan:
    """What a sync will deliver, and what it skips (by reason) or folds into an earlier record."""

    total: int
    deliveries: list[Delivery] = field(default_factory=list)
    skipped_by_outcome: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0


@dataclass
class CrmSyncResult:
    """The outcome of a sync: its summary (the task's return value), its audit records, and its failures.

    :param summary: ``{"total", "deliverable", "delivered", "accepted", "failed", "skipped",
        "skipped_by_outcome", "duplicates_in_input", "receipts"}``; beyond the XCom budget ``receipts`` is ``None``
        and ``receipts_path`` names their JSON-lines file; ``audit_path`` names the audit records' file when they
        have one.
    :param audits: what XCom ``crm_audit`` holds: one audit record per delivery, or the path of their file.
    :param failed: the failed receipts.
    """

    summary: dict[str, Any]
    audits: list[dict[str, Any]] | str | None
    failed: list[dict[str, Any]]

    @property
    def permanent(self) -> bool:
        """No failure could succeed on a retry (e.g. a rejected signature)."""
        return not any(receipt.get("retryable") for receipt in self.failed)

    @property
    def message(self) -> str:
        """The failure message naming the failed records (empty when nothing failed)."""
        if not self.failed:
            return ""
        headline = f"{len(self.failed)} of {self.summary['deliverable']} CRM deliveries failed:"
        return render_failures(headline, self.failed)


class CrmSyncRun:
    """Delivers records to a CRM through a :class:`~airflow_provider_genesys.hooks.crm.CrmWebhookHook`.

    :param hook: the CRM hook (its pooled session is shared by the threads).
    :param task: the task identity (audit fields).
    :param crm_conn_id: the connection id (audit field).
    :param fields: extra payload fields (see :func:`~airflow_provider_genesys.sync.records.build_payload`).
    :param max_concurrency: deliveries in flight at once.
    :param audit_path: file (``*.jsonl``) or directory/URI that receives every audit record (and, beyond the XCom
        budget, the receipts).
    """

    def __init__(
        self,
        hook: CrmWebhookHook,
        task: TaskIdentity,
        *,
        crm_conn_id: str,
        fields: Mapping[str, str | None] | None = None,
        max_concurrency: int = 4,
        audit_path: str | None = None,
        logger: Any = None,
    ) -> None:
        self.hook = hook
        self.task = task
        self.audit_path = audit_path
        self.crm_conn_id = crm_conn_id
        self.fields = fields
        self.max_concurrency = max_concurrency
        self.log = logger or log

    def plan(self, records: Sequence[Mapping[str, Any]]) -> DeliveryPlan:
        """Which records to deliver, in order; the rest counted by why they are skipped."""
        now = utc_now_iso()
        plan = DeliveryPlan(total=len(records))
        seen: set[str] = set()
        for index, record in enumerate(records):
            outcome = record.get("outcome") or ("created" if interaction_id_of(record) else None)
            if outcome not in SYNCABLE_OUTCOMES:
                plan.skipped_by_outcome[str(outcome or "unknown")] += 1
                continue
            if not interaction_id_of(record):
                plan.skipped_by_outcome["no_interaction_id"] += 1
                continue
            webhook_id = webhook_id_for(record)
            if webhook_id in seen:
                plan.duplicates += 1
                continue
            seen.add(webhook_id)
            payload = build_payload(record, fields=self.fields, now=now)
            plan.deliveries.append(Delivery(record.get("position", index), dict(record), webhook_id, payload))
        if plan.skipped_by_outcome:
            self.log.info(
                "Skipping %d record(s) not to synchronise: %s",
                sum(plan.skipped_by_outcome.values()),
                dict(plan.skipped_by_outcome),
            )
        return plan

    def outputs(self) -> SpillingRecords:
        """Where the receipts and audit records go: XCom within the run's budget, else their files."""
        scope, try_number = self.task.scope, self.task.try_number
        if self.audit_path:
            audit_file = resolve_audit_file(self.audit_path, scope, try_number)
        else:
            audit_file = run_file(None, scope, try_number, "crm-audit")
        return SpillingRecords(
            xcom_max_bytes(),
            {"receipts": run_file(self.audit_path, scope, try_number, "crm-receipts"), "audits": audit_file},
            durable=("audits",) if self.audit_path else (),
        )

    def probe(self) -> None:
        """Check, before anything is sent, that the files this sync may write can be written."""
        scope, try_number = self.task.scope, self.task.try_number
        if self.audit_path:
            probe_location(resolve_audit_file(self.audit_path, scope, try_number), what="audit_path")
        probe_location(run_file(self.audit_path, scope, try_number, "crm-receipts"), what="the receipts' location")

    def run(self, records: Sequence[Mapping[str, Any]]) -> CrmSyncResult:
        """Plan, deliver in parallel, and account for every record."""
        plan = self.plan(records)
        self.log.info("Delivering %d record(s) to CRM connection %r", len(plan.deliveries), self.crm_conn_id)
        receipts: list[dict[str, Any]] = []
        if plan.deliveries:
            workers = min(self.max_concurrency, len(plan.deliveries))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crm-sync") as pool:
                receipts = list(pool.map(self.deliver, plan.deliveries))
        states = Counter(receipt["state"] for receipt in receipts)
        summary: dict[str, Any] = {
            "total": plan.total,
            "deliverable": len(plan.deliveries),
            "delivered": states["delivered"],
            "accepted": states["accepted"],
            "failed": states["failed"],
            "skipped": sum(plan.skipped_by_outcome.values()),
            "skipped_by_outcome": dict(plan.skipped_by_outcome),
            "duplicates_in_input": plan.duplicates,
        }
        outputs = self.outputs()
        try:
            for receipt, delivery in zip(receipts, plan.deliveries, strict=True):
                audit = self._audit(receipt, delivery)
                line = json.dumps(audit, sort_keys=True, separators=(",", ":"), default=str)
                if len(receipts) <= LOG_RECORDS_MAX_ITEMS:
                    self.log.info("%s", line)
                outputs.add("audits", audit, line)
                outputs.add("receipts", receipt)
            # the summary is returned with the receipts; the audit records are pushed beside it
            outputs.fit(xcom_size({**summary, "receipts": None, "receipts_path": None, "audit_path": None}))
        finally:
            outputs.close()
        summary.update(
            receipts=outputs.kept("receipts"),
            receipts_path=outputs.path("receipts"),
            audit_path=outputs.path("audits"),
        )
        self.log.info(
            "CRM sync: %d delivered, %d accepted (pending), %d failed, %d skipped",
            summary["delivered"],
            summary["accepted"],
            summary["failed"],
            summary["skipped"],
        )
        failed = [receipt for receipt in receipts if receipt["state"] == "failed"]
        audits = outputs.kept("audits")
        return CrmSyncResult(
            summary=summary, audits=outputs.path("audits") if audits is None else audits, failed=failed
        )

    def deliver(self, delivery: Delivery) -> dict[str, Any]:
        """Deliver one record; every outcome, a bug included, becomes its receipt."""
        receipt: dict[str, Any] = {
            "position": delivery.position,
            "webhook_id": delivery.webhook_id,
            "interaction_id": interaction_id_of(delivery.record),
            "external_id": delivery.record.get("external_id"),
            "state": "failed",
            "http_status": None,
            "status_url": None,
            "attempts": 0,
            "latency_ms": None,
            "duplicate": False,
            "reason": None,
            "retryable": None,
        }
        try:
            result = self.hook.deliver(delivery.payload, webhook_id=delivery.webhook_id)
        except CrmDeliveryError as error:
            receipt.update(
                http_status=error.status, attempts=error.attempts, reason=error.message, retryable=error.retryable
            )
        except Exception as error:  # a bug or an unforeseen library error: record it, keep the others going
            secret = self.hook.settings.signing_secret
            reason = redact(f"{type(error).__name__}: {error}"[:300], (secret, secret.removeprefix("whsec_")))
            receipt.update(reason=reason, retryable=True)
        else:
            receipt.update(
                state=result.state,
                http_status=result.http_status,
                status_url=result.status_url,
                attempts=result.attempts,
                latency_ms=result.latency_ms,
                duplicate=result.duplicate,
            )
        return receipt

    def _audit(self, receipt: Mapping[str, Any], delivery: Delivery) -> dict[str, Any]:
        return {
            "timestamp": utc_now_iso(),
            **self.task.audit_fields(),
            "kind": "crm_delivery",
            "crm_conn_id": self.crm_conn_id,
            "webhook_id": receipt["webhook_id"],
            "idempotency_key": delivery.payload.get("idempotency_key"),
            "interaction_id": receipt["interaction_id"],
            "external_id": receipt["external_id"],
            "position": receipt["position"],
            "outcome": receipt["state"],
            "http_status": receipt["http_status"],
            "attempts": receipt["attempts"],
            "latency_ms": receipt["latency_ms"],
            "status_url": receipt["status_url"],
            "duplicate": receipt["duplicate"],
            "error": receipt["reason"],
        }
