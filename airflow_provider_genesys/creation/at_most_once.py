"""At most once, exactly once whenever answers arrive (callbacks, inbound emails): never re-send a lost create.

The key travels as a participant attribute, but Genesys documents no read-your-writes lookup by attribute for
these endpoints, so a create whose answer was lost is never sent again. The task's
:class:`~airflow_provider_genesys.creation.journal.SendJournal` remembers every send; a later try replays what
it knows was created (confirmed with ``GET /api/v2/conversations/{id}``), creates what it knows was never
created, and fails, with :class:`~airflow_provider_genesys.exceptions.OutcomeUnknownError`, what it cannot know.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.creation.items import CreateResult, KindSpec, PreparedItem, RequestCost
from airflow_provider_genesys.creation.journal import SendState
from airflow_provider_genesys.exceptions import GenesysApiError, OutcomeUnknownError
from airflow_provider_genesys.models.platform import IDEMPOTENCY_ATTRIBUTE
from airflow_provider_genesys.utils.http_answers import json_object
from airflow_provider_genesys.utils.redaction import redact

if TYPE_CHECKING:
    from airflow_provider_genesys.creation.journal import SendJournal
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
        f"Outcome unknown for this {spec.name} (idempotency key {item.key}): {why}. Genesys offers no lookup by "
        f"attribute for {spec.path}, so it is not sent again (a second send could create a second "
        f"{spec.name}). Look in Genesys for a conversation whose participant attribute "
        f"{IDEMPOTENCY_ATTRIBUTE!r} is {item.key!r} (see the audit trail and the send journal of this task). "
        "If none exists, create it from a new DAG run; if one exists, nothing is missing."
    )


def create_at_most_once(
    hook: GenesysCloudHook,
    spec: KindSpec,
    item: PreparedItem,
    *,
    outcome_unknown: bool,
    journal: SendJournal | None,
) -> CreateResult:
    """Create a callback or inbound email at most once, exactly once whenever every answer arrives.

    * The key's journal history decides before anything is sent: created → confirm the conversation with one
      ``GET /api/v2/conversations/{id}`` and replay it; sending or unknown (it may exist) →
      :class:`OutcomeUnknownError`; never sent or rejected → create.
    * The journal's "sending" line is written right before the request goes on the wire (after the token and the
      settings were obtained), so a failure before that leaves the key never sent, and a request that never
      left (a connection that could not be opened) is recorded as not sent: a retry creates it.
    * The create is sent once. The hook still retries what Genesys certainly did not process (429, a connection
      that could not be opened); after a timeout, a dropped connection, a 5xx or a 2xx without a record id it
      does not re-send, and the item fails with :class:`OutcomeUnknownError`.
    * Every way out leaves the key in a definite state: created (with its id), rejected, not sent, or unknown.
    * Without a journal (``journal`` is ``None``) an Airflow try > 1 cannot know what earlier tries did:
      the item fails with :class:`OutcomeUnknownError` rather than risk a duplicate.
    """
    cost = RequestCost()
    if journal is None:
        if outcome_unknown:
            raise OutcomeUnknownError(
                _unknown_message(spec, item, "an earlier try may have sent it and this task keeps no send journal")
            )
    else:
        history = journal.history(item.key)
        if history.state is SendState.CREATED and history.record_id:
            return _replay_conversation(hook, spec, item, history.record_id, cost)
        if history.may_exist or history.state is SendState.CREATED:
            why = f"try {history.try_number} sent it at {history.timestamp} and got no usable answer"
            raise OutcomeUnknownError(
                _unknown_message(spec, item, why + (f" ({history.detail})" if history.detail else ""))
            )
        if history.state is SendState.NEVER_SENT and outcome_unknown and not journal.resumed:
            raise OutcomeUnknownError(
                _unknown_message(
                    spec,
                    item,
                    "this is a later try, yet no earlier try's send journal is visible here (keep "
                    "GENESYS_PROVIDER_STATE_DIR on storage every worker shares)",
                )
            )

    # the journal, once its "sending" line is written: every way out below settles the key in it
    sent: SendJournal | None = None

    def before_send() -> None:
        nonlocal sent
        if journal is not None and sent is None:
            journal.sending(item.key)
            sent = journal

    def refuse_resend(error: GenesysApiError) -> GenesysResponse | None:
        raise OutcomeUnknownError(
            _unknown_message(spec, item, f"the create was sent and its answer was lost ({error})"), cause=error
        )

    try:
        response = cost.add(
            hook.request("POST", spec.path, json=item.body, before_retry=refuse_resend, before_send=before_send)
        )
    except OutcomeUnknownError as error:
        error.attempts = max(1, cost.requests)
        if sent is not None:
            sent.unknown(item.key, error.message)
        raise
    except GenesysApiError as error:
        if error.unknown_outcome:
            if sent is not None:
                sent.unknown(item.key, str(error))
            raise OutcomeUnknownError(
                _unknown_message(spec, item, f"the create was sent and no usable answer came ({error})"),
                cause=error,
                attempts=error.attempts,
            ) from None
        if sent is not None:
            if error.request_sent:
                sent.rejected(item.key, str(error))
            else:
                sent.not_sent(item.key, str(error))
        raise
    except BaseException as error:
        # a local failure (or the task being stopped) after the "sending" line: the request may have left
        if sent is not None:
            sent.unknown(item.key, f"interrupted while sending: {type(error).__name__}")
        raise
    record_id = spec.read_id(response.body)
    if not record_id:
        why = f"Genesys answered HTTP {response.status} without a {spec.name} id"
        if journal is not None:
            journal.unknown(item.key, why)
        raise OutcomeUnknownError(_unknown_message(spec, item, why), attempts=max(1, cost.requests))
    if journal is not None:
        journal.created(item.key, record_id)
    return cost.result("created", spec, json_object(response.body), response, record_id)


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
