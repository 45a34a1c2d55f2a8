"""Every body the provider builds, from generated valid inputs through its own code, against the SDK's models.

Per kind, hypothesis draws valid inputs (``tests/contract/strategies.py``) — random subsets of the optional
fields, and examples that set every one of them — and the provider turns them into wire bodies exactly as the
operators do (validation, idempotency key, serialisation). Each body must conform to the SDK's request model,
recursively, and keep every field the user gave. Bulk-job entities go through the bulk-jobs operator's own run
and are checked against ``BulkJobAddRequest`` (entities are ``WorkitemCommonCreate``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_genesys.creation.conversation_search import search_body, search_windows
from airflow_provider_genesys.creation.engine import prepare_item
from airflow_provider_genesys.creation.kinds import get_kind
from airflow_provider_genesys.creation.lookup import workitem_query
from airflow_provider_genesys.hooks.genesys_cloud import GenesysResponse
from airflow_provider_genesys.operators.workitem_jobs import GenesysBulkAddWorkitemsOperator
from tests.contract import strategies
from tests.contract.sdk_oracle import allowed_values, assert_conforms, json_fields
from tests.support.context import task_identity

EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REQUEST_MODEL = {"workitem": "WorkitemCreate", "callback": "CreateCallbackCommand", "email": "CreateEmailRequest"}


def _body(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return prepare_item(get_kind(kind), copy.deepcopy(payload), task_identity(), external_id="CASE-1").body


def _keeps_every_field(given_payload: Mapping[str, Any], body: Mapping[str, Any], where: str = "") -> None:
    for name, value in given_payload.items():
        assert name in body, f"{where}{name} was given but is not in the body sent"
        if isinstance(value, Mapping) and value:
            _keeps_every_field(value, body[name], f"{where}{name}.")


# -- the strategies cover every field of the SDK models --------------------------------------------------------


def test_the_workitem_inputs_cover_every_field_of_workitem_create() -> None:
    offered = set(strategies.WORKITEM_REQUIRED) | set(strategies.WORKITEM_OPTIONAL)
    assert offered | set(strategies.WORKITEM_NOT_OFFERED) == set(json_fields("WorkitemCreate"))


def test_the_bulk_inputs_cover_every_field_of_workitem_common_create() -> None:
    offered = set(strategies.WORKITEM_REQUIRED) | set(strategies.WORKITEM_COMMON_OPTIONAL)
    assert offered | set(strategies.WORKITEM_NOT_OFFERED) == set(json_fields("WorkitemCommonCreate"))


def test_the_callback_inputs_cover_every_field_of_the_callback_models() -> None:
    offered = {"callbackNumbers", "queueId", "routingData"} | set(strategies.CALLBACK_OPTIONAL)
    assert offered == set(json_fields("CreateCallbackCommand"))
    assert set(strategies.ROUTING_DATA_OPTIONAL) | {"queueId"} == set(json_fields("RoutingData"))


def test_the_email_inputs_cover_every_field_of_create_email_request() -> None:
    offered = set(strategies.EMAIL_REQUIRED) | set(strategies.EMAIL_OPTIONAL) | set(strategies.EMAIL_TARGETS)
    assert offered | set(strategies.EMAIL_NOT_OFFERED) == set(json_fields("CreateEmailRequest"))


# -- single creates ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("everything", [False, True], ids=["some-fields", "every-field"])
@EXAMPLES
@given(data=st.data())
def test_workitem_bodies_conform_to_workitem_create(everything: bool, data: st.DataObject) -> None:
    payload = data.draw(strategies.workitems(everything=everything))
    body = _body("workitem", payload)
    assert_conforms(body, "WorkitemCreate", what="the workitem body")
    _keeps_every_field(payload, body)
    assert body["externalTag"]


@pytest.mark.parametrize("everything", [False, True], ids=["some-fields", "every-field"])
@EXAMPLES
@given(data=st.data())
def test_callback_bodies_conform_to_create_callback_command(everything: bool, data: st.DataObject) -> None:
    payload = data.draw(strategies.callbacks(everything=everything))
    body = _body("callback", payload)
    assert_conforms(body, "CreateCallbackCommand", what="the callback body")
    _keeps_every_field(payload, body)


@pytest.mark.parametrize("everything", [False, True], ids=["some-fields", "every-field"])
@EXAMPLES
@given(data=st.data())
def test_email_bodies_conform_to_create_email_request(everything: bool, data: st.DataObject) -> None:
    payload = data.draw(strategies.emails(everything=everything))
    body = _body("email", payload)
    assert_conforms(body, "CreateEmailRequest", what="the email body")
    _keeps_every_field(payload, body)


@settings(max_examples=30, deadline=None)
@given(keys=st.lists(st.text("abcdef0123456789", min_size=64, max_size=64), min_size=1, max_size=100, unique=True))
def test_lookup_queries_conform_to_workitem_query_post_request(keys: list[str]) -> None:
    assert_conforms(workitem_query("8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c01", keys), "WorkitemQueryPostRequest")
    query = workitem_query("8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c01", keys, after="opaque-cursor")
    assert_conforms(query, "WorkitemQueryPostRequest")


#: The SDK's example ``dateFormat`` of a DATE_RANGE (``yyyy-MM-dd'T'HH:mm:ss.SSSX``), as a pattern.
SDK_DATE_RANGE_VALUE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(timezone.utc)),
    span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    cursor=st.none() | st.text(min_size=1, max_size=200),
)
def test_participant_search_bodies_conform_to_conversation_participant_search_request(
    start: datetime, span: timedelta, cursor: str | None
) -> None:
    for lower, upper in search_windows(start, start + span):
        body = search_body(lower, upper, cursor=cursor)
        assert_conforms(body, "ConversationParticipantSearchRequest", what="the participant-attribute search")
        for criterion in body["query"]:
            assert_conforms(criterion, "ConversationParticipantSearchCriteria", what="a search criterion")
            assert criterion["type"] in (allowed_values("ConversationParticipantSearchCriteria", "type") or ())
            assert set(criterion["fields"]) <= {"startTime"}  # the one date field public code reports searchable
            assert SDK_DATE_RANGE_VALUE.match(criterion["startValue"]) and SDK_DATE_RANGE_VALUE.match(
                criterion["endValue"]
            )
            assert criterion["startValue"] <= criterion["endValue"]
        assert body.get("cursor") == cursor


# -- bulk add jobs ----------------------------------------------------------------------------------------------


class _AnsweringHook:
    """Records what the bulk-jobs run sends and answers like Genesys would (no network: many examples)."""

    requests_sent = 0
    throttled = 0
    client_id = "client"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []

    def request(self, method: str, path: str, *, json: Any = None, **_: Any) -> GenesysResponse:
        self.sent.append((method, path, json))
        job_id = path.rsplit("/", 1)[-1] if method != "POST" else f"job-{len(self.sent)}"
        state = {"POST": "Idle", "PATCH": "Queued"}.get(method, "Succeeded")
        body: dict[str, Any] = {"id": job_id, "state": state, "action": "AddWorkitems"}
        return GenesysResponse(status=200, body=body, correlation_id=None, attempts=1, latency_ms=0.0)


def _submitted(payloads: list[dict[str, Any]], batch_size: int = 50) -> list[tuple[str, str, Any]]:
    operator = GenesysBulkAddWorkitemsOperator(
        task_id="add", interactions=[{**p, "external_id": f"CASE-{n}"} for n, p in enumerate(payloads)]
    )
    hook = _AnsweringHook()
    operator.__dict__["hook"] = hook  # the operator's cached hook
    operator.batch_size = batch_size
    run = operator._jobs_run(task_identity(task_id="add"))
    items, invalid = run.validate()
    assert invalid == [], [str(item.error) for item in invalid]
    run.submit(items, resumed=False)
    return hook.sent


@pytest.mark.parametrize("everything", [False, True], ids=["some-fields", "every-field"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bulk_job_bodies_conform_to_bulk_job_add_request(everything: bool, data: st.DataObject) -> None:
    payloads = data.draw(st.lists(strategies.workitems(everything=everything, bulk=True), min_size=1, max_size=5))
    sent = _submitted(payloads, batch_size=data.draw(st.integers(1, 5)))
    posts = [body for method, path, body in sent if method == "POST" and path.endswith("/bulk/add/jobs")]
    assert sum(len(body["entities"]) for body in posts) == len(payloads)
    for body in posts:
        assert_conforms(body, "BulkJobAddRequest", what="the bulk add job body")
    entities = [entity for body in posts for entity in body["entities"]]
    for payload, entity in zip(payloads, entities, strict=True):
        _keeps_every_field(payload, entity)
    for method, _, body in sent:
        if method == "PATCH":
            assert_conforms(body, "BulkJobUpdate", what="the bulk add job update")


def test_bulk_jobs_never_send_fields_workitem_common_create_lacks() -> None:
    routed = {
        "name": "Refund CASE-1",
        "typeId": "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c01",
        "preferredAgentIds": ["2b3c4d5e-6f70-4a81-9b2c-3d4e5f6a7b01"],
    }
    operator = GenesysBulkAddWorkitemsOperator(task_id="add", interactions=[routed])
    hook = _AnsweringHook()
    operator.__dict__["hook"] = hook
    run = operator._jobs_run(task_identity(task_id="add"))
    items, invalid = run.validate()
    run.submit(items, resumed=False)

    for method, _, body in hook.sent:
        if method == "POST":
            assert_conforms(body, "BulkJobAddRequest", what="the bulk add job body")
    assert [str(item.error) for item in invalid] and "preferredAgentIds" in str(invalid[0].error)
