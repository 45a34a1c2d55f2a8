"""The kinds table: one row per kind of record the operators can create.

A row names the request model, the create endpoint, how exactly-once is kept (the idempotency strategy), how
to read the new record's id from the response, and where a person sees the record in the Genesys UI. Adding a
kind means adding a model and a row; the operators and the engine do not change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from airflow_provider_genesys.errors import GenesysApiError, GenesysConfigurationError
from airflow_provider_genesys.models.interaction import InteractionRequest
from airflow_provider_genesys.models.platform import CallbackRequest, InboundEmailRequest, WorkitemRequest
from airflow_provider_genesys.routing import RoutingRefs, callback_refs, flat_refs, interaction_refs, no_refs
from airflow_provider_genesys.strategies import BulkLookup, create_at_most_once, create_with_lookup, mark_existing

if TYPE_CHECKING:
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook, GenesysResponse
    from airflow_provider_genesys.journal import SendJournal


class PayloadChangedError(GenesysApiError):
    """The idempotency key was already used with a different payload (HTTP 422)."""


@dataclass
class PreparedItem:
    """A validated item, ready to send.

    :param position: 0-based position in its batch (0 for a single create).
    :param external_id: the item's own stable id, when it has one.
    :param key: its idempotency key.
    :param body: the wire body (JSON-safe), with the key embedded where the kind keeps it.
    :param interaction_type: the interaction's type, when the kind has one.
    :param queue_id: the target queue, when the record has one.
    :param journal: the task's send journal, for kinds that keep one (set by the engine).
    :param existing: the record a bulk lookup already found for this key (replayed without a request).
    :param looked_up: a bulk lookup already looked this key up (``existing`` is its answer).
    """

    position: int
    external_id: str | None
    key: str
    body: dict[str, Any]
    interaction_type: str | None = None
    queue_id: str | None = None
    journal: SendJournal | None = field(default=None, repr=False, compare=False)
    existing: dict[str, Any] | None = field(default=None, repr=False)
    looked_up: bool = False


@dataclass
class CreateResult:
    """What one create cost and returned."""

    outcome: str  # "created" | "replayed"
    record: dict[str, Any]
    record_id: str | None
    http_status: int | None
    correlation_id: str | None
    attempts: int
    requests_sent: int
    latency_ms: float
    throttled: int = 0


CreateStrategy = Callable[["GenesysCloudHook", "KindSpec", PreparedItem, bool], CreateResult]


@dataclass(frozen=True)
class KindSpec:
    """One row of the kinds table.

    :param name: the kind's name, as given to the operators' ``kind=``.
    :param model: pydantic model of the request body (validation happens before any request).
    :param path: the create endpoint.
    :param strategy: how exactly-once is kept (a function of hook, spec, item, outcome-unknown flag).
    :param guarantee: the exactly-once guarantee in plain words (shown in docs and errors).
    :param build_body: turns a validated model and the key into the wire body.
    :param read_id: reads the new record's id from the create response body.
    :param ui_path: path of the record in the Genesys web UI (``https://apps.<domain>`` + this).
    :param interaction_type: reads the interaction type from a validated model, if the kind has one.
    :param queue_id: reads the target queue id from a validated model, if it has one.
    :param routing_refs: reads the queue and skill references of a wire body (``validate_routing``).
    :param journaled: the operators keep a send journal of the task for this kind: it tells a later
        execution that an earlier one ran (even when the try count restarted), and strategies that cannot look a
        key up in Genesys record every send in it.
    :param bulk_lookup: looks the keys of many prepared items up at once (bulk tries > 1), when the kind can.
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


# -- strategy: server-side Idempotency-Key (the /api/v2/interactions contract) ------------------------------

#: How often a create is re-sent while Genesys reports the same key still in flight.
IN_FLIGHT_RETRIES = 20
IN_FLIGHT_WAIT_SECONDS = 0.25


def create_with_idempotency_key(
    hook: GenesysCloudHook, spec: KindSpec, item: PreparedItem, outcome_unknown: bool
) -> CreateResult:
    """POST with an ``Idempotency-Key`` header: 201 created, 409 + record replayed, 422 payload changed.

    Re-sending is always safe here, so an unknown earlier outcome needs no lookup: the server answers the
    second send with the record the first one created.
    """
    del outcome_unknown  # the server deduplicates; nothing to look up
    attempts = requests_sent = throttled = 0
    latency_ms = 0.0
    for in_flight_round in range(IN_FLIGHT_RETRIES + 1):
        response = hook.request(
            "POST",
            spec.path,
            json=item.body,
            headers={"Idempotency-Key": item.key},
            accept_statuses=frozenset({409, 422}),
        )
        attempts += response.attempts
        requests_sent += response.attempts
        throttled += response.throttled
        latency_ms += response.latency_ms
        body = response.body if isinstance(response.body, Mapping) else {}
        if response.status in (200, 201):
            return _result("created", spec, response, attempts, requests_sent, latency_ms, throttled)
        if response.status == 409 and spec.read_id(body):
            return _result("replayed", spec, response, attempts, requests_sent, latency_ms, throttled)
        if (
            response.status == 409
            and body.get("code") == "idempotency.in.flight"
            and in_flight_round < IN_FLIGHT_RETRIES
        ):
            time.sleep(IN_FLIGHT_WAIT_SECONDS * min(4, in_flight_round + 1))
            continue
        if response.status == 422:
            changed = PayloadChangedError.from_error_body(
                status=422, body=body, correlation_id=response.correlation_id, method="POST", path=spec.path
            )
            changed.message = (
                "the idempotency key of this item was already used with a different payload: the item changed "
                "since the first attempt of this task in this DAG run. Restore the original payload, give the "
                "item a new external_id, or create it from a new DAG run. "
                + (f"Genesys said: {changed.message}" if changed.message else "")
            ).strip()
            changed.attempts = attempts
            raise changed
        error = GenesysApiError.from_error_body(
            status=response.status,
            body=body,
            correlation_id=response.correlation_id,
            method="POST",
            path=spec.path,
        )
        error.attempts = attempts
        raise error
    raise AssertionError("unreachable")  # pragma: no cover


def _result(
    outcome: str,
    spec: KindSpec,
    response: GenesysResponse,
    attempts: int,
    requests_sent: int,
    latency_ms: float,
    throttled: int,
) -> CreateResult:
    record = dict(response.body) if isinstance(response.body, Mapping) else {}
    return CreateResult(
        outcome=outcome,
        record=record,
        record_id=spec.read_id(record),
        http_status=response.status,
        correlation_id=response.correlation_id,
        attempts=attempts,
        requests_sent=requests_sent,
        latency_ms=latency_ms,
        throttled=throttled,
    )


def _read_top_level_id(body: Any) -> str | None:
    if isinstance(body, Mapping) and body.get("id"):
        return str(body["id"])
    return None


def _interaction_body(model: InteractionRequest, key: str) -> dict[str, Any]:
    del key  # travels as the Idempotency-Key header
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _read_conversation_id(body: Any) -> str | None:
    conversation = body.get("conversation") if isinstance(body, Mapping) else None
    if isinstance(conversation, Mapping) and conversation.get("id"):
        return str(conversation["id"])
    return _read_top_level_id(body)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _callback_queue(model: CallbackRequest) -> str | None:
    if model.queue_id is not None:
        return str(model.queue_id)
    return _str_or_none(model.routing_data.queue_id) if model.routing_data else None


#: What a later try can promise for kinds Genesys cannot look up by key (callbacks, inbound emails).
_AT_MOST_ONCE = (
    "At most once, and exactly once whenever Genesys' answers arrive: the key travels in {where} "
    "'genesysIdempotencyKey', but Genesys offers no lookup by attribute. The first send goes out once; "
    "every send is written to the task's send journal first, so a retry or clear replays what it knows was "
    "created (confirmed with GET /api/v2/conversations/{{id}}) and creates what it knows was never created. A "
    "create whose answer was lost (timeout, dropped connection, 5xx) is never sent again: the item fails as "
    "'outcome unknown', naming the key to look for. Needs the journal (GENESYS_PROVIDER_STATE_DIR) on storage "
    "every worker of the task shares."
)


KINDS: dict[str, KindSpec] = {
    "interaction": KindSpec(
        name="interaction",
        model=InteractionRequest,
        path="/api/v2/interactions",
        strategy=create_with_idempotency_key,
        guarantee=(
            "Exactly once per key, enforced by the server: every send carries the Idempotency-Key header; a "
            "repeat answers 409 with the existing record (outcome 'replayed')."
        ),
        build_body=_interaction_body,
        read_id=_read_top_level_id,
        ui_path=lambda record_id: f"/directory/#/engage/interactions/{record_id}",
        interaction_type=lambda model: model.type,
        queue_id=lambda model: str(model.routing.queue.id) if model.routing.queue else None,
        routing_refs=interaction_refs,
    ),
    "workitem": KindSpec(
        name="workitem",
        model=WorkitemRequest,
        path="/api/v2/taskmanagement/workitems",
        strategy=create_with_lookup,
        guarantee=(
            "Exactly once per key, by lookup: the key travels in externalTag. A clean first attempt creates "
            "directly (one request). After a lost answer (timeout, dropped connection, 5xx), on any Airflow try "
            "> 1 and on a clear, the key is looked up first (POST /api/v2/taskmanagement/workitems/query, "
            "typeId EQ + externalTag EQ; bulk retries use IN for up to 100 keys per query); a found workitem "
            "is the outcome 'replayed'. Assumes the query sees a workitem once its create has committed."
        ),
        build_body=lambda model, key: model.with_idempotency_key(key),
        read_id=_read_top_level_id,
        ui_path=lambda record_id: f"/directory/#/task-management/workitems/{record_id}",
        queue_id=lambda model: _str_or_none(model.queue_id),
        routing_refs=flat_refs(),
        journaled=True,
        bulk_lookup=mark_existing,
    ),
    "callback": KindSpec(
        name="callback",
        model=CallbackRequest,
        path="/api/v2/conversations/callbacks",
        strategy=create_at_most_once,
        guarantee=_AT_MOST_ONCE.format(where="the callback's data (a participant attribute)"),
        build_body=lambda model, key: model.with_idempotency_key(key),
        read_id=_read_conversation_id,
        ui_path=lambda record_id: f"/directory/#/engage/admin/interactions/{record_id}",
        queue_id=_callback_queue,
        routing_refs=callback_refs,
        journaled=True,
    ),
    "email": KindSpec(
        name="email",
        model=InboundEmailRequest,
        path="/api/v2/conversations/emails",
        strategy=create_at_most_once,
        guarantee=_AT_MOST_ONCE.format(where="the email's attributes (a participant attribute)"),
        build_body=lambda model, key: model.with_idempotency_key(key),
        read_id=_read_top_level_id,
        ui_path=lambda record_id: f"/directory/#/engage/admin/interactions/{record_id}",
        queue_id=lambda model: _str_or_none(model.queue_id),
        routing_refs=flat_refs(),
        journaled=True,
    ),
}


def register_kind(spec: KindSpec) -> None:
    """Add (or replace) a row of the kinds table."""
    KINDS[spec.name] = spec


def get_kind(name: str) -> KindSpec:
    """Return the row of kind ``name``.

    :raises GenesysConfigurationError: naming the known kinds, when ``name`` is not one.
    """
    try:
        return KINDS[name]
    except KeyError:
        known = ", ".join(sorted(KINDS))
        raise GenesysConfigurationError(f"Unknown kind {name!r}: use one of {known}.") from None
