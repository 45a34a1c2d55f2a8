"""Hypothesis strategies of valid provider inputs, one per kind, that can set every field the SDK model has.

Each ``*_FIELDS`` table maps a wire name of the SDK request model to a strategy of valid values (by the SDK's
field documentation). :func:`inputs` draws a random subset of the optional fields; ``everything=True`` draws
them all, so every example then sets every optional field. Fields the provider deliberately does not take are
listed in ``*_NOT_OFFERED`` with the reason; the contract tests check that the tables plus those lists are
exactly the SDK model's fields, so a field added to the SDK (or to the provider) cannot go unnoticed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from tests.contract.sdk_oracle import allowed_values

UUIDS = st.uuids(version=4).map(str)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20).filter(
    lambda text: text.strip() != ""
)
WORD = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
PHONE = st.from_regex(r"\+1555[0-9]{7}", fullmatch=True)
EMAIL = st.builds(lambda user, host: f"{user}@{host}.example.com", WORD, WORD)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORD, inner, max_size=3),
    max_leaves=6,
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


#: Aware date-times between now and 300 days ahead (the SDK: "Can not be greater than 365 days from now").
SOON = st.integers(60, 300 * 86_400).map(lambda seconds: (_now() + timedelta(seconds=seconds)).isoformat())
#: An epoch second within the same window (``ttl``).
SOON_EPOCH = st.integers(3_600, 300 * 86_400).map(lambda seconds: int(_now().timestamp()) + seconds)


def _enum(model: str, attr: str) -> st.SearchStrategy[str]:
    values = allowed_values(model, attr)
    assert values, f"{model}.{attr} is not an enum in the SDK"
    return st.sampled_from(values)


# -- workitems (WorkitemCreate; bulk jobs: WorkitemCommonCreate) -------------------------------------------

WORKITEM_REQUIRED: dict[str, st.SearchStrategy[Any]] = {
    "name": st.text("abcdefghij klmnop", min_size=3, max_size=60).filter(lambda name: len(name.strip()) >= 3),
    "typeId": UUIDS,
}
WORKITEM_COMMON_OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "priority": st.integers(-25_000_000, 25_000_000),
    "dateDue": SOON,
    "dateExpires": SOON,
    "durationSeconds": st.integers(0, 365 * 86_400),
    "ttl": SOON_EPOCH,
    "statusId": UUIDS,
    "workbinId": UUIDS,
    "autoStatusTransition": st.booleans(),
    "description": st.text(max_size=100),
    "customFields": st.dictionaries(WORD, JSON_VALUE, max_size=4),
    "queueId": UUIDS,
    "assigneeId": UUIDS,
    "languageId": UUIDS,
    "externalContactId": UUIDS,
    "skillIds": st.lists(UUIDS, max_size=3),
    "scriptId": UUIDS,
}
WORKITEM_OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    **WORKITEM_COMMON_OPTIONAL,
    "wrapupCode": UUIDS,
    "utilizationLabelId": UUIDS,
    "scoredAgents": st.lists(
        st.fixed_dictionaries({"id": UUIDS, "score": st.integers(0, 100)}), min_size=1, max_size=20
    ),
    "preferredAgentIds": st.lists(UUIDS, max_size=3),
}
#: ``externalTag`` carries the provider's idempotency key: always sent, never taken from the user.
WORKITEM_NOT_OFFERED = {"externalTag": "carries the idempotency key (set by the provider)"}

# -- callbacks (CreateCallbackCommand, RoutingData, ScoredAgent) -------------------------------------------

ROUTING_DATA_OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "languageId": UUIDS,
    "label": WORD,
    "priority": st.integers(0, 100),
    "skillIds": st.lists(UUIDS, max_size=3),
    "skillExpression": WORD,
    "preferredAgentIds": st.lists(UUIDS, max_size=3),
    "scoredAgents": st.lists(
        st.fixed_dictionaries({"agent": st.fixed_dictionaries({"id": UUIDS}), "score": st.integers(0, 100)}),
        min_size=1,
        max_size=20,
    ),
    "routingFlags": st.lists(st.sampled_from(["AGENT_OWNED_CALLBACK", "AUTO_ANSWER"]), max_size=1),
}
CALLBACK_OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "scriptId": UUIDS,
    "customerFirstCallbackDeliveryMode": _enum("CreateCallbackCommand", "customer_first_callback_delivery_mode"),
    "callbackUserName": TEXT,
    "callbackScheduledTime": SOON,
    "countryCode": st.sampled_from(["US", "BE", "FR"]),
    "validateCallbackNumbers": st.booleans(),
    "data": st.dictionaries(WORD, TEXT, max_size=3),
    "callerId": PHONE,
    "callerIdName": TEXT,
}
#: The queue is given in one of these two places (the SDK: "Either queueId or routingData is required").
CALLBACK_QUEUE_PLACES = ("queueId", "routingData.queueId")

# -- emails (CreateEmailRequest) ---------------------------------------------------------------------------

EMAIL_OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "skillIds": st.lists(UUIDS, max_size=3),
    "skillExpression": WORD,
    "languageId": UUIDS,
    "priority": st.integers(0, 100),
    "attributes": st.dictionaries(WORD, TEXT, max_size=3),
    "toAddress": EMAIL,
    "toName": TEXT,
    "fromAddress": EMAIL,
    "fromName": TEXT,
    "subject": TEXT,
    "direction": st.just("INBOUND"),
    "htmlBody": TEXT.map(lambda text: f"<p>{text}</p>"),
    "textBody": TEXT,
    "utilizationLabel": UUIDS,
}
#: ``provider`` is required; the target is ``queueId`` or ``flowId`` ("mutually exclusive" in the SDK).
EMAIL_REQUIRED: dict[str, st.SearchStrategy[Any]] = {
    "provider": WORD.map(lambda word: f"Acme {word}"),
}
EMAIL_TARGETS = ("queueId", "flowId")
EMAIL_NOT_OFFERED = {"externalContactId": "the SDK: 'only valid for OUTBOUND email'; this provider creates INBOUND"}


def _fields(
    required: Mapping[str, st.SearchStrategy[Any]], optional: Mapping[str, st.SearchStrategy[Any]], everything: bool
) -> st.SearchStrategy[dict[str, Any]]:
    if everything:
        return st.fixed_dictionaries({**required, **optional})
    return st.fixed_dictionaries(dict(required), optional=dict(optional))


def workitems(*, everything: bool = False, bulk: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Valid workitem inputs (``bulk``: only the fields of ``WorkitemCommonCreate``)."""
    return _fields(WORKITEM_REQUIRED, WORKITEM_COMMON_OPTIONAL if bulk else WORKITEM_OPTIONAL, everything)


@st.composite
def callbacks(draw: st.DrawFn, *, everything: bool = False) -> dict[str, Any]:
    """Valid callback inputs: numbers, the queue in one of its two places, and optional fields."""
    payload = draw(_fields({"callbackNumbers": st.lists(PHONE, min_size=1, max_size=2)}, CALLBACK_OPTIONAL, everything))
    routing = draw(_fields({}, ROUTING_DATA_OPTIONAL, everything))
    place = draw(st.sampled_from(CALLBACK_QUEUE_PLACES))
    if place == "queueId":
        payload["queueId"] = draw(UUIDS)
    else:
        routing["queueId"] = draw(UUIDS)
    if routing or everything:
        payload["routingData"] = routing
    return payload


@st.composite
def emails(draw: st.DrawFn, *, everything: bool = False) -> dict[str, Any]:
    """Valid inbound email inputs: a provider, one target, optional fields."""
    payload = draw(_fields(EMAIL_REQUIRED, EMAIL_OPTIONAL, everything))
    target = draw(st.sampled_from(EMAIL_TARGETS))
    payload[target] = draw(UUIDS if target == "queueId" else WORD)
    return payload
