"""GenesysCloudHook: OAuth client credentials, token cache, retries, pacing and typed errors."""

from __future__ import annotations

import base64
import hashlib
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from airflow.sdk import BaseHook
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState

from airflow_provider_genesys.exceptions import (
    GenesysApiError,
    GenesysAuthError,
    GenesysConfigurationError,
    GenesysQuotaExhaustedError,
)
from airflow_provider_genesys.hooks.pacing import Pacer
from airflow_provider_genesys.hooks.regions import Endpoints, resolve_endpoints
from airflow_provider_genesys.hooks.retry_policy import (
    DEFAULT_RETRY_AFTER_SECONDS,
    MAX_RETRY_AFTER_SECONDS,
    RETRYABLE_STATUSES,
    RetryHint,
    RetryPolicy,
    parse_retry_after,
)
from airflow_provider_genesys.utils import metrics
from airflow_provider_genesys.utils.http_answers import (
    HttpAnswer,
    NoRedirectSession,
    is_redirect,
    read_json_answer,
    redirect_target,
)
from airflow_provider_genesys.utils.redaction import redact, register_secret

CORRELATION_HEADER = "ININ-Correlation-Id"
#: Refresh a cached token this long before it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 60.0
#: Defaults of the participant-attribute search extras (Genesys documents no indexing delay: a cautious 5 minutes;
#: a look-back of 3 days, the scale of a DAG run and its retries; a wait that can outlast the default delay).
DEFAULT_SEARCH_INDEXING_DELAY = 300.0
DEFAULT_SEARCH_LOOKBACK = 3 * 86_400.0
DEFAULT_SEARCH_MAX_WAIT = 360.0
#: The longest look-back: participant attributes are reported searchable for 30 days only.
MAX_SEARCH_LOOKBACK = 30 * 86_400.0


@dataclass(frozen=True)
class ConnectionSettings:
    """What the hook reads from its Airflow connection (the secret stays out of ``repr``)."""

    conn_id: str
    client_id: str
    client_secret: str = field(repr=False)
    endpoints: Endpoints
    requests_per_minute: int | None
    timeout: float
    connect_timeout: float
    max_attempts: int
    max_throttle_attempts: int
    backoff_initial: float
    backoff_max: float
    token_retry_seconds: float
    #: the host implements the /api/v2/interactions contract (a gateway on a Genesys region)
    interactions_contract: bool = False
    #: seconds after a create before the participant-attribute search can be trusted to see it
    search_indexing_delay: float = DEFAULT_SEARCH_INDEXING_DELAY
    #: how far back (seconds) the participant-attribute search looks for a conversation
    search_lookback: float = DEFAULT_SEARCH_LOOKBACK
    #: the longest (seconds) one lookup waits for the indexing delay to pass before it gives up as undecidable
    search_max_wait: float = DEFAULT_SEARCH_MAX_WAIT


@dataclass
class GenesysResponse:
    """A successful (or accepted) API answer and what it took to get it.

    :param status: final HTTP status.
    :param body: parsed JSON body (``None`` when empty).
    :param correlation_id: ``ININ-Correlation-Id`` of the final response.
    :param attempts: HTTP attempts made for this call (1 on a clean call).
    :param latency_ms: time on the wire: the HTTP round trips of the call's attempts, summed (no pacing wait, no
        backoff between attempts).
    :param throttled: how many 429 answers were seen on the way.
    :param unknown_outcome_seen: an earlier attempt may have reached Genesys without an answer arriving.
    :param recovered: the answer came from the ``before_retry`` callback (an existing record was found).
    :param pacing_wait_ms: time the call waited for its pacing slots (the client's own queue, not Genesys).
    """

    status: int
    body: Any
    correlation_id: str | None
    attempts: int
    latency_ms: float
    throttled: int = 0
    unknown_outcome_seen: bool = False
    recovered: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    pacing_wait_ms: float = 0.0


@dataclass
class _Token:
    value: str
    token_type: str
    expires_at: float


class _AttemptFailed(Exception):
    """Internal: one attempt failed in a way the retry policy looks at."""

    def __init__(self, error: GenesysApiError, *, unknown_outcome: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.unknown_outcome = unknown_outcome


@dataclass
class _CallState:
    """What the attempts of one :meth:`GenesysCloudHook.request` call have seen so far."""

    attempts: int = 0
    throttled: int = 0
    #: an attempt left this process (an answer came, or the connection was open when it failed)
    sent: bool = False
    #: an attempt may have reached Genesys without its answer arriving
    unknown: bool = False
    last_error: GenesysApiError | None = None
    #: HTTP round trips of the attempts, summed
    round_trip_ms: float = 0.0
    #: time spent waiting for pacing slots
    pacing_wait_ms: float = 0.0

    def failed(self, error: GenesysApiError, *, unknown_outcome: bool) -> _AttemptFailed:
        """Record a retryable failure and return the exception that hands it to the retry policy."""
        self.unknown = self.unknown or unknown_outcome
        self.last_error = error
        return _AttemptFailed(error, unknown_outcome=unknown_outcome)


def _retry_hint(error: BaseException) -> RetryHint:
    """429s wait their Retry-After (3 s when absent) and count against the throttle bound; the rest back off."""
    if isinstance(error, _AttemptFailed) and error.error.status == 429:
        retry_after = error.error.retry_after
        return RetryHint(
            throttled=True, retry_after=DEFAULT_RETRY_AFTER_SECONDS if retry_after is None else retry_after
        )
    return RetryHint()


def read_settings(
    conn_id: str, conn: Any, extra: Mapping[str, Any] | None, requests_per_minute: int | None = None
) -> ConnectionSettings:
    """The settings of a ``genesys_cloud`` connection, every extra checked against its allowed range.

    Shared by the synchronous and the asynchronous hook (one reading of a connection). The client secret is
    registered with Airflow's secrets masker here.

    :param conn_id: the connection id (named in errors).
    :param conn: the Airflow connection (``login``, ``password``, ``host``, ``port``).
    :param extra: its extras, already parsed.
    :param requests_per_minute: overrides the connection's pacing budget.
    :raises GenesysConfigurationError: naming the connection, the extra and what it allows.
    """
    extra = extra or {}
    if not conn.login or not conn.password:
        raise GenesysConfigurationError(
            f"Connection {conn_id!r} needs the OAuth client id as login and the client secret as password."
        )
    register_secret(conn.password)
    host = _host_of(conn_id, extra.get("host") or conn.host or None)
    if host and conn.port:
        host = _with_port(host, conn.port)
    region = extra.get("region")
    if region is not None and not isinstance(region, str):
        raise GenesysConfigurationError(f"Connection {conn_id!r}: extra 'region' must be a string.")
    endpoints = resolve_endpoints(region=region, host=host)
    number = _ExtraReader(conn_id, extra)
    rpm = requests_per_minute
    if rpm is None:
        rpm = int(number("requests_per_minute", 300, 0, MAX_REQUESTS_PER_MINUTE, integer=True))
    elif isinstance(rpm, bool) or not isinstance(rpm, int) or not 0 <= rpm <= MAX_REQUESTS_PER_MINUTE:
        raise GenesysConfigurationError(
            f"requests_per_minute must be an integer from 0 (no pacing) to {MAX_REQUESTS_PER_MINUTE}, not {rpm!r}."
        )
    return ConnectionSettings(
        conn_id=conn_id,
        client_id=conn.login,
        client_secret=conn.password,
        endpoints=endpoints,
        requests_per_minute=rpm or None,
        timeout=number("timeout", 30.0, 0.1, 3600.0),
        connect_timeout=number("connect_timeout", 10.0, 0.1, 600.0),
        max_attempts=int(number("max_attempts", 5, 1, 100, integer=True)),
        max_throttle_attempts=int(number("max_throttle_attempts", 10, 1, 1000, integer=True)),
        backoff_initial=number("backoff_initial", 3.0, 0.0, 3600.0),
        backoff_max=number("backoff_max", 27.0, 0.0, 3600.0),
        token_retry_seconds=number("token_retry_seconds", 60.0, 0.0, 3600.0),
        interactions_contract=_flag(conn_id, extra, "interactions_contract"),
        search_indexing_delay=number("search_indexing_delay", DEFAULT_SEARCH_INDEXING_DELAY, 0.0, 86_400.0),
        search_lookback=number("search_lookback", DEFAULT_SEARCH_LOOKBACK, 60.0, MAX_SEARCH_LOOKBACK),
        search_max_wait=number("search_max_wait", DEFAULT_SEARCH_MAX_WAIT, 0.0, 3600.0),
    )


def retry_policy_for(settings: ConnectionSettings) -> RetryPolicy:
    """The connection's retry policy (Genesys' SDK schedule by default: 3 s, 9 s, 27 s)."""
    return RetryPolicy(
        max_attempts=settings.max_attempts,
        backoff_initial=settings.backoff_initial,
        backoff_max=settings.backoff_max,
        backoff_factor=3.0,
        max_throttle_attempts=settings.max_throttle_attempts,
    )


def basic_credentials(settings: ConnectionSettings) -> str:
    """The client id and secret in HTTP Basic form (what ``POST /oauth/token`` is authenticated with)."""
    return base64.b64encode(f"{settings.client_id}:{settings.client_secret}".encode()).decode("ascii")


def credentials_of(settings: ConnectionSettings | None) -> tuple[str | None, ...]:
    """Every credential a hook of ``settings`` holds: the client secret, its Basic form, the cached token."""
    if settings is None:
        return ()
    token = _TOKEN_CACHE.get(token_cache_key(settings))
    return (settings.client_secret, basic_credentials(settings), token.value if token else None)


def token_cache_key(settings: ConnectionSettings) -> tuple[str, str, str, str]:
    """The key of a connection's token in the process-wide cache (the secret only as a short digest)."""
    digest = hashlib.sha256(settings.client_secret.encode()).hexdigest()[:16]
    return (settings.conn_id, settings.endpoints.login_base, settings.client_id, digest)


def cached_token(settings: ConnectionSettings) -> _Token | None:
    """The cached token of ``settings`` while it is valid (refreshed 60 s before it expires)."""
    token = _TOKEN_CACHE.get(token_cache_key(settings))
    return token if token and token.expires_at > time.monotonic() else None


def forget_token(settings: ConnectionSettings, token: _Token | None = None) -> None:
    """Drop the cached token of ``settings`` (only if it is still ``token``, so concurrent 401s refresh it once)."""
    key = token_cache_key(settings)
    if token is None or _TOKEN_CACHE.get(key) is token:
        _TOKEN_CACHE.pop(key, None)


def token_from_answer(answer: HttpAnswer, secrets: tuple[str | None, ...], *, attempt: int) -> _Token:
    """The token of a ``POST /oauth/token`` answer, registered with the secrets masker as soon as it is read.

    :raises GenesysAuthError: naming what came back; :func:`token_retryable` says whether to ask again.
    """
    if is_redirect(answer):
        raise GenesysAuthError(
            status=answer.status_code,
            code="redirect.refused",
            message=_redirect_message(answer, secrets),
            method="POST",
            path="/oauth/token",
            attempts=attempt,
        )
    body, problem = read_json_answer(answer, secrets)
    token_value = body.get("access_token") if isinstance(body, Mapping) else None
    if answer.status_code == 200 and isinstance(token_value, str) and token_value:
        register_secret(token_value)
        expires_in = _expires_in(body)
        margin = min(TOKEN_REFRESH_MARGIN_SECONDS, expires_in / 2)
        return _Token(
            value=token_value,
            token_type=str(body.get("token_type") or "bearer"),
            expires_at=time.monotonic() + expires_in - margin,
        )
    error = GenesysAuthError.from_error_body(
        status=answer.status_code,
        body=body if problem is None else problem,
        correlation_id=answer.headers.get(CORRELATION_HEADER),
        retry_after=parse_retry_after(answer.headers.get("Retry-After")),
        method="POST",
        path="/oauth/token",
        secrets=secrets,
    )
    if answer.status_code == 200:
        error.code = "answer.unreadable"
        error.message = f"the token endpoint answered without an access token: {problem or 'no access_token'}"
    error.attempts = attempt
    raise error


def token_retryable(error: GenesysAuthError) -> bool:
    """The token endpoint throttled (429, or 400 "rate limit") or failed transiently (502/503/504)."""
    throttled = error.status == 429 or (error.status == 400 and "rate limit" in (error.message or "").lower())
    return throttled or error.status in RETRYABLE_STATUSES


def classify_answer(
    answer: HttpAnswer,
    *,
    method: str,
    route: str,
    accept_statuses: frozenset[int],
    state: _CallState,
    secrets: tuple[str | None, ...],
    on_throttle: Callable[[float], None],
) -> GenesysResponse:
    """Turn one answer into a response, a retryable failure, or an error raised at once (both hooks' rules).

    :param on_throttle: called with the seconds to wait when Genesys answers 429 (the hook pauses its pacer).
    """
    correlation_id = answer.headers.get(CORRELATION_HEADER)
    status = answer.status_code
    if is_redirect(answer):
        # not followed: the request reached something that is not the API (a proxy, a wrong host)
        raise GenesysApiError(
            status=status,
            code="redirect.refused",
            message=_redirect_message(answer, secrets),
            correlation_id=redact(correlation_id, secrets, limit=200) if correlation_id else None,
            method=method,
            path=route,
            attempts=state.attempts,
        )
    body, problem = read_json_answer(answer, secrets)
    if 200 <= status < 300 and problem is not None:
        # a 2xx that is not the API's answer: whatever it means, this request's outcome is unknown
        unreadable = GenesysApiError(
            status=status,
            code="answer.unreadable",
            message=f"Genesys' answer cannot be read: {problem}",
            correlation_id=redact(correlation_id, secrets, limit=200) if correlation_id else None,
            method=method,
            path=route,
        )
        raise state.failed(unreadable, unknown_outcome=True)
    if 200 <= status < 300 or status in accept_statuses:
        return GenesysResponse(
            status=status,
            body=body,
            correlation_id=correlation_id,
            attempts=1,
            latency_ms=0.0,
            headers={k: v for k, v in answer.headers.items() if k.lower() in _KEPT_HEADERS},
        )
    retry_after = parse_retry_after(answer.headers.get("Retry-After"))
    error_cls: type[GenesysApiError] = GenesysApiError
    if status == 401:
        error_cls = GenesysAuthError
    if status == 429 and (retry_after or 0) > MAX_RETRY_AFTER_SECONDS:
        error_cls = GenesysQuotaExhaustedError
    error = error_cls.from_error_body(
        status=status,
        body=body if problem is None else problem,
        correlation_id=correlation_id,
        retry_after=retry_after,
        method=method,
        path=route,
        secrets=secrets,
    )
    error.attempts = state.attempts
    if error_cls is GenesysQuotaExhaustedError:
        error.message = (
            f"Genesys asked to wait {retry_after:g}s (more than {MAX_RETRY_AFTER_SECONDS:g}s): a daily "
            f"quota is likely exhausted; not retrying. {error.message}"
        ).strip()
        raise error
    if status == 429:
        state.throttled += 1
        on_throttle(retry_after if retry_after is not None else DEFAULT_RETRY_AFTER_SECONDS)
        raise state.failed(error, unknown_outcome=False)
    if status in RETRYABLE_STATUSES:
        raise state.failed(error, unknown_outcome=True)
    if status >= 500:
        # not retried (as in Genesys' own SDKs), but the server may have committed before failing
        state.unknown = True
    raise error


def route_of(path: str) -> str:
    """The path of a call as errors and metrics name it (an absolute URL loses its scheme and host)."""
    return path if not path.startswith("http") else path.split("/", 3)[-1]


# Tokens are shared by every hook of the same connection in a process (thread-safe), so a bulk task's
# threads and several operators in one worker fetch one token, not one each.
_TOKEN_CACHE: dict[tuple[str, str, str, str], _Token] = {}
_TOKEN_LOCKS: dict[tuple[str, str, str, str], threading.Lock] = {}
_TOKEN_LOCKS_GUARD = threading.Lock()


def clear_token_cache() -> None:
    """Forget every cached token (tests, or after rotating a client secret)."""
    with _TOKEN_LOCKS_GUARD:
        _TOKEN_CACHE.clear()


class GenesysCloudHook(BaseHook):
    """Talks to the Genesys Cloud Platform API with OAuth client credentials.

    Connection: ``login`` = OAuth client id, ``password`` = client secret, extras ``region`` (``us-east-1``,
    ``eu-west-1``... or a domain such as ``mypurecloud.ie``), ``host`` (one base URL for login and API routes,
    e.g. the local sandbox), ``requests_per_minute`` (default 300), ``timeout`` (seconds, default 30), for
    tuning the retry policy ``max_attempts`` (5), ``max_throttle_attempts`` (10), ``backoff_initial`` (3 s),
    ``backoff_max`` (27 s), and for the participant-attribute search of callbacks and emails
    ``search_indexing_delay`` (300 s), ``search_lookback`` (3 days, in seconds) and ``search_max_wait`` (360 s).

    Retries: 429 waits ``Retry-After`` (all threads of this hook pause together) and gives up when Genesys asks
    for more than 180 s (:class:`~airflow_provider_genesys.errors.GenesysQuotaExhaustedError`); 502/503/504,
    timeouts and dropped connections back off exponentially with jitter; a 401 refreshes the token once; no other
    4xx is retried.

    :param genesys_conn_id: the Airflow connection id.
    :param requests_per_minute: overrides the connection's pacing budget.
    :param pool_maxsize: HTTP connections kept open (at least the number of threads that share this hook).
    """

    conn_name_attr = "genesys_conn_id"
    default_conn_name = "genesys_cloud_default"
    conn_type = "genesys_cloud"
    hook_name = "Genesys Cloud"

    def __init__(
        self,
        genesys_conn_id: str = default_conn_name,
        *,
        requests_per_minute: int | None = None,
        pool_maxsize: int = 32,
    ) -> None:
        super().__init__()
        self.genesys_conn_id = genesys_conn_id
        self._requests_per_minute_override = requests_per_minute
        self._pool_maxsize = pool_maxsize
        self._stats_lock = threading.Lock()
        self.requests_sent = 0
        self.throttled = 0
        self.token_fetches = 0

    # -- connection -------------------------------------------------------------------------------------

    @cached_property
    def settings(self) -> ConnectionSettings:
        """Settings read once from the Airflow connection, every extra checked against its allowed range.

        The client secret is registered with Airflow's secrets masker here.

        :raises GenesysConfigurationError: naming the connection, the extra and what it allows.
        """
        conn = self.get_connection(self.genesys_conn_id)
        return read_settings(self.genesys_conn_id, conn, conn.extra_dejson, self._requests_per_minute_override)

    @property
    def endpoints(self) -> Endpoints:
        """Base URLs of this connection's region (or its custom host)."""
        return self.settings.endpoints

    @property
    def client_id(self) -> str:
        """The OAuth client id (not a secret; it goes into audit records)."""
        return self.settings.client_id

    @cached_property
    def session(self) -> requests.Session:
        """One pooled session per hook; it never follows redirects, and urllib3 retries are off (tenacity decides)."""
        session = NoRedirectSession()
        # With trust_env on, requests re-reads proxy settings from the environment on every call (about a
        # quarter of the client's CPU per request); read them once here instead. NO_PROXY is honoured.
        session.trust_env = False
        session.proxies.update(requests.utils.get_environ_proxies(self.settings.endpoints.api_base))
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if ca_bundle:
            session.verify = ca_bundle
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=self._pool_maxsize, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers["User-Agent"] = "airflow-provider-genesys"
        return session

    def get_conn(self) -> requests.Session:
        """Return the pooled session (Airflow's hook protocol)."""
        return self.session

    @cached_property
    def pacer(self) -> Pacer:
        """The pacing gate shared by every thread using this hook."""
        return Pacer(self.settings.requests_per_minute)

    def _secrets(self) -> tuple[str | None, ...]:
        """Every credential this hook holds: the client secret, its Basic form, the cached token."""
        return credentials_of(self.__dict__.get("settings"))

    def _count(self, *, sent: int = 0, throttled: int = 0, token_fetches: int = 0) -> None:
        with self._stats_lock:
            self.requests_sent += sent
            self.throttled += throttled
            self.token_fetches += token_fetches

    # -- tokens -----------------------------------------------------------------------------------------

    def _token_lock(self) -> threading.Lock:
        key = token_cache_key(self.settings)
        with _TOKEN_LOCKS_GUARD:
            return _TOKEN_LOCKS.setdefault(key, threading.Lock())

    def get_token(self) -> _Token:
        """Return a valid cached token, fetching one when missing or within 60 s of expiry."""
        token = cached_token(self.settings)
        if token is not None:
            return token
        with self._token_lock():
            token = cached_token(self.settings)
            if token is not None:
                return token
            token = self._fetch_token()
            _TOKEN_CACHE[token_cache_key(self.settings)] = token
            return token

    def invalidate_token(self, token: _Token | None = None) -> None:
        """Drop the cached token (only if it is still ``token``, so concurrent 401s refresh it once)."""
        with self._token_lock():
            forget_token(self.settings, token)

    def _fetch_token(self) -> _Token:
        """``POST /oauth/token`` (client credentials), retrying throttling and 5xx for ``token_retry_seconds``.

        The token is registered with Airflow's secrets masker as soon as it arrives.
        """
        s = self.settings
        url = f"{s.endpoints.login_base}/oauth/token"
        deadline = time.monotonic() + s.token_retry_seconds
        delay = 1.0
        attempt = 0
        while True:
            attempt += 1
            self._count(token_fetches=1)
            try:
                response = self.session.post(
                    url,
                    data={"grant_type": "client_credentials"},
                    auth=(s.client_id, s.client_secret),
                    timeout=(s.connect_timeout, s.timeout),
                )
            except requests.RequestException as exc:
                error = GenesysAuthError(
                    status=None,
                    code=type(exc).__name__,
                    message=redact(_short_network_reason(exc), self._secrets(), limit=300),
                    method="POST",
                    path="/oauth/token",
                    attempts=attempt,
                )
                if time.monotonic() + delay < deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, 10.0)
                    continue
                raise error from None
            try:
                return token_from_answer(response, self._secrets(), attempt=attempt)
            except GenesysAuthError as error:
                if token_retryable(error) and time.monotonic() + delay < deadline:
                    wait = error.retry_after if error.retry_after is not None else delay
                    time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
                    delay = min(delay * 2, 10.0)
                    continue
                raise

    # -- requests ---------------------------------------------------------------------------------------

    def url_for(self, path: str) -> str:
        """Absolute API URL of ``path`` (``/api/v2/...``)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.settings.endpoints.api_base}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        accept_statuses: frozenset[int] = frozenset(),
        before_retry: Callable[[GenesysApiError], GenesysResponse | None] | None = None,
        before_send: Callable[[], None] | None = None,
    ) -> GenesysResponse:
        """Send one API call with auth, pacing and the retry policy.

        Redirects are never followed (a 3xx is an error naming its ``Location``), and a 2xx answer counts only
        when it is JSON: a proxy's HTML page or an empty body is a failure naming what came back (status, content
        type, first characters), retried like a lost answer.

        :param method: HTTP method.
        :param path: API path such as ``/api/v2/interactions`` (or an absolute URL on the same host).
        :param json: JSON body.
        :param params: query parameters.
        :param headers: extra headers (``Idempotency-Key``...).
        :param accept_statuses: non-2xx statuses returned as a response instead of raised (e.g. ``{409}``).
        :param before_retry: called before retrying after an attempt whose outcome is unknown (timeout, dropped
            connection, 5xx, an unreadable 2xx); returning a response ends the call with it (used to find a
            record that the lost attempt created, for endpoints without server-side idempotency).
        :param before_send: called right before each attempt goes on the wire — after the token, the settings and
            the pacing slot were obtained (the task's state marks the key sent here, so a failure before the
            request left leaves it never sent).
        :raises GenesysApiError: after the retry policy gives up, or at once for a non-retryable status. Its
            ``request_sent`` says whether any attempt left this process, ``unknown_outcome`` whether one may have
            reached Genesys without its answer arriving.
        """
        state = _CallState()

        def attempt() -> GenesysResponse:
            if state.unknown and before_retry is not None and state.last_error is not None:
                recovered = before_retry(state.last_error)
                if recovered is not None:
                    recovered.recovered = True
                    return recovered
            state.attempts += 1
            return self._send_once(
                method,
                path,
                json=json,
                params=params,
                headers=headers,
                accept_statuses=accept_statuses,
                state=state,
                before_send=before_send,
            )

        retrying = self.retry_policy.retrying(
            retry_on=lambda exc: isinstance(exc, _AttemptFailed), hint=_retry_hint, before_sleep=self._before_sleep
        )
        try:
            response = retrying(attempt)
        except _AttemptFailed as failed:
            error = failed.error
            error.attempts = state.attempts
            raise _with_reach(error, state) from None
        except GenesysApiError as error:
            # raised at once: a non-retryable answer, a token failure, or what ``before_retry`` raised
            raise _with_reach(error, state) from error.__cause__
        response.attempts = state.attempts
        response.throttled = state.throttled
        response.unknown_outcome_seen = state.unknown
        response.latency_ms = state.round_trip_ms
        response.pacing_wait_ms = state.pacing_wait_ms
        return response

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """The connection's retry policy (Genesys' SDK schedule by default: 3 s, 9 s, 27 s)."""
        return retry_policy_for(self.settings)

    def _before_sleep(self, retry_state: RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, _AttemptFailed):
            wait = retry_state.next_action.sleep if retry_state.next_action else 0
            self.log.warning("Retrying in %.1fs after: %s", wait, exc.error)

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        accept_statuses: frozenset[int],
        state: _CallState,
        before_send: Callable[[], None] | None = None,
    ) -> GenesysResponse:
        """One attempt (plus one token refresh on a 401): send, then classify the answer."""
        route = route_of(path)
        refreshed = False
        while True:
            # the pacing slot first, then the token: a token taken before a (possibly long) pacing wait can be
            # revoked during it, and its 401 would then spend the one refresh this call is allowed
            queued_at = time.monotonic()
            self.pacer.acquire()
            waited_ms = (time.monotonic() - queued_at) * 1000.0
            state.pacing_wait_ms += waited_ms
            metrics.pacing_wait(waited_ms)
            token = self.get_token()
            if before_send is not None:
                before_send()
            response = self._send(method, path, route, token, json, params, headers, state)
            if response.status_code == 401 and not refreshed:
                # the token expired or was revoked: refresh once, retry once
                self.log.info("Genesys answered 401 on %s %s; refreshing the token once.", method, route)
                self.invalidate_token(token)
                refreshed = True
                continue
            return classify_answer(
                response,
                method=method,
                route=route,
                accept_statuses=accept_statuses,
                state=state,
                secrets=self._secrets(),
                on_throttle=lambda seconds: self._throttled(method, route, seconds),
            )

    def _throttled(self, method: str, route: str, seconds: float) -> None:
        """A 429: count it and pause every thread of this hook for ``seconds``."""
        self._count(throttled=1)
        metrics.throttled(method, route)
        self.pacer.pause_for(seconds)

    def _send(
        self,
        method: str,
        path: str,
        route: str,
        token: _Token,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        state: _CallState,
    ) -> requests.Response:
        """Put one request on the wire; a transport failure becomes a retryable failure of known reach."""
        s = self.settings
        request_headers = {"Authorization": f"{token.token_type} {token.value}", "Accept": "application/json"}
        if headers:
            request_headers.update(headers)
        self._count(sent=1)
        sent_at = time.monotonic()
        try:
            response = self.session.request(
                method,
                self.url_for(path),
                json=json,
                params=params,
                headers=request_headers,
                timeout=(s.connect_timeout, s.timeout),
            )
        except requests.RequestException as exc:
            state.round_trip_ms += (time.monotonic() - sent_at) * 1000.0
            # a request that timed out or lost its connection may have been committed: the outcome is unknown;
            # one whose connection never opened (refused, connect timeout, a malformed URL) never left
            never_sent = isinstance(exc, _NEVER_SENT_ERRORS) or (
                isinstance(exc, requests.exceptions.ConnectionError) and "NewConnectionError" in repr(exc)
            )
            state.sent = state.sent or not never_sent
            metrics.request_latency(method, route, None, (time.monotonic() - sent_at) * 1000.0)
            error = GenesysApiError(
                status=None,
                code=type(exc).__name__,
                message=redact(_short_network_reason(exc), self._secrets(), limit=200),
                method=method,
                path=route,
            )
            raise state.failed(error, unknown_outcome=not never_sent) from None
        round_trip_ms = (time.monotonic() - sent_at) * 1000.0
        state.round_trip_ms += round_trip_ms
        state.sent = True
        metrics.request_latency(method, route, response.status_code, round_trip_ms)
        return response

    # -- conveniences -----------------------------------------------------------------------------------

    def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and return the parsed body."""
        return self.request("GET", path, params=params).body

    def test_connection(self) -> tuple[bool, str]:
        """Fetch a token and call ``GET /api/v2/tokens/me``; never raises, never shows the secret."""
        try:
            self.invalidate_token()
            me = self.request("GET", "/api/v2/tokens/me").body or {}
        except Exception as exc:
            return False, redact(str(exc), self._secrets())
        org = (me.get("organization") or {}).get("name") if isinstance(me, Mapping) else None
        where = self.settings.endpoints.api_base
        return True, f"Authenticated as OAuth client {self.settings.client_id!r} at {where}" + (
            f" (organization {org!r})" if org else ""
        )


_KEPT_HEADERS = frozenset({"location", "retry-after", CORRELATION_HEADER.lower(), "content-type"})


def _with_port(host: str, port: int) -> str:
    """Add the connection's ``port`` to ``host`` unless the host already names one."""
    parts = urlsplit(host.strip() if "://" in host else f"https://{host.strip()}")
    try:
        explicit = parts.port
    except ValueError:
        raise GenesysConfigurationError(f"Connection host {host!r} has an invalid port.") from None
    if explicit is not None or not parts.hostname:
        return host
    return urlunsplit(parts._replace(netloc=f"{parts.netloc}:{port}"))


def _short_network_reason(exc: requests.RequestException) -> str:
    """A short reason for a transport failure (the caller redacts it before cutting it)."""
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out waiting for Genesys"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection dropped while reading the response"
    text = str(exc)
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "connection closed by the server before a response"
    if "Connection refused" in text:
        return "connection refused"
    return text


#: Transport failures raised before a byte of the request left this process.
_NEVER_SENT_ERRORS = (
    requests.exceptions.ConnectTimeout,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)
#: Bounds of ``requests_per_minute`` (0 turns pacing off).
MAX_REQUESTS_PER_MINUTE = 10_000_000


def _with_reach(error: GenesysApiError, state: _CallState) -> GenesysApiError:
    """``error`` with what the call's attempts tell about the request: did it leave, may it have been processed."""
    error.unknown_outcome = error.unknown_outcome or state.unknown
    error.request_sent = state.sent
    error.latency_ms = state.round_trip_ms
    error.pacing_wait_ms = state.pacing_wait_ms
    return error


def _redirect_message(response: HttpAnswer, secrets: tuple[str | None, ...]) -> str:
    return (
        f"answered a redirect (HTTP {response.status_code}) to {redirect_target(response, secrets)}; redirects are "
        "never followed (they would send the request and its credentials to another host). Check the connection's "
        "host/region, or the proxy between Airflow and Genesys."
    )


def _expires_in(body: Mapping[str, Any]) -> float:
    """The token's lifetime in seconds (a day when the answer gives none, or nothing usable)."""
    raw = body.get("expires_in")
    try:
        value = float(raw) if raw is not None and not isinstance(raw, bool) else 86399.0
    except (TypeError, ValueError):
        return 86399.0
    return value if math.isfinite(value) and value > 0 else 86399.0


def _host_of(conn_id: str, host: Any) -> str | None:
    """The connection's host, refused when it carries user info (requests would turn it into Basic auth)."""
    if host is None:
        return None
    if not isinstance(host, str):
        raise GenesysConfigurationError(f"Connection {conn_id!r}: the host must be a string (a URL or a host name).")
    text = host.strip()
    netloc = urlsplit(text if "://" in text else f"//{text}").netloc
    if "@" in netloc:
        raise GenesysConfigurationError(
            f"Connection {conn_id!r}: the host carries user info ('user:password@' before the host name). Give the "
            "host without it: the OAuth client id goes in Login and the client secret in Password."
        )
    return text or None


def _flag(conn_id: str, extra: Mapping[str, Any], name: str) -> bool:
    """A boolean extra (``true``/``false``, also as the strings a form or a URI gives)."""
    raw = extra.get(name)
    if raw is None or raw == "" or isinstance(raw, bool):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
        return raw.strip().lower() in ("true", "yes", "1")
    raise GenesysConfigurationError(f"Connection {conn_id!r}: extra {name!r} must be true or false, not {raw!r:.40}.")


def _shown(number: float) -> str:
    return f"{int(number):,}" if float(number).is_integer() else f"{number:g}"


class _ExtraReader:
    """Reads numeric connection extras, each checked against its allowed range."""

    def __init__(self, conn_id: str, extra: Mapping[str, Any]) -> None:
        self.conn_id = conn_id
        self.extra = extra

    def __call__(self, name: str, default: float, minimum: float, maximum: float, *, integer: bool = False) -> float:
        raw = self.extra.get(name)
        if raw is None or raw == "":
            return default
        value: float | None = None
        if not isinstance(raw, bool):
            try:
                value = float(raw)
            except (TypeError, ValueError):
                value = None
        if value is None or not math.isfinite(value) or (integer and not value.is_integer()):
            value = None
        if value is None or not minimum <= value <= maximum:
            what = "an integer" if integer else "a number"
            shown = repr(raw)[:40]
            raise GenesysConfigurationError(
                f"Connection {self.conn_id!r}: extra {name!r} must be {what} from {_shown(minimum)} to "
                f"{_shown(maximum)} (default {_shown(default)}), not {shown}."
            )
        return int(value) if integer else value
