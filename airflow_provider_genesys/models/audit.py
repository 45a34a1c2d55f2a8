"""Audit data: one record per attempted create, compact per-item results and a run summary (no I/O).

An :class:`AuditRecord` goes to XCom under ``genesys_audit`` (bulk runs add a :class:`RunSummary` under
``genesys_audit_summary``) and, as one JSON line, to the task log. It carries the idempotency key, so a person
can trace any record back to the DAG, task and run that made it. It never holds a secret or a token: ``error``
is redacted by the caller, and credential-shaped text is blanked once more here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from airflow_provider_genesys.utils.redaction import redact

Outcome = Literal["created", "replayed", "invalid", "failed"]

#: XCom key of the per-record audit (one record, or a list for bulk runs).
AUDIT_XCOM_KEY = "genesys_audit"
#: XCom key of a bulk run's :class:`RunSummary`.
AUDIT_SUMMARY_XCOM_KEY = "genesys_audit_summary"


def utc_now_iso() -> str:
    """Return the current UTC time as ISO-8601 with milliseconds and a ``Z`` suffix."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _AuditModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_xcom(self) -> dict[str, Any]:
        """Return a JSON-safe dict (what XCom stores)."""
        return self.model_dump(mode="json")

    def to_json_line(self) -> str:
        """Return compact JSON with sorted keys, on one line (for logs and JSON-lines files)."""
        return json.dumps(self.to_xcom(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class AuditRecord(_AuditModel):
    """What happened to one record: who asked, what was validated and sent, what came back.

    :param timestamp: UTC ISO-8601 time the record was written (defaults to now).
    :param dag_id: the DAG id.
    :param task_id: the task id.
    :param run_id: the DAG run id.
    :param map_index: the task's map index (``-1`` when not mapped).
    :param try_number: Airflow's try number (recorded, never part of the idempotency key).
    :param kind: the kind of record (``interaction``, ``workitem``, ``callback``, ``email``...).
    :param interaction_type: the interaction's ``type`` (voice, chat...), when the kind has one.
    :param idempotency_key: the derived key (``None`` when validation failed before one was derived).
    :param external_id: the item's own id, when it has one.
    :param position: the item's position in a bulk batch.
    :param validation_passed: whether the payload passed validation.
    :param validation_errors: every validation problem, as ``path: message`` strings.
    :param http_status: HTTP status of the last attempt (``None`` when nothing was sent or no response came).
    :param attempts: number of HTTP attempts for the create itself.
    :param latency_ms: Genesys' time: the HTTP round trips of the record's requests (lookups and retries included),
        summed, in milliseconds — neither the pacing wait nor the backoff between attempts.
    :param pacing_wait_ms: the client's time: how long the record's requests waited for their pacing slots
        (``requests_per_minute``, and shared pauses after a 429), in milliseconds.
    :param outcome: ``created``, ``replayed`` (an earlier attempt had created it), ``invalid`` or ``failed``.
    :param interaction_id: the id of the created (or found) record.
    :param correlation_id: the ``ININ-Correlation-Id`` of the last response.
    :param oauth_client_id: the OAuth client id that made the call (an id, not a secret).
    :param error: the error message, already redacted by the caller.
    :param requests_sent: every HTTP request this record cost (lookups and retries included).
    :param queue_id: the routing queue the record targets, when it has one (for CRM sync).
    :param resumed: an earlier execution of the task settled this item; nothing was sent this time.
    """

    timestamp: str = Field(default_factory=utc_now_iso)
    dag_id: str
    task_id: str
    run_id: str
    map_index: int
    try_number: int = Field(ge=0)
    kind: str
    interaction_type: str | None = None
    idempotency_key: str | None = None
    external_id: str | None = None
    position: int | None = Field(default=None, ge=0)
    validation_passed: bool
    validation_errors: list[str] = Field(default_factory=list)
    http_status: int | None = None
    attempts: int = Field(default=0, ge=0)
    latency_ms: float | None = Field(default=None, ge=0)
    pacing_wait_ms: float | None = Field(default=None, ge=0)
    outcome: Outcome
    interaction_id: str | None = None
    correlation_id: str | None = None
    oauth_client_id: str | None = None
    error: str | None = None
    requests_sent: int = Field(default=0, ge=0)
    queue_id: str | None = None
    resumed: bool = False

    @field_validator("error")
    @classmethod
    def _blank_credentials(cls, error: str | None) -> str | None:
        return None if error is None else redact(error)

    @model_validator(mode="after")
    def _outcome_matches_validation(self) -> AuditRecord:
        if (self.outcome == "invalid") == self.validation_passed:
            raise ValueError("outcome 'invalid' goes with validation_passed=False, and only that outcome does")
        return self


class ItemResult(_AuditModel):
    """Compact result of one item of a bulk run (the full :class:`AuditRecord` may go to a file instead).

    :param position: the item's position in the batch (0-based).
    :param external_id: the item's own id, when it has one.
    :param key: its idempotency key.
    :param outcome: ``created``, ``replayed``, ``invalid`` or ``failed``.
    :param interaction_id: the id of the created (or found) record.
    :param kind: the kind of record.
    :param interaction_type: the interaction's type, when the kind has one.
    :param queue_id: the routing queue, when the record has one.
    :param http_status: HTTP status of the last attempt.
    :param error_code: the Genesys error code (``bad.request``...) or a validation marker.
    :param correlation_id: the ``ININ-Correlation-Id`` of the last response.
    :param error: the redacted error message.
    """

    position: int = Field(ge=0)
    outcome: Outcome
    external_id: str | None = None
    key: str | None = None
    interaction_id: str | None = None
    kind: str | None = None
    interaction_type: str | None = None
    queue_id: str | None = None
    http_status: int | None = None
    error_code: str | None = None
    correlation_id: str | None = None
    error: str | None = None

    @field_validator("error")
    @classmethod
    def _blank_credentials(cls, error: str | None) -> str | None:
        return None if error is None else redact(error)

    @classmethod
    def from_audit_record(cls, record: AuditRecord, *, error_code: str | None = None) -> ItemResult:
        """Condense an :class:`AuditRecord` of a bulk item (its ``position`` must be set).

        :param record: the item's audit record.
        :param error_code: the Genesys error code, when the caller knows it.
        :raises ValueError: when the record has no position.
        """
        if record.position is None:
            raise ValueError("a bulk item's audit record needs a position")
        return cls(
            position=record.position,
            outcome=record.outcome,
            external_id=record.external_id,
            key=record.idempotency_key,
            interaction_id=record.interaction_id,
            kind=record.kind,
            interaction_type=record.interaction_type,
            queue_id=record.queue_id,
            http_status=record.http_status,
            error_code=error_code,
            correlation_id=record.correlation_id,
            error=record.error,
        )


class RunSummary(_AuditModel):
    """Totals of one bulk run.

    :param total: items in the batch.
    :param valid: items that passed validation.
    :param invalid: items that failed validation (never sent).
    :param created: records created by this run.
    :param replayed: records an earlier attempt had already created (found, not created again).
    :param failed: valid items whose create failed.
    :param validation_pass_rate: ``valid / total`` (1.0 for an empty batch).
    :param latency_ms_p50: median per-item latency — HTTP round trips, not pacing waits (nearest rank, see
        :meth:`percentile`).
    :param latency_ms_p95: 95th percentile per-item latency (nearest rank).
    :param latency_ms_max: slowest per-item latency.
    :param pacing_wait_ms_p50: median per-item wait for pacing slots (the client's queue).
    :param pacing_wait_ms_p95: 95th percentile per-item wait for pacing slots.
    :param requests_sent: every HTTP request the run made (lookups and retries included).
    :param throttled_429: how many responses were HTTP 429.
    :param wall_seconds: wall-clock duration of the run.
    :param resumed: replayed items that an earlier execution had settled (skipped without a request).
    :param items: per-item results, when they are small enough for XCom.
    :param items_path: where the per-item results were written instead, when they were.
    :param audit_path: where the full audit records were written, when they were.
    """

    total: int = Field(ge=0)
    valid: int = Field(ge=0)
    invalid: int = Field(ge=0)
    created: int = Field(ge=0)
    replayed: int = Field(ge=0)
    failed: int = Field(ge=0)
    validation_pass_rate: float = Field(ge=0.0, le=1.0)
    latency_ms_p50: float | None = None
    latency_ms_p95: float | None = None
    latency_ms_max: float | None = None
    pacing_wait_ms_p50: float | None = None
    pacing_wait_ms_p95: float | None = None
    requests_sent: int = Field(default=0, ge=0)
    throttled_429: int = Field(default=0, ge=0)
    wall_seconds: float = Field(default=0.0, ge=0.0)
    resumed: int = Field(default=0, ge=0)
    items: list[ItemResult] | None = None
    items_path: str | None = None
    audit_path: str | None = None

    @staticmethod
    def percentile(values: Sequence[float], q: float) -> float | None:
        """Return the nearest-rank percentile of ``values``; ``None`` when there are none.

        Nearest rank: sort the values and take the one at 1-based rank ``ceil(q * n)`` (at least 1), so the
        result is always an observed value (p50 of ``[1, 2, 3, 4]`` is 2, p95 of 20 values is the 19th).

        :param values: the observations (any order).
        :param q: the quantile as a fraction, 0..1 (0.95 for p95).
        :raises ValueError: when ``q`` is outside 0..1.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"q must be between 0 and 1, got {q}")
        if not values:
            return None
        ordered = sorted(values)
        rank = max(1, math.ceil(q * len(ordered)))
        return float(ordered[rank - 1])

    @classmethod
    def from_records(
        cls,
        records: Sequence[AuditRecord],
        *,
        wall_seconds: float,
        throttled_429: int = 0,
        include_items: bool = True,
        items_path: str | None = None,
        audit_path: str | None = None,
    ) -> RunSummary:
        """Summarise the audit records of one bulk run.

        :param records: one record per item.
        :param wall_seconds: wall-clock duration of the run.
        :param throttled_429: how many 429 responses the run saw.
        :param include_items: put per-item results in the summary (turn off when they went to ``items_path``).
        :param items_path: where per-item results were written, if anywhere.
        :param audit_path: where full audit records were written, if anywhere.
        """
        total = len(records)
        valid = sum(1 for record in records if record.validation_passed)
        latencies = [record.latency_ms for record in records if record.latency_ms is not None]
        items: list[ItemResult] | None = None
        if include_items:
            items = [
                ItemResult.from_audit_record(
                    record if record.position is not None else record.model_copy(update={"position": index})
                )
                for index, record in enumerate(records)
            ]
        return cls(
            total=total,
            valid=valid,
            invalid=total - valid,
            created=sum(1 for record in records if record.outcome == "created"),
            replayed=sum(1 for record in records if record.outcome == "replayed"),
            failed=sum(1 for record in records if record.outcome == "failed"),
            validation_pass_rate=valid / total if total else 1.0,
            latency_ms_p50=cls.percentile(latencies, 0.50),
            latency_ms_p95=cls.percentile(latencies, 0.95),
            latency_ms_max=max(latencies) if latencies else None,
            requests_sent=sum(record.requests_sent for record in records),
            throttled_429=throttled_429,
            wall_seconds=wall_seconds,
            items=items,
            items_path=items_path,
            audit_path=audit_path,
        )
