"""Callbacks and inbound emails: never re-sent blindly; exactly once wherever Genesys can tell.

These endpoints take no idempotency key, so the key travels as a participant attribute. The task's
:class:`~airflow_provider_genesys.creation.state.TaskState` remembers every send: a later try replays what it
knows was created (confirmed with ``GET /api/v2/conversations/{id}``) and creates what it knows was never sent.
What may exist (a send whose answer was lost, a batch a killed worker never settled, or no state at all on a
later try) is looked up with the participant-attribute search
(:mod:`~airflow_provider_genesys.creation.conversation_search`): found → replayed; absent once the indexing
delay has passed → created; undecidable → :class:`~airflow_provider_genesys.exceptions.OutcomeUnknownError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.creation.conversation_search import SearchVerdict, find_conversation_by_key
from airflow_provider_genesys.creation.items import CreateResult, KindSpec, PreparedItem, RequestCost
from airflow_provider_genesys.creation.state import NEVER_SENT, KeyHistory, SendState
from airflow_provider_genesys.exceptions import GenesysApiError, OutcomeUnknownError
from airflow_provider_genesys.models.platform import IDEMPOTENCY_ATTRIBUTE
from airflow_provider_genesys.utils.http_answers import json_object
from airflow_provider_genesys.utils.redaction import redact

if TYPE_CHECKING:
    from airflow_provider_genesys.creation.state import TaskState
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook, GenesysResponse

CONVERSATION_PATH = "/api/v2/conversations/{id}"


def _conversation_attributes(conversation: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for participant in conversation.get("participants") or []:
        if isinstance(participant, Mapping) and isinstance(participant.get("attributes"), Mapping):
            merged.update(participant["attributes"])
    return merged


def _unknown_message(spec: KindSpec, item: PreparedItem, why: str) -> str:
    return (
        f"Outcome unknown for this {spec.name} (idempotency key {item.key}): {why}. Genesys cannot yet tell "
        f"whether it exists, so it is not sent again (a second send could create a second "
        f"{spec.name}). Look in Genesys for a conversation whose participant attribute "
        f"{IDEMPOTENCY_ATTRIBUTE!r} is {item.key!r} (see the audit trail and the state of this task). "
        "If none exists, create it from a new DAG run; if one exists, nothing is missing."
    )


def create_at_most_once(
    hook: GenesysCloudHook,
    spec: KindSpec,
    item: PreparedItem,
    *,
    outcome_unknown: bool,
    state: TaskState | None,
) -> CreateResult:
    """Create a callback or inbound email at most once, exactly once whenever every answer arrives.

    * What earlier executions recorded of the key decides before anything is sent: created → confirm the
      conversation with one ``GET /api/v2/conversations/{id}`` and replay it; sending or unknown (it may exist)
      → search Genesys for the key (found → replay, absent → create, undecidable → :class:`OutcomeUnknownError`);
      never sent or rejected → create.
    * ``state.sending`` is called right before the request goes on the wire (after the token and the settings
      were obtained), so a failure before that leaves the key never sent; the engine records every outcome.
    * The create is sent once. The hook still retries what Genesys certainly did not process (429, a connection
      that could not be opened); after a timeout, a dropped connection, a 5xx or a 2xx without a record id it
      does not re-send, and the item fails with :class:`OutcomeUnknownError`.
    * An Airflow try > 1 that finds no earlier state (``[state_store] clear_on_success``, or local files this
      worker cannot see) searches Genesys for every key before sending it.
    """
    cost = RequestCost()
    earlier = state.earlier(item.key) if state is not None else NEVER_SENT
    if earlier.state is SendState.CREATED and earlier.record_id:
        return _replay_conversation(hook, spec, item, earlier.record_id, cost)
    if earlier.may_exist:
        why = f"try {earlier.try_number} sent it at {earlier.timestamp} and got no usable answer"
        why += f" ({earlier.detail})" if earlier.detail else ""
        found = _search_before_resending(hook, spec, item, cost, earlier, why, state)
        if found is not None:
            return found
    elif earlier.state is SendState.NEVER_SENT and outcome_unknown and (state is None or not state.resumed):
        why = "this is a later try, yet no state of an earlier try is visible here"
        found = _search_before_resending(hook, spec, item, cost, None, why, state)
        if found is not None:
            return found

    def refuse_resend(error: GenesysApiError) -> GenesysResponse | None:
        raise OutcomeUnknownError(
            _unknown_message(spec, item, f"the create was sent and its answer was lost ({error})"), cause=error
        )

    try:
        response = cost.add(
            hook.request(
                "POST",
                spec.path,
                json=item.body,
                before_retry=refuse_resend,
                before_send=(lambda: state.sending(item.key)) if state is not None else None,
            )
        )
    except OutcomeUnknownError as error:
        error.attempts = max(1, cost.requests)
        raise
    except GenesysApiError as error:
        if error.unknown_outcome:
            raise OutcomeUnknownError(
                _unknown_message(spec, item, f"the create was sent and no usable answer came ({error})"),
                cause=error,
                attempts=error.attempts,
            ) from None
        raise
    record_id = spec.read_id(response.body)
    if not record_id:
        why = f"Genesys answered HTTP {response.status} without a {spec.name} id"
        raise OutcomeUnknownError(_unknown_message(spec, item, why), attempts=max(1, cost.requests))
    return cost.result("created", spec, json_object(response.body), response, record_id)


def _search_before_resending(
    hook: GenesysCloudHook,
    spec: KindSpec,
    item: PreparedItem,
    cost: RequestCost,
    earlier: KeyHistory | None,
    why: str,
    state: TaskState | None,
) -> CreateResult | None:
    """Ask Genesys whether an earlier try's create of ``item`` exists (participant-attribute search).

    Found → the conversation, confirmed by id and replayed; absent → ``None`` (send it); undecidable →
    :class:`OutcomeUnknownError` naming why.
    """
    try:
        # the window runs from the latest moment the create may have left (for a batch a dead try left
        # "sending", when this execution started); the search range from the first
        sent_until = earlier.sent_until if earlier is not None else None
        # a create an earlier try may have sent left before this execution read its state
        sent_at = _moment(sent_until or (state.loaded_at if state is not None else None))
        sent_from = _moment(earlier.first_timestamp) if earlier is not None else None
    except ValueError as error:
        raise OutcomeUnknownError(_unknown_message(spec, item, f"{why}; {error}"), attempts=0) from None
    answer = find_conversation_by_key(hook, key=item.key, sent_at=sent_at, sent_from=sent_from)
    cost.requests += answer.requests
    if answer.verdict is SearchVerdict.FOUND and answer.conversation_id:
        return _replay_conversation(hook, spec, item, answer.conversation_id, cost)
    if answer.verdict is SearchVerdict.ABSENT:
        return None
    raise OutcomeUnknownError(
        _unknown_message(spec, item, f"{why}; the participant-attribute search could not tell ({answer.reason})"),
        attempts=cost.requests,
    )


def _moment(timestamp: str | None) -> datetime | None:
    """A state timestamp (UTC ISO-8601 with ``Z``) as an aware datetime; ``None`` when there is none.

    :raises ValueError: when it cannot be read (the search cannot be bounded by it).
    """
    if not timestamp:
        return None
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))  # Python 3.10 reads no "Z"
    except ValueError:
        raise ValueError(f"the task state's time {timestamp[:40]!r} cannot be read") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _replay_conversation(
    hook: GenesysCloudHook, spec: KindSpec, item: PreparedItem, record_id: str, cost: RequestCost
) -> CreateResult:
    """Confirm a conversation an earlier try created, by id, and return it as the replayed record."""
    path = CONVERSATION_PATH.format(id=record_id)
    response = cost.add(hook.request("GET", path, accept_statuses=frozenset({404})))
    conversation = response.body if isinstance(response.body, Mapping) else {}
    if response.status == 404:
        raise GenesysApiError(
            status=404,
            code="not.found",
            message=(
                f"an earlier try created {spec.name} {record_id} (key {item.key}), but Genesys no longer finds "
                "that conversation; it is not created again"
            ),
            correlation_id=response.correlation_id,
            method="GET",
            path=path,
            attempts=cost.requests,
        )
    attributes = _conversation_attributes(conversation)
    if attributes.get(IDEMPOTENCY_ATTRIBUTE) != item.key:
        raise GenesysApiError(
            status=response.status,
            code="idempotency.mismatch",
            message=(
                f"conversation {record_id}, recorded as this item's {spec.name}, does not carry "
                f"{IDEMPOTENCY_ATTRIBUTE}={item.key}: " + redact(str(attributes.get(IDEMPOTENCY_ATTRIBUTE)))
            ),
            correlation_id=response.correlation_id,
            method="GET",
            path=path,
            attempts=cost.requests,
        )
    return cost.result("replayed", spec, conversation, response, record_id)
