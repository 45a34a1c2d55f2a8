"""Real Genesys request bodies (models/platform.py): rules, provider-owned key fields, wire contract."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel

from airflow_provider_genesys.exceptions import InteractionValidationError
from airflow_provider_genesys.models.platform import (
    IDEMPOTENCY_ATTRIBUTE,
    CallbackRequest,
    InboundEmailRequest,
    RoutingData,
    ScoredAgent,
    WorkitemCommonRequest,
    WorkitemRequest,
    WorkitemScoredAgentRequest,
)
from airflow_provider_genesys.models.validation import validate_model

TYPE = "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
QUEUE = "0b8f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
SKILL = "5d4e1b9c-6a2f-4f0e-9b3d-1c2a3b4c5d6e"
AGENT = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
OTHER = "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
KEY = "ab" * 32

# --- wire field names, written from the SDK's models (PureCloudPlatformClientV2 269), not from the provider's ------
# (tests/contract/ checks every body against the SDK itself, recursively)
WORKITEM_COMMON_FIELDS = {
    "name", "priority", "dateDue", "dateExpires", "durationSeconds", "ttl", "statusId", "workbinId",
    "autoStatusTransition", "description", "typeId", "customFields", "queueId", "assigneeId", "languageId",
    "externalContactId", "externalTag", "skillIds", "scriptId",
}  # fmt: skip  # WorkitemCommonCreate
WORKITEM_FIELDS = WORKITEM_COMMON_FIELDS | {"wrapupCode", "utilizationLabelId", "scoredAgents", "preferredAgentIds"}
CALLBACK_FIELDS = {
    "scriptId", "queueId", "routingData", "customerFirstCallbackDeliveryMode", "callbackUserName", "callbackNumbers",
    "callbackScheduledTime", "countryCode", "validateCallbackNumbers", "data", "callerId", "callerIdName",
}  # fmt: skip  # CreateCallbackCommand
ROUTING_DATA_FIELDS = {
    "queueId", "languageId", "label", "priority", "skillIds", "skillExpression", "preferredAgentIds", "scoredAgents",
    "routingFlags",
}  # fmt: skip  # RoutingData
EMAIL_FIELDS = {
    "queueId", "flowId", "provider", "skillIds", "skillExpression", "languageId", "priority", "attributes",
    "toAddress", "toName", "fromAddress", "fromName", "subject", "direction", "htmlBody", "textBody",
    "utilizationLabel",
}  # fmt: skip  # CreateEmailRequest without externalContactId ("only valid for OUTBOUND email")
WORKITEM_SCORED_AGENT_FIELDS = {"id", "score"}  # WorkitemScoredAgentRequest
CALLBACK_SCORED_AGENT_FIELDS = {"agent", "score"}  # ScoredAgent {agent: DomainEntityRef, score}


def full_workitem() -> dict[str, Any]:
    return {
        "name": "Call back about case 9",
        "typeId": TYPE,
        "priority": 10,
        "queueId": QUEUE,
        "skillIds": [SKILL],
        "languageId": OTHER,
        "preferredAgentIds": [AGENT],
        "scoredAgents": [{"id": AGENT, "score": 90}],
        "description": "Customer asked for a call",
        "externalContactId": OTHER,
        "customFields": {"case_id_text": "CASE-9", "amount_decimal": 12.5},
        "dateDue": "2025-06-02T12:00:00Z",
        "dateExpires": "2025-07-01T12:00:00+02:00",
        "durationSeconds": 3600,
        "ttl": int((NOW + timedelta(days=30)).timestamp()),
        "statusId": "status-1",
        "workbinId": "workbin-1",
        "autoStatusTransition": False,
        "assigneeId": AGENT,
        "scriptId": OTHER,
        "wrapupCode": OTHER,
        "utilizationLabelId": OTHER,
    }


def full_callback() -> dict[str, Any]:
    return {
        "callbackNumbers": ["+3212345678"],
        "routingData": {
            "queueId": QUEUE,
            "languageId": "lang-1",
            "label": "vip",
            "priority": 5,
            "skillIds": [SKILL],
            "skillExpression": "English AND Billing",
            "preferredAgentIds": [AGENT],
            "scoredAgents": [{"agent": {"id": AGENT}, "score": 100}],
            "routingFlags": ["AUTO_ANSWER"],
        },
        "scriptId": "script-1",
        "customerFirstCallbackDeliveryMode": "UseAgentReservation",
        "callbackUserName": "Zoë",
        "callbackScheduledTime": "2025-06-01T15:00:00+00:00",
        "countryCode": "BE",
        "validateCallbackNumbers": True,
        "data": {"caseId": "CASE-9"},
        "callerId": "+3212345600",
        "callerIdName": "Acme Support",
    }


def full_email() -> dict[str, Any]:
    return {
        "provider": "Airflow",
        "queueId": QUEUE,
        "skillIds": [SKILL],
        "skillExpression": "English",
        "languageId": "lang-1",
        "priority": 3,
        "attributes": {"caseId": "CASE-9"},
        "toAddress": "support@example.com",
        "toName": "Support",
        "fromAddress": "zoe@example.org",
        "fromName": "Zoë",
        "subject": "Where is my order?",
        "textBody": "Hello",
        "htmlBody": "<p>Hello</p>",
        "direction": "INBOUND",
        "utilizationLabel": OTHER,
    }


def problems(model: type[BaseModel], payload: Any) -> dict[str, str]:
    with pytest.raises(InteractionValidationError) as caught:
        validate_model(model, payload, context={"now": NOW})
    return {error.path: error.message for error in caught.value.errors}


def changed(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(payload)
    for name, value in changes.items():
        if value is _DELETE:
            result.pop(name, None)
        else:
            result[name] = value
    return result


_DELETE = object()


# --- contract: wire JSON uses only documented names -----------------------------------------------------------


def _aliases(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


@pytest.mark.parametrize(
    ("model", "documented"),
    [
        (WorkitemRequest, WORKITEM_FIELDS),
        (CallbackRequest, CALLBACK_FIELDS),
        (RoutingData, ROUTING_DATA_FIELDS),
        (InboundEmailRequest, EMAIL_FIELDS),
        (WorkitemScoredAgentRequest, WORKITEM_SCORED_AGENT_FIELDS),
        (ScoredAgent, CALLBACK_SCORED_AGENT_FIELDS),
    ],
)
def test_every_documented_field_is_a_model_field(model: type[BaseModel], documented: set[str]) -> None:
    assert _aliases(model) == documented


def test_full_bodies_with_key_use_only_documented_names() -> None:
    workitem = validate_model(WorkitemRequest, full_workitem(), context={"now": NOW}).with_idempotency_key(KEY)
    assert set(workitem) == WORKITEM_FIELDS == set(full_workitem()) | {"externalTag"}
    assert workitem["scoredAgents"] == [{"id": AGENT, "score": 90}]

    callback = validate_model(CallbackRequest, full_callback()).with_idempotency_key(KEY)
    assert set(callback) == set(full_callback()) and set(callback) <= CALLBACK_FIELDS
    assert set(callback["routingData"]) == ROUTING_DATA_FIELDS
    assert callback["routingData"]["scoredAgents"] == [{"agent": {"id": AGENT}, "score": 100}]

    email = validate_model(InboundEmailRequest, full_email()).with_idempotency_key(KEY)
    assert set(email) == set(full_email()) and set(email) <= EMAIL_FIELDS


# --- valid bodies and the key ---------------------------------------------------------------------------------


def test_minimal_workitem_and_key_in_external_tag() -> None:
    request = validate_model(WorkitemRequest, {"name": "abc", "typeId": TYPE})
    assert request.to_wire() == {"name": "abc", "typeId": TYPE}
    assert request.with_idempotency_key(KEY) == {"name": "abc", "typeId": TYPE, "externalTag": KEY}
    assert request.to_wire() == {"name": "abc", "typeId": TYPE}  # the model itself is left untouched


def test_python_names_are_accepted_and_serialised_as_wire_names() -> None:
    request = WorkitemRequest(name="abc", type_id=UUID(TYPE), queue_id=UUID(QUEUE), skill_ids=[UUID(SKILL)])
    assert request.to_wire() == {"name": "abc", "typeId": TYPE, "queueId": QUEUE, "skillIds": [SKILL]}
    assert problems(WorkitemRequest, {"name": "abc", "type_id": "nope"}) == {"typeId": "not a UUID"}


def test_workitem_dates_are_sent_in_utc_with_milliseconds() -> None:
    wire = validate_model(WorkitemRequest, full_workitem(), context={"now": NOW}).to_wire()
    assert wire["dateDue"] == "2025-06-02T12:00:00.000Z"
    assert wire["dateExpires"] == "2025-07-01T10:00:00.000Z"


def test_callback_with_top_level_queue_and_key_in_data() -> None:
    request = validate_model(CallbackRequest, {"callbackNumbers": ["+1555"], "queueId": QUEUE, "data": {"a": "b"}})
    assert request.with_idempotency_key(KEY) == {
        "callbackNumbers": ["+1555"],
        "queueId": QUEUE,
        "data": {"a": "b", IDEMPOTENCY_ATTRIBUTE: KEY},
    }
    assert IDEMPOTENCY_ATTRIBUTE == "genesysIdempotencyKey"


def test_callback_with_routing_data_without_queue_but_top_level_queue_is_valid() -> None:
    body = {"callbackNumbers": ["+1555"], "queueId": QUEUE, "routingData": {"skillIds": [SKILL]}}
    wire = validate_model(CallbackRequest, body).with_idempotency_key(KEY)
    assert wire["queueId"] == QUEUE and wire["routingData"] == {"skillIds": [SKILL]}


def test_email_via_flow_and_key_in_attributes_with_fixed_direction() -> None:
    request = validate_model(InboundEmailRequest, {"provider": "Airflow", "flowId": "flow-1"})
    assert request.with_idempotency_key(KEY) == {
        "provider": "Airflow",
        "flowId": "flow-1",
        "direction": "INBOUND",
        "attributes": {IDEMPOTENCY_ATTRIBUTE: KEY},
    }


@pytest.mark.parametrize("model_and_body", ["workitem", "callback", "email"])
@pytest.mark.parametrize("key", ["", "   "])
def test_an_empty_key_is_refused(model_and_body: str, key: str) -> None:
    request: WorkitemRequest | CallbackRequest | InboundEmailRequest
    if model_and_body == "workitem":
        request = WorkitemRequest(name="abc", type_id=UUID(TYPE))
    elif model_and_body == "callback":
        request = CallbackRequest(callback_numbers=["1"], queue_id=UUID(QUEUE))
    else:
        request = InboundEmailRequest(provider="Airflow", flow_id="f")
    with pytest.raises(ValueError):
        request.with_idempotency_key(key)


# --- provider-owned key fields --------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["externalTag", "external_tag"])
def test_user_external_tag_is_refused(spelling: str) -> None:
    assert problems(WorkitemRequest, {"name": "abc", "typeId": TYPE, spelling: "mine"}) == {
        "externalTag": "externalTag is set by the provider to carry the idempotency key; remove it"
    }


def test_user_idempotency_attribute_is_refused_in_callback_data_and_email_attributes() -> None:
    callback = changed(full_callback(), data={IDEMPOTENCY_ATTRIBUTE: "mine"})
    assert "set by the provider" in problems(CallbackRequest, callback)["data"]
    email = changed(full_email(), attributes={IDEMPOTENCY_ATTRIBUTE: "mine"})
    assert "set by the provider" in problems(InboundEmailRequest, email)["attributes"]


# --- workitem constraints -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"name": _DELETE}, "name"),
        ({"name": "ab"}, "name"),
        ({"name": "x" * 257}, "name"),
        ({"typeId": _DELETE}, "typeId"),
        ({"typeId": "type-1"}, "typeId"),
        ({"priority": 25_000_001}, "priority"),
        ({"priority": -25_000_001}, "priority"),
        ({"priority": "5"}, "priority"),
        ({"queueId": "q"}, "queueId"),
        ({"skillIds": ["s"]}, "skillIds[0]"),
        ({"preferredAgentIds": [AGENT, "a"]}, "preferredAgentIds[1]"),
        ({"scoredAgents": [{"id": AGENT, "score": 101}]}, "scoredAgents[0].score"),
        ({"scoredAgents": [{"id": AGENT, "score": -1}]}, "scoredAgents[0].score"),
        ({"scoredAgents": [{"id": "a", "score": 1}]}, "scoredAgents[0].id"),
        ({"scoredAgents": [{"agentId": AGENT, "score": 1}]}, "scoredAgents[0].agentId"),
        ({"scoredAgents": [{"id": AGENT, "score": 1, "rank": 2}]}, "scoredAgents[0].rank"),
        ({"scoredAgents": [{"id": AGENT, "score": 1}] * 21}, "scoredAgents"),
        ({"description": "d" * 513}, "description"),
        ({"dateDue": "2025-06-02T12:00:00"}, "dateDue"),
        ({"dateDue": (NOW + timedelta(days=365, seconds=1)).isoformat()}, "dateDue"),
        ({"dateExpires": (NOW + timedelta(days=400)).isoformat()}, "dateExpires"),
        ({"assigneeId": "someone"}, "assigneeId"),
        ({"customFields": ["not", "a", "map"]}, "customFields"),
        ({"wrapupCode": "x"}, "wrapupCode"),
        ({"utilizationLabelId": "label"}, "utilizationLabelId"),
        ({"languageId": "lang-1"}, "languageId"),
        ({"externalContactId": "contact-1"}, "externalContactId"),
        ({"scriptId": "script-1"}, "scriptId"),
        ({"durationSeconds": 365 * 86_400 + 1}, "durationSeconds"),
        ({"durationSeconds": -1}, "durationSeconds"),
        ({"ttl": int((NOW + timedelta(days=366)).timestamp())}, "ttl"),
        ({"ttl": "soon"}, "ttl"),
        ({"autoStatusTransition": "sometimes"}, "autoStatusTransition"),
    ],
)
def test_workitem_constraints(change: dict[str, Any], path: str) -> None:
    assert path in problems(WorkitemRequest, changed(full_workitem(), **change))


def test_workitem_boundaries_are_accepted() -> None:
    body = changed(
        full_workitem(),
        name="x" * 256,
        priority=-25_000_000,
        description="d" * 512,
        scoredAgents=[{"id": AGENT, "score": 0}] * 20,
        durationSeconds=365 * 86_400,
        ttl=int((NOW + timedelta(days=365)).timestamp()),
        dateDue=(NOW + timedelta(days=365)).isoformat(),
        dateExpires=(NOW - timedelta(days=3)).isoformat(),  # in the past is allowed
    )
    low = validate_model(WorkitemRequest, body, context={"now": NOW})
    assert (low.priority, len(low.name), len(low.scored_agents or [])) == (-25_000_000, 256, 20)
    high = validate_model(WorkitemRequest, changed(body, name="abc", priority=25_000_000), context={"now": NOW})
    assert (high.priority, high.name) == (25_000_000, "abc")


def test_date_window_uses_the_clock_without_context() -> None:
    soon = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    far = (datetime.now(timezone.utc) + timedelta(days=366)).isoformat()
    validate_model(WorkitemRequest, {"name": "abc", "typeId": TYPE, "dateDue": soon})
    with pytest.raises(InteractionValidationError, match="365 days"):
        validate_model(WorkitemRequest, {"name": "abc", "typeId": TYPE, "dateDue": far})


def test_workitem_reports_every_problem_at_once() -> None:
    body = {"name": "ab", "typeId": "t", "priority": 3.5, "skillIds": ["s"], "externalTag": "k", "oops": 1}
    assert set(problems(WorkitemRequest, body)) == {"name", "typeId", "priority", "skillIds[0]", "externalTag", "oops"}


# --- callback constraints -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"callbackNumbers": _DELETE}, "callbackNumbers"),
        ({"callbackNumbers": []}, "callbackNumbers"),
        ({"callbackNumbers": ["  "]}, "callbackNumbers[0]"),
        ({"callbackNumbers": [5551234]}, "callbackNumbers[0]"),
        ({"callbackScheduledTime": "2025-06-01T15:00:00"}, "callbackScheduledTime"),
        ({"validateCallbackNumbers": "perhaps"}, "validateCallbackNumbers"),
        ({"data": {"n": 1}}, "data.n"),
        ({"routingData": {"queueId": QUEUE, "skillIds": ["s"]}}, "routingData.skillIds[0]"),
        ({"routingData": {"queueId": "q"}}, "routingData.queueId"),
        ({"routingData": {"queueId": QUEUE, "priority": "high"}}, "routingData.priority"),
        ({"routingData": {"queueId": QUEUE, "scoredAgents": [{"agent": {"id": AGENT}, "score": 1}] * 21}},
         "routingData.scoredAgents"),
        ({"routingData": {"queueId": QUEUE, "scoredAgents": [{"agentId": AGENT, "score": 1}]}},
         "routingData.scoredAgents[0].agent"),
        ({"routingData": {"queueId": QUEUE, "scoredAgents": [{"agent": {"id": "a"}, "score": 1}]}},
         "routingData.scoredAgents[0].agent.id"),
        ({"customerFirstCallbackDeliveryMode": "useQueueSetting"}, "customerFirstCallbackDeliveryMode"),
        ({"callerId": "555-1234"}, "callerId"),
        ({"routingData": {"queueId": QUEUE, "flags": []}}, "routingData.flags"),
        ({"callbackNumber": "+1"}, "callbackNumber"),
    ],
)  # fmt: skip
def test_callback_constraints(change: dict[str, Any], path: str) -> None:
    assert path in problems(CallbackRequest, changed(full_callback(), **change))


def test_callback_error_reads_with_wire_path() -> None:
    found = problems(CallbackRequest, changed(full_callback(), routingData={"queueId": QUEUE, "skillIds": ["s"]}))
    assert found == {"routingData.skillIds[0]": "not a UUID"}


def test_callback_needs_a_queue_from_exactly_one_place() -> None:
    neither = changed(full_callback(), routingData={"skillIds": [SKILL]})
    assert "queueId" in problems(CallbackRequest, neither)
    assert "queueId" in problems(CallbackRequest, {"callbackNumbers": ["1"]})
    both = changed(full_callback(), queueId=QUEUE)
    assert "not both" in problems(CallbackRequest, both)["queueId"]
    snake_both = {"callback_numbers": ["1"], "queue_id": QUEUE, "routing_data": {"queue_id": QUEUE}}
    assert "not both" in problems(CallbackRequest, snake_both)["queueId"]


def test_callback_queue_rule_is_reported_with_field_errors() -> None:
    found = problems(CallbackRequest, {"callbackNumbers": [], "data": {IDEMPOTENCY_ATTRIBUTE: "x"}})
    assert set(found) == {"callbackNumbers", "data", "queueId"}


# --- email constraints ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"provider": _DELETE}, "provider"),
        ({"provider": ""}, "provider"),
        ({"provider": "PureCloud Email"}, "provider"),
        ({"provider": "purecloud email"}, "provider"),
        ({"direction": "OUTBOUND"}, "direction"),
        ({"direction": "inbound"}, "direction"),
        ({"fromAddress": "zoe at example"}, "fromAddress"),
        ({"toAddress": "support"}, "toAddress"),
        ({"skillIds": ["s"]}, "skillIds[0]"),
        ({"priority": "3"}, "priority"),
        ({"attributes": {"n": 1}}, "attributes.n"),
        ({"cc": "x"}, "cc"),
        ({"utilizationLabel": "x" * 37}, "utilizationLabel"),
        ({"externalContactId": OTHER}, "externalContactId"),
    ],
)
def test_email_constraints(change: dict[str, Any], path: str) -> None:
    assert path in problems(InboundEmailRequest, changed(full_email(), **change))


def test_email_needs_exactly_one_of_queue_and_flow() -> None:
    neither = changed(full_email(), queueId=_DELETE)
    assert "queueId" in problems(InboundEmailRequest, neither)
    both = changed(full_email(), flowId="flow-1")
    assert "not both" in problems(InboundEmailRequest, both)["queueId"]


def test_email_direction_defaults_to_inbound() -> None:
    wire = validate_model(InboundEmailRequest, changed(full_email(), direction=_DELETE)).to_wire()
    assert wire["direction"] == "INBOUND"


def test_email_reports_every_problem_at_once() -> None:
    found = problems(InboundEmailRequest, {"provider": "PureCloud Email", "direction": "OUTBOUND", "fromAddress": "x"})
    assert set(found) == {"provider", "direction", "fromAddress", "queueId"}


def test_revalidating_a_model_instance_keeps_it_valid() -> None:
    request = validate_model(CallbackRequest, full_callback())
    assert validate_model(CallbackRequest, request).to_wire() == request.to_wire()


# --- bulk add job entities (WorkitemCommonCreate) ------------------------------------------------------------------


def test_a_bulk_entity_takes_every_common_field_and_serialises_like_a_workitem() -> None:
    common = {name: value for name, value in full_workitem().items() if name in WORKITEM_COMMON_FIELDS}
    entity = validate_model(WorkitemCommonRequest, common, context={"now": NOW})
    assert _aliases(WorkitemCommonRequest) - {
        "scoredAgents",
        "preferredAgentIds",
        "wrapupCode",
        "utilizationLabelId",
    } == (WORKITEM_COMMON_FIELDS)
    assert entity.with_idempotency_key(KEY) == validate_model(
        WorkitemRequest, common, context={"now": NOW}
    ).with_idempotency_key(KEY)


@pytest.mark.parametrize("field", ["scoredAgents", "preferredAgentIds", "wrapupCode", "utilizationLabelId"])
def test_a_bulk_entity_refuses_what_bulk_jobs_cannot_set(field: str) -> None:
    body = {"name": "abc", "typeId": TYPE, field: full_workitem()[field]}
    found = problems(WorkitemCommonRequest, body)
    assert set(found) == {field} and "bulk add jobs cannot set this field" in found[field]
