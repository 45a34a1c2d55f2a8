"""Exactly-once strategies for the real Genesys create endpoints, which accept no ``Idempotency-Key``.

Two strategies, one per kind of server help available:

* :func:`create_with_lookup` (workitems): the key travels in ``externalTag`` and Genesys can be asked for it
  (``POST /api/v2/taskmanagement/workitems/query``, ``typeId`` EQ + ``externalTag`` EQ). A clean first attempt
  creates directly (one request). When an earlier attempt's outcome is unknown — a lost answer inside this
  call, or an earlier Airflow try — the key is looked up first; a hit is the record (outcome ``replayed``).
  :func:`find_workitems` looks up many keys at once with the IN operator (bulk retries).
* :func:`create_at_most_once` (callbacks, inbound emails): the key travels as a participant attribute, but
  Genesys documents no lookup by attribute, so a create whose answer was lost is never sent again. The
  :class:`~airflow_provider_genesys.journal.SendJournal` of the task remembers every send; a later try replays
  what it knows was created (confirmed with ``GET /api/v2/conversations/{id}``), creates what it knows was
  never created, and fails, with :class:`OutcomeUnknownError`, what it cannot know.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.errors import GenesysApiError, redact
from airflow_provider_genesys.journal import SendState
from airflow_provider_genesys.models.platform import EXTERNAL_TAG_FIELD, IDEMPOTENCY_ATTRIBUTE

if TYPE_CHECKING:
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook, GenesysResponse
    from airflow_provider_genesys.kinds import CreateResult, KindSpec, PreparedItem

WORKITEMS_QUERY_PATH = "/api/v2/taskmanagement/workitems/query"
CONVERSATION_PATH = "/api/v2/conversations/{id}"
#: Genesys' page limit of the workitems query.
QUERY_MAX_PAGE_SIZE = 200
#: Keys per IN lookup (a page holds every hit of a batch; Genesys documents no limit on IN values).
LOOKUP_BATCH_SIZE = 100


class OutcomeUnknownError(GenesysApiError):
    """A create was sent, no answer came back, and Genesys cannot be asked whether it happened.

    Nothing is sent again for this key: a second send could create a second record. The message says where
    to look (the participant attribute carrying the key) and how to go on.
    """

    def __init__(self, message: str, *, cause: GenesysApiError | None = None, attempts: int = 1) -> None:
        super().__init__(
            status=None if cause is None else cause.status,
            code="outcome.unknown",
            message=message,
            correlation_id=None if cause is None else cause.correlation_id,
            method="POST",
            path=None if cause is None else cause.path,
            attempts=attempts,
        )

    def _render(self) -> str:
        return self.message


@dataclass
class _Cost:
    """What the requests of one create cost, lookups included."""

    requests: int = 0
    throttled: int = 0

    def add(self, response: GenesysResponse) -> GenesysResponse:
        self.requests += response.attempts
        self.throttled += response.throttled
        return response


def _result(
    outcome: str,
    spec: KindSpec,
    record: Mapping[str, Any],
    response: GenesysResponse | None,
    cost: _Cost,
    started: float,
    record_id: str | None = None,
) -> CreateResult:
    from airflow_provider_genesys.kinds import CreateResult  # kinds imports this module for its table

    body = dict(record)
    return CreateResult(
        outcome=outcome,
        record=body,
        record_id=record_id or spec.read_id(body),
        http_status=None if response is None else response.status,
        correlation_id=None if response is None else response.correlation_id,
        attempts=max(cost.requests, 1 if response is not None else 0),
        requests_sent=cost.requests,
        latency_ms=(time.monotonic() - started) * 1000.0,
        throttled=cost.throttled,
    )


def _api_error(spec: KindSpec, response: GenesysResponse) -> GenesysApiError:
    return GenesysApiError.from_error_body(
        status=response.status,
        body=response.body,
        correlation_id=response.correlation_id,
        method="POST",
        path=spec.path,
    )


# -- workitems: look the key up when an earlier outcome is unknown -----------------------------------------


def workitem_query(type_id: str, external_tags: list[str], *, after: str | None = None) -> dict[str, Any]:
    """Body of a workitems query for ``external_tags`` of worktype ``type_id`` (EQ for one tag, IN for many)."""
    body: dict[str, Any] = {
        "filters": [
            {"name": "typeId", "type": "String", "operator": "EQ", "values": [type_id]},
            {
                "name": EXTERNAL_TAG_FIELD,
                "type": "String",
                "operator": "EQ" if len(external_tags) == 1 else "IN",
                "values": list(external_tags),
            },
        ],
        "pageSize": QUERY_MAX_PAGE_SIZE if len(external_tags) > 1 else 25,
    }
    if after:
        body["after"] = after
    return body


def find_workitems(hook: GenesysCloudHook, type_id: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Return the workitems of worktype ``type_id`` whose ``externalTag`` is one of ``keys``, by key.

    Keys are looked up :data:`LOOKUP_BATCH_SIZE` at a time with the IN operator (EQ for a single key),
    following the cursor. When several workitems carry one key (created by something else than this
    provider), the oldest wins.
    """
    wanted = list(dict.fromkeys(keys))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), LOOKUP_BATCH_SIZE):
        batch = wanted[start : start + LOOKUP_BATCH_SIZE]
        found.update(_query_tags(hook, type_id, batch, _Cost()))
    return found


def _query_tags(hook: GenesysCloudHook, type_id: str, tags: list[str], cost: _Cost) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    after: str | None = None
    while True:
        response = cost.add(hook.request("POST", WORKITEMS_QUERY_PATH, json=workitem_query(type_id, tags, after=after)))
        body = response.body if isinstance(response.body, Mapping) else {}
        for entity in body.get("entities") or []:
            tag = entity.get(EXTERNAL_TAG_FIELD) if isinstance(entity, Mapping) else None
            if isinstance(tag, str) and tag in tags:
                current = found.get(tag)
                if current is None or str(entity.get("dateCreated", "")) < str(current.get("dateCreated", "")):
                    found[tag] = dict(entity)
        after = body.get("cursor")
        if not after:
            return found


def create_with_lookup(
    hook: GenesysCloudHook, spec: KindSpec, item: PreparedItem, outcome_unknown: bool
) -> CreateResult:
    """Create a workitem exactly once: look its ``externalTag`` up first whenever an earlier outcome is unknown.

    A record found by a bulk lookup before this call (``item.existing``) is replayed without a request.
    """
    started = time.monotonic()
    cost = _Cost()
    if item.existing is not None:
        return _result("replayed", spec, item.existing, None, cost, started)
    type_id = str(item.body["typeId"])

    def lookup() -> GenesysResponse | None:
        response = cost.add(hook.request("POST", WORKITEMS_QUERY_PATH, json=workitem_query(type_id, [item.key])))
        body = response.body if isinstance(response.body, Mapping) else {}
        for entity in body.get("entities") or []:
            if isinstance(entity, Mapping) and entity.get(EXTERNAL_TAG_FIELD) == item.key:
                response.body = dict(entity)
                return response
        return None

    if outcome_unknown:
        found = lookup()
        if found is not None:
            return _result("replayed", spec, found.body, found, cost, started)
    response = hook.request("POST", spec.path, json=item.body, before_retry=lambda error: lookup())
    if response.recovered:
        # ``lookup`` already counted its own request; the create attempts are the rest
        cost.requests += response.attempts
        return _result("replayed", spec, response.body, response, cost, started)
    cost.add(response)
    if response.status not in (200, 201):
        raise _api_error(spec, response)
    return _result(
        "created", spec, response.body if isinstance(response.body, Mapping) else {}, response, cost, started
    )


def mark_existing(
    hook: GenesysCloudHook, items: Iterable[PreparedItem], *, batch_size: int = LOOKUP_BATCH_SIZE
) -> Iterator[PreparedItem]:
    """Yield ``items`` with ``existing`` and ``looked_up`` set from one IN lookup per ``batch_size`` workitems.

    For an Airflow try > 1 of a bulk create: the keys of many items are looked up in one request instead of
    one lookup per item. Items are pulled lazily, a batch at a time.
    """
    batch: list[PreparedItem] = []

    def flush() -> Iterator[PreparedItem]:
        by_type: dict[str, list[PreparedItem]] = {}
        for prepared in batch:
            by_type.setdefault(str(prepared.body["typeId"]), []).append(prepared)
        for type_id, group in by_type.items():
            found = _query_tags(hook, type_id, [prepared.key for prepared in group], _Cost())
            for prepared in group:
                prepared.existing = found.get(prepared.key)
                prepared.looked_up = True
        yield from batch
        batch.clear()

    for prepared in items:
        batch.append(prepared)
        if len(batch) >= batch_size:
            yield from flush()
    if batch:
        yield from flush()


# -- callbacks and emails: never re-send a create whose outcome is unknown ---------------------------------


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
    hook: GenesysCloudHook, spec: KindSpec, item: PreparedItem, outcome_unknown: bool
) -> CreateResult:
    """Create a callback or inbound email at most once, exactly once whenever every answer arrives.

    * The key's journal history decides before anything is sent: created → confirm the conversation with one
      ``GET /api/v2/conversations/{id}`` and replay it; sent without an answer → :class:`OutcomeUnknownError`;
      never sent or rejected → create.
    * The create is sent once. The hook still retries what Genesys certainly did not process (429, a connection
      that could not be opened); after a timeout, a dropped connection or a 5xx it does not re-send, and the
      item fails with :class:`OutcomeUnknownError`.
    * Without a journal (``item.journal`` is ``None``) an Airflow try > 1 cannot know what earlier tries did:
      the item fails with :class:`OutcomeUnknownError` rather than risk a duplicate.
    """
    started = time.monotonic()
    cost = _Cost()
    journal = item.journal
    if journal is None:
        if outcome_unknown:
            raise OutcomeUnknownError(
                _unknown_message(spec, item, "an earlier try may have sent it and this task keeps no send journal")
            )
    else:
        history = journal.history(item.key)
        if history.state is SendState.CREATED and history.record_id:
            return _replay_conversation(hook, spec, item, history.record_id, cost, started)
        if history.state is SendState.SENT_UNKNOWN:
            why = f"try {history.try_number} sent it at {history.timestamp} and got no answer"
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
        journal.sending(item.key)

    def refuse_resend(error: GenesysApiError) -> GenesysResponse | None:
        raise OutcomeUnknownError(
            _unknown_message(spec, item, f"the create was sent and its answer was lost ({error})"), cause=error
        )

    try:
        response = cost.add(hook.request("POST", spec.path, json=item.body, before_retry=refuse_resend))
    except OutcomeUnknownError as error:
        error.attempts = max(1, cost.requests) if cost.requests else 1
        if journal is not None:
            journal.unknown(item.key, error.message)
        raise
    except GenesysApiError as error:
        # a 4xx, or a connection that never opened, created nothing; anything else may have
        may_exist = error.unknown_outcome or (error.status is not None and error.status >= 500)
        if journal is not None:
            if may_exist:
                journal.unknown(item.key, str(error))
            else:
                journal.rejected(item.key, str(error))
        if may_exist:
            raise OutcomeUnknownError(
                _unknown_message(spec, item, f"the create was sent and no answer came ({error})"),
                cause=error,
                attempts=error.attempts,
            ) from None
        raise
    body = response.body if isinstance(response.body, Mapping) else {}
    record_id = spec.read_id(body)
    if journal is not None:
        journal.created(item.key, record_id)
    return _result("created", spec, body, response, cost, started, record_id)


def _replay_conversation(
    hook: GenesysCloudHook, spec: KindSpec, item: PreparedItem, record_id: str, cost: _Cost, started: float
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
    return _result("replayed", spec, conversation, response, cost, started, record_id)


#: A lookup of existing records for many prepared items (bulk tries > 1).
BulkLookup = Callable[["GenesysCloudHook", Iterable["PreparedItem"]], Iterator["PreparedItem"]]
