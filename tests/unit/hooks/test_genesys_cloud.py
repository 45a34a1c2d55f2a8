"""GenesysCloudHook edges with mocked HTTP (``responses``): regions, the token endpoint, waits and backoff,
ErrorBody parsing, provider metadata and the Pacer.

Waits are never slept for real here: the hook's clock and tenacity's sleep are replaced by a fake clock that
records each wait, and the hook's pacer by a spy.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses
import tenacity.nap
import urllib3

from airflow_provider_genesys.exceptions import (
    ErrorDetail,
    GenesysApiError,
    GenesysAuthError,
    GenesysConfigurationError,
    GenesysQuotaExhaustedError,
)
from airflow_provider_genesys.get_provider_info import get_provider_info
from airflow_provider_genesys.hooks import genesys_cloud
from airflow_provider_genesys.hooks.genesys_cloud import (
    DEFAULT_RETRY_AFTER_SECONDS,
    GenesysCloudHook,
    GenesysResponse,
)
from airflow_provider_genesys.hooks.pacing import Pacer
from airflow_provider_genesys.hooks.regions import REGION_DOMAINS, domain_for, resolve_endpoints
from airflow_provider_genesys.utils.redaction import redact

CLIENT_ID = "unit-client-4b2a"
SECRET = "unit-secret-Pv72mQs9Xa"
LOGIN = "https://login.mypurecloud.com"
API = "https://api.mypurecloud.com"
TOKEN_URL = f"{LOGIN}/oauth/token"
ME_URL = f"{API}/api/v2/tokens/me"

#: The SDK's PureCloudRegionHosts (docs/genesys-api.md), copied so that a change to the module's table is noticed.
FACTS_REGIONS = {
    "us-east-1": "mypurecloud.com",
    "eu-west-1": "mypurecloud.ie",
    "ap-southeast-2": "mypurecloud.com.au",
    "ap-northeast-1": "mypurecloud.jp",
    "eu-central-1": "mypurecloud.de",
    "us-west-2": "usw2.pure.cloud",
    "ca-central-1": "cac1.pure.cloud",
    "ap-northeast-2": "apne2.pure.cloud",
    "eu-west-2": "euw2.pure.cloud",
    "ap-south-1": "aps1.pure.cloud",
    "us-east-2": "use2.us-gov-pure.cloud",
    "sa-east-1": "sae1.pure.cloud",
    "me-central-1": "mec1.pure.cloud",
    "ap-northeast-3": "apne3.pure.cloud",
    "eu-central-2": "euc2.pure.cloud",
    "mx-central-1": "mxc1.pure.cloud",
    "ap-southeast-1": "apse1.pure.cloud",
    "eusc-de-east-1": "edee1.eusc-pure.cloud",
}


class FakeClock:
    """Stands in for the ``time`` module of the hook and of tenacity: sleeping advances it, instantly."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds


class SpyPacer(Pacer):
    """A pacer that never blocks and remembers the pauses it was asked for."""

    def __init__(self) -> None:
        super().__init__(None)
        self.paused: list[float] = []
        self.acquired = 0

    def pause_for(self, seconds: float) -> None:
        self.paused.append(seconds)

    def acquire(self) -> None:
        self.acquired += 1


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(genesys_cloud, "time", fake)
    monkeypatch.setattr(tenacity.nap, "time", fake)
    return fake


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    genesys_cloud.clear_token_cache()
    yield
    genesys_cloud.clear_token_cache()


@pytest.fixture
def make_hook(monkeypatch: pytest.MonkeyPatch) -> Callable[..., GenesysCloudHook]:
    """Build a hook on a fresh connection (``extra`` keys as given) with a spy pacer."""

    def make(*, login: str | None = CLIENT_ID, password: str | None = SECRET, **extra: Any) -> GenesysCloudHook:
        conn_id = f"unit_{uuid.uuid4().hex[:10]}"
        conn: dict[str, Any] = {"conn_type": "genesys_cloud", "login": login, "password": password, "extra": extra}
        if "host" in extra:
            conn["host"] = extra.pop("host")
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        hook = GenesysCloudHook(conn_id)
        hook.__dict__["pacer"] = SpyPacer()
        return hook

    return make


def token_json(value: str = "tok-unit-0001", expires_in: int = 86399) -> dict[str, Any]:
    return {"access_token": value, "token_type": "bearer", "expires_in": expires_in}


def error_json(status: int, code: str, message: str = "nope", context_id: str = "ctx-1", **more: Any) -> dict[str, Any]:
    return {"message": message, "code": code, "status": status, "contextId": context_id, "details": [], **more}


def rate_limited_token_json() -> dict[str, Any]:
    text = "Token creation rate limit exceeded. Retry the request later."
    return {"error": "invalid_request", "description": text, "error_description": text}


# -- regions -----------------------------------------------------------------------------------------------


def test_region_table_matches_the_18_documented_regions() -> None:
    assert REGION_DOMAINS == FACTS_REGIONS  # tests/contract/test_regions.py holds it to the SDK itself
    assert len(REGION_DOMAINS) == 18


@pytest.mark.parametrize(("region", "domain"), sorted(FACTS_REGIONS.items()))
def test_every_region_and_its_domain_resolve_to_api_login_and_apps_hosts(region: str, domain: str) -> None:
    expected = (f"https://api.{domain}", f"https://login.{domain}", f"https://apps.{domain}")
    for name in (region, region.upper(), f" {region} ", domain, f"api.{domain}", f"login.{domain}"):
        endpoints = resolve_endpoints(region=name)
        assert (endpoints.api_base, endpoints.login_base, endpoints.apps_base) == expected, name
        assert endpoints.is_custom_host is False
    assert domain_for(region) == domain


def test_no_region_means_us_east_1() -> None:
    assert resolve_endpoints().api_base == "https://api.mypurecloud.com"
    assert resolve_endpoints(region="").login_base == "https://login.mypurecloud.com"


@pytest.mark.parametrize("region", ["mars-1", "us-east-9", "eu west 1", "https://api.mypurecloud.ie/x"])
def test_unknown_region_is_a_configuration_error(region: str) -> None:
    with pytest.raises(GenesysConfigurationError) as raised:
        resolve_endpoints(region=region)
    assert repr(region) in str(raised.value)
    assert "eu-west-1" in str(raised.value)


@pytest.mark.parametrize(
    ("host", "base"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        (" https://gateway.example.com ", "https://gateway.example.com"),
        ("gateway.example.com", "https://gateway.example.com"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_custom_host_serves_login_api_and_apps(host: str, base: str) -> None:
    endpoints = resolve_endpoints(region="eu-west-1", host=host)
    assert (endpoints.api_base, endpoints.login_base, endpoints.apps_base) == (base, base, base)
    assert endpoints.is_custom_host is True


@pytest.mark.parametrize("host", ["ftp://files.example.com", "http://"])
def test_custom_host_must_be_http(host: str) -> None:
    with pytest.raises(GenesysConfigurationError):
        resolve_endpoints(host=host)


def test_hook_reads_region_and_host_from_its_connection(make_hook: Callable[..., GenesysCloudHook]) -> None:
    assert make_hook(region="eu-west-1").endpoints.login_base == "https://login.mypurecloud.ie"
    assert make_hook(region="mypurecloud.jp").endpoints.api_base == "https://api.mypurecloud.jp"
    assert make_hook().endpoints.api_base == API
    sandbox = make_hook(host="http://127.0.0.1:9999", region="eu-west-1").endpoints
    assert (sandbox.api_base, sandbox.login_base, sandbox.is_custom_host) == (
        "http://127.0.0.1:9999",
        "http://127.0.0.1:9999",
        True,
    )
    with pytest.raises(GenesysConfigurationError):
        make_hook(region="atlantis-1").settings  # noqa: B018 - reading it validates the connection


@pytest.mark.parametrize(
    ("uri", "base"),
    [
        ("genesys-cloud://id:sec@127.0.0.1:8080", "https://127.0.0.1:8080"),
        ("genesys-cloud://id:sec@http%3A%2F%2F127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("genesys-cloud://id:sec@gateway.example.com:8443", "https://gateway.example.com:8443"),
    ],
)
def test_connection_port_is_kept(monkeypatch: pytest.MonkeyPatch, uri: str, base: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_URI", uri)
    assert GenesysCloudHook("genesys_uri").endpoints.api_base == base


def test_connection_port_does_not_override_a_port_in_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "genesys_cloud", "login": "id", "password": "sec", "host": "http://[::1]:9000", "port": 1}
    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_PORTS", json.dumps(conn))
    assert GenesysCloudHook("genesys_ports").endpoints.api_base == "http://[::1]:9000"
    conn["host"] = "http://[::1]"
    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_PORTS", json.dumps(conn))
    assert GenesysCloudHook("genesys_ports").endpoints.api_base == "http://[::1]:1"


@pytest.mark.parametrize(("login", "password"), [(None, SECRET), (CLIENT_ID, None)])
def test_missing_client_id_or_secret_is_a_configuration_error(
    make_hook: Callable[..., GenesysCloudHook], login: str | None, password: str | None
) -> None:
    with pytest.raises(GenesysConfigurationError) as raised:
        make_hook(login=login, password=password).settings  # noqa: B018
    assert SECRET not in str(raised.value)


# -- token endpoint ----------------------------------------------------------------------------------------


def test_token_is_requested_form_encoded_with_basic_auth_from_the_login_host(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock
) -> None:
    rsps.add(responses.POST, "https://login.mypurecloud.ie/oauth/token", json=token_json("tok-ie"))
    rsps.add(responses.GET, "https://api.mypurecloud.ie/api/v2/tokens/me", json={"id": "me"})

    assert make_hook(region="eu-west-1").get("/api/v2/tokens/me") == {"id": "me"}

    token_call, api_call = rsps.calls
    assert token_call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(str(token_call.request.body)) == {"grant_type": ["client_credentials"]}
    expected = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    assert token_call.request.headers["Authorization"] == f"Basic {expected}"
    assert api_call.request.headers["Authorization"] == "bearer tok-ie"
    assert api_call.request.headers["Accept"] == "application/json"


def test_token_is_cached_until_the_refresh_margin(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, json=token_json("tok-1", expires_in=3600))
    rsps.add(responses.POST, TOKEN_URL, json=token_json("tok-2", expires_in=3600))
    hook = make_hook()

    first = hook.get_token()
    assert 3539 <= first.expires_at - clock.monotonic() <= 3540  # refreshed 60 s early
    clock.offset += 3530
    assert hook.get_token() is first
    clock.offset += 15
    assert hook.get_token().value == "tok-2"
    assert hook.token_fetches == 2


def test_short_token_lifetime_refreshes_at_half_of_it(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, json=token_json("tok-short", expires_in=100))
    token = make_hook().get_token()
    assert 49 <= token.expires_at - clock.monotonic() <= 50


def test_token_rate_limit_400_is_retried_then_ok(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, status=400, json=rate_limited_token_json())
    rsps.add(responses.POST, TOKEN_URL, json=token_json("tok-after-wait"))
    hook = make_hook()

    assert hook.get_token().value == "tok-after-wait"
    assert len(rsps.calls) == 2
    assert clock.sleeps == [1.0]
    assert hook.token_fetches == 2


def test_token_rate_limit_gives_up_after_token_retry_seconds(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, status=400, json=rate_limited_token_json())
    hook = make_hook(token_retry_seconds=5)

    with pytest.raises(GenesysAuthError) as raised:
        hook.get_token()

    assert clock.sleeps == [1.0, 2.0]  # the next wait (4 s) would pass the 5 s deadline
    assert len(rsps.calls) == 3
    error = raised.value
    assert (error.status, error.code, error.attempts) == (400, "invalid_request", 3)
    assert "rate limit exceeded" in error.message


def test_other_token_400_is_an_auth_error_at_once_without_the_secret(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    echo = f"Unsupported grant for client secret {SECRET} (Authorization: Basic {basic})"
    rsps.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_request", "error_description": echo})

    with pytest.raises(GenesysAuthError) as raised:
        make_hook().get_token()

    error = raised.value
    assert (error.status, error.code, error.path) == (400, "invalid_request", "/oauth/token")
    assert len(rsps.calls) == 1
    assert clock.sleeps == []
    for text in (str(error), repr(error), error.message, json.dumps(error.to_dict())):
        assert SECRET not in text
        assert basic not in text
    assert "***" in error.message


def test_bad_client_credentials_are_not_retried(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(
        responses.POST,
        TOKEN_URL,
        status=401,
        json={"error": "invalid_client", "description": "client not found or bad client secret"},
    )
    hook = make_hook()

    ok, reason = hook.test_connection()

    assert ok is False
    assert "HTTP 401" in reason and "invalid_client" in reason and SECRET not in reason
    assert len(rsps.calls) == 1
    assert clock.sleeps == []


def test_token_endpoint_503_is_retried(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, status=503, json=error_json(503, "service.unavailable"))
    rsps.add(responses.POST, TOKEN_URL, json=token_json("tok-ok"))
    assert make_hook().get_token().value == "tok-ok"
    assert clock.sleeps == [1.0]


def test_token_network_error_gives_up_without_the_secret(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, body=requests.exceptions.ConnectionError(f"refused; secret={SECRET}"))

    with pytest.raises(GenesysAuthError) as raised:
        make_hook(token_retry_seconds=2).get_token()

    assert raised.value.status is None
    assert raised.value.code == "ConnectionError"
    assert SECRET not in str(raised.value)
    assert clock.sleeps == [1.0]


# -- waits and backoff -------------------------------------------------------------------------------------


def test_429_without_retry_after_waits_the_default(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, json=token_json())
    rsps.add(responses.GET, ME_URL, status=429, json=error_json(429, "too.many.requests.retry.after"))
    rsps.add(responses.GET, ME_URL, json={"id": "me"})
    hook = make_hook()

    response = hook.request("GET", "/api/v2/tokens/me")

    assert (response.status, response.attempts, response.throttled) == (200, 2, 1)
    assert hook.throttled == 1
    pacer = hook.pacer
    assert isinstance(pacer, SpyPacer)
    assert pacer.paused == [DEFAULT_RETRY_AFTER_SECONDS]
    (wait,) = clock.sleeps
    assert DEFAULT_RETRY_AFTER_SECONDS <= wait <= DEFAULT_RETRY_AFTER_SECONDS + 0.25


def test_429_retry_after_is_waited_and_throttles_have_their_own_budget(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, json=token_json())
    rsps.add(
        responses.GET,
        ME_URL,
        status=429,
        json=error_json(429, "too.many.requests.retry.after"),
        headers={"Retry-After": "42"},
    )
    hook = make_hook(max_attempts=2, max_throttle_attempts=4)

    with pytest.raises(GenesysApiError) as raised:
        hook.request("GET", "/api/v2/tokens/me")

    assert type(raised.value) is GenesysApiError
    assert (raised.value.status, raised.value.retry_after, raised.value.attempts) == (429, 42, 4)
    assert len(rsps.calls) == 1 + 4
    assert len(clock.sleeps) == 3
    assert all(42 <= wait <= 42.25 for wait in clock.sleeps)


def test_retry_after_over_180_is_a_quota_error(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, json=token_json())
    rsps.add(responses.GET, ME_URL, status=429, json=error_json(429, "x"), headers={"Retry-After": "180.5"})
    with pytest.raises(GenesysQuotaExhaustedError) as raised:
        make_hook().request("GET", "/api/v2/tokens/me")
    assert "daily quota" in str(raised.value)
    assert clock.sleeps == []
    # exactly 180 s is still waited for
    rsps.replace(responses.GET, ME_URL, status=429, json=error_json(429, "x"), headers={"Retry-After": "180"})
    rsps.add(responses.GET, ME_URL, json={"id": "me"})
    assert make_hook().request("GET", "/api/v2/tokens/me").throttled == 1


def test_5xx_backoff_is_jittered_and_capped_by_backoff_max(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, json=token_json())
    for status in (503, 502, 504, 503):
        rsps.add(responses.GET, ME_URL, status=status, json=error_json(status, "x"))
    rsps.add(responses.GET, ME_URL, json={"id": "me"})
    hook = make_hook(max_attempts=5, backoff_initial=1, backoff_max=2)

    response = hook.request("GET", "/api/v2/tokens/me")

    assert (response.status, response.attempts, response.unknown_outcome_seen) == (200, 5, True)
    first, *rest = clock.sleeps
    assert 0.5 <= first <= 1.0
    assert len(rest) == 3
    assert all(1.0 <= wait <= 2.0 for wait in rest)


def test_connect_timeout_is_not_an_unknown_outcome_but_a_read_timeout_is(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, json=token_json())
    url = f"{API}/api/v2/interactions"
    refused = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")  # type: ignore[arg-type]
    rsps.add(responses.POST, url, body=requests.exceptions.ConnectionError(refused))
    rsps.add(responses.POST, url, body=requests.exceptions.ConnectTimeout())
    rsps.add(responses.POST, url, status=201, json={"id": "r1"})
    looked_up: list[GenesysApiError] = []

    def lookup(error: GenesysApiError) -> GenesysResponse | None:
        looked_up.append(error)
        return None

    hook = make_hook()
    response = hook.request("POST", "/api/v2/interactions", json={}, before_retry=lookup)
    assert (response.status, response.attempts, response.unknown_outcome_seen) == (201, 3, False)
    assert looked_up == []

    rsps.add(responses.POST, f"{API}/api/v2/other", body=requests.exceptions.ReadTimeout())
    rsps.add(responses.POST, f"{API}/api/v2/other", status=201, json={"id": "r2"})
    response = hook.request("POST", "/api/v2/other", json={}, before_retry=lookup)
    assert (response.status, response.unknown_outcome_seen) == (201, True)
    assert [(e.status, e.code, e.message) for e in looked_up] == [
        (None, "ReadTimeout", "timed out waiting for Genesys")
    ]


# -- ErrorBody ---------------------------------------------------------------------------------------------


def test_error_body_is_parsed() -> None:
    body = {
        "message": "Validation failed",
        "code": "constraint.validation",
        "status": 400,
        "contextId": "ctx-42",
        "details": [
            {"errorCode": "invalid.value", "fieldName": "routing.priority"},
            {"errorCode": "not.found", "entityId": "q-1", "entityName": "queue"},
            "not a detail",
        ],
        "errors": [],
    }
    error = GenesysApiError.from_error_body(status=400, body=body, method="POST", path="/api/v2/interactions")

    assert (error.status, error.code, error.message) == (400, "constraint.validation", "Validation failed")
    assert error.correlation_id == "ctx-42"  # no header: the body's contextId
    assert error.details == (
        ErrorDetail(error_code="invalid.value", field_name="routing.priority"),
        ErrorDetail(error_code="not.found", entity_id="q-1", entity_name="queue"),
    )
    assert error.body == body
    assert str(error) == (
        "POST /api/v2/interactions failed: HTTP 400; code=constraint.validation; message='Validation failed'; "
        "correlation_id=ctx-42; details=[routing.priority:invalid.value, ?:not.found]"
    )
    assert error.to_dict() == {
        "status": 400,
        "code": "constraint.validation",
        "message": "Validation failed",
        "correlation_id": "ctx-42",
        "retry_after": None,
    }


def test_error_body_header_correlation_id_wins_over_context_id() -> None:
    error = GenesysApiError.from_error_body(status=404, body=error_json(404, "not.found"), correlation_id="hdr-1")
    assert error.correlation_id == "hdr-1"


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"error": "invalid_client", "description": "d", "error_description": "ed"}, "invalid_client", "ed"),
        ({"error": "invalid_request", "description": "only description"}, "invalid_request", "only description"),
        ("<html>Bad gateway</html>" * 40, None, ("<html>Bad gateway</html>" * 40)[:500]),
        (None, None, ""),
        ([1, 2], None, ""),
    ],
)
def test_other_error_bodies(body: Any, code: str | None, message: str) -> None:
    error = GenesysApiError.from_error_body(status=502, body=body)
    assert (error.code, error.message, error.details) == (code, message, ())
    assert str(error).startswith("Genesys Cloud call failed: HTTP 502")


def test_error_messages_are_redacted() -> None:
    body = {"message": f"token Bearer abc.DEF-123_456 and Basic QWxhZGRpbjpvcGVu, secret {SECRET}", "code": "x"}
    error = GenesysApiError.from_error_body(status=400, body=body, secrets=[SECRET, None, "ab"])
    assert error.message == "token Bearer *** and Basic ***, secret ***"
    assert redact("no secrets here", [SECRET]) == "no secrets here"
    assert str(GenesysApiError(status=None, code="ReadTimeout")).endswith("no response; code=ReadTimeout")


def test_hook_error_uses_context_id_without_the_header(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, json=token_json())
    details = [{"errorCode": "invalid.value", "fieldName": "participants[0].id"}]
    rsps.add(
        responses.POST,
        f"{API}/api/v2/interactions",
        status=400,
        json=error_json(400, "invalid.value", "bad participant", context_id="ctx-body", details=details),
    )

    with pytest.raises(GenesysApiError) as raised:
        make_hook().request("POST", "/api/v2/interactions", json={})

    error = raised.value
    assert (error.status, error.code, error.correlation_id) == (400, "invalid.value", "ctx-body")
    assert [d.field_name for d in error.details] == ["participants[0].id"]
    assert (error.method, error.path, error.attempts) == ("POST", "/api/v2/interactions", 1)
    assert len(rsps.calls) == 2


# -- provider metadata -------------------------------------------------------------------------------------


def _connection_type(info: dict[str, Any], conn_type: str) -> dict[str, Any]:
    (entry,) = [entry for entry in info["connection-types"] if entry["connection-type"] == conn_type]
    return dict(entry)


def test_provider_info_region_enum_lists_every_region() -> None:
    genesys = _connection_type(get_provider_info(), GenesysCloudHook.conn_type)
    schema = genesys["conn-fields"]["region"]["schema"]
    assert set(FACTS_REGIONS) <= set(schema["enum"])
    assert set(FACTS_REGIONS.values()) <= set(schema["enum"])
    assert None in schema["enum"]
    assert schema["default"] == "us-east-1" and schema["default"] in schema["enum"]
    assert list(schema["examples"]) == list(REGION_DOMAINS)


def test_provider_info_secret_fields_are_password_format() -> None:
    info = get_provider_info()
    secret_like = 0
    for entry in info["connection-types"]:
        for name, spec in entry["conn-fields"].items():
            if "secret" in name or "password" in name or name.endswith("token"):
                secret_like += 1
                assert spec["schema"].get("format") == "password", name
            else:
                assert spec["schema"].get("format") != "password", name
    assert secret_like >= 1


def test_provider_info_relabels_the_genesys_connection_form() -> None:
    genesys = _connection_type(get_provider_info(), GenesysCloudHook.conn_type)
    assert genesys["hook-class-name"] == f"{GenesysCloudHook.__module__}.{GenesysCloudHook.__qualname__}"
    assert genesys["hook-name"] == GenesysCloudHook.hook_name
    behaviour = genesys["ui-field-behaviour"]
    assert behaviour["relabeling"] == {"login": "Client ID", "password": "Client Secret"}
    assert behaviour["hidden-fields"] == ["schema"]  # the hook reads the port: the form shows it
    assert {"login", "password", "host"} <= set(behaviour["placeholders"])
    assert "region" not in behaviour["hidden-fields"]


# -- pacing ------------------------------------------------------------------------------------------------


def test_pacer_spaces_requests_at_requests_per_minute() -> None:
    pacer = Pacer(600)  # one request every 0.1 s
    started = time.monotonic()
    for _ in range(5):
        pacer.acquire()
    elapsed = time.monotonic() - started
    assert 0.38 <= elapsed < 1.5


def test_pacer_without_a_rate_does_not_wait() -> None:
    pacer = Pacer(None)
    started = time.monotonic()
    for _ in range(100):
        pacer.acquire()
    assert time.monotonic() - started < 0.1


def test_pause_for_holds_every_thread() -> None:
    pacer = Pacer(None)
    pacer.pause_for(0.3)
    pacer.pause_for(0.05)  # a shorter pause never shortens the current one
    assert pacer.pauses == 1
    assert pacer.remaining_pause() > 0.2
    released: list[float] = []
    started = time.monotonic()

    def worker() -> None:
        pacer.acquire()
        released.append(time.monotonic() - started)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)

    assert len(released) == 4
    assert all(0.28 <= wait < 1.0 for wait in released)
    assert pacer.remaining_pause() == 0.0


def test_pause_started_while_a_thread_waits_for_its_slot_holds_it_too() -> None:
    pacer = Pacer(60)  # one request a second
    pacer.acquire()
    assert pacer._limiter is not None
    waiting = threading.Event()
    try_acquire = pacer._limiter.try_acquire

    def try_acquire_signalling(*args: Any, **kwargs: Any) -> Any:
        waiting.set()  # the worker now waits for its slot
        return try_acquire(*args, **kwargs)

    pacer._limiter.try_acquire = try_acquire_signalling  # type: ignore[method-assign]
    released: list[float] = []

    def worker() -> None:
        pacer.acquire()
        released.append(time.monotonic())

    thread = threading.Thread(target=worker)
    thread.start()
    assert waiting.wait(timeout=5)
    paused_at = time.monotonic()
    pacer.pause_for(1.5)  # Genesys said 429 while the worker waited (longer than its slot wait)
    thread.join(timeout=10)

    assert released and released[0] >= paused_at + 1.5


def test_pacer_burst_is_one_at_genesys_rates_and_keeps_high_rates_exact() -> None:
    from airflow_provider_genesys.hooks.pacing import burst_for

    assert [burst_for(rpm) for rpm in (1, 300, 3000, 6000)] == [1, 1, 1, 1]
    assert burst_for(6001) == 2 and burst_for(48_000) == 8 and burst_for(1_000_000) == 167
    pacer = Pacer(600_000)  # 10,000/s: whole-millisecond waits alone would cap it at 1,000/s
    started = time.monotonic()
    for _ in range(2_000):
        pacer.acquire()
    # 0.2 s at the rate; capped at 1,000/s it could not take less than 2 s, however idle the machine
    assert time.monotonic() - started < 1.9


def test_proxy_and_ca_settings_are_read_from_the_environment_once(
    make_hook: Callable[..., GenesysCloudHook], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/corporate.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = make_hook(region="eu-west-1").session

    assert session.trust_env is False  # not re-read per request
    assert session.proxies.get("https") == "http://proxy.internal:3128"
    assert session.verify == "/etc/ssl/certs/corporate.pem"

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert "http" not in make_hook(host="http://127.0.0.1:8765").session.proxies


def test_pacer_serves_waiting_threads_first_come_first_served() -> None:
    pacer = Pacer(6000)  # a slot every 10 ms: every thread is back in the queue long before its next turn
    order: list[int] = []
    order_lock = threading.Lock()

    def work(number: int) -> None:
        for _ in range(8):
            pacer.acquire()
            with order_lock:
                order.append(number)

    threads = [threading.Thread(target=work, args=(number,)) for number in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(order) == 48
    # round robin once all six are queued: no thread waits more than two rounds for its next turn
    for number in range(6):
        turns = [index for index, served in enumerate(order) if served == number]
        assert max(b - a for a, b in itertools.pairwise(turns)) <= 12, (number, order)


# -- hostile answers: nothing but a JSON answer of the API counts -------------------------------------------

CREATE_URL = f"{API}/api/v2/interactions"
ELSEWHERE = "https://elsewhere.example.com/sign-in"


def _html_page(token: str) -> str:
    return f"<html><body>Proxy sign-in. You sent Authorization: Bearer {token} and client_secret={SECRET}</body></html>"


@pytest.mark.parametrize(
    ("answer", "what"),
    [
        ({"body": _html_page("tok-unit-0001"), "content_type": "text/html"}, "content type 'text/html'"),
        ({"body": b"", "status": 201}, "empty body"),
        ({"body": b"", "status": 200, "content_type": "application/json"}, "empty body"),
        ({"body": "not json at all", "content_type": "application/json"}, "first characters 'not json at all'"),
    ],
)
def test_a_2xx_that_is_not_a_json_answer_is_a_failure_naming_what_came_back(
    make_hook: Callable[..., GenesysCloudHook],
    rsps: responses.RequestsMock,
    clock: FakeClock,
    answer: dict[str, Any],
    what: str,
) -> None:
    rsps.add(responses.POST, TOKEN_URL, json=token_json())
    rsps.add(responses.POST, CREATE_URL, **answer)

    with pytest.raises(GenesysApiError) as raised:
        make_hook(max_attempts=2).request("POST", "/api/v2/interactions", json={"x": 1})

    error = raised.value
    status = answer.get("status", 200)
    assert (error.status, error.code, error.attempts) == (status, "answer.unreadable", 2)
    assert f"HTTP {status}" in str(error) and what in str(error)
    assert error.unknown_outcome is True and error.request_sent is True  # it reached something that answered 2xx
    for text in (str(error), error.message, json.dumps(error.to_dict())):
        assert SECRET not in text and "tok-unit-0001" not in text


def test_the_first_characters_of_an_html_answer_are_redacted_before_they_are_cut(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    # the secret straddles the 120th character: cutting first would keep its first characters
    page = "<html>" + "x" * (120 - 6 - 5) + SECRET + "</html>"
    rsps.add(responses.POST, TOKEN_URL, json=token_json())
    rsps.add(responses.GET, ME_URL, body=page, content_type="text/html")

    with pytest.raises(GenesysApiError) as raised:
        make_hook(max_attempts=1).request("GET", "/api/v2/tokens/me")

    assert SECRET[:5] not in str(raised.value)
    assert "***" in str(raised.value)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_followed_and_names_its_location(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock, status: int
) -> None:
    rsps.add(responses.POST, TOKEN_URL, json=token_json("tok-redirected"))
    location = f"https://user:{SECRET}@elsewhere.example.com/login?access_token=tok-redirected"
    rsps.add(responses.POST, CREATE_URL, status=status, headers={"Location": location})
    elsewhere = rsps.add(responses.POST, "https://elsewhere.example.com/login", json={"id": "not-genesys"})
    elsewhere_get = rsps.add(responses.GET, "https://elsewhere.example.com/login", json={"id": "not-genesys"})

    with pytest.raises(GenesysApiError) as raised:
        make_hook().request("POST", "/api/v2/interactions", json={"x": 1})

    error = raised.value
    assert (error.status, error.code, error.attempts) == (status, "redirect.refused", 1)
    assert "elsewhere.example.com/login" in str(error) and "never followed" in str(error)
    assert SECRET not in str(error) and "tok-redirected" not in str(error)
    assert elsewhere.call_count == 0 and elsewhere_get.call_count == 0
    assert error.unknown_outcome is False  # the API never saw it


def test_the_session_refuses_redirects_whatever_the_caller_asks(make_hook: Callable[..., GenesysCloudHook]) -> None:
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, API + "/x", status=302, headers={"Location": ELSEWHERE})
        response = make_hook().session.get(API + "/x", allow_redirects=True)
    assert response.status_code == 302


def test_a_redirect_from_the_token_endpoint_is_an_auth_error(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, status=302, headers={"Location": ELSEWHERE})

    with pytest.raises(GenesysAuthError, match=r"elsewhere\.example\.com"):
        make_hook().get_token()
    assert len(rsps.calls) == 1


def test_an_html_token_answer_is_an_auth_error_without_the_secret(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    page = f"<html>Sign in. Authorization: Basic {basic} Basic%20{basic} basic:{basic}</html>"
    rsps.add(responses.POST, TOKEN_URL, body=page, content_type="text/html")

    with pytest.raises(GenesysAuthError) as raised:
        make_hook().get_token()

    assert "text/html" in str(raised.value) and raised.value.code == "answer.unreadable"
    assert basic not in str(raised.value) and SECRET not in str(raised.value)


# -- error answers that echo credentials ------------------------------------------------------------------


def _echoing_body(token: str) -> dict[str, Any]:
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    # the secret straddles the 300th and the 500th character of the message
    message = "m" * (300 - len(SECRET) // 2) + SECRET + "n" * (200 - len(SECRET)) + SECRET + f" Basic%20{basic}"
    return {
        "message": message,
        "code": f"bad.request {SECRET}",
        "status": 400,
        "contextId": token,
        "error": SECRET,
        "details": [
            {"errorCode": SECRET, "fieldName": f"Authorization: Bearer {token}", "entityId": token},
            {"errorCode": "x", "fieldName": f"basic:{basic}", "entityName": f"client_secret={SECRET}"},
        ],
    }


def test_every_field_of_an_error_answer_is_redacted_before_it_is_cut(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, json=token_json("tok-echoed-0042"))
    rsps.add(
        responses.POST,
        CREATE_URL,
        status=400,
        json=_echoing_body("tok-echoed-0042"),
        headers={"ININ-Correlation-Id": "tok-echoed-0042"},
    )

    with pytest.raises(GenesysApiError) as raised:
        make_hook().request("POST", "/api/v2/interactions", json={"x": 1})

    error = raised.value
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    texts = [str(error), repr(error), json.dumps(error.to_dict()), repr(error.details), error.message]
    for text in texts:
        for leak in (SECRET, SECRET[:6], "tok-echoed-0042", basic, basic[:10]):
            assert leak not in text, (leak, text)
    assert error.status == 400 and error.code == "bad.request ***"


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("Authorization: Basic%20QWxhZGRpbjpvcGVuc2VzYW1l", "QWxhZGRpbjpvcGVuc2VzYW1l"),
        ("creds basic:QWxhZGRpbjpvcGVuc2VzYW1l end", "QWxhZGRpbjpvcGVuc2VzYW1l"),
        ("Authorization=Basic+QWxhZGRpbjpvcGVuc2VzYW1l", "QWxhZGRpbjpvcGVuc2VzYW1l"),
        ("bearer=abcdef123456789", "abcdef123456789"),
        ('{"access_token": "tok-in-json-9"}', "tok-in-json-9"),
        ("grant_type=client_credentials&client_secret=s3cr3t-form&x=1", "s3cr3t-form"),
        ("https://user:pass-in-url@host.example.com/x", "pass-in-url"),
    ],
)
def test_credential_shapes_are_redacted(text: str, gone: str) -> None:
    assert gone not in redact(text)


def test_known_secrets_are_redacted_in_their_url_encoded_forms_too() -> None:
    secret = "a/b+c d=e&f"
    for form in (secret, "a%2Fb%2Bc%20d%3De%26f", "a%2Fb%2Bc+d%3De%26f"):
        assert form not in redact(f"x {form} y", [secret])


def test_redact_cuts_after_redacting() -> None:
    text = "x" * 95 + SECRET
    assert redact(text, [SECRET], limit=100) == "x" * 95 + "***"


# -- secrets are registered with Airflow's masker ------------------------------------------------------------


def test_the_client_secret_and_every_token_are_registered_with_airflows_masker(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock
) -> None:
    from airflow.sdk.log import redact as airflow_redact

    rsps.add(responses.POST, TOKEN_URL, json=token_json("tok-masked-77a1c"))
    hook = make_hook(password="unit-secret-only-in-the-masker-5e1")
    hook.get_token()

    line = "token tok-masked-77a1c and secret unit-secret-only-in-the-masker-5e1"
    assert airflow_redact(line) == "token *** and secret ***"


# -- what the hook knows about whether a request left ----------------------------------------------------


def test_a_token_failure_says_the_request_never_left(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, status=503, json=error_json(503, "service.unavailable"))
    create = rsps.add(responses.POST, CREATE_URL, json={"id": "never"})

    with pytest.raises(GenesysAuthError) as raised:
        make_hook(token_retry_seconds=0).request("POST", "/api/v2/interactions", json={"x": 1})

    assert raised.value.request_sent is False and raised.value.unknown_outcome is False
    assert create.call_count == 0


def test_a_refused_connection_says_the_request_never_left(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, json=token_json())
    refused = requests.exceptions.ConnectionError("HTTPConnectionPool: NewConnectionError: Connection refused")
    rsps.add(responses.POST, CREATE_URL, body=refused)

    with pytest.raises(GenesysApiError) as raised:
        make_hook(max_attempts=2).request("POST", "/api/v2/interactions", json={"x": 1})

    assert raised.value.request_sent is False and raised.value.unknown_outcome is False


def test_a_500_may_have_been_committed(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, json=token_json())
    rsps.add(responses.POST, CREATE_URL, status=500, json=error_json(500, "internal.server.error"))

    with pytest.raises(GenesysApiError) as raised:
        make_hook().request("POST", "/api/v2/interactions", json={"x": 1})

    assert raised.value.attempts == 1  # not retried
    assert raised.value.request_sent is True and raised.value.unknown_outcome is True


def test_before_send_runs_only_once_the_request_is_about_to_leave(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_client"})
    calls: list[str] = []

    with pytest.raises(GenesysAuthError):
        make_hook().request("POST", "/api/v2/interactions", json={}, before_send=lambda: calls.append("sent"))
    assert calls == []


# -- connection extras are checked once, with their allowed range -----------------------------------------


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"requests_per_minute": "fast"}, "'requests_per_minute' must be an integer from 0 to"),
        ({"requests_per_minute": -1}, "'requests_per_minute' must be an integer from 0 to"),
        ({"requests_per_minute": 2.5}, "'requests_per_minute' must be an integer"),
        ({"timeout": 0}, "'timeout' must be a number from 0.1 to 3,600"),
        ({"timeout": "nan"}, "'timeout' must be a number"),
        ({"connect_timeout": -3}, "'connect_timeout' must be a number"),
        ({"max_attempts": 0}, "'max_attempts' must be an integer from 1 to 100"),
        ({"max_attempts": True}, "'max_attempts' must be an integer"),
        ({"max_throttle_attempts": "ten"}, "'max_throttle_attempts' must be an integer"),
        ({"backoff_initial": -1}, "'backoff_initial' must be a number from 0 to 3,600"),
        ({"backoff_max": "inf"}, "'backoff_max' must be a number"),
        ({"token_retry_seconds": -5}, "'token_retry_seconds' must be a number"),
        ({"region": 17}, "'region' must be a string"),
        ({"search_indexing_delay": -1}, "'search_indexing_delay' must be a number from 0 to 86,400"),
        ({"search_indexing_delay": "soon"}, "'search_indexing_delay' must be a number"),
        ({"search_lookback": 30}, "'search_lookback' must be a number from 60 to 2,592,000"),
        ({"search_lookback": 40 * 86_400}, "'search_lookback' must be a number from 60 to 2,592,000"),
        ({"search_max_wait": 7200}, "'search_max_wait' must be a number from 0 to 3,600"),
        ({"search_max_wait": False}, "'search_max_wait' must be a number"),
    ],
)
def test_a_connection_extra_out_of_range_is_a_configuration_error_naming_it(
    make_hook: Callable[..., GenesysCloudHook], extra: dict[str, Any], named: str
) -> None:
    hook = make_hook(**extra)
    with pytest.raises(GenesysConfigurationError) as raised:
        hook.settings  # noqa: B018 - reading it validates the connection
    assert named in str(raised.value)
    assert hook.genesys_conn_id in str(raised.value)


def test_the_search_extras_default_to_a_cautious_delay_and_three_days(
    make_hook: Callable[..., GenesysCloudHook],
) -> None:
    settings = make_hook().settings
    assert (settings.search_indexing_delay, settings.search_lookback, settings.search_max_wait) == (
        300.0,
        259_200.0,
        360.0,
    )
    given = make_hook(search_indexing_delay="2.5", search_lookback=3600, search_max_wait=0).settings
    assert (given.search_indexing_delay, given.search_lookback, given.search_max_wait) == (2.5, 3600.0, 0.0)


def test_extras_given_as_text_are_read_as_numbers(make_hook: Callable[..., GenesysCloudHook]) -> None:
    settings = make_hook(requests_per_minute="120", timeout="12.5", max_attempts="3", backoff_initial="0").settings
    assert (settings.requests_per_minute, settings.timeout, settings.max_attempts, settings.backoff_initial) == (
        120,
        12.5,
        3,
        0.0,
    )


@pytest.mark.parametrize(
    "host",
    [f"http://user:{SECRET}@127.0.0.1:9999", f"https://{CLIENT_ID}:{SECRET}@gateway.example.com", "me@gateway.com"],
)
def test_a_host_with_user_info_is_refused_without_echoing_it(
    make_hook: Callable[..., GenesysCloudHook], host: str
) -> None:
    with pytest.raises(GenesysConfigurationError) as raised:
        make_hook(host=host).settings  # noqa: B018
    assert "user info" in str(raised.value)
    assert SECRET not in str(raised.value) and "user:" not in str(raised.value).replace("'user:password@'", "")
