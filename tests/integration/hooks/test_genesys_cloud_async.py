"""GenesysCloudAsyncHook over real HTTP against the sandbox: the synchronous hook's transport policy, on an event loop.

Most tests run the same call through both hooks and expect the same answer — status, error code, attempts,
reach — because the asynchronous hook shares the connection reading, the token rules, the answer classification,
the retry policy and the redaction of the synchronous one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from airflow_provider_genesys.exceptions import GenesysApiError, GenesysAuthError
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook, GenesysResponse
from airflow_provider_genesys.hooks.genesys_cloud_async import GenesysCloudAsyncHook
from genesys_sandbox import QUEUE_SUPPORT_ID
from tests.support.canaries import CANARY_CLIENT_SECRET
from tests.support.connections import genesys_connection
from tests.support.sandbox_client import SandboxAdmin

QUEUE_PATH = f"/api/v2/routing/queues/{QUEUE_SUPPORT_ID}"
QUEUE_ROUTE = "GET /api/v2/routing/queues/{queue_id}"

Call = Callable[..., GenesysResponse]


def _sync(conn_id: str = "genesys_cloud_default") -> Call:
    return lambda method, path, **kwargs: GenesysCloudHook(conn_id).request(method, path, **kwargs)


def _async(conn_id: str = "genesys_cloud_default") -> Call:
    async def call(method: str, path: str, **kwargs: Any) -> GenesysResponse:
        async with GenesysCloudAsyncHook(conn_id) as hook:
            return await hook.request(method, path, **kwargs)

    return lambda method, path, **kwargs: asyncio.run(call(method, path, **kwargs))


BOTH = pytest.mark.parametrize("make_call", [_sync, _async], ids=["sync", "async"])


def _outcome(call: Call, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """What a call ended with, in the terms both hooks share."""
    try:
        response = call(*args, **kwargs)
    except GenesysApiError as error:
        return (type(error).__name__, error.status, error.code, error.attempts, error.unknown_outcome)
    return ("ok", response.status, response.attempts, response.throttled, response.unknown_outcome_seen)


@BOTH
def test_a_call_is_answered_with_its_attempts_and_timings(make_call: Callable[..., Call], sandbox: Any) -> None:
    response = make_call()("GET", QUEUE_PATH)

    assert response.status == 200 and response.body["id"] == QUEUE_SUPPORT_ID
    assert response.attempts == 1 and response.correlation_id
    assert response.latency_ms > 0 and response.pacing_wait_ms >= 0


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ({"fail_next": [503, 502]}, ("ok", 200, 3, 0, True)),  # 5xx backed off and retried
        ({"fail_next": [429], "retry_after": 0}, ("ok", 200, 2, 1, False)),  # a 429 waits its Retry-After
        ({"fail_next": [429], "retry_after": 181}, ("GenesysQuotaExhaustedError", 429)),  # a spent quota: no retry
        ({"fail_next": [404]}, ("GenesysApiError", 404)),  # no other 4xx is retried
        ({"fail_next": [401, 401]}, ("GenesysAuthError", 401)),  # one token refresh, then an error
        ({"hostile_next": 1, "hostile_answer": "html_200"}, ("ok", 200, 2, 0, True)),  # a proxy page: retried
        ({"hostile_next": 1, "hostile_answer": "redirect_302"}, ("GenesysApiError", 302, "redirect.refused")),
    ],
    ids=["5xx", "429", "quota", "404", "401-twice", "html-200", "redirect"],
)
def test_both_hooks_end_a_call_alike(
    faults: dict[str, Any], expected: tuple[Any, ...], sandbox: Any, admin: SandboxAdmin
) -> None:
    outcomes = []
    for make_call in (_sync, _async):
        admin.faults(route_prefix="/api/v2/routing/", **faults)
        outcomes.append(_outcome(make_call(), "GET", QUEUE_PATH))

    assert outcomes[0] == outcomes[1]  # one transport policy
    assert outcomes[0][: len(expected)] == expected


def test_the_token_cache_is_shared_with_the_synchronous_hook(sandbox: Any, admin: SandboxAdmin) -> None:
    GenesysCloudHook().get_token()

    asyncio.run(_async_request("genesys_cloud_default"))

    assert admin.get("requests")["tokens_issued"] == 1


async def _async_request(conn_id: str) -> GenesysResponse:
    async with GenesysCloudAsyncHook(conn_id) as hook:
        return await hook.request("GET", QUEUE_PATH)


def test_an_expired_token_is_refreshed_once(sandbox: Any, admin: SandboxAdmin) -> None:
    asyncio.run(_async_request("genesys_cloud_default"))
    requests.post(f"{sandbox.base_url}/_sandbox/tokens/expire", timeout=10).raise_for_status()

    response = asyncio.run(_async_request("genesys_cloud_default"))

    assert response.status == 200
    assert admin.requests_to(QUEUE_ROUTE) == {"200": 2, "401": 1}
    assert admin.get("requests")["tokens_issued"] == 2


def test_a_refused_connection_never_left_and_names_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_GENESYS_CLOSED", genesys_connection("http://127.0.0.1:9", max_attempts=1, token_retry_seconds=0)
    )

    with pytest.raises(GenesysAuthError) as raised:
        asyncio.run(_async_request("genesys_closed"))

    assert raised.value.status is None and "connection refused" in str(raised.value)
    assert CANARY_CLIENT_SECRET not in str(raised.value) + repr(raised.value)


def test_an_error_echoing_the_credentials_is_redacted(sandbox: Any, admin: SandboxAdmin) -> None:
    admin.faults(hostile_next=1, hostile_answer="echo_secrets", route_prefix="/api/v2/routing/")

    with pytest.raises(GenesysApiError) as raised:
        asyncio.run(_async_request("genesys_no_retry"))

    text = f"{raised.value} {raised.value!r} {json.dumps(raised.value.message)}"
    assert CANARY_CLIENT_SECRET not in text and "Bearer ey" not in text
