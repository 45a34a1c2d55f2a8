"""Hypothesis strategies for scenario 7: valid payloads of every kind, and one strategy per documented rule that
breaks exactly that rule (plus malformed JSON-lines and CSV files, bad external ids and malformed
``interactions=`` values).

Besides each kind's own rules, every kind gets the structural ones: NaN or Infinity anywhere (not JSON), nesting
deeper than the provider's limit. Files also carry bytes that are not UTF-8, NaN, nesting that exhausts a JSON
parser, broken CSV quoting, CSV list indexes far out of bounds, and a byte-order mark (which is valid).

Each rule strategy draws a valid payload and breaks it in one place, so a payload that validation accepts points
at either a wrong rule here or a gap in the models; both are reported by the scenario.
"""

from __future__ import annotations

import copy
import json
import math
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from airflow_provider_genesys.models.interaction import INTERACTION_TYPES, PARTICIPANT_ROLES
from airflow_provider_genesys.models.platform import IDEMPOTENCY_ATTRIBUTE

Payload = dict[str, Any]
Rule = Callable[[st.SearchStrategy[Payload]], st.SearchStrategy[Any]]

UUIDS = st.uuids(version=4).map(str)
SHORT_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
WORD = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", min_size=1, max_size=16)
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), SHORT_TEXT)
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        return False
    return True


#: Values that are not UUIDs in any form pydantic accepts (and not ``None``, which optional fields allow).
NOT_UUID = st.one_of(
    SHORT_TEXT.filter(lambda text: not _is_uuid(text) and not _is_uuid(text.strip())),
    st.integers(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.just({}),
)
#: Values that are not integers under strict validation.
NOT_STRICT_INT = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.booleans(),
    st.lists(st.integers(), max_size=1),
)
#: Values that are not strings.
NOT_STRING = st.one_of(st.integers(), st.booleans(), st.lists(st.integers(), max_size=2), st.just({"a": 1}))
#: Strings that are empty once stripped.
BLANK = st.sampled_from(["", " ", "   ", "\t", "\n "])
#: Anything but a JSON object.
NOT_OBJECT = st.one_of(st.none(), st.integers(), SHORT_TEXT, st.lists(JSON_SCALARS, max_size=3), st.booleans())


def _unknown_name(known: set[str]) -> st.SearchStrategy[str]:
    return WORD.filter(lambda name: name not in known)


def _set(path: list[Any], value: Any) -> Callable[[Payload], Payload]:
    def apply(payload: Payload) -> Payload:
        result = copy.deepcopy(payload)
        node: Any = result
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
        return result

    return apply


def _drop(payload: Payload, *path: Any) -> Payload:
    result = copy.deepcopy(payload)
    node: Any = result
    for step in path[:-1]:
        node = node[step]
    node.pop(path[-1], None)
    return result


def _with(base: st.SearchStrategy[Payload], path: list[Any], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.tuples(base, values).map(lambda pair: _set(path, pair[1])(pair[0]))


def _dropping(base: st.SearchStrategy[Payload], *path: Any) -> st.SearchStrategy[Any]:
    return base.map(lambda payload: _drop(payload, *path))


def _not_object(base: st.SearchStrategy[Payload]) -> st.SearchStrategy[Any]:
    return NOT_OBJECT


#: NaN and the infinities: Python floats that JSON cannot carry.
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])


def _deep(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(levels):
        node["n"] = {}
        node = node["n"]
    return root


#: Nesting beyond the provider's limit (32 levels), up to far beyond what pydantic's recursion would survive.
TOO_DEEP = st.sampled_from([40, 300, 600]).map(_deep)


def _structure_rules(container: list[Any]) -> dict[str, Rule]:
    """NaN/Infinity and too deep a nesting inside ``container`` (a free-form object of the kind, or a new field)."""
    return {
        "NaN or Infinity anywhere (not JSON)": lambda b: _with(b, container, NON_FINITE.map(lambda v: {"x": v})),
        "nested deeper than 32 levels": lambda b: _with(b, container, TOO_DEEP),
    }


# -- interactions ----------------------------------------------------------------------------------------------

_SKILL = st.fixed_dictionaries({"id": UUIDS, "level": st.integers(0, 5) | st.floats(0, 5, allow_nan=False)})


@st.composite
def valid_interaction(draw: st.DrawFn) -> Payload:
    participants = [{"id": draw(UUIDS), "roles": ["initiator", "customer"], "channel": {"id": "+15551230001"}}]
    for _ in range(draw(st.integers(0, 2))):
        roles = draw(st.lists(st.sampled_from(["agent", "customer", "system"]), min_size=1, max_size=3, unique=True))
        participants.append({"id": draw(UUIDS), "roles": roles})
    routing: Payload = {"priority": draw(st.integers(1, 100)), "skills": draw(st.lists(_SKILL, max_size=3))}
    if draw(st.booleans()):
        routing["queue"] = {"id": draw(UUIDS)}
    return {"type": draw(st.sampled_from(INTERACTION_TYPES)), "routing": routing, "participants": participants}


def _interaction_rules() -> dict[str, Rule]:
    base_with_skill = valid_interaction().map(
        lambda p: {**p, "routing": {**p["routing"], "skills": [{"id": str(uuid.uuid4()), "level": 3}]}}
    )
    base_with_queue = valid_interaction().map(
        lambda p: {**p, "routing": {**p["routing"], "queue": {"id": str(uuid.uuid4())}}}
    )
    known = {"type", "routing", "participants", "priority", "skills", "queue", "id", "level", "roles", "channel"}

    def unknown_field(base: st.SearchStrategy[Payload]) -> st.SearchStrategy[Any]:
        where = st.sampled_from([[], ["routing"], ["participants", 0], ["participants", 0, "channel"]])
        return st.tuples(base, where, _unknown_name(known), JSON_SCALARS).map(lambda t: _set([*t[1], t[2]], t[3])(t[0]))

    def no_initiator(base: st.SearchStrategy[Payload]) -> st.SearchStrategy[Any]:
        def strip(payload: Payload) -> Payload:
            result = copy.deepcopy(payload)
            for participant in result["participants"]:
                participant["roles"] = [role for role in participant["roles"] if role != "initiator"] or ["customer"]
            return result

        return base.map(strip)

    def duplicate_role(base: st.SearchStrategy[Payload]) -> st.SearchStrategy[Any]:
        return base.map(lambda p: _set(["participants", 0, "roles"], ["initiator", "customer", "initiator"])(p))

    return {
        "type: unknown value": lambda b: _with(
            b, ["type"], SHORT_TEXT.filter(lambda t: t.strip() not in INTERACTION_TYPES)
        ),
        "type: not a string": lambda b: _with(b, ["type"], NOT_STRING),
        "type: missing": lambda b: _dropping(b, "type"),
        "routing: missing": lambda b: _dropping(b, "routing"),
        "routing: not an object": lambda b: _with(b, ["routing"], NOT_OBJECT),
        "routing.priority: below 1 or above 100": lambda b: _with(
            b, ["routing", "priority"], st.integers(max_value=0) | st.integers(min_value=101)
        ),
        "routing.priority: not an integer": lambda b: _with(b, ["routing", "priority"], NOT_STRICT_INT),
        "routing.priority: missing": lambda b: _dropping(b, "routing", "priority"),
        "routing.skills[].id: not a UUID": lambda b: _with(base_with_skill, ["routing", "skills", 0, "id"], NOT_UUID),
        "routing.skills[].level: outside 0..5": lambda b: _with(
            base_with_skill,
            ["routing", "skills", 0, "level"],
            st.floats(max_value=-0.001, allow_nan=False, allow_infinity=False)
            | st.floats(min_value=5.001, allow_nan=False, allow_infinity=False),
        ),
        "routing.queue.id: not a UUID": lambda b: _with(base_with_queue, ["routing", "queue", "id"], NOT_UUID),
        "participants: empty or missing": lambda b: st.one_of(
            _with(b, ["participants"], st.just([])), _dropping(b, "participants")
        ),
        "participants: not a list": lambda b: _with(
            b, ["participants"], st.one_of(st.integers(), SHORT_TEXT, st.just({}))
        ),
        "participants[].id: not a UUID": lambda b: _with(b, ["participants", 0, "id"], NOT_UUID),
        "participants[].roles: empty": lambda b: _with(b, ["participants", 0, "roles"], st.just([])),
        "participants[].roles: unknown role": lambda b: _with(
            b,
            ["participants", 0, "roles"],
            SHORT_TEXT.filter(lambda t: t.strip() not in PARTICIPANT_ROLES).map(lambda t: ["initiator", t]),
        ),
        "participants[].roles: duplicate": duplicate_role,
        "participants: nobody is the initiator": no_initiator,
        "participants[].channel.id: blank or over 256 characters": lambda b: _with(
            b, ["participants", 0, "channel", "id"], BLANK | st.text("x", min_size=257, max_size=300)
        ),
        "unknown field (any level)": unknown_field,
        "not a JSON object": _not_object,
        "routing.skills[].level: NaN or Infinity": lambda b: _with(
            base_with_skill, ["routing", "skills", 0, "level"], NON_FINITE
        ),
        **_structure_rules(["routing", "queue"]),
    }


# -- workitems -------------------------------------------------------------------------------------------------

_NAME = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=3, max_size=60)
#: A workitem's scored agent (``WorkitemScoredAgentRequest``) and a callback's (``ScoredAgent``).
_SCORED = st.fixed_dictionaries({"id": UUIDS, "score": st.integers(0, 100)})
_CALLBACK_SCORED = st.fixed_dictionaries({"agent": st.fixed_dictionaries({"id": UUIDS}), "score": st.integers(0, 100)})


@st.composite
def valid_workitem(draw: st.DrawFn) -> Payload:
    payload: Payload = {"name": draw(_NAME), "typeId": draw(UUIDS)}
    optional = {
        "priority": st.integers(-25_000_000, 25_000_000),
        "queueId": UUIDS,
        "skillIds": st.lists(UUIDS, max_size=3),
        "description": st.text(max_size=100),
        "dateDue": st.integers(1, 300).map(lambda days: (NOW + timedelta(days=days)).isoformat()),
        "scoredAgents": st.lists(_SCORED, max_size=3),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            payload[name] = draw(strategy)
    return payload


_WORKITEM_FIELDS = {
    "name", "typeId", "type_id", "priority", "queueId", "queue_id", "skillIds", "skill_ids", "languageId",
    "language_id", "preferredAgentIds", "preferred_agent_ids", "scoredAgents", "scored_agents", "description",
    "externalContactId", "external_contact_id", "customFields", "custom_fields", "dateDue", "date_due",
    "dateExpires", "date_expires", "statusId", "status_id", "workbinId", "workbin_id", "assigneeId", "assignee_id",
    "externalTag", "external_tag", "durationSeconds", "duration_seconds", "ttl", "autoStatusTransition",
    "auto_status_transition", "scriptId", "script_id", "wrapupCode", "wrapup_code", "utilizationLabelId",
    "utilization_label_id",
}  # fmt: skip


def _workitem_rules() -> dict[str, Rule]:
    far = st.integers(400, 3000).map(lambda days: (datetime.now(timezone.utc) + timedelta(days=days)).isoformat())
    naive = st.integers(1, 300).map(lambda days: (NOW + timedelta(days=days)).replace(tzinfo=None).isoformat())
    return {
        "name: shorter than 3": lambda b: _with(b, ["name"], st.text(max_size=2)),
        "name: longer than 256": lambda b: _with(b, ["name"], st.text("abc", min_size=257, max_size=400)),
        "name: missing": lambda b: _dropping(b, "name"),
        "typeId: missing": lambda b: _dropping(b, "typeId"),
        "typeId: not a UUID": lambda b: _with(b, ["typeId"], NOT_UUID),
        "priority: outside ±25,000,000": lambda b: _with(
            b, ["priority"], st.integers(max_value=-25_000_001) | st.integers(min_value=25_000_001)
        ),
        "priority: not an integer": lambda b: _with(b, ["priority"], NOT_STRICT_INT),
        "queueId: not a UUID": lambda b: _with(b, ["queueId"], NOT_UUID),
        "skillIds[]: not a UUID": lambda b: _with(b, ["skillIds"], NOT_UUID.map(lambda v: [str(uuid.uuid4()), v])),
        "preferredAgentIds[]: not a UUID": lambda b: _with(b, ["preferredAgentIds"], NOT_UUID.map(lambda v: [v])),
        "assigneeId: not a UUID": lambda b: _with(b, ["assigneeId"], NOT_UUID),
        "scoredAgents: more than 20": lambda b: _with(b, ["scoredAgents"], st.lists(_SCORED, min_size=21, max_size=25)),
        "scoredAgents[].score: outside 0..100": lambda b: _with(
            b,
            ["scoredAgents"],
            st.tuples(UUIDS, st.integers(max_value=-1) | st.integers(min_value=101)).map(
                lambda t: [{"id": t[0], "score": t[1]}]
            ),
        ),
        "scoredAgents[].id: not a UUID": lambda b: _with(
            b, ["scoredAgents"], NOT_UUID.map(lambda v: [{"id": v, "score": 50}])
        ),
        "description: longer than 512": lambda b: _with(b, ["description"], st.text("ab ", min_size=513, max_size=700)),
        "dateDue/dateExpires: no time zone": lambda b: st.one_of(
            _with(b, ["dateDue"], naive), _with(b, ["dateExpires"], naive)
        ),
        "dateDue/dateExpires: more than 365 days ahead": lambda b: st.one_of(
            _with(b, ["dateDue"], far), _with(b, ["dateExpires"], far)
        ),
        "languageId/statusId/workbinId: blank": lambda b: st.one_of(
            _with(b, ["languageId"], BLANK), _with(b, ["statusId"], BLANK), _with(b, ["workbinId"], BLANK)
        ),
        "customFields: not an object": lambda b: _with(
            b, ["customFields"], st.one_of(st.integers(), SHORT_TEXT, st.lists(st.integers()))
        ),
        "externalTag: set by the user": lambda b: _with(b, ["externalTag"], SHORT_TEXT | st.integers()),
        "unknown field": lambda b: st.tuples(b, _unknown_name(_WORKITEM_FIELDS), JSON_SCALARS).map(
            lambda t: {**t[0], t[1]: t[2]}
        ),
        "not a JSON object": _not_object,
        **_structure_rules(["customFields"]),
    }


# -- callbacks -------------------------------------------------------------------------------------------------

_PHONE = st.from_regex(r"\+1555[0-9]{7}", fullmatch=True)


@st.composite
def valid_callback(draw: st.DrawFn) -> Payload:
    payload: Payload = {"callbackNumbers": draw(st.lists(_PHONE, min_size=1, max_size=2))}
    if draw(st.booleans()):
        payload["queueId"] = draw(UUIDS)
    else:
        payload["routingData"] = {"queueId": draw(UUIDS), "priority": draw(st.integers(0, 10))}
    if draw(st.booleans()):
        payload["data"] = draw(
            st.dictionaries(WORD.filter(lambda w: w != IDEMPOTENCY_ATTRIBUTE), SHORT_TEXT, max_size=3)
        )
    if draw(st.booleans()):
        payload["callbackScheduledTime"] = (NOW + timedelta(hours=draw(st.integers(1, 48)))).isoformat()
    return payload


def _routing_data_base(base: st.SearchStrategy[Payload]) -> st.SearchStrategy[Payload]:
    return base.map(
        lambda p: {**{k: v for k, v in p.items() if k != "queueId"}, "routingData": {"queueId": str(uuid.uuid4())}}
    )


_CALLBACK_FIELDS = {
    "callbackNumbers", "callback_numbers", "queueId", "queue_id", "routingData", "routing_data", "scriptId",
    "script_id", "callbackUserName", "callback_user_name", "callbackScheduledTime", "callback_scheduled_time",
    "countryCode", "country_code", "validateCallbackNumbers", "validate_callback_numbers", "data",
    "customerFirstCallbackDeliveryMode", "customer_first_callback_delivery_mode", "callerId", "caller_id",
    "callerIdName", "caller_id_name",
}  # fmt: skip


def _callback_rules() -> dict[str, Rule]:
    naive = st.integers(1, 48).map(lambda h: (NOW + timedelta(hours=h)).replace(tzinfo=None).isoformat())
    return {
        "callbackNumbers: missing or empty": lambda b: st.one_of(
            _dropping(b, "callbackNumbers"), _with(b, ["callbackNumbers"], st.just([]))
        ),
        "callbackNumbers[]: blank": lambda b: _with(b, ["callbackNumbers"], BLANK.map(lambda s: ["+15551230001", s])),
        "callbackNumbers[]: not a string": lambda b: _with(b, ["callbackNumbers"], NOT_STRING.map(lambda v: [v])),
        "queue: neither queueId nor routingData.queueId": lambda b: b.map(
            lambda p: {k: v for k, v in p.items() if k not in ("queueId", "routingData")}
        ),
        "queue: both queueId and routingData.queueId": lambda b: st.tuples(b, UUIDS, UUIDS).map(
            lambda t: {**t[0], "queueId": t[1], "routingData": {"queueId": t[2]}}
        ),
        "queueId: not a UUID": lambda b: b.map(lambda p: {k: v for k, v in p.items() if k != "routingData"}).flatmap(
            lambda p: _with(st.just(p), ["queueId"], NOT_UUID)
        ),
        "routingData.queueId: not a UUID": lambda b: _with(_routing_data_base(b), ["routingData", "queueId"], NOT_UUID),
        "routingData.skillIds[]: not a UUID": lambda b: _with(
            _routing_data_base(b), ["routingData", "skillIds"], NOT_UUID.map(lambda v: [v])
        ),
        "routingData.priority: not an integer": lambda b: _with(
            _routing_data_base(b), ["routingData", "priority"], NOT_STRICT_INT
        ),
        "routingData.scoredAgents: more than 20 or score outside 0..100": lambda b: st.one_of(
            _with(
                _routing_data_base(b),
                ["routingData", "scoredAgents"],
                st.lists(_CALLBACK_SCORED, min_size=21, max_size=23),
            ),
            _with(
                _routing_data_base(b),
                ["routingData", "scoredAgents"],
                st.integers(min_value=101).map(lambda s: [{"agent": {"id": str(uuid.uuid4())}, "score": s}]),
            ),
        ),
        "routingData: unknown field": lambda b: st.tuples(
            _routing_data_base(b),
            _unknown_name(
                {
                    "queueId",
                    "queue_id",
                    "languageId",
                    "language_id",
                    "label",
                    "priority",
                    "skillIds",
                    "skill_ids",
                    "skillExpression",
                    "skill_expression",
                    "preferredAgentIds",
                    "preferred_agent_ids",
                    "scoredAgents",
                    "scored_agents",
                    "routingFlags",
                    "routing_flags",
                }
            ),
        ).map(lambda t: {**t[0], "routingData": {**t[0]["routingData"], t[1]: 1}}),
        "callbackScheduledTime: no time zone": lambda b: _with(b, ["callbackScheduledTime"], naive),
        "data: a value that is not a string": lambda b: _with(b, ["data"], NOT_STRING.map(lambda v: {"caseId": v})),
        f"data.{IDEMPOTENCY_ATTRIBUTE}: set by the user": lambda b: _with(
            b, ["data"], SHORT_TEXT.map(lambda v: {IDEMPOTENCY_ATTRIBUTE: v})
        ),
        "unknown field": lambda b: st.tuples(b, _unknown_name(_CALLBACK_FIELDS), JSON_SCALARS).map(
            lambda t: {**t[0], t[1]: t[2]}
        ),
        "not a JSON object": _not_object,
        **_structure_rules(["data"]),
    }


# -- inbound emails --------------------------------------------------------------------------------------------


@st.composite
def valid_email(draw: st.DrawFn) -> Payload:
    payload: Payload = {"provider": draw(st.sampled_from(["Acme CRM", "Zendesk bridge", "mail-in"]))}
    if draw(st.booleans()):
        payload["queueId"] = draw(UUIDS)
    else:
        payload["flowId"] = draw(WORD)
    payload["toAddress"] = "support@example.com"
    payload["fromAddress"] = draw(WORD) + "@example.com"
    if draw(st.booleans()):
        payload["subject"] = draw(SHORT_TEXT)
    if draw(st.booleans()):
        payload["attributes"] = draw(
            st.dictionaries(WORD.filter(lambda w: w != IDEMPOTENCY_ATTRIBUTE), SHORT_TEXT, max_size=3)
        )
    return payload


_EMAIL_FIELDS = {
    "provider", "queueId", "queue_id", "flowId", "flow_id", "skillIds", "skill_ids", "languageId", "language_id",
    "priority", "attributes", "toAddress", "to_address", "toName", "to_name", "fromAddress", "from_address",
    "fromName", "from_name", "subject", "textBody", "text_body", "htmlBody", "html_body", "direction",
    "skillExpression", "skill_expression", "utilizationLabel", "utilization_label",
}  # fmt: skip


def _email_rules() -> dict[str, Rule]:
    not_address = st.one_of(
        WORD,  # no @
        st.tuples(WORD, WORD).map(lambda t: f"{t[0]} x@{t[1]}.com"),  # a space
        st.tuples(WORD, WORD).map(lambda t: f"{t[0]}@{t[1]}"),  # no dot in the domain
        st.tuples(WORD, WORD).map(lambda t: f"{t[0]}@@{t[1]}.com"),
    )
    return {
        "provider: missing or blank": lambda b: st.one_of(_dropping(b, "provider"), _with(b, ["provider"], BLANK)),
        "provider: Genesys' own 'PureCloud Email'": lambda b: _with(
            b, ["provider"], st.sampled_from(["PureCloud Email", "purecloud email", "PURECLOUD EMAIL"])
        ),
        "target: neither queueId nor flowId": lambda b: b.map(
            lambda p: {k: v for k, v in p.items() if k not in ("queueId", "flowId")}
        ),
        "target: both queueId and flowId": lambda b: st.tuples(b, UUIDS, WORD).map(
            lambda t: {**t[0], "queueId": t[1], "flowId": t[2]}
        ),
        "queueId: not a UUID": lambda b: b.map(lambda p: {k: v for k, v in p.items() if k != "flowId"}).flatmap(
            lambda p: _with(st.just(p), ["queueId"], NOT_UUID)
        ),
        "skillIds[]: not a UUID": lambda b: _with(b, ["skillIds"], NOT_UUID.map(lambda v: [v])),
        "priority: not an integer": lambda b: _with(b, ["priority"], NOT_STRICT_INT),
        "toAddress/fromAddress: not an email address": lambda b: st.one_of(
            _with(b, ["toAddress"], not_address), _with(b, ["fromAddress"], not_address)
        ),
        "direction: not INBOUND": lambda b: _with(
            b, ["direction"], st.one_of(st.sampled_from(["OUTBOUND", "inbound", "Inbound", ""]), st.integers())
        ),
        f"attributes.{IDEMPOTENCY_ATTRIBUTE}: set by the user": lambda b: _with(
            b, ["attributes"], SHORT_TEXT.map(lambda v: {IDEMPOTENCY_ATTRIBUTE: v, "caseId": "C-1"})
        ),
        "attributes: a value that is not a string": lambda b: _with(
            b, ["attributes"], NOT_STRING.map(lambda v: {"a": v})
        ),
        "unknown field": lambda b: st.tuples(b, _unknown_name(_EMAIL_FIELDS), JSON_SCALARS).map(
            lambda t: {**t[0], t[1]: t[2]}
        ),
        "not a JSON object": _not_object,
        **_structure_rules(["attributes"]),
    }


#: kind → (strategy of valid payloads, {rule: strategy of payloads breaking it}).
CATALOG: dict[str, tuple[st.SearchStrategy[Payload], dict[str, Rule]]] = {
    "interaction": (valid_interaction(), _interaction_rules()),
    "workitem": (valid_workitem(), _workitem_rules()),
    "callback": (valid_callback(), _callback_rules()),
    "email": (valid_email(), _email_rules()),
}


def generic_rules(model: Any) -> dict[str, Rule]:
    """Rules for a kind without a catalog entry: a non-object body, and an unknown field on an empty body."""
    known = set(model.model_fields) | {f.alias for f in model.model_fields.values() if f.alias}
    return {
        "not a JSON object": _not_object,
        "unknown field": lambda b: st.tuples(_unknown_name(known), JSON_SCALARS).map(lambda t: {t[0]: t[1]}),
    }


def rule_strategies(kinds: list[str], models: dict[str, Any]) -> list[tuple[str, str, st.SearchStrategy[Any]]]:
    """(kind, rule, strategy of payloads breaking it) for every rule of every kind."""
    options = []
    for kind in kinds:
        if kind in CATALOG:
            base, rules = CATALOG[kind]
        else:
            base, rules = st.just({}), generic_rules(models[kind])
        for rule, make in rules.items():
            options.append((kind, rule, make(base)))
    return options


def rule_count(kinds: list[str], models: dict[str, Any]) -> dict[str, int]:
    return {kind: len(CATALOG[kind][1]) if kind in CATALOG else len(generic_rules(models[kind])) for kind in kinds}


# -- malformed files -------------------------------------------------------------------------------------------

_NOT_JSON = st.one_of(
    st.just('{"type": "voice", "routing": {'),
    st.just("{'single': 'quotes'}"),
    st.just('{"a": 1,}'),
    st.text('{[]}:,"abc 123', min_size=1, max_size=20).filter(lambda t: _not_json(t)),
)
_NON_OBJECT_JSON = st.one_of(
    st.lists(st.integers(), max_size=3).map(json.dumps),
    st.integers().map(json.dumps),
    st.just('"text"'),
    st.just("null"),
    st.just("true"),
)


def _not_json(text: str) -> bool:
    if not text.strip():
        return False
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


#: JSON lines that must each be reported, as bytes: not UTF-8, NaN/Infinity, nesting that exhausts the parser.
_HOSTILE_JSON_LINES = st.one_of(
    st.sampled_from([b'{"type": "caf\xe9"}', b'{"type": "\xff\xfe voice"}', b"\x80\x81\x82"]),
    st.sampled_from([b'{"routing": {"priority": NaN}}', b'{"x": Infinity}', b'{"x": [-Infinity]}']),
    st.integers(2_000, 50_000).map(lambda depth: b"[" * depth + b"]" * depth),
)
#: The UTF-8 byte-order mark some editors put at the start of a file (accepted and dropped).
BOM = b"\xef\xbb\xbf"


@st.composite
def malformed_jsonl(draw: st.DrawFn, valid_line: str) -> tuple[bytes, set[int]]:
    """A JSON-lines file mixing valid rows, blank lines, broken JSON, JSON that is not an object, bytes that are not
    UTF-8, NaN/Infinity and nesting that exhausts a parser; sometimes with a byte-order mark.

    Returns the bytes and the (1-based) numbers of the lines that must be reported.
    """
    lines: list[bytes] = []
    bad: set[int] = set()
    for number in range(1, draw(st.integers(3, 12)) + 1):
        what = draw(st.sampled_from(["valid", "blank", "broken", "not_object", "hostile"]))
        if what == "valid":
            lines.append(valid_line.encode())
        elif what == "blank":
            lines.append(b"")
        elif what == "broken":
            lines.append(draw(_NOT_JSON).encode())
            bad.add(number)
        elif what == "not_object":
            lines.append(draw(_NON_OBJECT_JSON).encode())
            bad.add(number)
        else:
            lines.append(draw(_HOSTILE_JSON_LINES))
            bad.add(number)
    if not bad:
        lines.append(draw(_NOT_JSON).encode())
        bad.add(len(lines))
    text = b"\n".join(lines) + b"\n"
    return (BOM + text if draw(st.booleans()) else text), bad


CSV_HEADER = [
    "external_id", "type", "routing.priority", "routing.queue.id", "participants.0.id", "participants.0.roles",
]  # fmt: skip


@st.composite
def malformed_csv(draw: st.DrawFn) -> tuple[bytes, set[int]]:
    """A CSV file whose rows have too few or too many cells, break the nesting of the header (``a`` vs ``a.b``),
    hold bytes that are not UTF-8 or broken quoting; or whose header names a list index far out of bounds; sometimes
    with a byte-order mark.

    Returns the bytes and the line numbers that must be reported (the header is line 1).
    """
    header = list(CSV_HEADER)
    header_problem = draw(st.sampled_from(["none", "clash", "huge_index"]))
    if header_problem == "clash":
        header.append("routing.priority.value")  # clashes with routing.priority in every row that fills both
    elif header_problem == "huge_index":
        header.append(f"participants.{draw(st.integers(1_000, 20_000_000))}.id")  # would allocate that many slots
    lines = [",".join(header).encode()]
    bad: set[int] = set()
    for number in range(2, draw(st.integers(3, 10)) + 2):
        cells = [f"CSV-{number}", "voice", "5", str(uuid.uuid4()), str(uuid.uuid4()), "initiator;customer"]
        if header_problem != "none":
            cells.append("7")
        what = draw(st.sampled_from(["valid", "short", "long", "not_utf8", "bad_quote"]))
        if what == "short":
            cells = cells[: draw(st.integers(1, len(cells) - 1))]
        elif what == "long":
            cells = cells + ["extra"] * draw(st.integers(1, 3))
        encoded = [cell.encode() for cell in cells]
        if what == "not_utf8":
            encoded[1] = b"voic\xe9"
        elif what == "bad_quote":
            encoded[1] = b'"voice"x'
        if what != "valid" or header_problem != "none":
            bad.add(number)
        lines.append(b",".join(encoded))
    if not bad:
        lines.append(b"CSV-short,voice")
        bad.add(len(lines))
    text = b"\n".join(lines) + b"\n"
    return (BOM + text if draw(st.booleans()) else text), bad


#: External ids that make an item invalid (blank, or neither a string nor an integer), and what the error says.
BAD_EXTERNAL_IDS: list[Any] = ["  ", "\t", {"case": 1}, [1], True, 2.5]
#: ``interactions=`` values that must refuse the run before anything is sent.
MALFORMED_INTERACTIONS: list[Any] = [
    "[{",
    "{{ ti.xcom_pull(task_ids='extract') }}",
    "[{'type': 'voice'}]",
    '[{"routing": {"priority": NaN}}]',
    "[" * 50_000,
    "42",
    17,
]
