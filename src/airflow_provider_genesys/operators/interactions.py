"""Operators that create Genesys Cloud records exactly once: one at a time, or thousands in one task."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException
from pydantic import BaseModel

from airflow_provider_genesys.auditing import JsonLinesWriter, default_state_dir, resolve_audit_file, task_scope
from airflow_provider_genesys.checkpoint import Checkpoint
from airflow_provider_genesys.creation import (
    CreationEngine,
    ItemOutcome,
    TaskIdentity,
    describe_item,
    invalid_audit,
    prepare_item,
)
from airflow_provider_genesys.errors import FieldError, GenesysApiError, InteractionValidationError, redact
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from airflow_provider_genesys.journal import SendJournal
from airflow_provider_genesys.kinds import KindSpec, PayloadChangedError, PreparedItem, get_kind
from airflow_provider_genesys.links import GenesysInteractionLink, record_url
from airflow_provider_genesys.models.audit import (
    AUDIT_SUMMARY_XCOM_KEY,
    AUDIT_XCOM_KEY,
    AuditRecord,
    ItemResult,
    RunSummary,
)
from airflow_provider_genesys.routing import RoutingValidator
from airflow_provider_genesys.sources import Row, RowError, read_rows
from airflow_provider_genesys.strategies import OutcomeUnknownError

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Above this many items, per-item results and audit records go to JSON-lines files and XCom holds their paths.
XCOM_ITEMS_THRESHOLD = 1000
#: How many invalid/failed items a task failure message lists (all of them are in XCom / the files).
REPORT_LINES = 50


def _as_payload(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return value


class _GenesysCreateBase(BaseOperator):
    """What both create operators share: the hook, the kind, and where audit records go."""

    operator_extra_links = (GenesysInteractionLink(),)
    genesys_record_url: str = ""

    def __init__(
        self,
        *,
        genesys_conn_id: str = GenesysCloudHook.default_conn_name,
        kind: str = "interaction",
        audit_path: str | None = None,
        validate_routing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.genesys_conn_id = genesys_conn_id
        self.kind = kind
        self.audit_path = audit_path
        self.validate_routing = validate_routing

    @cached_property
    def hook(self) -> GenesysCloudHook:
        """The Genesys hook (built on first use, never in ``__init__``)."""
        return GenesysCloudHook(genesys_conn_id=self.genesys_conn_id)

    @property
    def spec(self) -> KindSpec:
        """The row of the kinds table for ``kind``."""
        return get_kind(str(self.kind))

    @cached_property
    def routing_validator(self) -> RoutingValidator:
        """Checks queues and skills once per task run (``validate_routing=True``)."""
        return RoutingValidator(self.hook)

    def _check_routing(self, spec: KindSpec, item: PreparedItem, label: str | None) -> None:
        """Raise the routing problems of ``item`` as validation errors (``validate_routing=True`` only)."""
        if not self.validate_routing:
            return
        problems = self.routing_validator.problems(spec.routing_refs(item.body))
        if problems:
            raise InteractionValidationError(errors=problems, item=label, kind=spec.name)

    @staticmethod
    def _open_journal(spec: KindSpec, task: TaskIdentity) -> SendJournal | None:
        """The send journal of this task instance, for kinds that keep one (opened before anything is sent)."""
        return SendJournal.open(task, spec.name) if spec.journaled else None

    @staticmethod
    def _resumed(task: TaskIdentity, journal: SendJournal | None) -> bool:
        """An earlier execution of this task instance may have created records (try > 1, or its journal says so)."""
        return task.try_number > 1 or (journal is not None and journal.resumed)

    def _client_id(self) -> str | None:
        try:
            return self.hook.client_id
        except Exception:  # a broken connection must not hide the validation report
            return None

    def _log_audit(self, audit: AuditRecord) -> None:
        self.log.info("genesys_audit %s", audit.to_json_line())

    def _record_url(self, record_id: str | None) -> str:
        endpoints = self.hook.endpoints
        return record_url(
            endpoints.apps_base,
            endpoints.is_custom_host,
            self.spec.ui_path(record_id or ""),
            record_id,
        )


class GenesysCreateInteractionOperator(_GenesysCreateBase):
    """Validate one record and create it in Genesys Cloud exactly once.

    The idempotency key is derived from the task instance (dag id, task id, run id, map index), the kind and the
    item's identity (``external_id`` when given, else the canonical payload), so Airflow retries and a clear in
    the UI reuse the key and never create a second record; a new DAG run creates a new one.

    Returns the record (JSON-safe dict) as the XCom return value and pushes an audit record under XCom key
    ``genesys_audit``; the same record is logged as one JSON line and, with ``audit_path``, appended to a file.

    :param interaction: the request body (dict or pydantic model) of the chosen ``kind``. Templated.
    :param genesys_conn_id: Airflow connection of type ``genesys_cloud``.
    :param kind: ``interaction`` (default, ``/api/v2/interactions``) or another row of the kinds table. Templated.
    :param external_id: the item's own stable id (a CRM case id...); becomes its identity in the key. Templated.
    :param audit_path: file (``*.jsonl``) or directory/URI that receives audit records of every try. Templated.
    :param validate_routing: before creating, check that the record's queue and skills exist in Genesys and
        the skills are active (one lookup each per task run); a problem fails the task like invalid input.
    """

    template_fields: Sequence[str] = ("interaction", "external_id", "kind", "audit_path", "genesys_conn_id")
    template_fields_renderers = {"interaction": "json"}
    ui_color = "#ff4f1f"

    def __init__(
        self,
        *,
        interaction: dict[str, Any] | BaseModel | str,
        genesys_conn_id: str = GenesysCloudHook.default_conn_name,
        kind: str = "interaction",
        external_id: str | None = None,
        audit_path: str | None = None,
        validate_routing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            genesys_conn_id=genesys_conn_id,
            kind=kind,
            audit_path=audit_path,
            validate_routing=validate_routing,
            **kwargs,
        )
        self.interaction = interaction
        self.external_id = external_id

    def _payload(self) -> Any:
        payload = _as_payload(self.interaction)
        if isinstance(payload, str):
            # a Jinja-rendered JSON string (e.g. "{{ params.interaction | tojson }}")
            try:
                payload = json.loads(payload)
            except json.JSONDecodeError as exc:
                raise InteractionValidationError(
                    errors=[FieldError(path="", message=f"not a JSON object ({exc.msg})")], kind=str(self.kind)
                ) from None
        return payload

    def execute(self, context: Context) -> dict[str, Any]:
        task = TaskIdentity.from_context(context)
        spec = self.spec
        external_id = None if self.external_id in (None, "") else str(self.external_id)
        journal = self._open_journal(spec, task)
        try:
            item = prepare_item(spec, self._payload(), task, external_id=external_id)
            self._check_routing(spec, item, None)
        except InteractionValidationError as error:
            audit = invalid_audit(
                task, spec, error, position=None, external_id=external_id, oauth_client_id=self._client_id()
            )
            self._emit(context, task, audit)
            raise AirflowFailException(f"{error}\nNo create request was sent to Genesys.") from None

        engine = CreationEngine(self.hook, spec, task, logger=self.log, journal=journal)
        outcome = engine.create_one(item, outcome_unknown=self._resumed(task, journal))
        self._emit(context, task, outcome.audit)
        if outcome.audit.outcome == "failed":
            failure = outcome.error or GenesysApiError(status=None, message=outcome.audit.error or "")
            if isinstance(failure, (PayloadChangedError, OutcomeUnknownError)):
                # no later try can do better: retrying would only repeat this answer
                raise AirflowFailException(str(failure)) from None
            raise failure
        self.genesys_record_url = self._record_url(outcome.audit.interaction_id)
        self.log.info(
            "%s %s %s (key %s).",
            "Created" if outcome.audit.outcome == "created" else "Replayed",
            spec.name,
            outcome.audit.interaction_id,
            item.key,
        )
        return dict(outcome.record or {})

    def _emit(self, context: Context, task: TaskIdentity, audit: AuditRecord) -> None:
        self._log_audit(audit)
        context["ti"].xcom_push(key=AUDIT_XCOM_KEY, value=audit.to_xcom())
        if self.audit_path:
            with JsonLinesWriter(resolve_audit_file(str(self.audit_path), task)) as writer:
                writer.write(audit.to_json_line())


class GenesysBulkCreateInteractionsOperator(_GenesysCreateBase):
    """Validate and create many records in one task: bounded concurrency, paced, exactly once, resumable.

    Items come from ``interactions`` (a list of dicts, e.g. an upstream XCom) or ``source`` (a JSON-lines or CSV
    file, read streaming). Each item's key is derived like the single operator's, with the item identity = its
    ``external_id_field`` value, else its position plus canonical payload. Duplicate external ids are invalid.

    ``on_invalid="fail"`` validates everything first and sends nothing if any item is invalid;
    ``on_invalid="skip"`` creates the valid items, reports the invalid ones, and fails the task at the end unless
    ``max_invalid`` (a count, or a fraction below 1 such as ``0.01``) allows them. Items that still fail after the
    hook's retries are reported and fail the task at the end; a retry or clear re-sends only what the key makes
    safe to re-send (a replay costs at most one request, and nothing is created twice).

    Returns a :class:`~airflow_provider_genesys.models.audit.RunSummary` dict. Up to 1,000 items, per-item
    results are in it (``items``) and the audit records are in XCom ``genesys_audit``; above that, both go to
    JSON-lines files whose paths are in the summary (``items_path``, ``audit_path``).

    :param interactions: list of request bodies (templated; an XComArg works).
    :param source: path or URI of a ``*.jsonl`` / ``*.csv`` file (templated).
    :param genesys_conn_id: Airflow connection of type ``genesys_cloud``.
    :param kind: the kind of record (templated).
    :param max_concurrency: requests in flight at once.
    :param requests_per_minute: pacing budget; default: the connection's (300).
    :param on_invalid: ``fail`` or ``skip``.
    :param max_invalid: with ``skip``, how many invalid items are tolerated (count, or fraction < 1).
    :param external_id_field: the field holding an item's own id; it is removed from the body before validation.
    :param audit_path: file (``*.jsonl``) or directory/URI for audit records and per-item results (templated).
    :param progress_interval: seconds between progress lines in the log.
    :param resume: skip the items an earlier execution of this task instance settled (kept in a checkpoint file
        under ``GENESYS_PROVIDER_STATE_DIR``); they are reported ``replayed`` without a request. Without the file
        (another worker, ``resume=False``) they are sent again and replayed by their key.
    :param validate_routing: check every item's queue and skills in Genesys during validation (each id is
        looked up once per task run); items with a problem are invalid items.
    """

    template_fields: Sequence[str] = (
        "interactions",
        "source",
        "kind",
        "audit_path",
        "genesys_conn_id",
        "external_id_field",
    )
    ui_color = "#ff4f1f"

    def __init__(
        self,
        *,
        interactions: list[dict[str, Any]] | str | None = None,
        source: str | None = None,
        genesys_conn_id: str = GenesysCloudHook.default_conn_name,
        kind: str = "interaction",
        max_concurrency: int = 8,
        requests_per_minute: int | None = None,
        on_invalid: str = "fail",
        max_invalid: int | float = 0,
        external_id_field: str = "external_id",
        audit_path: str | None = None,
        progress_interval: float = 10.0,
        resume: bool = True,
        validate_routing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            genesys_conn_id=genesys_conn_id,
            kind=kind,
            audit_path=audit_path,
            validate_routing=validate_routing,
            **kwargs,
        )
        if on_invalid not in ("fail", "skip"):
            raise ValueError(f"on_invalid must be 'fail' or 'skip', not {on_invalid!r}")
        if interactions is None and source is None:
            raise ValueError("Give either interactions= or source=")
        if interactions is not None and source is not None:
            raise ValueError("Give interactions= or source=, not both")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.interactions = interactions
        self.source = source
        self.max_concurrency = max_concurrency
        self.requests_per_minute = requests_per_minute
        self.on_invalid = on_invalid
        self.max_invalid = max_invalid
        self.external_id_field = external_id_field
        self.progress_interval = progress_interval
        self.resume = resume

    @cached_property
    def hook(self) -> GenesysCloudHook:
        """The Genesys hook, sized for ``max_concurrency`` threads."""
        return GenesysCloudHook(
            genesys_conn_id=self.genesys_conn_id,
            requests_per_minute=self.requests_per_minute,
            pool_maxsize=max(32, self.max_concurrency * 2),
        )

    # -- input ------------------------------------------------------------------------------------------

    def _rows(self) -> Iterator[Row | RowError]:
        if self.source is not None:
            yield from read_rows(str(self.source), text_columns=(self.external_id_field,))
            return
        items: Any = self.interactions
        if isinstance(items, str):
            items = json.loads(items)
        if isinstance(items, Mapping):
            items = [items]
        for position, item in enumerate(items or []):
            yield Row(line=position + 1, data=_as_payload(item))

    def _split(self, data: Any) -> tuple[str | None, Any]:
        if not isinstance(data, Mapping) or self.external_id_field not in data:
            return None, data
        payload = dict(data)
        raw = payload.pop(self.external_id_field)
        return (None if raw in (None, "") else str(raw)), payload

    def _prepared(
        self, spec: KindSpec, task: TaskIdentity
    ) -> Iterator[tuple[int, str | None, PreparedItem | InteractionValidationError]]:
        """Every item in order: its position, external id, and the prepared item or its validation error."""
        seen: dict[str, int] = {}
        for position, row in enumerate(self._rows()):
            if isinstance(row, RowError):
                yield (
                    position,
                    None,
                    InteractionValidationError(
                        errors=[FieldError(path=f"line {row.line}", message=row.message)],
                        item=describe_item(position, None),
                        kind=spec.name,
                    ),
                )
                continue
            external_id, payload = self._split(row.data)
            if external_id is not None and external_id in seen:
                yield (
                    position,
                    external_id,
                    InteractionValidationError(
                        errors=[
                            FieldError(
                                path=self.external_id_field,
                                message=f"duplicate external id: item {seen[external_id]} has the same one",
                            )
                        ],
                        item=describe_item(position, external_id),
                        kind=spec.name,
                    ),
                )
                continue
            if external_id is not None:
                seen[external_id] = position
            try:
                prepared = prepare_item(spec, payload, task, position=position, external_id=external_id)
                self._check_routing(spec, prepared, describe_item(position, external_id))
                yield position, external_id, prepared
            except InteractionValidationError as error:
                yield position, external_id, error

    # -- run --------------------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        started = time.monotonic()
        task = TaskIdentity.from_context(context)
        spec = self.spec
        client_id = self._client_id()
        journal = self._open_journal(spec, task)
        # kinds with a send journal resume through it; the others through the checkpoint
        checkpoint = Checkpoint.for_task(task, spec.name) if self.resume and journal is None else None
        settled = checkpoint.load() if checkpoint is not None else {}

        # Pass 1: validate everything (streaming), so bad input is reported before anything is sent.
        total = valid = already_settled = 0
        invalid_audits: list[AuditRecord] = []
        invalid_errors: list[InteractionValidationError] = []
        for position, external_id, prepared in self._prepared(spec, task):
            total += 1
            if isinstance(prepared, InteractionValidationError):
                invalid_audits.append(
                    invalid_audit(
                        task, spec, prepared, position=position, external_id=external_id, oauth_client_id=client_id
                    )
                )
                invalid_errors.append(prepared)
            else:
                valid += 1
                already_settled += prepared.key in settled
        self.log.info("Validated %d item(s): %d valid, %d invalid.", total, valid, len(invalid_audits))
        if already_settled:
            self.log.info("Resuming: %d item(s) were settled by an earlier execution of this task.", already_settled)

        many = total > XCOM_ITEMS_THRESHOLD
        scope_dir = f"{self.audit_path.rstrip('/')}" if self.audit_path else default_state_dir()
        items_path = f"{scope_dir}/{task_scope(task)}/items-try-{task.try_number}.jsonl"
        audit_file = (
            resolve_audit_file(str(self.audit_path), task)
            if self.audit_path
            else (f"{default_state_dir()}/{task_scope(task)}/audit-try-{task.try_number}.jsonl" if many else None)
        )
        audit_writer = JsonLinesWriter(audit_file) if audit_file else None
        items_writer = JsonLinesWriter(items_path) if many else None
        results: list[ItemResult] = []
        kept_audits: list[dict[str, Any]] = []
        latencies: list[float] = []
        counts = {"created": 0, "replayed": 0, "failed": 0, "requests": 0, "resumed": 0}
        failures: list[ItemResult] = []

        def record(audit: AuditRecord, error_code: str | None = None) -> None:
            line = audit.to_json_line()
            if not many:
                self.log.info("genesys_audit %s", line)
                kept_audits.append(audit.to_xcom())
            if audit_writer is not None:
                audit_writer.write(line)
            result = ItemResult.from_audit_record(audit, error_code=error_code)
            if items_writer is not None:
                items_writer.write(result.to_json_line())
            else:
                results.append(result)
            if audit.outcome == "failed":
                failures.append(result)

        try:
            for audit in invalid_audits:
                record(audit, error_code="invalid")
            invalid_count = len(invalid_audits)
            if invalid_count and self.on_invalid == "fail":
                # the refused items' audit records reach XCom like any run's (the report below lists only 50)
                context["ti"].xcom_push(key=AUDIT_XCOM_KEY, value=kept_audits if not many else audit_file)
                raise AirflowFailException(
                    self._invalid_report(invalid_errors, total)
                    + "\nNo create request was sent (on_invalid='fail'). Fix the items, or use on_invalid='skip'."
                )

            def on_outcome(outcome: ItemOutcome) -> None:
                audit = outcome.audit
                counts["requests"] += audit.requests_sent
                if audit.outcome in counts:
                    counts[audit.outcome] += 1
                if audit.latency_ms is not None:
                    latencies.append(audit.latency_ms)
                if audit.resumed:
                    counts["resumed"] += 1
                elif checkpoint is not None and audit.outcome in ("created", "replayed"):
                    checkpoint.settled(str(audit.idempotency_key), audit.interaction_id)
                record(audit, error_code=outcome.error_code)

            engine = CreationEngine(
                self.hook,
                spec,
                task,
                max_concurrency=self.max_concurrency,
                progress_interval=self.progress_interval,
                logger=self.log,
                journal=journal,
            )

            def unsettled_items() -> Iterator[PreparedItem]:
                for _, _, prepared in self._prepared(spec, task):
                    if isinstance(prepared, InteractionValidationError):
                        continue
                    if prepared.key in settled:
                        on_outcome(engine.resumed(prepared, settled[prepared.key]))
                        continue
                    yield prepared

            valid_items: Iterator[PreparedItem] = unsettled_items()
            resumed = self._resumed(task, journal)
            if resumed and spec.bulk_lookup is not None:
                # one lookup for many keys instead of one per item
                valid_items = spec.bulk_lookup(self.hook, valid_items)
            engine.run(
                valid_items,
                total=valid - already_settled,
                on_outcome=on_outcome,
                outcome_unknown=lambda item: resumed and not item.looked_up,
            )
        finally:
            if audit_writer is not None:
                audit_writer.close()
            if items_writer is not None:
                items_writer.close()
            if checkpoint is not None:
                checkpoint.close()

        summary = RunSummary(
            total=total,
            valid=valid,
            invalid=invalid_count,
            created=counts["created"],
            replayed=counts["replayed"],
            failed=counts["failed"],
            validation_pass_rate=valid / total if total else 1.0,
            latency_ms_p50=RunSummary.percentile(latencies, 0.5),
            latency_ms_p95=RunSummary.percentile(latencies, 0.95),
            latency_ms_max=max(latencies) if latencies else None,
            requests_sent=self.hook.requests_sent,
            throttled_429=self.hook.throttled,
            wall_seconds=round(time.monotonic() - started, 3),
            resumed=counts["resumed"],
            items=None if many else sorted(results, key=lambda result: result.position),
            items_path=items_path if many else None,
            audit_path=audit_file,
        )
        summary_xcom = summary.to_xcom()
        self.log.info("genesys_audit_summary %s", summary.model_copy(update={"items": None}).to_json_line())
        ti = context["ti"]
        ti.xcom_push(key=AUDIT_SUMMARY_XCOM_KEY, value={k: v for k, v in summary_xcom.items() if k != "items"})
        ti.xcom_push(key=AUDIT_XCOM_KEY, value=kept_audits if not many else audit_file)

        problems = []
        if failures:
            problems.append(self._failure_report(failures))
        if invalid_count and not self._invalid_allowed(invalid_count, total):
            problems.append(
                self._invalid_report(invalid_errors, total)
                + f"\nmax_invalid={self.max_invalid!r} allows fewer; the valid items were created."
            )
        if problems:
            message = "\n".join(problems)
            if not any(_retry_may_help(result) for result in failures):
                # invalid input, 4xx rejections and unknown outcomes stay as they are on a retry
                raise AirflowFailException(message + "\nA retry cannot change this outcome; not retrying.")
            raise GenesysBulkCreateError(message, summary=summary_xcom)
        return summary_xcom

    def _invalid_allowed(self, invalid: int, total: int) -> bool:
        limit = self.max_invalid
        if isinstance(limit, float) and 0 < limit < 1:
            return invalid <= limit * total
        return invalid <= int(limit)

    @staticmethod
    def _invalid_report(errors: list[InteractionValidationError], total: int) -> str:
        lines = [f"{len(errors)} of {total} item(s) are invalid:"]
        for error in errors[:REPORT_LINES]:
            lines.append(str(error))
        if len(errors) > REPORT_LINES:
            lines.append(f"... and {len(errors) - REPORT_LINES} more (all are in the audit records).")
        return "\n".join(lines)

    @staticmethod
    def _failure_report(failures: list[ItemResult]) -> str:
        lines = [f"{len(failures)} item(s) failed after retries (a retry of this task re-sends only safely):"]
        for result in sorted(failures, key=lambda r: r.position)[:REPORT_LINES]:
            lines.append(
                f"  - {describe_item(result.position, result.external_id)}: status={result.http_status} "
                f"code={result.error_code} correlation_id={result.correlation_id} error={redact(result.error or '')}"
            )
        if len(failures) > REPORT_LINES:
            lines.append(f"  ... and {len(failures) - REPORT_LINES} more (see the per-item results).")
        return "\n".join(lines)


def _retry_may_help(result: ItemResult) -> bool:
    """A failed item may succeed on a retry: throttled, a server or network failure, not an unknown outcome."""
    if result.error_code == "outcome.unknown":
        return False
    return result.http_status is None or result.http_status >= 500 or result.http_status in (408, 409, 429)


class GenesysBulkCreateError(GenesysApiError):
    """A bulk run finished with failed or too many invalid items; ``summary`` holds the run's summary."""

    def __init__(self, message: str, *, summary: dict[str, Any]) -> None:
        super().__init__(status=None, message=message)
        self.summary = summary

    def _render(self) -> str:
        return self.message
