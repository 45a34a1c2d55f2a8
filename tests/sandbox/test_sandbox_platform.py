"""Real Genesys endpoints of the sandbox: workitems (create, get, query, bulk add jobs), callbacks, emails."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from genesys_sandbox import (
    QUEUE_BILLING_ID,
    QUEUE_SALES_ID,
    QUEUE_SUPPORT_ID,
    SKILL_ENGLISH_ID,
    WORKBIN_ID,
    WORKTYPE_ID,
)
from tests.support.sandbox_client import SandboxClient, assert_error_body
from tests.support.waiting import wait_until

WORKITEMS = "/api/v2/taskmanagement/workitems"
JOBS = f"{WORKITEMS}/bulk/add/jobs"
MISSING = "00000000-0000-4000-8000-000000000000"


def workitem(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Call back about order 42",
        "typeId": WORKTYPE_ID,
        "priority": 5,
        "skillIds": [SKILL_ENGLISH_ID],
        "externalTag": "tag-1",
        "customFields": {"order": 42},
    }
    body.update(overrides)
    return body


def query(*filters: tuple[str, str, list[str]], **extra: Any) -> dict[str, Any]:
    return {
        "filters": [{"name": n, "type": "String", "operator": op, "values": values} for n, op, values in filters],
        **extra,
    }


def test_create_and_get_workitem(make_sandbox: Callable[..., SandboxClient]) -> None:
    client = make_sandbox(acd_delay_seconds=0.2)
    client.fetch_token()
    response = client.post(WORKITEMS, json=workitem(queueId=QUEUE_SALES_ID))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["name"] == "Call back about order 42"
    assert (created["typeId"], created["type"]["id"]) == (WORKTYPE_ID, WORKTYPE_ID)
    assert (created["queueId"], created["queue"]["id"]) == (QUEUE_SALES_ID, QUEUE_SALES_ID)
    assert created["externalTag"] == "tag-1"
    assert created["skillIds"] == [SKILL_ENGLISH_ID]
    assert created["statusCategory"] == "Open"
    assert created["workbinId"] == WORKBIN_ID
    assert created["assignmentState"] == "AcdStarted"
    assert created["selfUri"] == f"{WORKITEMS}/{created['id']}"
    assert created["dateCreated"].endswith("Z")
    fetched = wait_until(
        lambda: (item := client.get(f"{WORKITEMS}/{created['id']}").json())["assignmentState"] == "Connected" and item,
        what="the ACD to assign the workitem",
    )
    assert fetched["assignee"]["id"]
    assert_error_body(client.get(f"{WORKITEMS}/{MISSING}"), 404, "not.found")


def test_workitem_defaults_from_worktype(sandbox: SandboxClient) -> None:
    created = sandbox.post(WORKITEMS, json={"name": "abc", "typeId": WORKTYPE_ID}).json()
    assert created["queueId"] == QUEUE_SUPPORT_ID
    assert created["priority"] == 0


@pytest.mark.parametrize(
    ("overrides", "field_name"),
    [
        ({"name": "ab"}, "name"),
        ({"name": "x" * 257}, "name"),
        ({"typeId": None}, "typeId"),
        ({"typeId": MISSING}, "typeId"),
        ({"priority": 25_000_001}, "priority"),
        ({"description": "d" * 513}, "description"),
        ({"queueId": MISSING}, "queueId"),
        ({"skillIds": [MISSING]}, "skillIds[0]"),
        ({"unknownField": 1}, "unknownField"),
        ({"scoredAgents": [{"agentId": "a", "score": 1}] * 21}, "scoredAgents"),
    ],
)
def test_workitem_validation(sandbox: SandboxClient, overrides: dict[str, Any], field_name: str) -> None:
    body = {k: v for k, v in workitem(**overrides).items() if v is not None}
    error = assert_error_body(sandbox.post(WORKITEMS, json=body), 400)
    assert field_name in {detail.get("fieldName") for detail in error["details"]}, error
    assert sandbox.admin("GET", "/ledger")["records"] == []


def test_query_by_type_and_external_tag_with_cursor(sandbox: SandboxClient) -> None:
    for index in range(5):
        sandbox.post(WORKITEMS, json=workitem(externalTag=f"tag-{index % 2}", name=f"item {index}"))
    found = sandbox.post(
        f"{WORKITEMS}/query", json=query(("typeId", "EQ", [WORKTYPE_ID]), ("externalTag", "EQ", ["tag-1"]))
    )
    assert found.status_code == 200, found.text
    assert [item["name"] for item in found.json()["entities"]] == ["item 1", "item 3"]
    assert "cursor" not in found.json()

    pages: list[list[str]] = []
    body = query(("typeId", "EQ", [WORKTYPE_ID]), ("externalTag", "IN", ["tag-0", "tag-1"]), pageSize=2)
    while True:
        page = sandbox.post(f"{WORKITEMS}/query", json=body).json()
        pages.append([item["name"] for item in page["entities"]])
        if "cursor" not in page:
            break
        body["after"] = page["cursor"]
    assert pages == [["item 0", "item 1"], ["item 2", "item 3"], ["item 4"]]
    empty = sandbox.post(f"{WORKITEMS}/query", json=query(("queueId", "EQ", [QUEUE_BILLING_ID]))).json()
    assert empty == {"entities": []}


@pytest.mark.parametrize(
    "body",
    [
        query(("externalTag", "EQ", ["tag-1"])),
        query(("typeId", "IN", [WORKTYPE_ID])),
        query(
            ("typeId", "EQ", [WORKTYPE_ID]), ("name", "EQ", ["a"]), ("priority", "EQ", ["1"]), ("statusId", "EQ", ["x"])
        ),
        query(("typeId", "GT", [WORKTYPE_ID])),
        query(("typeId", "EQ", [WORKTYPE_ID]), ("color", "EQ", ["red"])),
        query(("typeId", "EQ", [WORKTYPE_ID]), pageSize=201),
        query(("typeId", "EQ", [WORKTYPE_ID]), after="not-a-cursor"),
        {"filters": []},
    ],
)
def test_query_rules(sandbox: SandboxClient, body: dict[str, Any]) -> None:
    assert_error_body(sandbox.post(f"{WORKITEMS}/query", json=body), 400)


def test_bulk_add_job(make_sandbox: Callable[..., SandboxClient]) -> None:
    client = make_sandbox(bulk_job_start_seconds=0.1, bulk_job_process_seconds=0.2, bulk_max_entities=3)
    client.fetch_token()
    entities = [workitem(externalTag="bulk-0"), workitem(name="x"), workitem(externalTag="bulk-2")]
    submitted = client.post(JOBS, json={"entities": entities})
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert (job["state"], job["totalCount"], job["dateStarted"]) == ("Created", 3, None)
    assert client.get(f"{JOBS}/{job['id']}/results").json()["entities"] == []
    states = {job["state"]}
    deadline = time.monotonic() + 5
    while job["state"] != "Complete" and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(f"{JOBS}/{job['id']}").json()
        states.add(job["state"])
    assert states == {"Created", "Processing", "Complete"}
    assert (job["successfulCount"], job["failedCount"]) == (2, 1)
    assert job["dateStarted"] and job["dateFinished"]
    results = client.get(f"{JOBS}/{job['id']}/results").json()["entities"]
    assert [sorted(entry) for entry in results] == [["index", "workitem"], ["error", "index"], ["index", "workitem"]]
    assert results[1]["error"]["details"][0]["fieldName"] == "name"
    assert results[2]["workitem"]["externalTag"] == "bulk-2"
    ledger = client.admin("GET", "/ledger")
    assert ledger["by_kind"]["workitem"]["creates_by_key"] == {"bulk-0": 1, "bulk-2": 1}
    too_many = client.post(JOBS, json={"entities": [workitem()] * 4})
    assert_error_body(too_many, 400, "constraint.validation")
    assert_error_body(client.get(f"{JOBS}/{MISSING}"), 404)


def test_bulk_job_completes_for_the_ledger_without_polling(make_sandbox: Callable[..., SandboxClient]) -> None:
    client = make_sandbox(bulk_job_start_seconds=0, bulk_job_process_seconds=0.05)
    client.fetch_token()
    assert client.post(JOBS, json={"entities": [workitem(externalTag="solo")]}).status_code == 202
    time.sleep(0.1)
    assert client.admin("GET", "/ledger")["creates_by_key"] == {"solo": 1}


def callback(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "callbackNumbers": ["+15551234567"],
        "callbackUserName": "Ada",
        "routingData": {"queueId": QUEUE_SUPPORT_ID, "priority": 3, "skillIds": [SKILL_ENGLISH_ID]},
        "data": {"genesysIdempotencyKey": "cb-1", "crmCase": "C-9"},
    }
    body.update(overrides)
    return body


def test_callback_create_and_conversation(make_sandbox: Callable[..., SandboxClient]) -> None:
    client = make_sandbox(acd_delay_seconds=0.2)
    client.fetch_token()
    response = client.post("/api/v2/conversations/callbacks", json=callback())
    assert response.status_code == 200, response.text
    created = response.json()
    conversation_id = created["conversation"]["id"]
    assert created["conversation"]["selfUri"] == f"/api/v2/conversations/{conversation_id}"
    assert {identifier["type"] for identifier in created["callbackIdentifiers"]} == {"ACD", "EXTERNAL"}
    conversation = client.get(f"/api/v2/conversations/{conversation_id}").json()
    customer = next(p for p in conversation["participants"] if p["purpose"] == "customer")
    assert customer["attributes"] == {"genesysIdempotencyKey": "cb-1", "crmCase": "C-9"}
    assert customer["callbacks"][0]["callbackNumbers"] == ["+15551234567"]
    assert "agent" not in {p["purpose"] for p in conversation["participants"]}
    path = f"/api/v2/conversations/{conversation_id}"
    wait_until(
        lambda: "agent" in {p["purpose"] for p in client.get(path).json()["participants"]},
        what="the ACD to assign an agent",
    )
    found = client.admin("GET", "/conversations", params={"attribute": "genesysIdempotencyKey", "value": "cb-1"})
    assert [entity["id"] for entity in found["entities"]] == [conversation_id]
    assert found["entities"][0]["kind"] == "callback"
    assert_error_body(client.get(f"/api/v2/conversations/{MISSING}"), 404)


@pytest.mark.parametrize(
    ("overrides", "field_name"),
    [
        ({"callbackNumbers": []}, "callbackNumbers"),
        ({"routingData": None}, "queueId"),
        ({"queueId": MISSING}, "queueId"),
        ({"data": {"n": 1}}, "data.n"),
    ],
)
def test_callback_validation(sandbox: SandboxClient, overrides: dict[str, Any], field_name: str) -> None:
    body = {k: v for k, v in callback(**overrides).items() if v is not None}
    error = assert_error_body(sandbox.post("/api/v2/conversations/callbacks", json=body), 400)
    assert field_name in {detail.get("fieldName") for detail in error["details"]}, error


def email(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider": "Airflow",
        "queueId": QUEUE_BILLING_ID,
        "direction": "INBOUND",
        "fromAddress": "ada@example.com",
        "subject": "Invoice",
        "textBody": "Hello",
        "attributes": {"genesysIdempotencyKey": "em-1"},
    }
    body.update(overrides)
    return body


def test_email_create(sandbox: SandboxClient) -> None:
    response = sandbox.post("/api/v2/conversations/emails", json=email())
    assert response.status_code == 200, response.text
    conversation = sandbox.get(f"/api/v2/conversations/{response.json()['id']}").json()
    customer = next(p for p in conversation["participants"] if p["purpose"] == "customer")
    assert customer["attributes"] == {"genesysIdempotencyKey": "em-1"}
    acd = next(p for p in conversation["participants"] if p["purpose"] == "acd")
    assert acd["queueId"] == QUEUE_BILLING_ID


@pytest.mark.parametrize(
    ("overrides", "field_name"),
    [
        ({"provider": "PureCloud Email"}, "provider"),
        ({"flowId": MISSING}, "queueId"),
        ({"queueId": None}, "queueId"),
        ({"direction": "OUTBOUND"}, "direction"),
        ({"provider": None}, "provider"),
    ],
)
def test_email_validation(sandbox: SandboxClient, overrides: dict[str, Any], field_name: str) -> None:
    body = {k: v for k, v in email(**overrides).items() if v is not None}
    error = assert_error_body(sandbox.post("/api/v2/conversations/emails", json=body), 400)
    assert field_name in {detail.get("fieldName") for detail in error["details"]}, error


def test_ledger_counts_duplicates_per_kind(sandbox: SandboxClient) -> None:
    for _ in range(2):
        sandbox.post(WORKITEMS, json=workitem(externalTag="dup"))
        sandbox.post("/api/v2/conversations/callbacks", json=callback())
    sandbox.post("/api/v2/conversations/emails", json=email())
    ledger = sandbox.admin("GET", "/ledger")
    assert ledger["by_kind"]["workitem"] == {"records": 2, "creates_by_key": {"dup": 2}, "duplicates": 1}
    assert ledger["by_kind"]["callback"]["duplicates"] == 1
    assert ledger["by_kind"]["email"]["duplicates"] == 0
    assert ledger["duplicates"] == 2
    kinds = sorted(record["kind"] for record in ledger["records"])
    assert kinds == ["callback", "callback", "email", "workitem", "workitem"]


def test_platform_routes_share_auth_faults_and_drop(sandbox: SandboxClient) -> None:
    unauthenticated = requests.post(f"{sandbox.base_url}{WORKITEMS}", json=workitem(), timeout=5)
    assert_error_body(unauthenticated, 401)
    sandbox.admin("PUT", "/faults", json={"fail_next": [503]})
    assert_error_body(sandbox.post(WORKITEMS, json=workitem()), 503)
    sandbox.admin("PUT", "/faults", json={"drop_after_commit_next": 1})
    with pytest.raises(requests.exceptions.ConnectionError):
        sandbox.post(WORKITEMS, json=workitem(externalTag="dropped"))
    # the record exists: a client that lost the answer finds it by its tag instead of creating it again
    found = sandbox.post(
        f"{WORKITEMS}/query", json=query(("typeId", "EQ", [WORKTYPE_ID]), ("externalTag", "EQ", ["dropped"]))
    ).json()
    assert len(found["entities"]) == 1
    sandbox.admin("PUT", "/faults", json={"drop_after_commit_next": 1})
    with pytest.raises(requests.exceptions.ConnectionError):
        sandbox.post("/api/v2/conversations/callbacks", json=callback(data={"genesysIdempotencyKey": "cb-drop"}))
    found = sandbox.admin("GET", "/conversations", params={"attribute": "genesysIdempotencyKey", "value": "cb-drop"})
    assert len(found["entities"]) == 1
