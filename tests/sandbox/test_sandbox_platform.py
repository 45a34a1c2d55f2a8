"""Real Genesys endpoints of the sandbox: workitems (create, get, query, bulk add jobs), callbacks, emails.

(Every answer is also held to the SDK's models, field by field, in tests/contract/test_sandbox_answers.py.)
"""

from __future__ import annotations

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
AGENT = "2b3c4d5e-6f70-4a81-9b2c-3d4e5f6a7b01"


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
    response = client.post(WORKITEMS, json=workitem(queueId=QUEUE_SALES_ID, scoredAgents=[{"id": AGENT, "score": 70}]))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["name"] == "Call back about order 42"
    assert (created["type"]["id"], created["queue"]["id"]) == (WORKTYPE_ID, QUEUE_SALES_ID)
    assert not {"typeId", "queueId", "skillIds", "workbinId", "statusId"} & set(created)  # references, not flat ids
    assert created["externalTag"] == "tag-1"
    assert [skill["id"] for skill in created["skills"]] == [SKILL_ENGLISH_ID]
    assert created["statusCategory"] == "Open"
    assert created["workbin"]["id"] == WORKBIN_ID
    assert created["scoredAgents"] == [{"agent": {"id": AGENT, "selfUri": f"/api/v2/users/{AGENT}"}, "score": 70}]
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
    assert created["queue"]["id"] == QUEUE_SUPPORT_ID and created["workbin"]["id"] == WORKBIN_ID
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
        ({"scoredAgents": [{"id": AGENT, "score": 1}] * 21}, "scoredAgents"),
        ({"scoredAgents": [{"agentId": AGENT, "score": 1}]}, "scoredAgents[0].agentId"),
        ({"queueId": "support"}, "queueId"),
    ],
)
def test_workitem_validation(sandbox: SandboxClient, overrides: dict[str, Any], field_name: str) -> None:
    body = {k: v for k, v in workitem(**overrides).items() if v is not None}
    error = assert_error_body(sandbox.post(WORKITEMS, json=body), 400)
    assert field_name in {detail.get("fieldName") for detail in error["details"]}, error
    assert sandbox.admin("GET", "/ledger")["records"] == []


def test_query_by_type_and_external_tag_continues_with_after(sandbox: SandboxClient) -> None:
    for index in range(5):
        sandbox.post(WORKITEMS, json=workitem(externalTag=f"tag-{index % 2}", name=f"item {index}"))
    found = sandbox.post(
        f"{WORKITEMS}/query", json=query(("typeId", "EQ", [WORKTYPE_ID]), ("externalTag", "EQ", ["tag-1"]))
    )
    assert found.status_code == 200, found.text
    assert [item["name"] for item in found.json()["entities"]] == ["item 1", "item 3"]
    assert "after" not in found.json()

    body = query(("typeId", "EQ", [WORKTYPE_ID]), ("externalTag", "IN", ["tag-0", "tag-1"]), pageSize=2)
    assert _pages(sandbox, body) == [["item 0", "item 1"], ["item 2", "item 3"], ["item 4"]]
    empty = sandbox.post(f"{WORKITEMS}/query", json=query(("queueId", "EQ", [QUEUE_BILLING_ID]))).json()
    assert empty == {"entities": []}
    count = sandbox.post(f"{WORKITEMS}/query", json=query(("typeId", "EQ", [WORKTYPE_ID]), select="Count")).json()
    assert count == {"count": 5}


def _pages(sandbox: SandboxClient, body: dict[str, Any]) -> list[list[str]]:
    pages: list[list[str]] = []
    while True:
        page = sandbox.post(f"{WORKITEMS}/query", json=body).json()
        pages.append([item["name"] for item in page["entities"]])
        if "after" not in page:
            return pages
        body = {**body, "after": page["after"]}


def test_a_page_limit_makes_pages_partial_and_after_still_reaches_every_match(sandbox: SandboxClient) -> None:
    for index in range(5):
        sandbox.post(WORKITEMS, json=workitem(externalTag="same", name=f"item {index}"))
    sandbox.admin("PATCH", "/faults", json={"query_page_limit": 2})

    pages = _pages(sandbox, query(("typeId", "EQ", [WORKTYPE_ID]), ("externalTag", "EQ", ["same"]), pageSize=25))

    assert pages == [["item 0", "item 1"], ["item 2", "item 3"], ["item 4"]]  # fewer than asked, more to come


def test_query_sorts_by_priority(sandbox: SandboxClient) -> None:
    for priority in (3, 1, 2):
        assert sandbox.post(WORKITEMS, json=workitem(priority=priority, name=f"prio {priority}")).status_code == 201
    body = query(("typeId", "EQ", [WORKTYPE_ID]), sort={"name": "priority", "ascending": False})
    assert [item["name"] for item in sandbox.post(f"{WORKITEMS}/query", json=body).json()["entities"]] == [
        "prio 3",
        "prio 2",
        "prio 1",
    ]


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
        query(("typeId", "EQ", [WORKTYPE_ID]), select=["Count"]),
        query(("typeId", "EQ", [WORKTYPE_ID]), sort={"name": "dateCreated"}),
        {"filters": []},
    ],
)
def test_query_rules(sandbox: SandboxClient, body: dict[str, Any]) -> None:
    assert_error_body(sandbox.post(f"{WORKITEMS}/query", json=body), 400)


def _common(**overrides: Any) -> dict[str, Any]:
    return {key: value for key, value in workitem(**overrides).items() if key != "scoredAgents"}


def _wait_for(client: SandboxClient, job_id: str, end: str) -> set[str]:
    """Poll the job until it is in state ``end``; return every state seen."""
    seen: set[str] = set()
    wait_until(lambda: _seen(client.get(f"{JOBS}/{job_id}").json(), seen)["state"] == end, what=f"the job to end {end}")
    return seen


def _seen(job: dict[str, Any], seen: set[str]) -> dict[str, Any]:
    seen.add(job["state"])
    return job


def test_a_bulk_add_job_is_idle_until_queued_then_runs_and_reports_by_position(
    make_sandbox: Callable[..., SandboxClient],
) -> None:
    client = make_sandbox(bulk_job_start_seconds=0.1, bulk_job_process_seconds=0.2, bulk_max_entities=3)
    client.fetch_token()
    entities = [_common(externalTag="bulk-0"), _common(name="x"), _common(externalTag="bulk-2")]
    submitted = client.post(JOBS, json={"entities": entities})
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert (job["state"], job["action"], job["totalCount"]) == ("Idle", "AddWorkitems", 3)
    assert client.get(f"{JOBS}/{job['id']}/results").json() == {"results": [], "errorCount": 0, "errorIndexes": []}
    assert client.get(f"{JOBS}/{job['id']}").json()["state"] == "Idle"  # an Idle job never runs by itself
    assert client.admin("GET", "/ledger")["records"] == []

    queued = client.request("PATCH", f"{JOBS}/{job['id']}", json={"state": "Queued"})
    assert queued.status_code == 200 and queued.json()["state"] == "Queued"
    assert _wait_for(client, job["id"], "Succeeded") <= {"Queued", "Running", "Succeeded"}
    job = client.get(f"{JOBS}/{job['id']}").json()
    assert (job["successfulCount"], job["failedCount"]) == (2, 1)
    assert job["dateStarted"].endswith("Z") and job["dateFinished"].endswith("Z")
    results = client.get(f"{JOBS}/{job['id']}/results").json()
    assert [sorted(entry) for entry in results["results"]] == [["entity"], ["error"], ["entity"]]
    assert (results["errorCount"], results["errorIndexes"]) == (1, [1])
    assert results["results"][1]["error"]["code"] == "constraint.validation"
    third = client.get(f"{WORKITEMS}/{results['results'][2]['entity']['id']}").json()
    assert third["externalTag"] == "bulk-2"
    ledger = client.admin("GET", "/ledger")
    assert ledger["by_kind"]["workitem"]["creates_by_key"] == {"bulk-0": 1, "bulk-2": 1}
    assert_error_body(client.request("PATCH", f"{JOBS}/{job['id']}", json={"state": "Queued"}), 400)
    assert_error_body(client.post(JOBS, json={"entities": [_common()] * 4}), 400, "constraint.validation")
    assert_error_body(client.get(f"{JOBS}/{MISSING}"), 404)


def test_a_queued_job_runs_before_it_ends(make_sandbox: Callable[..., SandboxClient]) -> None:
    client = make_sandbox(bulk_job_start_seconds=0, bulk_job_process_seconds=600)
    client.fetch_token()
    job = client.post(JOBS, json={"entities": [_common(externalTag="r")]}).json()
    client.request("PATCH", f"{JOBS}/{job['id']}", json={"state": "Queued"})

    running = wait_until(
        lambda: (body := client.get(f"{JOBS}/{job['id']}").json())["state"] == "Running" and body,
        what="the job to run",
    )

    assert running["dateStarted"].endswith("Z") and "dateFinished" not in running
    assert client.get(f"{JOBS}/{job['id']}/results").json()["results"] == []
    assert client.admin("GET", "/ledger")["records"] == []


def test_bulk_entities_are_workitem_common_create(sandbox: SandboxClient) -> None:
    job = sandbox.post(JOBS, json={"entities": [workitem(scoredAgents=[{"id": AGENT, "score": 1}])]}).json()
    sandbox.request("PATCH", f"{JOBS}/{job['id']}", json={"state": "Queued"})
    _wait_for(sandbox, job["id"], "Succeeded")
    error = sandbox.get(f"{JOBS}/{job['id']}/results").json()["results"][0]["error"]
    assert "scoredAgents" in error["message"]


def test_an_idle_job_can_be_terminated_or_deleted_and_then_never_runs(sandbox: SandboxClient) -> None:
    terminated = sandbox.post(JOBS, json={"entities": [_common(externalTag="t")]}).json()
    answer = sandbox.request("PATCH", f"{JOBS}/{terminated['id']}", json={"state": "Terminated"})
    assert answer.status_code == 200 and answer.json()["state"] == "Terminated"
    assert_error_body(sandbox.request("PATCH", f"{JOBS}/{terminated['id']}", json={"state": "Queued"}), 400)
    deleted = sandbox.post(JOBS, json={"entities": [_common(externalTag="d")]}).json()
    assert sandbox.request("DELETE", f"{JOBS}/{deleted['id']}").status_code == 204
    assert_error_body(sandbox.get(f"{JOBS}/{deleted['id']}"), 404)
    assert_error_body(sandbox.request("PATCH", f"{JOBS}/{deleted['id']}", json={"state": "Running"}), 400)
    assert sandbox.admin("GET", "/ledger")["records"] == []


@pytest.mark.parametrize("end", ["Failed", "Terminated"])
def test_a_job_can_be_made_to_end_failed_or_terminated_creating_nothing(sandbox: SandboxClient, end: str) -> None:
    sandbox.admin("PATCH", "/faults", json={"bulk_job_end_state": end})
    job = sandbox.post(JOBS, json={"entities": [_common(externalTag="f")]}).json()
    sandbox.request("PATCH", f"{JOBS}/{job['id']}", json={"state": "Queued"})

    _wait_for(sandbox, job["id"], end)

    assert sandbox.get(f"{JOBS}/{job['id']}").json()["failedCount"] == 1
    assert sandbox.get(f"{JOBS}/{job['id']}/results").json()["results"] == []
    assert sandbox.admin("GET", "/ledger")["records"] == []


def test_a_job_rejects_chosen_entities(sandbox: SandboxClient) -> None:
    sandbox.admin("PATCH", "/faults", json={"bulk_reject_tags": ["no"]})
    job = sandbox.post(JOBS, json={"entities": [_common(externalTag="yes"), _common(externalTag="no")]}).json()
    sandbox.request("PATCH", f"{JOBS}/{job['id']}", json={"state": "Queued"})
    _wait_for(sandbox, job["id"], "Succeeded")

    results = sandbox.get(f"{JOBS}/{job['id']}/results").json()

    assert results["errorIndexes"] == [1] and results["results"][1]["error"]["code"] == "entity.rejected"
    assert sandbox.admin("GET", "/ledger")["creates_by_key"] == {"yes": 1}


def test_bulk_job_completes_for_the_ledger_without_polling(make_sandbox: Callable[..., SandboxClient]) -> None:
    client = make_sandbox(bulk_job_start_seconds=0, bulk_job_process_seconds=0.05)
    client.fetch_token()
    job = client.post(JOBS, json={"entities": [_common(externalTag="solo")]})
    assert job.status_code == 202
    client.request("PATCH", f"{JOBS}/{job.json()['id']}", json={"state": "Queued"})
    wait_until(lambda: client.admin("GET", "/ledger")["creates_by_key"] == {"solo": 1}, what="the job's workitem")


def callback(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "callbackNumbers": ["+15551234567"],
        "callbackUserName": "Ada",
        "routingData": {
            "queueId": QUEUE_SUPPORT_ID,
            "priority": 3,
            "skillIds": [SKILL_ENGLISH_ID],
            "skillExpression": "English",
            "scoredAgents": [{"agent": {"id": AGENT}, "score": 100}],
        },
        "customerFirstCallbackDeliveryMode": "UseQueueSetting",
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
        ({"routingData": {"queueId": QUEUE_SUPPORT_ID, "scoredAgents": [{"agentId": AGENT, "score": 1}]}},
         "routingData.scoredAgents[0].agentId"),
        ({"customerFirstCallbackDeliveryMode": "Always"}, "customerFirstCallbackDeliveryMode"),
    ],
)  # fmt: skip
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
    response = sandbox.post("/api/v2/conversations/emails", json=email(skillExpression="Billing"))
    assert response.status_code == 200, response.text
    answer = response.json()  # an EmailConversation: flat email participants, the queue as a reference
    acd_media = next(p for p in answer["participants"] if p["purpose"] == "acd")
    assert acd_media["queue"]["id"] == QUEUE_BILLING_ID and acd_media["subject"] == "Invoice"
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
