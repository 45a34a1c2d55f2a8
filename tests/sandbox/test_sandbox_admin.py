"""Admin routes: ledger, request log, reset, record pages, health."""

from __future__ import annotations

import requests

from genesys_sandbox import QUEUE_SUPPORT_ID, SandboxConfig, SandboxServer
from tests.support.payloads import interaction_body
from tests.support.sandbox_client import SandboxClient, assert_error_body


def test_requests_are_counted_by_route_template(sandbox: SandboxClient) -> None:
    first = sandbox.create(interaction_body(), "a").json()
    sandbox.create(interaction_body(), "b")
    sandbox.create(interaction_body(), None)
    sandbox.get(f"/api/v2/interactions/{first['id']}")
    summary = sandbox.admin("GET", "/requests")
    assert summary["tokens_issued"] == 1
    assert summary["by_route"]["POST /api/v2/interactions"] == {"201": 2, "400": 1}
    assert summary["by_route"]["GET /api/v2/interactions/{interaction_id}"] == {"200": 1}
    assert summary["by_route"]["POST /oauth/token"] == {"200": 1}
    assert summary["total"] >= 5


def test_ledger_and_reset(sandbox: SandboxClient) -> None:
    record = sandbox.create(interaction_body(), "a").json()
    ledger = sandbox.admin("GET", "/ledger")
    assert ledger["creates_by_key"] == {"a": 1}
    assert ledger["duplicates"] == 0
    assert ledger["records"][0]["id"] == record["id"]
    assert ledger["records"][0]["kind"] == "interaction"
    sandbox.admin("PUT", "/faults", json={"latency_ms": 1})
    assert sandbox.admin("POST", "/reset") == {"status": "reset"}
    assert sandbox.admin("GET", "/ledger")["records"] == []
    assert sandbox.admin("GET", "/faults")["latency_ms"] == 0
    assert sandbox.admin("GET", "/requests")["tokens_issued"] == 0
    # tokens are forgotten, seeds are kept
    assert_error_body(sandbox.get("/api/v2/tokens/me"), 401)
    sandbox.fetch_token()
    assert sandbox.get(f"/api/v2/routing/queues/{QUEUE_SUPPORT_ID}").status_code == 200
    # a key can be used again after a reset
    assert sandbox.create(interaction_body(), "a").status_code == 201


def test_ledger_counts_duplicates_at_the_storage_layer() -> None:
    with SandboxServer(SandboxConfig()) as server:
        from genesys_sandbox.state import StoredRecord

        for record_id in ("r1", "r2"):
            server.state.store_record(StoredRecord("interaction", record_id, "same-key", {"id": record_id}, 0.0))
        ledger = requests.get(f"{server.base_url}/_sandbox/ledger", timeout=5).json()
        assert ledger["creates_by_key"] == {"same-key": 2}
        assert ledger["duplicates"] == 1
        assert ledger["duplicate_keys"] == 1


def test_record_page_and_health(sandbox: SandboxClient) -> None:
    record = sandbox.create(interaction_body(), "page").json()
    page = requests.get(f"{sandbox.base_url}/_sandbox/records/{record['id']}", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert record["id"] in page.text and "page" in page.text
    assert_error_body(requests.get(f"{sandbox.base_url}/_sandbox/records/nope", timeout=5), 404)
    health = sandbox.admin("GET", "/health")
    assert health["status"] == "ok"
    assert health["seeds"]["queues"]["Support"] == QUEUE_SUPPORT_ID


def test_unexpected_errors_answer_an_error_body(sandbox: SandboxClient) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    state = sandbox.server.state
    state.refreshers.append(broken)
    try:
        response = requests.get(f"{sandbox.base_url}/_sandbox/ledger", timeout=5)
    finally:
        state.refreshers.remove(broken)
    body = assert_error_body(response, 500, "internal.server.error")
    assert "boom" not in body["message"]
    assert sandbox.get("/api/v2/tokens/me").status_code == 200
