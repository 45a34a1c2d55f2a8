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

if TYPE_CHECKING:
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook, GenesysResponse


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
    """

    position: int
    external_id: str | None
    key: str
    body: dict[str, Any]
    interaction_type: str | None = None


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
