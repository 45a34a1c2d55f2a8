"""The value types of the creation engine: a kind's row, a prepared item, what a create returned."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from airflow_provider_genesys.creation.routing import RoutingRefs, no_refs
from airflow_provider_genesys.exceptions import GenesysApiError
from airflow_provider_genesys.models.audit import AuditRecord

if TYPE_CHECKING:
    from airflow_provider_genesys.creation.state import TaskState
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook, GenesysResponse


#: The error code of a create whose answer carried no record id.
NO_RECORD_CODE = "answer.without.record"


@dataclass
class PreparedItem:
    """A validated item, ready to send.

    :param position: 0-based position in its batch (0 for a single create).
    :param external_id: the item's own stable id, when it has one.
    :param key: its idempotency key.
    :param body: the wire body (JSON-safe), with the key embedded where the kind keeps it.
    :param interaction_type: the interaction's type, when the kind has one.
    :param queue_id: the target queue, when the record has one.
    :param existing: the record a bulk lookup already found for this key (replayed without a request).
    :param looked_up: a bulk lookup already looked this key up (``existing`` is its answer).
    """

    position: int
    external_id: str | None
    key: str
    body: dict[str, Any]
    interaction_type: str | None = None
    queue_id: str | None = None
    existing: dict[str, Any] | None = field(default=None, repr=False)
    looked_up: bool = False


@dataclass
class CreateResult:
    """What one create cost and returned.

    :param latency_ms: the HTTP round trips of its requests, summed (Genesys' time, not the client's queue).
    :param pacing_wait_ms: the time its requests waited for their pacing slots.
    """

    outcome: str  # "created" | "replayed"
    record: dict[str, Any]
    record_id: str | None
    http_status: int | None
    correlation_id: str | None
    attempts: int
    requests_sent: int
    latency_ms: float
    throttled: int = 0
    pacing_wait_ms: float = 0.0


@dataclass
class RequestCost:
    """What the requests of one create cost, lookups included: attempts, throttles, round trips, pacing waits."""

    requests: int = 0
    throttled: int = 0
    latency_ms: float = 0.0
    pacing_wait_ms: float = 0.0

    def add(self, response: GenesysResponse) -> GenesysResponse:
        """Count ``response``'s attempts, throttles, round trips and pacing waits; return it."""
        self.requests += response.attempts
        self.throttled += response.throttled
        self.latency_ms += response.latency_ms
        self.pacing_wait_ms += response.pacing_wait_ms
        return response

    def result(
        self,
        outcome: str,
        spec: KindSpec,
        record: Mapping[str, Any],
        response: GenesysResponse | None,
        record_id: str | None = None,
    ) -> CreateResult:
        """The :class:`CreateResult` of ``record`` (the last response's status and correlation id).

        :raises GenesysApiError: (code ``answer.without.record``, outcome unknown) when the record carries no id of
            the kind: nothing counts as created or replayed without one.
        """
        body = dict(record) if isinstance(record, Mapping) else {}
        record_id = record_id or spec.read_id(body)
        if not record_id:
            error = GenesysApiError(
                status=None if response is None else response.status,
                code=NO_RECORD_CODE,
                message=(
                    f"the answer carries no {spec.name} id, so the {spec.name} is not counted as {outcome}: it may "
                    "or may not exist (a retry finds it by its key, or creates it)"
                ),
                correlation_id=None if response is None else response.correlation_id,
                method="POST",
                path=spec.path,
                attempts=max(self.requests, 1),
            )
            error.unknown_outcome = True
            raise error
        return CreateResult(
            outcome=outcome,
            record=body,
            record_id=record_id,
            http_status=None if response is None else response.status,
            correlation_id=None if response is None else response.correlation_id,
            attempts=max(self.requests, 1 if response is not None else 0),
            requests_sent=self.requests,
            latency_ms=self.latency_ms,
            throttled=self.throttled,
            pacing_wait_ms=self.pacing_wait_ms,
        )


class CreateStrategy(Protocol):
    """How exactly-once is kept for a kind: create ``item`` through ``hook``.

    :param outcome_unknown: an earlier execution may have created it (Airflow try > 1, or earlier state).
    :param state: the task's state of this kind (``None``: none kept); a strategy calls ``state.sending(key)``
        right before its create goes on the wire, and reads what earlier executions did with ``state.earlier``.
    """

    def __call__(
        self,
        hook: GenesysCloudHook,
        spec: KindSpec,
        item: PreparedItem,
        *,
        outcome_unknown: bool,
        state: TaskState | None,
    ) -> CreateResult: ...


#: A lookup of existing records for many prepared items (bulk tries > 1).
BulkLookup = Callable[["GenesysCloudHook", Iterable[PreparedItem]], Iterator[PreparedItem]]


@dataclass(frozen=True)
class KindSpec:
    """One row of the kinds table.

    :param name: the kind's name, as given to the operators' ``kind=``.
    :param model: pydantic model of the request body (validation happens before any request).
    :param path: the create endpoint.
    :param strategy: how exactly-once is kept (see :class:`CreateStrategy`).
    :param guarantee: the exactly-once guarantee in plain words (shown in docs and errors).
    :param build_body: turns a validated model and the key into the wire body.
    :param read_id: reads the new record's id from the create response body.
    :param ui_path: path of the record in the Genesys web UI (``https://apps.<domain>`` + this).
    :param interaction_type: reads the interaction type from a validated model, if the kind has one.
    :param queue_id: reads the target queue id from a validated model, if it has one.
    :param routing_refs: reads the queue and skill references of a wire body (``validate_routing``).
    :param journaled: the kind takes no idempotency key: its strategy reads the task's state itself (confirming
        created records by id, searching for what may exist), so a resumed bulk run does not skip its created keys.
    :param bulk_lookup: looks the keys of many prepared items up at once (bulk tries > 1), when the kind can.
    :param connection_problem: why the kind cannot be used through a hook's connection (``None`` when it can);
        asked before anything is validated or sent.
    """

    name: str
    model: type[BaseModel]
    path: str
    strategy: CreateStrategy
    guarantee: str
    build_body: Callable[[Any, str], dict[str, Any]]
    read_id: Callable[[Any], str | None]
    ui_path: Callable[[str], str]
    interaction_type: Callable[[Any], str | None] = field(default=lambda model: None)
    queue_id: Callable[[Any], str | None] = field(default=lambda model: None)
    routing_refs: Callable[[Mapping[str, Any]], RoutingRefs] = no_refs
    journaled: bool = False
    bulk_lookup: BulkLookup | None = None
    connection_problem: Callable[[GenesysCloudHook], str | None] | None = None


@dataclass
class ItemOutcome:
    """The audit record of one item, with the created record (when there is one) and the error (when failed)."""

    audit: AuditRecord
    record: dict[str, Any] | None = None
    error: BaseException | None = None
    error_code: str | None = None
