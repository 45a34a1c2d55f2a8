"""GenesysCloudHook over real HTTP against the sandbox on loopback.

Covers the token cache and its refreshes, the retry policy (429, 5xx, 4xx, dropped connections), the
``before_retry`` recovery hook and ``test_connection``. Every test runs under a secret-hygiene check: the
hook logs into a stdlib logger captured at DEBUG, and neither those records, the captured output, nor the
exception strings a test collects may contain the client secret or any access token the hook obtained.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import tenacity.nap

from airflow_provider_genesys.exceptions import GenesysApiError, GenesysAuthError, GenesysQuotaExhaustedError
from airflow_provider_genesys.hooks import genesys_cloud
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook, GenesysResponse
from genesys_sandbox import QUEUE_SUPPORT_ID, SKILL_ENGLISH_ID, SandboxConfig, SandboxServer
from tests.support.canaries import CANARY_CLIENT_ID, CANARY_CLIENT_SECRET
from tests.support.connections import genesys_connection
from tests.support.sandbox_client import SandboxAdmin
from tests.support.waiting import wait_until

QUEUE_PATH = f"/api/v2/routing/queues/{QUEUE_SUPPORT_ID}"
QUEUE_ROUTE = "GET /api/v2/routing/queues/{queue_id}"
TOKEN_ROUTE = "POST /oauth/token"
CREATE_ROUTE = "POST /api/v2/interactions"
WRONG_SECRET = "wrong-secret-Hx93Kd0pQ7"


class _RecordingTokenCache(dict[Any, Any]):
    """The hook's token cache, remembering every access token ever stored in it."""

    def __init__(self, issued: list[str]) -> None:
        super().__init__()
        self.issued = issued

    def __setitem__(self, key: Any, token: Any) -> None:
        self.issued.append(token.value)
        super().__setitem__(key, token)


class Hygiene:
    """What a test saw: tokens the hook cached and exception / result strings to check for secrets."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.texts: list[str] = []

    def keep(self, *values: object) -> None:
        for value in values:
            self.texts.append(str(value))
            self.texts.append(repr(value))


@pytest.fixture(autouse=True)
def hygiene(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> Iterator[Hygiene]:
    """Capture everything at DEBUG; afterwards, no secret and no issued token may appear anywhere."""
    seen = Hygiene()
    monkeypatch.setattr(genesys_cloud, "_TOKEN_CACHE", _RecordingTokenCache(seen.tokens))
    # the hook's own lines go through a stdlib logger so that caplog sees them at every level
    monkeypatch.setattr(GenesysCloudHook, "log", logging.getLogger("test.genesys_cloud_hook"))
    caplog.set_level(logging.DEBUG)
    yield seen
    captured = capsys.readouterr()
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    haystacks = [
        *(formatter.format(record) for record in records),
        *(str(record.args) for record in records),
        captured.out,
        captured.err,
        *seen.texts,
    ]
    assert records, "nothing was logged: the check would be vacuous"
    needles = [CANARY_CLIENT_SECRET, WRONG_SECRET, *seen.tokens]
    for needle in needles:
        for haystack in haystacks:
            assert needle not in haystack, "a secret or an access token leaked"


def use_connection(monkeypatch: pytest.MonkeyPatch, base_url: str, **extra: Any) -> str:
    """Define a connection to ``base_url`` under a fresh id and return the id."""
    conn_id = f"genesys_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", genesys_connection(base_url, **extra))
    return conn_id


def wrong_secret_connection(monkeypatch: pytest.MonkeyPatch, base_url: str) -> str:
    """Define a connection whose client secret the sandbox rejects."""
    conn_id = f"genesys_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", genesys_connection(base_url).replace(CANARY_CLIENT_SECRET, WRONG_SECRET)
    )
    return conn_id


def interaction_body(**routing: Any) -> dict[str, Any]:
    return {
        "type": "chat",
        "routing": {
            "priority": 10,
            "skills": [{"id": SKILL_ENGLISH_ID, "level": 3}],
            "queue": {"id": QUEUE_SUPPORT_ID},
            **routing,
        },
        "participants": [{"id": str(uuid.uuid4()), "roles": ["initiator", "customer"], "channel": {"id": "chat-1"}}],
    }


def tokens_issued(admin: SandboxAdmin) -> int:
    return int(admin.get("requests")["tokens_issued"])


# -- tokens ------------------------------------------------------------------------------------------------


def test_token_is_fetched_once_and_shared_by_hooks_of_the_same_connection(sandbox: Any, admin: SandboxAdmin) -> None:
    first = GenesysCloudHook()
    assert first.get(QUEUE_PATH)["id"] == QUEUE_SUPPORT_ID
    first.get(QUEUE_PATH)
    second = GenesysCloudHook()
    second.get(QUEUE_PATH)

    assert tokens_issued(admin) == 1
    assert (first.token_fetches, second.token_fetches) == (1, 0)
    assert admin.requests_to(TOKEN_ROUTE) == {"200": 1}
    assert admin.requests_to(QUEUE_ROUTE) == {"200": 3}


def test_token_request_is_form_encoded_with_basic_auth_on_the_login_base(sandbox: Any) -> None:
    hook = GenesysCloudHook()
    sent: list[requests.PreparedRequest] = []
    hook.session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.request))
    hook.get(QUEUE_PATH)

    token_request, api_request = sent
    assert token_request.method == "POST"
    assert token_request.url == f"{hook.endpoints.login_base}/oauth/token"
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert token_request.body == "grant_type=client_credentials"
    basic = base64.b64encode(f"{CANARY_CLIENT_ID}:{CANARY_CLIENT_SECRET}".encode()).decode()
    assert token_request.headers["Authorization"] == f"Basic {basic}"
    token = next(iter(genesys_cloud._TOKEN_CACHE.values()))
    assert api_request.url == f"{hook.endpoints.api_base}{QUEUE_PATH}"
    assert api_request.headers["Authorization"] == f"bearer {token.value}"


def test_expired_token_gives_one_401_one_refresh_and_the_call_succeeds(sandbox: Any, admin: SandboxAdmin) -> None:
    hook = GenesysCloudHook()
    hook.get(QUEUE_PATH)
    old = next(iter(genesys_cloud._TOKEN_CACHE.values())).value
    requests.post(f"{sandbox.base_url}/_sandbox/tokens/expire", timeout=5).raise_for_status()

    response = hook.request("GET", QUEUE_PATH)

    assert response.status == 200
    assert response.attempts == 1
    assert tokens_issued(admin) == 2
    assert hook.token_fetches == 2
    assert admin.requests_to(QUEUE_ROUTE) == {"200": 2, "401": 1}
    assert next(iter(genesys_cloud._TOKEN_CACHE.values())).value != old


def test_concurrent_threads_hitting_an_expired_token_refresh_it_once(sandbox: Any, admin: SandboxAdmin) -> None:
    hooks = [GenesysCloudHook(), GenesysCloudHook()]
    hooks[0].get(QUEUE_PATH)
    requests.post(f"{sandbox.base_url}/_sandbox/tokens/expire", timeout=5).raise_for_status()

    threads_count = 8
    barrier = threading.Barrier(threads_count)
    results: list[int] = []
    errors: list[BaseException] = []

    def call(index: int) -> None:
        try:
            barrier.wait(timeout=5)
            results.append(hooks[index % 2].request("GET", QUEUE_PATH).status)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert not errors, errors
    assert results == [200] * threads_count
    assert tokens_issued(admin) == 2
    counts = admin.requests_to(QUEUE_ROUTE)
    assert counts["200"] == threads_count + 1
    assert 1 <= counts.get("401", 0) <= threads_count


def test_short_lived_token_is_refreshed_before_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    # expires_in = 6 s → refresh margin min(60, 6/2) = 3 s: the hook renews after 3 s, before any 401
    config = SandboxConfig(client_id=CANARY_CLIENT_ID, client_secret=CANARY_CLIENT_SECRET, token_ttl_seconds=6)
    with SandboxServer(config=config) as server:
        admin = SandboxAdmin(server.base_url)
        hook = GenesysCloudHook(use_connection(monkeypatch, server.base_url))
        hook.get(QUEUE_PATH)
        token = next(iter(genesys_cloud._TOKEN_CACHE.values()))
        assert token.expires_at - time.monotonic() <= 3.0
        hook.get(QUEUE_PATH)
        assert tokens_issued(admin) == 1

        wait_until(lambda: time.monotonic() > token.expires_at, what="the refresh point of the cached token")
        hook.get(QUEUE_PATH)

        assert tokens_issued(admin) == 2
        assert admin.requests_to(QUEUE_ROUTE) == {"200": 3}


def test_a_401_after_the_refresh_is_an_auth_error(sandbox: Any, admin: SandboxAdmin, hygiene: Hygiene) -> None:
    admin.faults(fail_next=[401, 401])
    hook = GenesysCloudHook()
    with pytest.raises(GenesysAuthError) as raised:
        hook.request("GET", QUEUE_PATH)
    hygiene.keep(raised.value)

    assert raised.value.status == 401
    assert tokens_issued(admin) == 2
    assert admin.requests_to(QUEUE_ROUTE) == {"401": 2}


# -- throttling --------------------------------------------------------------------------------------------


def test_429_waits_retry_after_then_succeeds(
    sandbox: Any, admin: SandboxAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin.faults(fail_next=[429], retry_after=1)  # not the 3 s a 429 without Retry-After waits
    hook = GenesysCloudHook()
    hook.get_token()
    waits: list[float] = []
    monkeypatch.setattr(tenacity.nap, "sleep", lambda seconds: waits.append(seconds) or time.sleep(seconds))
    paused: list[float] = []
    pause_for = hook.pacer.pause_for
    monkeypatch.setattr(hook.pacer, "pause_for", lambda seconds: paused.append(seconds) or pause_for(seconds))

    response = hook.request("GET", QUEUE_PATH)

    assert paused == [1.0]  # every thread of the hook waits the server's Retry-After
    assert len(waits) == 1 and 1.0 <= waits[0] <= 1.25  # the retry too: Retry-After plus a little jitter
    assert response.status == 200
    assert (response.attempts, response.throttled) == (2, 1)
    assert response.unknown_outcome_seen is False
    assert hook.throttled == 1
    assert hook.pacer.pauses == 1
    assert admin.requests_to(QUEUE_ROUTE) == {"429": 1, "200": 1}


def test_retry_after_beyond_180_s_is_a_quota_error_at_once(sandbox: Any, admin: SandboxAdmin, hygiene: Hygiene) -> None:
    admin.faults(fail_next=[429, 429], retry_after=181)
    hook = GenesysCloudHook()
    started = time.monotonic()

    with pytest.raises(GenesysQuotaExhaustedError) as raised:
        hook.request("GET", QUEUE_PATH)
    hygiene.keep(raised.value)

    assert time.monotonic() - started < 1.0
    error = raised.value
    assert "daily quota" in str(error)
    assert (error.status, error.retry_after, error.attempts) == (429, 181, 1)
    assert error.correlation_id
    assert hook.requests_sent == 1
    assert admin.requests_to(QUEUE_ROUTE) == {"429": 1}
    assert admin.get("faults")["fail_next"] == [429]


# -- server errors -----------------------------------------------------------------------------------------


def test_5xx_is_retried_then_succeeds(sandbox: Any, admin: SandboxAdmin, caplog: pytest.LogCaptureFixture) -> None:
    admin.faults(fail_next=[503, 502])
    hook = GenesysCloudHook()

    response = hook.request("GET", QUEUE_PATH)

    assert response.status == 200
    assert response.attempts == 3
    assert response.throttled == 0
    assert response.unknown_outcome_seen is True
    assert response.correlation_id
    assert admin.requests_to(QUEUE_ROUTE) == {"503": 1, "502": 1, "200": 1}
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Retrying in")]
    assert len(retries) == 2
    assert "HTTP 503" in retries[0] and "HTTP 502" in retries[1]


def test_5xx_forever_fails_after_max_attempts(
    sandbox: Any, admin: SandboxAdmin, monkeypatch: pytest.MonkeyPatch, hygiene: Hygiene
) -> None:
    admin.faults(error_rate=1.0)
    hook = GenesysCloudHook(use_connection(monkeypatch, sandbox.base_url, max_attempts=3))

    with pytest.raises(GenesysApiError) as raised:
        hook.request("GET", QUEUE_PATH)
    hygiene.keep(raised.value)

    error = raised.value
    assert type(error) is GenesysApiError
    assert (error.status, error.code, error.attempts) == (503, "service.unavailable", 3)
    assert error.correlation_id and len(error.correlation_id) == 36
    assert str(error).startswith(f"GET {QUEUE_PATH} failed: HTTP 503; code=service.unavailable")
    assert f"correlation_id={error.correlation_id}" in str(error)
    assert "attempts=3" in str(error)
    assert admin.requests_to(QUEUE_ROUTE) == {"503": 3}


# -- client errors -----------------------------------------------------------------------------------------


def test_404_is_not_retried(sandbox: Any, admin: SandboxAdmin, hygiene: Hygiene) -> None:
    missing = str(uuid.uuid4())
    hook = GenesysCloudHook()

    with pytest.raises(GenesysApiError) as raised:
        hook.request("GET", f"/api/v2/routing/queues/{missing}")
    hygiene.keep(raised.value)

    assert (raised.value.status, raised.value.code, raised.value.attempts) == (404, "not.found", 1)
    assert missing in raised.value.message
    assert raised.value.correlation_id
    assert admin.requests_to(QUEUE_ROUTE) == {"404": 1}


def test_a_4xx_after_a_retry_reports_every_attempt(sandbox: Any, admin: SandboxAdmin, hygiene: Hygiene) -> None:
    admin.faults(fail_next=[503])
    hook = GenesysCloudHook()

    with pytest.raises(GenesysApiError) as raised:
        hook.request("GET", f"/api/v2/routing/queues/{uuid.uuid4()}")
    hygiene.keep(raised.value)

    assert (raised.value.status, raised.value.attempts) == (404, 2)
    assert "attempts=2" in str(raised.value)
    assert admin.requests_to(QUEUE_ROUTE) == {"503": 1, "404": 1}


def test_400_is_not_retried_and_its_details_are_parsed(sandbox: Any, admin: SandboxAdmin, hygiene: Hygiene) -> None:
    body = interaction_body(priority=500)
    body["participants"][0]["id"] = "not-a-uuid"
    hook = GenesysCloudHook()

    with pytest.raises(GenesysApiError) as raised:
        hook.request("POST", "/api/v2/interactions", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    hygiene.keep(raised.value)

    error = raised.value
    assert error.status == 400
    assert error.code in {"invalid.value", "constraint.validation"}
    fields = {detail.field_name for detail in error.details}
    assert {"routing.priority", "participants[0].id"} <= fields
    assert all(detail.error_code for detail in error.details)
    assert "routing.priority" in str(error)
    assert admin.requests_to(CREATE_ROUTE) == {"400": 1}
    assert admin.records() == []


# -- unknown outcomes --------------------------------------------------------------------------------------


def test_commit_then_drop_is_retried_and_replayed(sandbox: Any, admin: SandboxAdmin) -> None:
    admin.faults(drop_after_commit_next=1)
    key = str(uuid.uuid4())
    hook = GenesysCloudHook()

    response = hook.request(
        "POST",
        "/api/v2/interactions",
        json=interaction_body(),
        headers={"Idempotency-Key": key},
        accept_statuses=frozenset({409}),
    )

    assert response.status == 409
    assert response.unknown_outcome_seen is True
    assert response.recovered is False
    assert response.attempts == 2
    assert response.body["externalId"] == key
    records = admin.records()
    assert [record["id"] for record in records] == [response.body["id"]]
    assert admin.requests_to(CREATE_ROUTE) == {"dropped": 1, "409": 1}


def test_before_retry_answer_ends_the_call_after_an_unknown_outcome(sandbox: Any, admin: SandboxAdmin) -> None:
    admin.faults(drop_after_commit_next=1)
    key = str(uuid.uuid4())
    seen: list[GenesysApiError] = []

    def find_existing(error: GenesysApiError) -> GenesysResponse | None:
        seen.append(error)
        found = [record for record in admin.records() if record["idempotencyKey"] == key]
        if not found:
            return None
        return GenesysResponse(status=200, body=found[0], correlation_id=None, attempts=0, latency_ms=0.0)

    response = GenesysCloudHook().request(
        "POST",
        "/api/v2/interactions",
        json=interaction_body(),
        headers={"Idempotency-Key": key},
        before_retry=find_existing,
    )

    assert response.recovered is True
    assert response.unknown_outcome_seen is True
    assert response.attempts == 1
    assert response.body["externalId"] == key
    assert len(seen) == 1
    assert seen[0].status is None
    assert seen[0].method == "POST" and seen[0].path == "/api/v2/interactions"
    assert admin.requests_to(CREATE_ROUTE) == {"dropped": 1}


def test_before_retry_returning_none_lets_the_retry_happen(sandbox: Any, admin: SandboxAdmin) -> None:
    admin.faults(fail_next=[503])
    calls: list[int | None] = []

    def nothing_found(error: GenesysApiError) -> GenesysResponse | None:
        calls.append(error.status)
        return None

    response = GenesysCloudHook().request(
        "POST",
        "/api/v2/interactions",
        json=interaction_body(),
        headers={"Idempotency-Key": str(uuid.uuid4())},
        before_retry=nothing_found,
    )

    assert (response.status, response.attempts, response.recovered) == (201, 2, False)
    assert calls == [503]
    assert admin.requests_to(CREATE_ROUTE) == {"503": 1, "201": 1}


def test_before_retry_is_not_called_without_an_unknown_outcome(sandbox: Any, admin: SandboxAdmin) -> None:
    admin.faults(fail_next=[429], retry_after=0)
    calls: list[GenesysApiError] = []

    def recorder(error: GenesysApiError) -> GenesysResponse | None:
        calls.append(error)
        return None

    response = GenesysCloudHook().request(
        "POST",
        "/api/v2/interactions",
        json=interaction_body(),
        headers={"Idempotency-Key": str(uuid.uuid4())},
        before_retry=recorder,
    )

    assert (response.status, response.throttled, response.unknown_outcome_seen) == (201, 1, False)
    assert calls == []


# -- test_connection ---------------------------------------------------------------------------------------


def test_test_connection_succeeds_with_the_right_secret(sandbox: Any, hygiene: Hygiene) -> None:
    ok, message = GenesysCloudHook().test_connection()
    hygiene.keep(message)

    assert ok is True, message
    assert CANARY_CLIENT_ID in message
    assert sandbox.base_url in message


def test_test_connection_reports_a_wrong_secret_without_showing_it(
    sandbox: Any, admin: SandboxAdmin, monkeypatch: pytest.MonkeyPatch, hygiene: Hygiene
) -> None:
    ok, reason = GenesysCloudHook(wrong_secret_connection(monkeypatch, sandbox.base_url)).test_connection()
    hygiene.keep(reason)

    assert ok is False
    assert "HTTP 401" in reason and "invalid_client" in reason
    assert admin.requests_to(TOKEN_ROUTE) == {"401": 1}
    assert admin.requests_to("GET /api/v2/tokens/me") == {}


# -- secret hygiene ----------------------------------------------------------------------------------------


def test_debug_logs_of_a_rough_run_hold_no_secret_and_no_token(
    sandbox: Any, admin: SandboxAdmin, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run through refreshes, retries and failures; the autouse check then scans everything captured."""
    hook = GenesysCloudHook()
    hook.get(QUEUE_PATH)
    requests.post(f"{sandbox.base_url}/_sandbox/tokens/expire", timeout=5).raise_for_status()
    admin.faults(fail_next=[503, 429], retry_after=0)
    hook.get(QUEUE_PATH)
    admin.faults(drop_after_commit_next=1)
    hook.request(
        "POST",
        "/api/v2/interactions",
        json=interaction_body(),
        headers={"Idempotency-Key": str(uuid.uuid4())},
        accept_statuses=frozenset({409}),
    )
    wrong = wrong_secret_connection(monkeypatch, sandbox.base_url)
    assert GenesysCloudHook(wrong).test_connection()[0] is False

    assert len(genesys_cloud._TOKEN_CACHE.issued) == 2  # type: ignore[attr-defined]
    messages = [record.getMessage() for record in caplog.records]
    assert any(message.startswith("Retrying in") for message in messages)
    assert any("refreshing the token" in message for message in messages)
    assert any(record.levelno == logging.DEBUG for record in caplog.records)


def test_hook_output_through_airflow_logging_holds_no_secret(
    sandbox: Any, admin: SandboxAdmin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same check on the hook's real Airflow (structlog) logger, whose lines go to the captured output."""
    monkeypatch.delattr(GenesysCloudHook, "log")  # back to the logger Airflow gives every hook
    hook = GenesysCloudHook()
    hook.get(QUEUE_PATH)
    token = next(iter(genesys_cloud._TOKEN_CACHE.values())).value
    requests.post(f"{sandbox.base_url}/_sandbox/tokens/expire", timeout=5).raise_for_status()
    admin.faults(fail_next=[503])
    hook.get(QUEUE_PATH)
    fresh = next(iter(genesys_cloud._TOKEN_CACHE.values())).value

    out = capsys.readouterr()
    text = out.out + out.err
    assert "Retrying in" in text
    for needle in (CANARY_CLIENT_SECRET, token, fresh):
        assert needle not in text
