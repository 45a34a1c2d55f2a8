"""Operator telling a CRM which Genesys interactions were created, with signed, idempotent webhooks."""

from __future__ import annotations

import ast
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from functools import cached_property
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_genesys.errors import GenesysError, redact
from airflow_provider_genesys.hooks.crm import CrmDeliveryError, CrmWebhookHook

if TYPE_CHECKING:
    from airflow.sdk import Context

#: XCom key of the per-delivery audit records.
CRM_AUDIT_XCOM_KEY = "crm_audit"
#: Outcomes of an upstream create that mean "an interaction exists": only those are synchronised.
SYNCABLE_OUTCOMES = frozenset({"created", "replayed"})
#: Failed records named in an exception message (the rest are counted).
MAX_LISTED_FAILURES = 20


class CrmSyncError(GenesysError):
    """Some CRM deliveries (or status checks) failed; lists which records.

    :param message: the rendered explanation, naming the records.
    :param failed: the failed receipts (plain dicts).
    :param permanent: ``True`` when no failure could succeed on a retry (e.g. a rejected signature).
    """

    def __init__(self, message: str, *, failed: Sequence[Mapping[str, Any]] = (), permanent: bool = False):
        self.failed = [dict(receipt) for receipt in failed]
        self.permanent = permanent
        super().__init__(message)


def describe_record(receipt: Mapping[str, Any]) -> str:
    """One-line identification of a record: position, external id, interaction id, webhook id."""
    parts = []
    for name in ("position", "external_id", "interaction_id", "webhook_id"):
        value = receipt.get(name)
        if value is not None:
            parts.append(f"{name}={value}")
    return " ".join(parts) or "record"


def render_failures(headline: str, failed: Sequence[Mapping[str, Any]]) -> str:
    """``headline`` followed by one line per failed record (at most :data:`MAX_LISTED_FAILURES`)."""
    lines = [headline]
    for receipt in failed[:MAX_LISTED_FAILURES]:
        reason = receipt.get("reason") or "failed"
        if "http_status" in receipt:
            status = receipt["http_status"]
            reason = f"{f'HTTP {status}' if status is not None else 'no response'}: {reason}"
        lines.append(f"  - {describe_record(receipt)}: {reason}")
    if len(failed) > MAX_LISTED_FAILURES:
        lines.append(f"  ... and {len(failed) - MAX_LISTED_FAILURES} more")
    return "\n".join(lines)


def _lookup(record: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted ``path`` in nested mappings (``routing.queue.id``); ``None`` when any step is missing."""
    current: Any = record
    for step in path.split("."):
        if isinstance(current, Mapping) and step in current:
            current = current[step]
        else:
            return None
    return current


def _first(record: Mapping[str, Any], *paths: str) -> Any:
    for path in paths:
        value = _lookup(record, path)
        if value is not None:
            return value
    return None


def interaction_id_of(record: Mapping[str, Any]) -> str | None:
    """``interaction_id`` (an audit record or bulk item), else ``id`` (a record returned by Genesys)."""
    value = record.get("interaction_id") or record.get("id")
    return None if value in (None, "") else str(value)


def _as_mapping(value: Any) -> Any:
    """Turn pydantic models (``AuditRecord``, ``RunSummary``...) into plain dicts; leave the rest."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return value


def _read_json_lines(path: str | Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number} is not a JSON line: {error.msg}") from None
            if not isinstance(record, Mapping):
                raise ValueError(f"{path}:{number} is not a JSON object")
            records.append(dict(record))
    return records


def load_records(records: Any) -> list[dict[str, Any]]:
    """Normalise the operator's ``records`` argument into a list of per-item dicts.

    Accepted: a list of dicts (or of pydantic models); a single dict; a bulk run summary (a dict with an
    ``items`` list, or an ``items_path`` / ``audit_path`` naming a JSON-lines file); a path to a JSON-lines
    file; a JSON (or Python literal) string of any of these, as a Jinja-rendered XCom is.
    """
    records = _as_mapping(records)
    if records is None:
        return []
    if isinstance(records, (str, Path)):
        text = str(records).strip()
        if text.startswith(("[", "{")):
            try:
                parsed = json.loads(text)
            except ValueError:
                try:
                    parsed = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    raise ValueError("records is a string that is neither JSON nor a Python literal") from None
            return load_records(parsed)
        if not text:
            return []
        return _read_json_lines(text)
    if isinstance(records, Mapping):
        if isinstance(records.get("items"), list) and records["items"]:
            return load_records(records["items"])
        for path_key in ("items_path", "audit_path"):
            if records.get(path_key):
                return _read_json_lines(str(records[path_key]))
        if "items" in records and "interaction_id" not in records:
            return []  # a summary of an empty (or fully invalid, item-less) run
        return [dict(records)]
    if isinstance(records, Iterable):
        flattened: list[dict[str, Any]] = []
        for element in records:
            element = _as_mapping(element)
            if isinstance(element, Mapping) and ("items" in element or "items_path" in element):
                flattened.extend(load_records(element))  # e.g. mapped bulk tasks: a list of summaries
            elif isinstance(element, Mapping):
                flattened.append(dict(element))
            elif element is not None:
                raise ValueError(f"records contains a {type(element).__name__}, expected dicts")
        return flattened
    raise ValueError(f"records must be a list, a dict or a path, not {type(records).__name__}")


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
    "duplicates_in_input", "receipts"}``; each receipt is ``{"position", "webhook_id", "interaction_id",
    "external_id", "state" ("delivered" | "accepted" | "failed"), "http_status", "status_url", "attempts",
    "latency_ms", "duplicate", "reason", "retryable"}`` (``retryable`` is set on failed receipts only). Pass it
    to :class:`~airflow_provider_genesys.sensors.crm.GenesysCrmSyncSensor` to wait for ``accepted`` deliveries.
    One audit record per delivery goes to XCom (key ``crm_audit``) and to the log as one JSON line. Any failed
    delivery fails the task at the end, naming the records.

    :param records: what to synchronise (templated): a list of per-item dicts, a single dict, a bulk run summary
        (``items`` or ``items_path``), or the path of a JSON-lines file of per-item results.
    :param crm_conn_id: the ``crm_webhook`` connection.
    :param max_concurrency: deliveries in flight at once (threads sharing one pooled session).
    :param fields: extra payload fields, ``{output name: source}``. ``source`` is a dotted path looked up in the
        record first, then in the standard payload (``{"case_id": "external_id"}`` adds ``case_id``;
        ``{"priority": "routing.priority"}`` reads a nested value; a missing source gives ``None``). A ``None``
        source removes that output field, so ``{"case_id": "external_id", "external_id": None}`` renames.
    """

    template_fields: Sequence[str] = ("records", "crm_conn_id", "fields")
    template_fields_renderers = {"records": "json", "fields": "json"}
    ui_color = "#ff4f1f"

    def __init__(
        self,
        *,
        records: Any,
        crm_conn_id: str = CrmWebhookHook.default_conn_name,
        max_concurrency: int = 4,
        fields: dict[str, str | None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.records = records
        self.crm_conn_id = crm_conn_id
        self.max_concurrency = max_concurrency
        self.fields = fields

    @cached_property
    def hook(self) -> CrmWebhookHook:
        """The CRM hook, built on first use."""
        return CrmWebhookHook(self.crm_conn_id, pool_maxsize=self.max_concurrency)

    # -- payloads -----------------------------------------------------------------------------------------

    def build_payload(self, record: Mapping[str, Any], *, now: str) -> dict[str, Any]:
        """The JSON sent for one record (standard fields, then :attr:`fields` applied)."""
        key = _first(record, "key", "idempotency_key")
        interaction_id = interaction_id_of(record)
        payload: dict[str, Any] = {
            "interaction_id": interaction_id,
            "kind": record.get("kind") or "interaction",
            "type": _first(record, "type", "interaction_type", "request.type", "payload.type"),
            "queue_id": _first(
                record,
                "queue_id",
                "queueId",
                "routing.queue.id",
                "request.routing.queue.id",
                "payload.routing.queue.id",
            ),
            "external_id": record.get("external_id"),
            "idempotency_key": key,
            "outcome": record.get("outcome") or "created",
            "timestamp": _first(record, "timestamp", "createTime", "dateCreated") or now,
        }
        standard = dict(payload)
        for output, source in (self.fields or {}).items():
            if source is None:
                payload.pop(output, None)
                continue
            value = _lookup(record, source)
            payload[output] = value if value is not None else _lookup(standard, source)
        return payload

    @staticmethod
    def webhook_id_for(record: Mapping[str, Any]) -> str:
        """The record's idempotency key, or one derived from its interaction id."""
        key = _first(record, "key", "idempotency_key")
        if key:
            return str(key)
        return sha256(f"crm-sync:v1:{interaction_id_of(record)}".encode()).hexdigest()

    # -- execution ----------------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        items = load_records(self.records)
        self.hook.settings  # noqa: B018 -- read the connection first: a bad one fails before anything is sent
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

        skipped_by_outcome: Counter[str] = Counter()
        jobs: list[tuple[int, dict[str, Any], str, dict[str, Any]]] = []
        seen: set[str] = set()
        duplicates = 0
        for index, record in enumerate(items):
            outcome = record.get("outcome") or ("created" if interaction_id_of(record) else None)
            if outcome not in SYNCABLE_OUTCOMES:
                skipped_by_outcome[str(outcome or "unknown")] += 1
                continue
            if not interaction_id_of(record):
                skipped_by_outcome["no_interaction_id"] += 1
                continue
            webhook_id = self.webhook_id_for(record)
            if webhook_id in seen:
                duplicates += 1
                continue
            seen.add(webhook_id)
            position = record.get("position", index)
            jobs.append((position, record, webhook_id, self.build_payload(record, now=now)))

        if skipped_by_outcome:
            self.log.info(
                "Skipping %d record(s) not to synchronise: %s",
                sum(skipped_by_outcome.values()),
                dict(skipped_by_outcome),
            )
        self.log.info("Delivering %d record(s) to CRM connection %r", len(jobs), self.crm_conn_id)

        def run(job: tuple[int, dict[str, Any], str, dict[str, Any]]) -> dict[str, Any]:
            position, record, webhook_id, payload = job
            return self._deliver_one(position, record, webhook_id, payload)

        if jobs:
            with ThreadPoolExecutor(
                max_workers=min(self.max_concurrency, len(jobs)), thread_name_prefix="crm-sync"
            ) as pool:
                receipts = list(pool.map(run, jobs))
        else:
            receipts = []

        audits = [self._audit(context, receipt, job[3]) for receipt, job in zip(receipts, jobs, strict=True)]
        for audit in audits:
            self.log.info("%s", json.dumps(audit, sort_keys=True, separators=(",", ":"), default=str))
        context["ti"].xcom_push(key=CRM_AUDIT_XCOM_KEY, value=audits)

        states = Counter(receipt["state"] for receipt in receipts)
        summary: dict[str, Any] = {
            "total": len(items),
            "deliverable": len(jobs),
            "delivered": states["delivered"],
            "accepted": states["accepted"],
            "failed": states["failed"],
            "skipped": sum(skipped_by_outcome.values()),
            "skipped_by_outcome": dict(skipped_by_outcome),
            "duplicates_in_input": duplicates,
            "receipts": receipts,
        }
        self.log.info(
            "CRM sync: %d delivered, %d accepted (pending), %d failed, %d skipped",
            summary["delivered"],
            summary["accepted"],
            summary["failed"],
            summary["skipped"],
        )
        failed = [receipt for receipt in receipts if receipt["state"] == "failed"]
        if failed:
            permanent = not any(receipt.get("retryable") for receipt in failed)
            error = CrmSyncError(
                render_failures(f"{len(failed)} of {len(jobs)} CRM deliveries failed:", failed),
                failed=failed,
                permanent=permanent,
            )
            if permanent:
                raise AirflowFailException(str(error)) from error
            raise error
        return summary

    def _deliver_one(
        self, position: int, record: Mapping[str, Any], webhook_id: str, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        receipt: dict[str, Any] = {
            "position": position,
            "webhook_id": webhook_id,
            "interaction_id": interaction_id_of(record),
            "external_id": record.get("external_id"),
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
            result = self.hook.deliver(payload, webhook_id=webhook_id)
        except CrmDeliveryError as error:
            receipt.update(
                http_status=error.status,
                attempts=error.attempts,
                reason=error.message,
                retryable=error.retryable,
            )
        except Exception as error:  # a bug or an unforeseen library error: record it, keep the others going
            receipt.update(reason=redact(f"{type(error).__name__}: {error}"[:300], self._secrets()), retryable=True)
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

    def _secrets(self) -> tuple[str, ...]:
        secret = self.hook.settings.signing_secret
        return (secret, secret.removeprefix("whsec_"))

    def _audit(self, context: Context, receipt: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
        ti = context["ti"]
        return {
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "dag_id": ti.dag_id,
            "task_id": ti.task_id,
            "run_id": context.get("run_id") or getattr(ti, "run_id", None),
            "map_index": getattr(ti, "map_index", -1),
            "try_number": getattr(ti, "try_number", None),
            "kind": "crm_delivery",
            "crm_conn_id": self.crm_conn_id,
            "webhook_id": receipt["webhook_id"],
            "idempotency_key": payload.get("idempotency_key"),
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
