"""Fault injection: scheduled failures, seeded error rates, latency, drop after commit."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests

from genesys_sandbox import FaultConfig
from tests.support.payloads import interaction_body
from tests.support.sandbox_client import SandboxClient, assert_error_body


def test_fail_next_then_recover(sandbox: SandboxClient) -> None:
    sandbox.admin("PUT", "/faults", json={"fail_next": [503, 429, 500], "retry_after": 2})
    first, second, third, fourth = (sandbox.get("/api/v2/routing/queues") for _ in range(4))
    assert_error_body(first, 503, "service.unavailable")
    assert_error_body(second, 429, "too.many.requests.retry.after")
    assert second.headers["Retry-After"] == "2"
    assert "[2] seconds" in second.json()["message"]
    assert_error_body(third, 500, "internal.server.error")
    assert fourth.status_code == 200
    assert sandbox.admin("GET", "/faults")["fail_next"] == []


def test_faults_do_not_touch_other_routes(sandbox: SandboxClient) -> None:
    sandbox.admin("PUT", "/faults", json={"error_rate": 1.0, "route_prefix": "/api/v2/interactions"})
    assert sandbox.get("/api/v2/routing/queues").status_code == 200
    assert sandbox.fetch_token()
    assert_error_body(sandbox.create(interaction_body(), "k"), 503)
    assert sandbox.admin("GET", "/ledger")["records"] == []


def _statuses(sandbox: SandboxClient, count: int) -> list[int]:
    return [sandbox.get("/api/v2/routing/queues").status_code for _ in range(count)]


def test_error_rate_is_reproducible_with_a_seed(sandbox: SandboxClient) -> None:
    faults = {"error_rate": 0.3, "rate_429": 0.2, "seed": 7}
    sandbox.admin("PUT", "/faults", json=faults)
    first = _statuses(sandbox, 40)
    sandbox.admin("PUT", "/faults", json=faults)
    second = _statuses(sandbox, 40)
    assert first == second
    assert {200, 503, 429} == set(first)


def test_latency(sandbox: SandboxClient) -> None:
    sandbox.admin("PUT", "/faults", json={"latency_ms": 250})
    started = time.perf_counter()
    assert sandbox.get("/api/v2/routing/queues").status_code == 200
    assert time.perf_counter() - started >= 0.25
    sandbox.admin("PUT", "/faults", json={"token_latency_ms": 250})
    started = time.perf_counter()
    sandbox.fetch_token()
    assert time.perf_counter() - started >= 0.25


def test_drop_after_commit(sandbox: SandboxClient) -> None:
    sandbox.admin("PUT", "/faults", json={"drop_after_commit_next": 1})
    body = interaction_body()
    with pytest.raises(requests.exceptions.ConnectionError):
        sandbox.create(body, "key-drop")
    ledger = sandbox.admin("GET", "/ledger")
    assert [record["externalId"] for record in ledger["records"]] == ["key-drop"]
    # the client's retry with the same key is answered as a replay, not a second record
    retry = sandbox.create(body, "key-drop")
    assert retry.status_code == 409
    assert retry.json()["id"] == ledger["records"][0]["id"]
    assert sandbox.admin("GET", "/ledger")["duplicates"] == 0
    counts = sandbox.admin("GET", "/requests")["by_route"]["POST /api/v2/interactions"]
    assert counts == {"dropped": 1, "409": 1}


def test_drop_after_commit_rate_with_seed(sandbox: SandboxClient) -> None:
    sandbox.admin("PUT", "/faults", json={"drop_after_commit_rate": 0.5, "seed": 3})
    dropped = 0
    for index in range(12):
        try:
            sandbox.create(interaction_body(), f"key-{index}")
        except requests.exceptions.ConnectionError:
            dropped += 1
    assert 0 < dropped < 12
    assert len(sandbox.admin("GET", "/ledger")["records"]) == 12


def test_fault_settings_are_validated(sandbox: SandboxClient) -> None:
    response = requests.put(f"{sandbox.base_url}/_sandbox/faults", json={"error_rate": 2}, timeout=5)
    assert_error_body(response, 400)
    response = requests.put(f"{sandbox.base_url}/_sandbox/faults", json={"bogus": 1}, timeout=5)
    assert_error_body(response, 400)
    patched = sandbox.admin("PATCH", "/faults", json={"latency_ms": 5})
    assert patched["latency_ms"] == 5 and patched["error_status"] == 503


def test_initial_faults_from_config(make_sandbox: Callable[..., SandboxClient]) -> None:
    client = make_sandbox(faults=FaultConfig(fail_next=[504]))
    client.fetch_token()
    assert_error_body(client.get("/api/v2/tokens/me"), 504, "request.timeout")
    assert client.get("/api/v2/tokens/me").status_code == 200
    client.admin("POST", "/reset")
    client.fetch_token()
    assert client.get("/api/v2/tokens/me").status_code == 504


# -- hostile answers (what a proxy or a broken gateway sends instead of the API's answer) --------------------


def test_hostile_answers_in_place_of_the_request(sandbox: SandboxClient) -> None:
    sandbox.fetch_token()
    sandbox.admin(
        "PUT",
        "/faults",
        json={
            "hostile_answer": "html_200",
            "hostile_next": 1,
            "route_prefix": "/api/v2/interactions",
        },
    )
    page = sandbox.create(interaction_body(), "k-html")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert f"Bearer {sandbox.token}" in page.text and sandbox.server.config.client_secret in page.text
    assert sandbox.admin("GET", "/ledger")["records"] == []  # never forwarded

    sandbox.admin("PUT", "/faults", json={"hostile_answer": "empty_201", "hostile_next": 1})
    empty = sandbox.create(interaction_body(), "k-empty")
    assert (empty.status_code, empty.content) == (201, b"")

    sandbox.admin("PUT", "/faults", json={"hostile_answer": "json_without_id", "hostile_next": 1})
    assert "id" not in sandbox.create(interaction_body(), "k-json").json()

    sandbox.admin(
        "PUT", "/faults", json={"hostile_answer": "redirect_307", "hostile_next": 1, "redirect_location": "http://x/y"}
    )
    moved = sandbox.create(interaction_body(), "k-moved", allow_redirects=False)
    assert moved.status_code == 307 and moved.headers["Location"].startswith("http://x/y?access_token=")
    assert sandbox.create(interaction_body(), "k-after").status_code == 201  # hostile_next is spent


def test_a_hostile_answer_after_the_record_was_stored(sandbox: SandboxClient) -> None:
    sandbox.fetch_token()
    sandbox.admin(
        "PUT", "/faults", json={"hostile_answer": "empty_201", "hostile_next": 1, "hostile_after_commit": True}
    )
    body = interaction_body()
    assert sandbox.create(body, "k-stored").content == b""
    assert len(sandbox.admin("GET", "/ledger")["records"]) == 1
    assert sandbox.create(body, "k-stored").status_code == 409  # the record is there


def test_an_echoing_error_answer_puts_the_credentials_in_every_field(sandbox: SandboxClient) -> None:
    sandbox.fetch_token()
    sandbox.admin("PUT", "/faults", json={"hostile_answer": "echo_secrets", "hostile_rate": 1.0})
    secret = sandbox.server.config.client_secret

    body = sandbox.get("/api/v2/routing/queues").json()

    assert secret in body["code"] and secret == body["error"] and body["contextId"] == sandbox.token
    assert body["details"][0]["errorCode"] == secret and sandbox.token in body["details"][0]["fieldName"]
    # the secret straddles the 300th and the 500th character (where a client that cuts before redacting leaks)
    assert body["message"].index(secret) < 300 < body["message"].index(secret) + len(secret)
    second = body["message"].index(secret, 300)
    assert second < 500 < second + len(secret)
