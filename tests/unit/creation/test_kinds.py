"""The kinds table: one row per kind, bodies that are what Genesys documents, ids and routing refs read right."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import responses
from pydantic import BaseModel

from airflow_provider_genesys.creation.at_most_once import create_at_most_once
from airflow_provider_genesys.creation.items import PreparedItem
from airflow_provider_genesys.creation.kinds import KINDS, get_kind
from airflow_provider_genesys.creation.lookup import create_with_lookup
from airflow_provider_genesys.exceptions import GenesysConfigurationError, InteractionValidationError
from airflow_provider_genesys.models.platform import IDEMPOTENCY_ATTRIBUTE
from genesys_sandbox.platform import CreateCallbackCommand, CreateEmailRequest, WorkitemCreate
from tests.support.context import task_context, task_identity
from tests.support.payloads import PAYLOADS

# The sandbox's wire models forbid unknown fields: a body that validates there has only documented fields.
WIRE_MODELS: dict[str, type[BaseModel]] = {
    "workitem": WorkitemCreate,
    "callback": CreateCallbackCommand,
    "email": CreateEmailRequest,
}


def test_every_kind_has_a_row_with_a_guarantee() -> None:
    assert set(KINDS) == {"interaction", "workitem", "callback", "email"}
    for spec in KINDS.values():
        assert spec.name and spec.path.startswith("/api/v2/") and len(spec.guarantee) > 80
    assert KINDS["workitem"].strategy is create_with_lookup
    assert KINDS["callback"].strategy is create_at_most_once and KINDS["email"].strategy is create_at_most_once
    assert "participant-attribute search" in KINDS["callback"].guarantee
    assert "Exactly once" in KINDS["workitem"].guarantee


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(GenesysConfigurationError, match="callback, email, interaction, workitem"):
        get_kind("fax")


@pytest.mark.parametrize("kind", ["workitem", "callback", "email"])
def test_bodies_carry_the_key_and_only_documented_fields(kind: str, item_of: Callable[..., PreparedItem]) -> None:
    item = item_of(kind)

    WIRE_MODELS[kind].model_validate(item.body)  # raises on any unknown field
    if kind == "workitem":
        assert item.body["externalTag"] == item.key
    else:
        where = "data" if kind == "callback" else "attributes"
        assert item.body[where] == {"caseId": "CASE-1", IDEMPOTENCY_ATTRIBUTE: item.key}
    assert item.queue_id == "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f601"


@pytest.mark.parametrize("kind", ["interaction", "workitem", "callback", "email"])
def test_keys_differ_per_kind_and_item_but_not_per_try(kind: str) -> None:
    from airflow_provider_genesys.creation.engine import prepare_item

    def key(try_number: int, external_id: str | None = "CASE-1", kind: str = kind) -> str:
        task = task_identity(try_number=try_number)
        return prepare_item(get_kind(kind), PAYLOADS[kind], task, external_id=external_id).key

    assert {key(try_number) for try_number in (1, 2, 3, 9)} == {key(1)}  # a retry keeps every key
    assert {key(try_number, external_id=None) for try_number in (1, 2, 5)} == {key(1, external_id=None)}
    assert key(1, external_id="CASE-2") != key(1)
    assert len({key(1, kind=other) for other in ("interaction", "workitem", "callback", "email")}) == 4


@pytest.mark.parametrize(
    ("kind", "payload", "paths"),
    [
        ("workitem", {"name": "ab", "typeId": "x", "externalTag": "mine"}, {"name", "typeId", "externalTag"}),
        ("callback", {"callbackNumbers": [], "data": {IDEMPOTENCY_ATTRIBUTE: "k"}}, {"callbackNumbers", "data"}),
        ("email", {"provider": "PureCloud Email", "queueId": "q", "flowId": "f"}, {"provider", "queueId"}),
    ],
)
def test_bad_bodies_list_every_field_error(kind: str, payload: dict[str, Any], paths: set[str]) -> None:
    from airflow_provider_genesys.creation.engine import prepare_item

    with pytest.raises(InteractionValidationError) as caught:
        prepare_item(get_kind(kind), payload, task_identity())
    found = {error.path.split("[")[0].split(".")[0] for error in caught.value.errors}
    assert paths <= found


def test_ids_are_read_from_each_response_shape() -> None:
    assert get_kind("workitem").read_id({"id": "w1"}) == "w1"
    assert get_kind("email").read_id({"id": "e1", "participants": []}) == "e1"
    callback = {"conversation": {"id": "c1", "selfUri": "/x"}, "callbackIdentifiers": []}
    assert get_kind("callback").read_id(callback) == "c1"
    assert get_kind("callback").read_id({"id": "c2"}) == "c2"  # a conversation read back by id
    assert get_kind("callback").ui_path("c1").endswith("/c1")


@pytest.mark.parametrize("kind", ["interaction", "workitem", "callback", "email"])
def test_routing_refs_name_the_wire_fields(kind: str, item_of: Callable[..., PreparedItem]) -> None:
    refs = get_kind(kind).routing_refs(item_of(kind).body)

    queue_field = {
        "interaction": "routing.queue.id",
        "workitem": "queueId",
        "callback": "routingData.queueId",
        "email": "queueId",
    }[kind]
    skill_field = {
        "interaction": "routing.skills[0].id",
        "workitem": "skillIds[0]",
        "callback": "routingData.skillIds[0]",
        "email": "skillIds[0]",
    }[kind]
    assert refs.queues == ((queue_field, PAYLOADS["workitem"]["queueId"]),)
    assert refs.skills == ((skill_field, PAYLOADS["workitem"]["skillIds"][0]),)


# -- the /api/v2/interactions contract against a real Genesys region -------------------------------------------


def _real_region_connection(monkeypatch: pytest.MonkeyPatch, **extra: Any) -> str:
    conn = {
        "conn_type": "genesys_cloud",
        "login": "id",
        "password": "region-client-secret-8f3a",
        "extra": {"region": "eu-west-1", "token_retry_seconds": 0, "max_attempts": 1, **extra},
    }
    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_REGION", json.dumps(conn))
    return "genesys_region"


def _operators(conn_id: str) -> list[Any]:
    from airflow_provider_genesys.operators.interactions import (
        GenesysBulkCreateInteractionsOperator,
        GenesysCreateInteractionOperator,
    )

    return [
        GenesysCreateInteractionOperator(task_id="one", interaction=PAYLOADS["interaction"], genesys_conn_id=conn_id),
        GenesysBulkCreateInteractionsOperator(
            task_id="many", interactions=[PAYLOADS["interaction"]], genesys_conn_id=conn_id
        ),
    ]


@pytest.mark.parametrize("which", [0, 1], ids=["single", "bulk"])
def test_the_interaction_kind_against_a_genesys_region_fails_before_any_request(
    which: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    operator = _operators(_real_region_connection(monkeypatch))[which]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as http:  # any request would be refused
        with pytest.raises(AirflowFailException) as caught:
            operator.execute(task_context())
        assert len(http.calls) == 0
    message = str(caught.value)
    assert "/api/v2/interactions" in message and "https://api.mypurecloud.ie" in message
    assert all(f"kind='{kind}'" in message for kind in ("workitem", "callback", "email"))
    assert '"interactions_contract": true' in message and "host" in message


def test_a_connection_that_declares_the_interactions_contract_may_use_it(monkeypatch: pytest.MonkeyPatch) -> None:
    operator = _operators(_real_region_connection(monkeypatch, interactions_contract=True))[0]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as http:
        with pytest.raises(Exception) as caught:  # the (mocked) network refuses: the request was attempted
            operator.execute(task_context())
        assert len(http.calls) >= 1
    assert "interactions_contract" not in str(caught.value)
