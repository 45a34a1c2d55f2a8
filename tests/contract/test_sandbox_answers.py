"""Every answer of every Genesys route the sandbox serves — successes and errors — against the SDK's models.

A script drives the sandbox over loopback through each route's answers: creates with every field set, records
while queued and once assigned, query pages (partial, continued with ``after``), the bulk add job life cycle
(``Idle`` → ``Queued`` → ``Running`` → ``Succeeded``, ``Failed``, ``Terminated``, rejected entities, a deleted
job), participant-attribute search pages (linked by ``cursor``, empty inside the indexing delay) and the errors
(401, 400 — state conflicts included —, 403, 404, 415, 429, 503). Each exchange is checked: the route must be an
SDK operation, a 2xx body must conform to the operation's response model (no body when the SDK expects none) and
an error body to ``ErrorBody``. Then every Genesys route the sandbox serves must have been
seen answering at least once with success and once with an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from starlette.routing import Route

from genesys_sandbox import SandboxConfig, SandboxServer, seeds
from tests.contract.sdk_oracle import assert_conforms, operation_for, operation_for_template
from tests.support.sandbox_client import SandboxClient

WORKITEMS = "/api/v2/taskmanagement/workitems"
JOBS = f"{WORKITEMS}/bulk/add/jobs"
MISSING = "00000000-0000-4000-8000-000000000000"
#: Routes of the sandbox that are not Genesys Cloud's: the seed contract, its admin and CRM routes.
NOT_GENESYS = ("/api/v2/interactions", "/_sandbox", "/crm", "/docs", "/oauth/token")


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    body: Any


class Driver:
    """A sandbox client that keeps every exchange."""

    def __init__(self, client: SandboxClient) -> None:
        self.client = client
        self.exchanges: list[Exchange] = []

    def call(self, method: str, path: str, *, expect: int, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        body = response.json() if response.content else None
        self.exchanges.append(Exchange(method, path, response.status_code, body))
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return body

    def until(self, method: str, path: str, done: Callable[[Any], bool], *, timeout: float = 10.0) -> Any:
        """Call until ``done(body)`` (each answer is kept and checked too)."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.call(method, path, expect=200)
            if done(body):
                return body
            assert time.monotonic() < deadline, f"{method} {path}: gave up waiting; last answer {body}"
            time.sleep(0.02)


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    config = SandboxConfig(acd_delay_seconds=0.3, bulk_job_start_seconds=0.05, bulk_job_process_seconds=0.1)
    with SandboxServer(config) as running:
        yield running


@pytest.fixture
def driver(server: SandboxServer) -> Iterator[Driver]:
    server.state.reset()
    client = SandboxClient(server)
    client.fetch_token()
    yield Driver(client)
    client.session.close()


def _full_workitem(tag: str) -> dict[str, Any]:
    now = time.time()
    return {
        "name": f"Refund {tag}",
        "typeId": seeds.WORKTYPE_ID,
        "priority": 5,
        "dateDue": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now + 86_400)),
        "dateExpires": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now + 7 * 86_400)),
        "durationSeconds": 600,
        "ttl": int(now) + 30 * 86_400,
        "statusId": seeds.WORKTYPE_STATUS_OPEN_ID,
        "workbinId": seeds.WORKBIN_ID,
        "autoStatusTransition": False,
        "description": "The customer asks for a refund.",
        "customFields": {"orderId": "4411"},
        "queueId": seeds.QUEUE_SUPPORT_ID,
        "assigneeId": seeds.AGENT_USER_ID,
        "languageId": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c01",
        "externalContactId": "7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d01",
        "externalTag": tag,
        "skillIds": [seeds.SKILL_ENGLISH_ID],
        "scriptId": "8c9d0e1f-2a3b-4c4d-8e5f-6a7b8c9d0e01",
        "wrapupCode": "9d0e1f2a-3b4c-4d5e-9f6a-7b8c9d0e1f01",
        "utilizationLabelId": "0e1f2a3b-4c5d-4e6f-8a7b-8c9d0e1f2a01",
        "scoredAgents": [{"id": seeds.AGENT_USER_ID, "score": 90}],
        "preferredAgentIds": [seeds.AGENT_USER_ID],
    }


def _common(body: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in body.items()
        if k not in ("scoredAgents", "preferredAgentIds", "wrapupCode", "utilizationLabelId")
    }


def _query(*filters: tuple[str, str, list[str]], **extra: Any) -> dict[str, Any]:
    return {
        "filters": [{"name": n, "type": "String", "operator": op, "values": values} for n, op, values in filters],
        **extra,
    }


def _drive_workitems(d: Driver) -> None:
    created = d.call("POST", WORKITEMS, json=_full_workitem("tag-0"), expect=201)
    d.call("GET", f"{WORKITEMS}/{created['id']}", expect=200)
    d.until("GET", f"{WORKITEMS}/{created['id']}", lambda body: body.get("assignmentState") == "Connected")
    d.call("POST", WORKITEMS, json={"name": "abc", "typeId": seeds.WORKTYPE_ID}, expect=201)
    for number in range(1, 5):
        d.call(
            "POST",
            WORKITEMS,
            json={"name": f"item {number}", "typeId": seeds.WORKTYPE_ID, "externalTag": "p"},
            expect=201,
        )
    d.call("POST", WORKITEMS, json={"name": "ab", "typeId": seeds.WORKTYPE_ID}, expect=400)
    d.call("POST", WORKITEMS, json={**_full_workitem("x"), "queueId": MISSING}, expect=400)
    d.call("POST", WORKITEMS, json={"name": "abc", "typeId": seeds.WORKTYPE_ID, "flavour": 1}, expect=400)
    d.call("GET", f"{WORKITEMS}/{MISSING}", expect=404)
    # query: pages of at most 2 although 3 were asked for, continued with "after"
    d.client.admin("PATCH", "/faults", json={"query_page_limit": 2})
    body = _query(("typeId", "EQ", [seeds.WORKTYPE_ID]), ("externalTag", "IN", ["p", "tag-0"]), pageSize=3)
    pages = 0
    while True:
        page = d.call("POST", f"{WORKITEMS}/query", json=body, expect=200)
        pages += 1
        if not page.get("after"):
            break
        body["after"] = page["after"]
    assert pages == 3
    d.client.admin("PATCH", "/faults", json={"query_page_limit": None})
    d.call("POST", f"{WORKITEMS}/query", json=_query(("typeId", "EQ", [seeds.WORKTYPE_ID]), select="Count"), expect=200)
    d.call("POST", f"{WORKITEMS}/query", json=_query(("externalTag", "EQ", ["p"])), expect=400)
    d.call("POST", f"{WORKITEMS}/query", json=_query(("typeId", "EQ", [seeds.WORKTYPE_ID]), after="nope"), expect=400)


def _drive_bulk_jobs(d: Driver) -> None:
    entities = [_common(_full_workitem("bulk-0")), {"name": "x", "typeId": seeds.WORKTYPE_ID}]
    job = d.call("POST", JOBS, json={"entities": entities}, expect=202)
    assert job["state"] == "Idle"
    d.call("GET", f"{JOBS}/{job['id']}", expect=200)
    d.call("GET", f"{JOBS}/{job['id']}/results", expect=200)
    d.call("PATCH", f"{JOBS}/{job['id']}", json={"state": "Queued"}, expect=200)
    d.call("PATCH", f"{JOBS}/{job['id']}", json={"state": "Queued"}, expect=400)  # no longer Idle
    done = d.until("GET", f"{JOBS}/{job['id']}", lambda body: body["state"] == "Succeeded")
    assert done["state"] == "Succeeded"
    results = d.call("GET", f"{JOBS}/{job['id']}/results", expect=200)
    assert results["errorIndexes"] == [1]
    d.call("DELETE", f"{JOBS}/{job['id']}", expect=400)  # only an Idle job can be deleted
    # a job ended Failed, one Terminated by the system, one Terminated while Idle, one deleted while Idle
    for end_state in ("Failed", "Terminated"):
        d.client.admin("PATCH", "/faults", json={"bulk_job_end_state": end_state})
        failing = d.call("POST", JOBS, json={"entities": [{"name": "abc", "typeId": seeds.WORKTYPE_ID}]}, expect=202)
        d.call("PATCH", f"{JOBS}/{failing['id']}", json={"state": "Queued"}, expect=200)
        d.until("GET", f"{JOBS}/{failing['id']}", lambda body, end=end_state: body["state"] == end)
        d.call("GET", f"{JOBS}/{failing['id']}/results", expect=200)
    d.client.admin("PATCH", "/faults", json={"bulk_job_end_state": None, "bulk_reject_tags": ["bulk-r"]})
    rejected = d.call(
        "POST",
        JOBS,
        json={"entities": [{"name": "abc", "typeId": seeds.WORKTYPE_ID, "externalTag": "bulk-r"}]},
        expect=202,
    )
    d.call("PATCH", f"{JOBS}/{rejected['id']}", json={"state": "Queued"}, expect=200)
    d.until("GET", f"{JOBS}/{rejected['id']}", lambda body: body["state"] == "Succeeded")
    d.call("GET", f"{JOBS}/{rejected['id']}/results", expect=200)
    idle = d.call("POST", JOBS, json={"entities": [{"name": "abc", "typeId": seeds.WORKTYPE_ID}]}, expect=202)
    d.call("PATCH", f"{JOBS}/{idle['id']}", json={"state": "Terminated"}, expect=200)
    deleted = d.call("POST", JOBS, json={"entities": [{"name": "abc", "typeId": seeds.WORKTYPE_ID}]}, expect=202)
    d.call("DELETE", f"{JOBS}/{deleted['id']}", expect=204)
    d.call("GET", f"{JOBS}/{deleted['id']}", expect=404)
    d.call("POST", JOBS, json={"entities": []}, expect=400)
    d.call("POST", JOBS, json={"entities": [entities[0]] * 51}, expect=400)
    d.call("PATCH", f"{JOBS}/{MISSING}", json={"state": "Queued"}, expect=404)
    d.call("PATCH", f"{JOBS}/{idle['id']}", json={"state": "Running"}, expect=400)
    d.call("GET", f"{JOBS}/{MISSING}/results", expect=404)
    d.call("DELETE", f"{JOBS}/{MISSING}", expect=404)


def _drive_conversations(d: Driver) -> None:
    callback = {
        "callbackNumbers": ["+15551230001"],
        "routingData": {
            "queueId": seeds.QUEUE_SUPPORT_ID,
            "skillIds": [seeds.SKILL_ENGLISH_ID],
            "skillExpression": "English",
            "scoredAgents": [{"agent": {"id": seeds.AGENT_USER_ID}, "score": 100}],
            "routingFlags": ["AGENT_OWNED_CALLBACK"],
        },
        "customerFirstCallbackDeliveryMode": "UseQueueSetting",
        "callerId": "+15551239999",
        "callerIdName": "Acme",
        "callbackUserName": "Ada",
        "data": {"genesysIdempotencyKey": "cb-1"},
    }
    created = d.call("POST", "/api/v2/conversations/callbacks", json=callback, expect=200)
    conversation = f"/api/v2/conversations/{created['conversation']['id']}"
    d.call("GET", conversation, expect=200)
    d.until("GET", conversation, lambda body: len(body["participants"]) == 3)
    d.call("POST", "/api/v2/conversations/callbacks", json={"callbackNumbers": []}, expect=400)
    email = {
        "provider": "Acme CRM",
        "queueId": seeds.QUEUE_BILLING_ID,
        "skillIds": [seeds.SKILL_BILLING_ID],
        "skillExpression": "Billing",
        "utilizationLabel": "0e1f2a3b-4c5d-4e6f-8a7b-8c9d0e1f2a01",
        "fromAddress": "ada@example.com",
        "toAddress": "support@example.com",
        "subject": "Invoice",
        "textBody": "Hello",
        "direction": "INBOUND",
        "attributes": {"genesysIdempotencyKey": "em-1"},
    }
    mail = d.call("POST", "/api/v2/conversations/emails", json=email, expect=200)
    d.until("GET", f"/api/v2/conversations/{mail['id']}", lambda body: len(body["participants"]) == 3)
    d.call("POST", "/api/v2/conversations/emails", json={**email, "provider": "PureCloud Email"}, expect=400)
    d.call("GET", f"/api/v2/conversations/{MISSING}", expect=404)


def _drive_participant_search(d: Driver) -> None:
    search = "/api/v2/conversations/participants/attributes/search"
    now = time.time()
    window = {
        "type": "DATE_RANGE",
        "fields": ["startTime"],
        "startValue": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now - 600)),
        "endValue": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now + 600)),
    }
    for number in range(3):
        callback = {"callbackNumbers": ["+15551230001"], "queueId": seeds.QUEUE_SUPPORT_ID}
        d.call("POST", "/api/v2/conversations/callbacks", json={**callback, "data": {"k": f"v{number}"}}, expect=200)
    # pages of one result, linked by cursor; the last carries none
    d.client.admin("PATCH", "/faults", json={"search_page_size": 1})
    body: dict[str, Any] = {"query": [window], "sortBy": "startTime", "sortOrder": "DESC"}
    pages = 0
    while True:
        page = d.call("POST", search, json=body, expect=200)
        pages += 1
        if not page.get("cursor"):
            break
        body["cursor"] = page["cursor"]
    assert pages >= 3
    # nothing searchable yet, inside the indexing delay
    d.client.admin("PATCH", "/faults", json={"search_page_size": 50, "search_indexing_delay": 3600})
    assert d.call("POST", search, json={"query": [window], "returnFields": ["startTime"]}, expect=200)["results"] == []
    d.client.admin("PATCH", "/faults", json={"search_indexing_delay": 0})
    exact = {"type": "EXACT", "fields": ["participantData.k"], "value": "v1"}
    d.call("POST", search, json={"query": [window, exact]}, expect=400)  # attributes are not searchable
    d.call("POST", search, json={"query": [{**window, "type": "FUZZY"}]}, expect=400)
    d.call("POST", search, json={"query": [window], "cursor": "nope"}, expect=400)
    d.client.admin("PATCH", "/faults", json={"search_missing_permission": True})
    d.call("POST", search, json={"query": [window]}, expect=403)
    d.client.admin("PATCH", "/faults", json={"search_missing_permission": False})


def _drive_routing_and_tokens(d: Driver) -> None:
    d.call("GET", "/api/v2/tokens/me", expect=200)
    for collection, one in (("queues", seeds.QUEUE_SUPPORT_ID), ("skills", seeds.SKILL_LEGACY_ID)):
        d.call("GET", f"/api/v2/routing/{collection}", params={"pageSize": 2}, expect=200)
        d.call("GET", f"/api/v2/routing/{collection}", params={"pageSize": 0}, expect=400)
        d.call("GET", f"/api/v2/routing/{collection}/{one}", expect=200)
        d.call("GET", f"/api/v2/routing/{collection}/{MISSING}", expect=404)


def _drive_gateway_errors(d: Driver, server: SandboxServer) -> None:
    anonymous = requests.get(f"{server.base_url}/api/v2/tokens/me", timeout=5)
    d.exchanges.append(Exchange("GET", "/api/v2/tokens/me", anonymous.status_code, anonymous.json()))
    d.client.admin("PUT", "/faults", json={"fail_next": [429, 503]})
    d.call("GET", "/api/v2/tokens/me", expect=429)
    d.call("GET", "/api/v2/tokens/me", expect=503)
    d.call("POST", WORKITEMS, data="name=abc", headers={"Content-Type": "text/plain"}, expect=415)


def _served_routes(server: SandboxServer) -> set[str]:
    served = set()
    for route in server.app.routes:
        if isinstance(route, Route) and not route.path.startswith(NOT_GENESYS):
            for method in route.methods or ():
                if method != "HEAD":
                    served.add(f"{method} {route.path}")
    return served


def test_every_sandbox_answer_conforms_to_the_sdk_models(driver: Driver, server: SandboxServer) -> None:
    _drive_routing_and_tokens(driver)
    _drive_workitems(driver)
    _drive_bulk_jobs(driver)
    _drive_conversations(driver)
    _drive_participant_search(driver)
    _drive_gateway_errors(driver, server)

    outcomes: dict[str, set[str]] = {}
    for exchange in driver.exchanges:
        operation = operation_for(exchange.method, exchange.path)
        assert operation is not None, f"the sandbox serves {exchange.method} {exchange.path}, which the SDK lacks"
        what = f"the {exchange.status} answer of {exchange.method} {exchange.path}"
        if exchange.status >= 400:
            assert_conforms(exchange.body, "ErrorBody", what=what)
            assert exchange.body["status"] == exchange.status, what
        elif operation.response is None:
            assert exchange.body is None, f"{what} has a body; the SDK expects none"
        else:
            assert_conforms(exchange.body, operation.response, what=what)
        outcomes.setdefault(f"{operation.method} {operation.path}", set()).add(
            "ok" if exchange.status < 400 else "error"
        )

    for served in sorted(_served_routes(server)):
        method, path = served.split(" ", 1)
        operation = operation_for_template(method, path)
        assert operation is not None, f"the sandbox serves {served}, which is no operation of the SDK"
        seen = outcomes.get(f"{operation.method} {operation.path}", set())
        assert seen == {"ok", "error"}, f"{served}: no {'success' if 'ok' not in seen else 'error'} answer was checked"
