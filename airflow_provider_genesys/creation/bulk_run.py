"""A bulk run's bookkeeping: two passes over the input, the engine, outputs, counters, summary and verdict.

Before anything else, every output location is probed (the audit path, the state directory, the per-item
results): a location that cannot be written fails the run with its path and the fix, before the first request.
The source is read once (:meth:`BulkInput.load` spools it); pass 1 validates everything (streaming), so bad
input is reported before anything is sent; pass 2 creates the valid items that an earlier execution of the task
instance has not settled, and checks that it saw the very items pass 1 validated. Per-item results and audit
records go to XCom while the run's XCom stays within ``[genesys] xcom_max_bytes`` and to JSON-lines files beyond
(:class:`BulkOutputs`). The result says what to push and whether the task should fail, and whether a retry could
change that.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.creation.engine import CreationEngine, invalid_audit
from airflow_provider_genesys.creation.inputs import BulkInput, ItemCheck
from airflow_provider_genesys.creation.items import NO_RECORD_CODE, ItemOutcome, KindSpec, PreparedItem
from airflow_provider_genesys.creation.task import TaskIdentity, describe_item
from airflow_provider_genesys.exceptions import InteractionValidationError
from airflow_provider_genesys.models.audit import AuditRecord, ItemResult, RunSummary
from airflow_provider_genesys.utils import metrics
from airflow_provider_genesys.utils.audit_files import (
    LOG_RECORDS_MAX_ITEMS,
    default_state_dir,
    probe_location,
    resolve_audit_file,
    run_file,
)
from airflow_provider_genesys.utils.redaction import redact
from airflow_provider_genesys.utils.xcom_budget import SpillingRecords, xcom_max_bytes, xcom_size

if TYPE_CHECKING:
    from airflow_provider_genesys.creation.state import TaskState
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook

#: How many invalid/failed items a task failure message lists (all of them are in XCom / the files).
REPORT_LINES = 50
#: Error codes of a 2xx that was not a usable answer: a retry finds the record by its key, or creates it.
_UNREADABLE_ANSWER_CODES = frozenset({"answer.unreadable", NO_RECORD_CODE})

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BulkOptions:
    """How a bulk run behaves (the bulk operator's arguments).

    :param max_concurrency: requests in flight at once.
    :param on_invalid: ``fail`` (send nothing if any item is invalid) or ``skip``.
    :param max_invalid: with ``skip``, invalid items tolerated (a count, or a fraction below 1).
    :param audit_path: file (``*.jsonl``) or directory/URI for audit records and per-item results.
    :param progress_interval: seconds between progress lines in the log.
    :param resume: skip the items an earlier execution of this task instance settled (checkpoint).
    """

    max_concurrency: int = 8
    on_invalid: str = "fail"
    max_invalid: int | float = 0
    audit_path: str | None = None
    progress_interval: float = 10.0
    resume: bool = True

    def invalid_allowed(self, invalid: int, total: int) -> bool:
        """Whether ``invalid`` of ``total`` items stay within ``max_invalid``."""
        limit = self.max_invalid
        if isinstance(limit, float) and 0 < limit < 1:
            return invalid <= limit * total
        return invalid <= int(limit)


@dataclass
class ValidationReport:
    """What pass 1 found."""

    total: int = 0
    valid: int = 0
    already_settled: int = 0
    invalid_audits: list[AuditRecord] = field(default_factory=list)
    invalid_errors: list[InteractionValidationError] = field(default_factory=list)
    #: the input as a whole cannot be read (a malformed ``interactions=`` value): nothing is sent
    unreadable: InteractionValidationError | None = None
    #: a digest of every item's position and key (or invalidity), in order: pass 2 must see the same
    digest: str = ""

    @property
    def invalid(self) -> int:
        """How many items are invalid."""
        return len(self.invalid_audits)


class BulkOutputs:
    """Where a run's per-item results and audit records go: XCom while the run's XCom fits, else JSON-lines files.

    One budget for the whole run (:func:`~airflow_provider_genesys.utils.xcom_budget.xcom_max_bytes`): results
    and audit records stay inline until together they would exceed it; then both go to files — the results to
    :func:`items_file`, the audit records to ``audit_path`` (or the state directory) — and XCom holds the paths.
    With ``audit_path``, every audit record is written there in any case.

    :param task: the task identity (file locations).
    :param audit_path: the operator's ``audit_path``, if any.
    :param max_bytes: the run's XCom budget.
    :param log_records: write each audit record to the task log too (small runs).
    """

    def __init__(
        self,
        task: TaskIdentity,
        audit_path: str | None,
        *,
        max_bytes: int,
        log_records: bool = True,
        logger: Any = None,
    ) -> None:
        self.log = logger or log
        self.log_records = log_records
        if audit_path:
            audit_file = resolve_audit_file(audit_path, task.scope, task.try_number)
        else:
            audit_file = run_file(None, task.scope, task.try_number, "audit")
        self.records = SpillingRecords(
            max_bytes,
            {"items": items_file(task, audit_path), "audits": audit_file},
            durable=("audits",) if audit_path else (),
        )
        self.failures: list[ItemResult] = []
        #: records by outcome
        self.counts: Counter[str] = Counter()

    @property
    def many(self) -> bool:
        """The records went to files (the run's XCom would have exceeded its budget)."""
        return self.records.spilled

    def record(self, audit: AuditRecord, error_code: str | None = None) -> None:
        """Log, keep or write one item's audit record and result; count its outcome in the metrics."""
        line = audit.to_json_line()
        if self.log_records:
            self.log.info("genesys_audit %s", line)
        result = ItemResult.from_audit_record(audit, error_code=error_code)
        self.records.add("audits", audit.to_xcom(), line)
        self.records.add("items", result.to_xcom())
        if audit.outcome == "failed":
            self.failures.append(result)
        self.counts[audit.outcome] += 1
        metrics.record_outcome(audit)

    def fit(self, summary: RunSummary) -> None:
        """Spill unless the records fit beside ``summary`` (returned with them, and pushed once more without them)."""
        self.records.fit(2 * xcom_size(summary.model_copy(update={"items": None}).to_xcom()) + 64)

    def items(self) -> list[ItemResult] | None:
        """The per-item results for XCom, by position (``None`` when they went to a file)."""
        kept = self.records.kept("items")
        if kept is None:
            return None
        return sorted((ItemResult(**result) for result in kept), key=lambda result: result.position)

    @property
    def items_path(self) -> str | None:
        """The per-item results' file, when they went there."""
        return self.records.path("items")

    @property
    def audit_file(self) -> str | None:
        """The audit records' file: ``audit_path``'s, or the state directory's when they spilled."""
        return self.records.path("audits")

    @property
    def audits_xcom(self) -> list[dict[str, Any]] | str | None:
        """What XCom ``genesys_audit`` holds: the records, or the path of their file."""
        kept = self.records.kept("audits")
        return self.audit_file if kept is None else kept

    def close(self) -> None:
        """Close the files (an object-store object is written here, once; its final name is kept)."""
        self.records.close()


def probe_outputs(task: TaskIdentity, audit_path: str | None) -> None:
    """Check every output location of a bulk run before anything is sent (see :func:`probe_location`).

    :raises GenesysConfigurationError: naming the location, what is wrong and the fix.
    """
    probe_location(f"{default_state_dir()}/{task.scope}", what="GENESYS_PROVIDER_STATE_DIR", object_store=False)
    if audit_path:
        probe_location(resolve_audit_file(audit_path, task.scope, task.try_number), what="audit_path")
        probe_location(items_file(task, audit_path), what="audit_path (per-item results)")


def items_file(task: TaskIdentity, audit_path: str | None) -> str:
    """Where the per-item results of a large run go: beside the audit records, else under the state directory."""
    return run_file(audit_path, task.scope, task.try_number, "items")


@dataclass
class BulkResult:
    """The outcome of a bulk run: what to push to XCom, and whether (and how) the task fails.

    :param summary: the run summary (``None`` when the run was refused before sending).
    :param audits_xcom: what XCom ``genesys_audit`` gets.
    :param problems: why the task fails (empty: it succeeds).
    :param refused: invalid items with ``on_invalid='fail'``: nothing was sent.
    :param retry_may_help: a retry could change a failed item's outcome (throttling, 5xx, network).
    """

    summary: RunSummary | None
    audits_xcom: list[dict[str, Any]] | str | None
    problems: list[str] = field(default_factory=list)
    refused: bool = False
    retry_may_help: bool = False

    @property
    def message(self) -> str:
        """The failure message (empty when the run succeeded)."""
        return "\n".join(self.problems)

    def summary_xcom(self) -> dict[str, Any]:
        """The summary as the task's return value."""
        return self.summary.to_xcom() if self.summary is not None else {}


class BulkRun:
    """One execution of a bulk create: validate, create through the engine, record, summarise.

    :param hook: the Genesys hook.
    :param spec: the kind of record.
    :param task: the task identity.
    :param source: the run's input.
    :param options: the bulk operator's options.
    :param state: the task's state of this kind (read once by the caller; see
        :mod:`~airflow_provider_genesys.creation.state`); ``None`` keeps none.
    :param client_id: the OAuth client id for audit records (``None`` when the connection is unusable).
    :param check: an extra check of each prepared item (``validate_routing``).
    """

    def __init__(
        self,
        hook: GenesysCloudHook,
        spec: KindSpec,
        task: TaskIdentity,
        source: BulkInput,
        *,
        options: BulkOptions,
        state: TaskState | None = None,
        client_id: str | None = None,
        check: ItemCheck | None = None,
        logger: Any = None,
    ) -> None:
        self.hook = hook
        self.spec = spec
        self.task = task
        self.source = source
        self.options = options
        self.state = state
        self.client_id = client_id
        self.check = check
        self.log = logger or log
        self.started = time.monotonic()
        self.settled: dict[str, str] = {}

    @property
    def resumed(self) -> bool:
        """An earlier execution of this task instance may have created records (try > 1, or its state says so)."""
        return self.task.try_number > 1 or (self.state is not None and self.state.resumed)

    def probe(self) -> None:
        """Check every output location before anything is sent (see :func:`probe_outputs`)."""
        probe_outputs(self.task, self.options.audit_path)

    def validate(self) -> ValidationReport:
        """Probe the outputs, read the source once, then pass 1: validate every item (streaming); nothing is sent."""
        self.probe()
        # kinds kept exactly once by a server key or a lookup skip what is known created; callbacks and emails
        # confirm each such conversation by id instead (their strategy reads the state itself)
        resumable = self.state is not None and self.options.resume and not self.spec.journaled
        self.settled = self.state.settled() if resumable and self.state is not None else {}
        report = ValidationReport()
        try:
            read = self.source.load()
        except InteractionValidationError as error:
            report.unreadable = error
            return report
        if read is not None:
            self.log.info(
                "Read %s once: %d bytes, sha256 %s (both passes use this copy).",
                self.source.source,
                read.size,
                read.sha256,
            )
        digest = hashlib.sha256()
        for item in self.source.validated(self.spec, self.task, self.check):
            report.total += 1
            digest.update(fingerprint(item.position, item.prepared))
            if item.error is not None:
                report.invalid_audits.append(
                    invalid_audit(
                        self.task,
                        self.spec,
                        item.error,
                        position=item.position,
                        external_id=item.external_id,
                        oauth_client_id=self.client_id,
                    )
                )
                report.invalid_errors.append(item.error)
            else:
                report.valid += 1
                report.already_settled += item.prepared.key in self.settled  # type: ignore[union-attr]
        report.digest = digest.hexdigest()
        self.log.info("Validated %d item(s): %d valid, %d invalid.", report.total, report.valid, report.invalid)
        if report.already_settled:
            self.log.info(
                "Resuming: %d item(s) were settled by an earlier execution of this task.", report.already_settled
            )
        return report

    def create(self, report: ValidationReport) -> BulkResult:
        """Pass 2: create the valid, unsettled items; record every outcome; summarise."""
        if report.unreadable is not None:
            self.source.close()
            return BulkResult(
                summary=None, audits_xcom=[], problems=[unreadable_report(report.unreadable)], refused=True
            )
        outputs = BulkOutputs(
            self.task,
            self.options.audit_path,
            max_bytes=xcom_max_bytes(),
            log_records=report.total <= LOG_RECORDS_MAX_ITEMS,
            logger=self.log,
        )
        counts = {"created": 0, "replayed": 0, "failed": 0, "requests": 0, "resumed": 0}
        timings = _Timings()
        seen = _PassTwo()
        refusal: str | None = None
        try:
            for audit in report.invalid_audits:
                outputs.record(audit, error_code="invalid")
            if report.invalid and self.options.on_invalid == "fail":
                refusal = (
                    invalid_report(report.invalid_errors, report.total)
                    + "\nNo create request was sent (on_invalid='fail'). Fix the items, or use on_invalid='skip'."
                )
            else:
                self._send(report, outputs, counts, timings, seen)
                outputs.fit(self._summary(report, counts, timings, outputs))
        finally:
            outputs.close()
            self.source.close()
        if refusal is not None:
            return BulkResult(summary=None, audits_xcom=outputs.audits_xcom, problems=[refusal], refused=True)
        changed = seen.differs_from(report)
        summary = self._summary(report, counts, timings, outputs)
        self.log.info("genesys_audit_summary %s", summary.model_copy(update={"items": None}).to_json_line())
        if self.state is not None:
            self.log.info("%s", self.state.cost_line(report.valid))
        result = verdict(summary, outputs.audits_xcom, outputs.failures, report, self.options)
        if changed:
            result.problems.append(changed)
        return result

    def _send(
        self,
        report: ValidationReport,
        outputs: BulkOutputs,
        counts: dict[str, int],
        timings: _Timings,
        seen: _PassTwo,
    ) -> None:
        """Create the valid items an earlier execution has not settled, recording each outcome as it comes."""
        self.hook.settings  # noqa: B018 - an unusable connection fails here, before the first request

        def on_outcome(outcome: ItemOutcome) -> None:
            audit = outcome.audit
            counts["requests"] += audit.requests_sent
            if audit.outcome in counts:
                counts[audit.outcome] += 1
            timings.add(audit)
            if audit.resumed:
                counts["resumed"] += 1
            outputs.record(audit, error_code=outcome.error_code)

        engine = CreationEngine(
            self.hook,
            self.spec,
            self.task,
            max_concurrency=self.options.max_concurrency,
            progress_interval=self.options.progress_interval,
            logger=self.log,
            state=self.state,
        )
        resumed = self.resumed
        items = self._unsettled(engine, on_outcome, seen)
        if resumed and self.spec.bulk_lookup is not None:
            items = self.spec.bulk_lookup(self.hook, items)  # one lookup for many keys, not one per item
        engine.run(
            items,
            total=report.valid - report.already_settled,
            on_outcome=on_outcome,
            outcome_unknown=lambda item: resumed and not item.looked_up,
        )

    def _summary(
        self, report: ValidationReport, counts: dict[str, int], timings: _Timings, outputs: BulkOutputs
    ) -> RunSummary:
        """The run summary; ``latency_ms_*`` are HTTP round trips (pacing waits are not Genesys' time)."""
        return RunSummary(
            total=report.total,
            valid=report.valid,
            invalid=report.invalid,
            created=counts["created"],
            replayed=counts["replayed"],
            failed=counts["failed"],
            validation_pass_rate=report.valid / report.total if report.total else 1.0,
            latency_ms_p50=RunSummary.percentile(timings.latencies, 0.5),
            latency_ms_p95=RunSummary.percentile(timings.latencies, 0.95),
            latency_ms_max=max(timings.latencies) if timings.latencies else None,
            pacing_wait_ms_p50=RunSummary.percentile(timings.pacing_waits, 0.5),
            pacing_wait_ms_p95=RunSummary.percentile(timings.pacing_waits, 0.95),
            requests_sent=self.hook.requests_sent,
            throttled_429=self.hook.throttled,
            wall_seconds=round(time.monotonic() - self.started, 3),
            resumed=counts["resumed"],
            items=outputs.items(),
            items_path=outputs.items_path,
            audit_path=outputs.audit_file,
        )

    def _unsettled(self, engine: CreationEngine, on_outcome: Any, seen: _PassTwo) -> Iterator[PreparedItem]:
        """Pass 2's items: valid ones; those an earlier execution settled are reported without a request."""
        for item in self.source.validated(self.spec, self.task, self.check):
            seen.add(item.position, item.prepared)
            prepared = item.prepared
            if isinstance(prepared, InteractionValidationError):
                continue
            if prepared.key in self.settled:
                on_outcome(engine.resumed(prepared, self.settled[prepared.key]))
                continue
            yield prepared


def fingerprint(position: int, prepared: PreparedItem | InteractionValidationError) -> bytes:
    """One item's line of a run's input digest: its position and its key (or its invalidity)."""
    key = "invalid" if isinstance(prepared, InteractionValidationError) else prepared.key
    return f"{position}:{key}\n".encode()


@dataclass
class _Timings:
    """The items' HTTP round trips and pacing waits (the summary's percentiles)."""

    latencies: list[float] = field(default_factory=list)
    pacing_waits: list[float] = field(default_factory=list)

    def add(self, audit: AuditRecord) -> None:
        if audit.latency_ms is not None:
            self.latencies.append(audit.latency_ms)
        if audit.pacing_wait_ms is not None:
            self.pacing_waits.append(audit.pacing_wait_ms)


class _PassTwo:
    """What pass 2 saw, to prove it saw what pass 1 validated (same items, same order, same keys)."""

    def __init__(self) -> None:
        self.total = 0
        self._digest = hashlib.sha256()

    def add(self, position: int, prepared: PreparedItem | InteractionValidationError) -> None:
        self.total += 1
        self._digest.update(fingerprint(position, prepared))

    def differs_from(self, report: ValidationReport) -> str | None:
        """Why pass 2 did not see pass 1's items (``None`` when it did, or when it stopped early)."""
        if self.total == report.total and self._digest.hexdigest() == report.digest:
            return None
        if self.total < report.total and self._digest.hexdigest() != report.digest and self.total == 0:
            return None  # pass 2 never ran (the run was refused)
        return (
            f"The input changed between the two passes: pass 1 validated {report.total} item(s), pass 2 read "
            f"{self.total}, and their keys differ. Every item that was sent is in the audit records."
        )


def verdict(
    summary: RunSummary,
    audits_xcom: list[dict[str, Any]] | str | None,
    failures: list[ItemResult],
    report: ValidationReport,
    options: BulkOptions,
) -> BulkResult:
    """Whether a finished run fails the task, why, and whether a retry could help."""
    problems = []
    if failures:
        problems.append(failure_report(failures))
    if report.invalid and not options.invalid_allowed(report.invalid, report.total):
        problems.append(
            invalid_report(report.invalid_errors, report.total)
            + f"\nmax_invalid={options.max_invalid!r} allows fewer; the valid items were created."
        )
    return BulkResult(
        summary=summary,
        audits_xcom=audits_xcom,
        problems=problems,
        retry_may_help=any(retry_may_help(result) for result in failures),
    )


def retry_may_help(result: ItemResult) -> bool:
    """A failed item may succeed on a retry: throttled, a server or network failure, not an unknown outcome."""
    if result.error_code == "outcome.unknown":
        return False
    if result.error_code in _UNREADABLE_ANSWER_CODES:
        return True
    return result.http_status is None or result.http_status >= 500 or result.http_status in (408, 409, 429)


def unreadable_report(error: InteractionValidationError) -> str:
    """The refusal of an input that as a whole is not a list of items (a malformed ``interactions=`` value)."""
    return f"{error}\nNo create request was sent: give interactions= as a list of objects."


def invalid_report(errors: list[InteractionValidationError], total: int) -> str:
    """``N of M item(s) are invalid:`` and the first :data:`REPORT_LINES` of them."""
    lines = [f"{len(errors)} of {total} item(s) are invalid:"]
    lines.extend(str(error) for error in errors[:REPORT_LINES])
    if len(errors) > REPORT_LINES:
        lines.append(f"... and {len(errors) - REPORT_LINES} more (all are in the audit records).")
    return "\n".join(lines)


def failure_report(failures: list[ItemResult]) -> str:
    """``N item(s) failed after retries`` and the first :data:`REPORT_LINES` of them, with status and code."""
    lines = [f"{len(failures)} item(s) failed after retries (a retry of this task re-sends only safely):"]
    for result in sorted(failures, key=lambda r: r.position)[:REPORT_LINES]:
        lines.append(
            f"  - {describe_item(result.position, result.external_id)}: status={result.http_status} "
            f"code={result.error_code} correlation_id={result.correlation_id} error={redact(result.error or '')}"
        )
    if len(failures) > REPORT_LINES:
        lines.append(f"  ... and {len(failures) - REPORT_LINES} more (see the per-item results).")
    return "\n".join(lines)
