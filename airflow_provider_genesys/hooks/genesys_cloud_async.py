"""GenesysCloudAsyncHook: the Genesys hook for an event loop (triggers), on aiohttp.

It is the synchronous :class:`~airflow_provider_genesys.hooks.genesys_cloud.GenesysCloudHook`'s transport policy,
not a copy of it: the connection is read by the same :func:`read_settings`, tokens come from (and go to) the same
process-wide cache and are read by the same :func:`token_from_answer`, answers are classified by the same
:func:`classify_answer` (redirects refused, a 2xx that is not JSON unreadable, ErrorBody parsed and redacted), and
the retry policy is the connection's :class:`~airflow_provider_genesys.hooks.retry_policy.RetryPolicy` in its
asynchronous form. Only the waiting differs: every wait — pacing, a 429's ``Retry-After``, backoff, the token
endpoint's retries — is an ``asyncio.sleep``, so nothing holds a thread of the triggerer.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
import requests
from airflow.sdk import BaseHook
from tenacity import RetryCallState

from airflow_provider_genesys.exceptions import GenesysApiError, GenesysAuthError
from airflow_provider_genesys.hooks.async_connection import aget_connection_and_extra
from airflow_provider_genesys.hooks.genesys_cloud import (
    _TOKEN_CACHE,
    ConnectionSettings,
    GenesysCloudHook,
    GenesysResponse,
    _AttemptFailed,
    _CallState,
    _retry_hint,
    _Token,
    _with_reach,
    basic_credentials,
    cached_token,
    classify_answer,
    credentials_of,
    forget_token,
    read_settings,
    retry_policy_for,
    route_of,
    token_cache_key,
    token_from_answer,
    token_retryable,
)
from airflow_provider_genesys.hooks.pacing import Pacer
from airflow_provider_genesys.utils import metrics
from airflow_provider_genesys.utils.redaction import redact


@dataclass(frozen=True)
class _Answer:
    """An aiohttp answer read whole (what :func:`classify_answer` reads of any answer)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes


class GenesysCloudAsyncHook(BaseHook):
    """Calls the Genesys Cloud Platform API from an event loop, with the synchronous hook's rules.

    The connection is looked up asynchronously (common-compat's ``get_async_connection`` /
    ``get_async_extra_dejson``), read by
    the same rules as :class:`~airflow_provider_genesys.hooks.genesys_cloud.GenesysCloudHook` and paced at its
    ``requests_per_minute``. Use it as an asynchronous context manager, which closes its HTTP session::

        async with GenesysCloudAsyncHook(genesys_conn_id="genesys_cloud_default") as hook:
            job = (await hook.request("GET", "/api/v2/taskmanagement/workitems/bulk/add/jobs/ID")).body

    :param genesys_conn_id: the Airflow connection id.
    """

    conn_name_attr = "genesys_conn_id"
    default_conn_name = GenesysCloudHook.default_conn_name
    conn_type = GenesysCloudHook.conn_type
    hook_name = "Genesys Cloud (asynchronous)"

    def __init__(self, genesys_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.genesys_conn_id = genesys_conn_id
        self._settings: ConnectionSettings | None = None
        self._session: aiohttp.ClientSession | None = None
        self._pacer: Pacer | None = None
        self._token_lock: asyncio.Lock | None = None
        self._proxies: dict[str, str] = {}
        self.requests_sent = 0
        self.throttled = 0

    async def __aenter__(self) -> GenesysCloudAsyncHook:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session (a new one is opened by the next call)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # -- connection -------------------------------------------------------------------------------------

    async def aget_settings(self) -> ConnectionSettings:
        """The connection's settings, read once, without blocking the event loop.

        :raises GenesysConfigurationError: naming the connection, the extra and what it allows.
        """
        if self._settings is None:
            conn, extra = await aget_connection_and_extra(self.genesys_conn_id, self)
            self._settings = read_settings(self.genesys_conn_id, conn, extra)
            self._pacer = Pacer(self._settings.requests_per_minute)
        return self._settings

    def _secrets(self) -> tuple[str | None, ...]:
        return credentials_of(self._settings)

    def _session_for(self, settings: ConnectionSettings) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Proxy and CA settings are read from the environment once, as the synchronous hook does (aiohttp's
            # trust_env would look them up in a thread of the loop's executor on every request). NO_PROXY holds.
            self._proxies = requests.utils.get_environ_proxies(settings.endpoints.api_base)
            ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(sock_connect=settings.connect_timeout, sock_read=settings.timeout),
                headers={"User-Agent": "airflow-provider-genesys"},
            )
        return self._session

    def _proxy_for(self, url: str) -> str | None:
        return self._proxies.get(url.split("://", 1)[0]) or self._proxies.get("all")

    # -- tokens -----------------------------------------------------------------------------------------

    async def get_token(self) -> _Token:
        """A valid token: the process-wide cache's (shared with the synchronous hook), else a fresh one."""
        settings = await self.aget_settings()
        token = cached_token(settings)
        if token is not None:
            return token
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:
            token = cached_token(settings)
            if token is None:
                token = await self._fetch_token(settings)
                _TOKEN_CACHE[token_cache_key(settings)] = token
            return token

    async def _fetch_token(self, settings: ConnectionSettings) -> _Token:
        """``POST /oauth/token``, retried like the synchronous hook's (throttling and 5xx, ``token_retry_seconds``)."""
        session = self._session_for(settings)
        url = f"{settings.endpoints.login_base}/oauth/token"
        deadline = time.monotonic() + settings.token_retry_seconds
        delay = 1.0
        attempt = 0
        while True:
            attempt += 1
            try:
                async with session.post(
                    url,
                    data={"grant_type": "client_credentials"},
                    proxy=self._proxy_for(url),
                    headers={"Authorization": f"Basic {basic_credentials(settings)}"},
                    allow_redirects=False,
                ) as response:
                    answer = _Answer(response.status, response.headers, await response.read())
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                if time.monotonic() + delay < deadline:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
                    continue
                raise GenesysAuthError(
                    status=None,
                    code=type(exc).__name__,
                    message=redact(_network_reason(exc), self._secrets(), limit=300),
                    method="POST",
                    path="/oauth/token",
                    attempts=attempt,
                ) from None
            try:
                return token_from_answer(answer, self._secrets(), attempt=attempt)
            except GenesysAuthError as error:
                if token_retryable(error) and time.monotonic() + delay < deadline:
                    wait = error.retry_after if error.retry_after is not None else delay
                    await asyncio.sleep(min(wait, max(0.0, deadline - time.monotonic())))
                    delay = min(delay * 2, 10.0)
                    continue
                raise

    # -- requests ---------------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        accept_statuses: frozenset[int] = frozenset(),
    ) -> GenesysResponse:
        """Send one API call with auth, pacing and the connection's retry policy (all waits asynchronous).

        :param method: HTTP method.
        :param path: API path such as ``/api/v2/taskmanagement/workitems/bulk/add/jobs/{id}``.
        :param json: JSON body.
        :param params: query parameters.
        :param accept_statuses: non-2xx statuses returned as a response instead of raised (e.g. ``{404}``).
        :raises GenesysApiError: after the retry policy gives up, or at once for a non-retryable status.
        """
        settings = await self.aget_settings()
        state = _CallState()
        response: GenesysResponse | None = None
        retrying = retry_policy_for(settings).async_retrying(
            retry_on=lambda exc: isinstance(exc, _AttemptFailed), hint=_retry_hint, before_sleep=self._before_sleep
        )
        try:
            async for attempt in retrying:
                with attempt:
                    state.attempts += 1
                    response = await self._send_once(
                        settings, method, path, json=json, params=params, accept_statuses=accept_statuses, state=state
                    )
        except _AttemptFailed as failed:
            error = failed.error
            error.attempts = state.attempts
            raise _with_reach(error, state) from None
        except GenesysApiError as error:
            raise _with_reach(error, state) from error.__cause__
        assert response is not None  # the retry loop ends with an answer or an exception
        response.attempts = state.attempts
        response.throttled = state.throttled
        response.unknown_outcome_seen = state.unknown
        response.latency_ms = state.round_trip_ms
        response.pacing_wait_ms = state.pacing_wait_ms
        return response

    def _before_sleep(self, retry_state: RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, _AttemptFailed):
            wait = retry_state.next_action.sleep if retry_state.next_action else 0
            self.log.warning("Retrying in %.1fs after: %s", wait, exc.error)

    async def _send_once(
        self,
        settings: ConnectionSettings,
        method: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        accept_statuses: frozenset[int],
        state: _CallState,
    ) -> GenesysResponse:
        """One attempt (plus one token refresh on a 401), as :meth:`GenesysCloudHook._send_once`."""
        route = route_of(path)
        pacer = self._pacer or Pacer(settings.requests_per_minute)
        refreshed = False
        while True:
            queued_at = time.monotonic()
            await pacer.aacquire()
            waited_ms = (time.monotonic() - queued_at) * 1000.0
            state.pacing_wait_ms += waited_ms
            metrics.pacing_wait(waited_ms)
            token = await self.get_token()
            answer = await self._send(settings, method, path, route, token, json, params, state)
            if answer.status_code == 401 and not refreshed:
                self.log.info("Genesys answered 401 on %s %s; refreshing the token once.", method, route)
                forget_token(settings, token)
                refreshed = True
                continue

            def on_throttle(seconds: float) -> None:
                self.throttled += 1
                metrics.throttled(method, route)
                pacer.pause_for(seconds)

            return classify_answer(
                answer,
                method=method,
                route=route,
                accept_statuses=accept_statuses,
                state=state,
                secrets=self._secrets(),
                on_throttle=on_throttle,
            )

    async def _send(
        self,
        settings: ConnectionSettings,
        method: str,
        path: str,
        route: str,
        token: _Token,
        json: Any,
        params: Mapping[str, Any] | None,
        state: _CallState,
    ) -> _Answer:
        """Put one request on the wire and read its answer whole; a transport failure is a retryable failure."""
        url = path if path.startswith(("http://", "https://")) else f"{settings.endpoints.api_base}/{path.lstrip('/')}"
        headers = {"Authorization": f"{token.token_type} {token.value}", "Accept": "application/json"}
        self.requests_sent += 1
        sent_at = time.monotonic()
        try:
            async with self._session_for(settings).request(
                method,
                url,
                json=json,
                params=params,
                headers=headers,
                allow_redirects=False,
                proxy=self._proxy_for(url),
            ) as response:
                answer = _Answer(response.status, response.headers, await response.read())
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            elapsed_ms = (time.monotonic() - sent_at) * 1000.0
            state.round_trip_ms += elapsed_ms
            metrics.request_latency(method, route, None, elapsed_ms)
            # a connection that never opened sent nothing; a timeout or a dropped connection may have been processed
            never_sent = isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.InvalidURL))
            state.sent = state.sent or not never_sent
            error = GenesysApiError(
                status=None,
                code=type(exc).__name__,
                message=redact(_network_reason(exc), self._secrets(), limit=200),
                method=method,
                path=route,
            )
            raise state.failed(error, unknown_outcome=not never_sent) from None
        round_trip_ms = (time.monotonic() - sent_at) * 1000.0
        state.round_trip_ms += round_trip_ms
        state.sent = True
        metrics.request_latency(method, route, answer.status_code, round_trip_ms)
        return answer


def _network_reason(exc: BaseException) -> str:
    """A short reason for a transport failure (the caller redacts it before cutting it)."""
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out waiting for Genesys"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed by the server before a response"
    if isinstance(exc, aiohttp.ClientConnectorError):
        refused = isinstance(exc.os_error, ConnectionRefusedError) or "refused" in str(exc).lower()
        return "connection refused" if refused else f"cannot connect: {exc}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "connection dropped while reading the response"
    return f"{type(exc).__name__}: {exc}"
