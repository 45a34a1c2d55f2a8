"""The kinds table: one row per kind of record the operators can create.

A row names the request model, the create endpoint, how exactly-once is kept (the idempotency strategy), how
to read the new record's id from the response, and where a person sees the record in the Genesys UI. Adding a
kind means adding a model and a row; the operators and the engine do not change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.creation.at_most_once import create_at_most_once
from airflow_provider_genesys.creation.idempotency_key import create_with_idempotency_key
from airflow_provider_genesys.creation.items import KindSpec
from airflow_provider_genesys.creation.lookup import create_with_lookup, mark_existing
from airflow_provider_genesys.creation.routing import callback_refs, flat_refs, interaction_refs
from airflow_provider_genesys.exceptions import GenesysConfigurationError
from airflow_provider_genesys.models.interaction import InteractionRequest
from airflow_provider_genesys.models.platform import (
    CallbackRequest,
    InboundEmailRequest,
    WorkitemCommonRequest,
    WorkitemRequest,
)

if TYPE_CHECKING:
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook

#: Connection extra declaring that the connection's host implements the ``/api/v2/interactions`` contract.
INTERACTIONS_CONTRACT_EXTRA = "interactions_contract"


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


def interactions_contract_problem(hook: GenesysCloudHook) -> str | None:
    """Why ``kind="interaction"`` cannot be sent through ``hook`` (``None`` when it can).

    ``/api/v2/interactions`` is this provider's seed contract, not a Genesys Cloud API: a connection to a Genesys
    region would send every create to a route that does not exist. A custom ``host`` (the local sandbox, a
    gateway) or the connection extra ``"interactions_contract": true`` says the host implements the contract.
    Reads the connection only; sends nothing.
    """
    endpoints = hook.endpoints
    if endpoints.is_custom_host or hook.settings.interactions_contract:
        return None
    return (
        f"kind='interaction' sends POST /api/v2/interactions, a contract Genesys Cloud does not offer, and "
        f"connection {hook.genesys_conn_id!r} points at Genesys Cloud ({endpoints.api_base}); nothing was sent. "
        "Genesys Cloud creates routable records as kind='workitem' (POST /api/v2/taskmanagement/workitems), "
        "kind='callback' (POST /api/v2/conversations/callbacks) or kind='email' (POST "
        "/api/v2/conversations/emails). If this connection's host does implement the /api/v2/interactions "
        "contract (the local sandbox, a gateway), set the connection's host to its URL, or add the connection "
        f'extra "{INTERACTIONS_CONTRACT_EXTRA}": true.'
    )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _callback_queue(model: CallbackRequest) -> str | None:
    if model.queue_id is not None:
        return str(model.queue_id)
    return _str_or_none(model.routing_data.queue_id) if model.routing_data else None


#: What a later try can promise for kinds that take no idempotency key (callbacks, inbound emails).
_AT_MOST_ONCE = (
    "Never sent twice blindly, exactly once wherever Genesys can tell: the key travels in {where} "
    "'genesysIdempotencyKey'. Every batch of sends is written to the task's state (Airflow's task state store) "
    "first, so a retry or clear replays what it knows was created (confirmed with GET "
    "/api/v2/conversations/{{id}}) and creates what it knows was never sent. A create whose answer was lost "
    "(timeout, dropped connection, 5xx) is never sent again within the try; a later try looks its key up with "
    "the participant-attribute search: found -> replayed, absent once the indexing delay has passed -> created, "
    "undecidable -> 'outcome unknown', naming the key to look for."
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
        connection_problem=interactions_contract_problem,
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
            "typeId EQ + externalTag EQ, every page followed with 'after'; bulk retries use IN for up to 100 keys "
            "per query); a found workitem is the outcome 'replayed'. Assumes the query sees a workitem once its "
            "create has committed."
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


#: Workitems created through bulk add jobs: the workitem row with ``WorkitemCommonCreate`` entities (same keys).
WORKITEM_BULK_JOBS = replace(
    KINDS["workitem"],
    model=WorkitemCommonRequest,
    path="/api/v2/taskmanagement/workitems/bulk/add/jobs",
    guarantee=(
        "Exactly once per key: the key travels in each entity's externalTag. A job is created Idle and creates "
        "nothing until it is queued (PATCH state Queued), so a job whose creation answer was lost is inert and "
        "the batch is simply submitted again; the queueing is the commit, and GET of the job tells whether it "
        "happened. Each job is written to the task's state before it is queued; a retry or clear first settles "
        "the jobs of earlier tries (an Idle one is terminated, a running one waited for), then looks the keys "
        "up (IN queries of 100) and submits only what Genesys does not have."
    ),
)


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
