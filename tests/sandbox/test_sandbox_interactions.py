"""The ``/api/v2/interactions`` contract: 201, replay 409, 422, in-flight 409, validation errors."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime

import requests

from tests.support.payloads import interaction_body
from tests.support.sandbox_client import SandboxClient, assert_error_body
from tests.support.waiting import wait_until


def test_create_returns_record(sandbox: SandboxClient) -> None:
    body = interaction_body()
    response = sandbox.create(body, "key-1")
    assert response.status_code == 201
    record = response.json()
    assert set(record) >= {"id", "type", "externalId", "createTime", "routing", "participants", "state"}
    uuid.UUID(record["id"])
    assert record["externalId"] == "key-1"
    assert record["type"] == "voice"
    assert record["state"] == "queued"
    assert record["routing"]["queue"] == body["routing"]["queue"]
    assert datetime.fromisoformat(record["createTime"].replace("Z", "+00:00")).tzinfo is not None
    assert sandbox.get(f"/api/v2/interactions/{record['id']}").json()["id"] == record["id"]


def test_same_key_same_payload_is_a_replay(sandbox: SandboxClient) -> None:
    body = interaction_body()
    first = sandbox.create(body, "key-replay")
    second = sandbox.create(body, "key-replay")
    assert (first.status_code, second.status_code) == (201, 409)
    assert second.json()["id"] == first.json()["id"]
    ledger = sandbox.admin("GET", "/ledger")
    assert ledger["creates_by_key"] == {"key-replay": 1}
    assert ledger["duplicates"] == 0


def test_same_key_other_payload_is_422(sandbox: SandboxClient) -> None:
    body = interaction_body()
    assert sandbox.create(body, "key-reused").status_code == 201
    other = sandbox.create({**body, "type": "chat"}, "key-reused")
    assert_error_body(other, 422, "idempotency.key.reused")


def test_same_key_in_flight_is_409_without_record(make_sandbox: Callable[..., SandboxClient]) -> None:
    client = make_sandbox(processing_ms=1500)
    client.fetch_token()
    body = interaction_body()
    results: list[requests.Response] = []

    def first() -> None:
        results.append(client.create(body, "key-flight", headers={}))

    thread = threading.Thread(target=first)
    thread.start()
    wait_until(lambda: client.server.state.key_in_flight("key-flight"), what="the first create to be in flight")
    racing = requests.post(
        f"{client.base_url}/api/v2/interactions",
        json=body,
        headers={"Authorization": f"Bearer {client.token}", "Idempotency-Key": "key-flight"},
        timeout=5,
    )
    thread.join()
    error = assert_error_body(racing, 409, "idempotency.in.flight")
    assert "id" not in error
    assert results[0].status_code == 201
    assert client.create(body, "key-flight").status_code == 409
    assert client.admin("GET", "/ledger")["creates_by_key"] == {"key-flight": 1}


def test_missing_idempotency_key(sandbox: SandboxClient) -> None:
    error = assert_error_body(sandbox.create(interaction_body(), None), 400, "bad.request")
    assert error["details"][0]["fieldName"] == "Idempotency-Key"


def test_invalid_body_lists_every_problem(sandbox: SandboxClient) -> None:
    body = interaction_body()
    body["participants"].append({"id": "not-a-uuid", "roles": ["agent"]})
    body["routing"]["priority"] = 101
    error = assert_error_body(sandbox.create(body, "key-invalid"), 400)
    assert error["code"] in ("invalid.value", "constraint.validation")
    fields = {detail["fieldName"] for detail in error["details"]}
    assert {"participants[1].id", "routing.priority"} <= fields
    assert "participants[1].id" in error["message"]
    # a rejected body does not reserve the key
    assert sandbox.create(interaction_body(), "key-invalid").status_code == 201


def test_missing_initiator_and_unknown_field(sandbox: SandboxClient) -> None:
    body = interaction_body(participants=[{"id": str(uuid.uuid4()), "roles": ["agent"]}], extra="x")
    error = assert_error_body(sandbox.create(body, "key-x"), 400, "constraint.validation")
    fields = {detail["fieldName"] for detail in error["details"]}
    assert {"participants", "extra"} <= fields


def test_acd_assigns_after_delay(make_sandbox: Callable[..., SandboxClient]) -> None:
    client = make_sandbox(acd_delay_seconds=0.3)
    client.fetch_token()
    record = client.create(interaction_body(), "key-acd").json()
    assert record["state"] == "queued"
    path = f"/api/v2/interactions/{record['id']}"
    wait_until(lambda: client.get(path).json()["state"] == "assigned", what="the ACD to assign the record")
    assert client.create(interaction_body(), "key-acd").status_code == 422
