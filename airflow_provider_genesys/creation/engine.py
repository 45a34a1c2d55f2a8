"""The creation engine shared by the single and the bulk operator: prepare, create, audit.

Operators stay thin: they render templates, read items, and hand them here. The engine validates each item
against its kind's model, derives its idempotency key from the task identity, creates it through the hook with
the kind's exactly-once strategy, and turns what happened into an :class:`AuditRecord`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.creation.items import CreateResult, ItemOutcome, KindSpec, PreparedItem
from airflow_provider_genesys.creation.keys import item_identity
from airflow_provider_genesys.creation.state import BATCH_SIZE
from airflow_provider_genesys.creation.task import TaskIdentity, describe_item
from airflow_provider_genesys.exceptions import (
    FieldError,
    GenesysApiError,
    GenesysQuotaExhaustedError,
    InteractionValidationError,
    OutcomeUnknownError,
)
from airflow_provider_genesys.models.audit import AuditRecord
from airflow_provider_genesys.models.validation import validate_model
from airflow_provider_genesys.utils.redaction import redact

if TYPE_CHECKING:
    from airflow_provider_genesys.creation.state import TaskState
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook

log = logging.getLogger(__name__)


def prepare_item(
    spec: KindSpec,
    payload: Any,
    task: TaskIdentity,
    *,
    position: int | None = None,
    external_id: str | None = None,
) -> PreparedItem:
    """Validate ``payload`` against the kind's model and derive its key and wire body.

    :param position: the item's position in a bulk batch (part of its identity when it has no external id);
        ``None`` for a single create.
    :raises InteractionValidationError: naming the item and every field problem.
    """
    label = describe_item(position, external_id)
    model = validate_model(spec.model, payload, item=label, kind=spec.name)
    try:
        canonical = model.model_dump(mode="json", by_alias=True, exclude_none=True)
        identity = item_identity(external_id=external_id, payload=canonical, position=position)
        key = task.key_for(spec.name, identity)
        body = spec.build_body(model, key)
    except (ValueError, TypeError, RecursionError) as error:
        # a value the model accepted but JSON cannot carry (bytes that are not text, an object without a JSON form)
        problem = FieldError(
            path="(the payload)", message=f"cannot be sent as JSON ({type(error).__name__}: {str(error)[:200]})"
        )
        raise InteractionValidationError(errors=[problem], item=label, kind=spec.name) from None
    return PreparedItem(
        position=position or 0,
        external_id=external_id,
        key=key,
        body=body,
        interaction_type=spec.interaction_type(model),
        queue_id=spec.queue_id(model),
    )


def invalid_audit(
    task: TaskIdentity,
    spec: KindSpec,
    error: InteractionValidationError,
    *,
    position: int | None,
    external_id: str | None,
    oauth_client_id: str | None,
    interaction_type: str | None = None,
) -> AuditRecord:
    """Audit record of an item that failed validation (nothing was sent)."""
    return AuditRecord(
        **task.audit_fields(),
        kind=spec.name,
        interaction_type=interaction_type,
        external_id=external_id,
        position=position,
        validation_passed=False,
        validation_errors=[str(problem) for problem in error.errors],
        outcome="invalid",
        oauth_client_id=oauth_client_id,
        error=f"{len(error.errors)} validation problem(s)",
    )


def item_audit_fields(
    task: TaskIdentity, spec: KindSpec, item: PreparedItem, *, oauth_client_id: str | None
) -> dict[str, Any]:
    """The audit-record fields every outcome of a validated item shares."""
    return {
        **task.audit_fields(),
        "kind": spec.name,
        "interaction_type": item.interaction_type,
        "idempotency_key": item.key,
        "external_id": item.external_id,
        "position": item.position,
        "validation_passed": True,
        "oauth_client_id": oauth_client_id,
        "queue_id": item.queue_id,
    }


class CreationEngine:
    """Creates prepared items through a hook, one at a time or many in parallel.

    :param hook: the Genesys hook (its session, token and pacer are shared by all threads).
    :param spec: the kind of record.
    :param task: the task identity (audit fields).
    :param max_concurrency: threads sending at once.
    :param progress_interval: seconds between progress lines in the task log.
    :param state: the task's state of this kind: every batch of creates is written ahead into it, every outcome
        recorded (``None`` keeps none: each item then goes by its strategy and Airflow's try number alone).
    """

    def __init__(
        self,
        hook: GenesysCloudHook,
        spec: KindSpec,
        task: TaskIdentity,
        *,
        max_concurrency: int = 8,
        progress_interval: float = 10.0,
        logger: Any = None,
        state: TaskState | None = None,
    ) -> None:
        self.hook = hook
        self.state = state
        self.spec = spec
        self.task = task
        self.max_concurrency = max(1, int(max_concurrency))
        self.progress_interval = progress_interval
        self.log = logger or log
        self._quota_error: GenesysQuotaExhaustedError | None = None
        self._quota_lock = threading.Lock()

    # -- one item ---------------------------------------------------------------------------------------

    def create_one(self, item: PreparedItem, *, outcome_unknown: bool = False) -> ItemOutcome:
        """Create one item, written ahead into the task's state; never raises for API failures.

        :param outcome_unknown: an earlier try may have created it (Airflow try > 1): strategies without
            server-side idempotency look the key up first.
        """
        if self.state is not None:
            self.state.announce([item.key])
        try:
            return self._create(item, outcome_unknown=outcome_unknown)
        finally:
            if self.state is not None:
                self.state.flush()

    def _create(self, item: PreparedItem, *, outcome_unknown: bool) -> ItemOutcome:
        """Create one item of an announced batch and record its outcome in the state."""
        if self._quota_error is not None:
            return self._failed(item, self._quota_error, not_sent=True)
        try:
            result = self.spec.strategy(self.hook, self.spec, item, outcome_unknown=outcome_unknown, state=self.state)
        except GenesysQuotaExhaustedError as error:
            with self._quota_lock:
                self._quota_error = self._quota_error or error
            self._record_failure(item, error)
            return self._failed(item, error)
        except GenesysApiError as error:
            self._record_failure(item, error)
            return self._failed(item, error)
        except Exception as error:  # a bug or an unexpected transport error must not lose the item
            wrapped = GenesysApiError(status=None, code=type(error).__name__, message=redact(str(error))[:300])
            wrapped.unknown_outcome = True  # it may have failed after the request left
            self._record_failure(item, wrapped)
            outcome = self._failed(item, wrapped)
            outcome.error = error
            return outcome
        if self.state is not None and result.record_id:
            self.state.created(item.key, result.record_id)
        return self._succeeded(item, result)

    def _record_failure(self, item: PreparedItem, error: GenesysApiError) -> None:
        """Record what a failure tells of the key; a key this execution never sent keeps its earlier entry."""
        if self.state is None or not self.state.was_sent(item.key):
            return
        if isinstance(error, OutcomeUnknownError) or error.unknown_outcome:
            self.state.unknown(item.key, str(error))
        elif error.request_sent:
            self.state.rejected(item.key, str(error))
        else:
            self.state.not_sent(item.key, str(error))

    def _base(self, item: PreparedItem) -> dict[str, Any]:
        return item_audit_fields(self.task, self.spec, item, oauth_client_id=self.hook.client_id)

    def resumed(self, item: PreparedItem, record_id: str | None) -> ItemOutcome:
        """Outcome of an item an earlier execution of this task already settled (nothing is sent)."""
        audit = AuditRecord(
            **self._base(item),
            attempts=0,
            outcome="replayed",
            interaction_id=record_id,
            requests_sent=0,
            resumed=True,
        )
        return ItemOutcome(audit=audit)

    def _succeeded(self, item: PreparedItem, result: CreateResult) -> ItemOutcome:
        audit = AuditRecord(
            **self._base(item),
            http_status=result.http_status,
            attempts=result.attempts,
            latency_ms=round(result.latency_ms, 3),
            pacing_wait_ms=round(result.pacing_wait_ms, 3),
            outcome="replayed" if result.outcome == "replayed" else "created",
            interaction_id=result.record_id,
            correlation_id=result.correlation_id,
            requests_sent=result.requests_sent,
        )
        return ItemOutcome(audit=audit, record=result.record)

    def _failed(self, item: PreparedItem, error: GenesysApiError, *, not_sent: bool = False) -> ItemOutcome:
        message = str(error)
        if not_sent:
            message = f"not sent: an earlier call found the quota exhausted ({error.code or 'HTTP 429'})"
        audit = AuditRecord(
            **self._base(item),
            http_status=None if not_sent else error.status,
            attempts=0 if not_sent else error.attempts,
            latency_ms=None if not_sent or error.latency_ms is None else round(error.latency_ms, 3),
            pacing_wait_ms=None if not_sent or error.pacing_wait_ms is None else round(error.pacing_wait_ms, 3),
            outcome="failed",
            correlation_id=None if not_sent else error.correlation_id,
            error=redact(message, (self.hook.settings.client_secret,)),
            requests_sent=0 if not_sent else error.attempts,
        )
        return ItemOutcome(audit=audit, error=error, error_code=error.code)

    # -- many items -------------------------------------------------------------------------------------

    def run(
        self,
        items: Iterable[PreparedItem],
        *,
        total: int,
        on_outcome: Callable[[ItemOutcome], None],
        outcome_unknown: Callable[[PreparedItem], bool] = lambda item: False,
    ) -> BulkProgress:
        """Create every item with at most ``max_concurrency`` in flight; ``on_outcome`` runs in this thread.

        Items are pulled from ``items`` lazily, so a streamed source is never held in memory at once.
        """
        progress = BulkProgress(total=total)
        iterator: Iterator[PreparedItem] = iter(items)
        clock = {"last_report": time.monotonic()}
        pool = ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="genesys-create")
        try:
            while batch := list(islice(iterator, BATCH_SIZE)):
                if self.state is not None:
                    self.state.announce(item.key for item in batch)  # one write ahead for the whole batch
                try:
                    self._run_batch(pool, batch, progress, on_outcome, outcome_unknown, clock)
                except BaseException:
                    # nothing of this batch may start once its outcomes are written: queued creates are dropped
                    # (still "sending"), running ones finish and are recorded
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
                finally:
                    if self.state is not None:
                        self.state.flush()  # one write of the batch's outcomes
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        self.log.info("%s", progress.line(final=True))
        return progress

    def _run_batch(
        self,
        pool: ThreadPoolExecutor,
        batch: list[PreparedItem],
        progress: BulkProgress,
        on_outcome: Callable[[ItemOutcome], None],
        outcome_unknown: Callable[[PreparedItem], bool],
        clock: dict[str, float],
    ) -> None:
        """Create one batch with at most ``max_concurrency`` in flight; ``on_outcome`` runs in this thread."""
        window = self.max_concurrency * 2
        queue = iter(batch)
        pending: set[Future[ItemOutcome]] = set()
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < window:
                item = next(queue, None)
                if item is None:
                    exhausted = True
                    break
                pending.add(pool.submit(self._create, item, outcome_unknown=outcome_unknown(item)))
            if not pending:
                break
            done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            for future in done:
                outcome = future.result()
                progress.add(outcome.audit)
                on_outcome(outcome)
            if time.monotonic() - clock["last_report"] >= self.progress_interval:
                self.log.info("%s", progress.line())
                clock["last_report"] = time.monotonic()

    @property
    def quota_error(self) -> GenesysQuotaExhaustedError | None:
        """The quota error that stopped the run early, if one did."""
        return self._quota_error


@dataclass
class BulkProgress:
    """Running counts of a bulk run, and the progress line that reports them."""

    total: int
    done: int = 0
    created: int = 0
    replayed: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)

    def add(self, audit: AuditRecord) -> None:
        """Count one finished item."""
        self.done += 1
        if audit.outcome == "created":
            self.created += 1
        elif audit.outcome == "replayed":
            self.replayed += 1
        elif audit.outcome == "failed":
            self.failed += 1

    def line(self, *, final: bool = False) -> str:
        """``Progress: 400/1000 (40.0%) created=390 replayed=10 failed=0 rate=12.3/s ETA 49s``."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        remaining = max(self.total - self.done, 0)
        eta = f"{remaining / rate:.0f}s" if rate > 0 and remaining else "0s"
        share = 100.0 * self.done / self.total if self.total else 100.0
        head = "Done" if final else "Progress"
        return (
            f"{head}: {self.done}/{self.total} ({share:.1f}%) created={self.created} replayed={self.replayed} "
            f"failed={self.failed} rate={rate:.1f}/s elapsed={elapsed:.1f}s ETA {eta}"
        )
