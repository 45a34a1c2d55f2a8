"""Hook delivering signed, idempotent webhooks to a CRM (Standard Webhooks 1.0).

Every delivery carries the ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers computed by the
``standardwebhooks`` reference library. The ``webhook-id`` is the interaction's idempotency key, so a CRM that
deduplicates by ``webhook-id`` (as the Standard Webhooks specification asks receivers to) treats a redelivery as
harmless: resending after a dropped response, a retried request or a retried Airflow task stores nothing twice.

Redirects are never followed: a 3xx would send the signed body to another host (307/308) or turn the delivery
into a GET of some page answering 200 (301/302/303), counted as delivered although the CRM stored nothing; it is
a failed delivery naming the ``Location``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urljoin, urlsplit

import requests
from airflow.sdk import BaseHook
from requests.adapters import HTTPAdapter
from standardwebhooks import Webhook
from tenacity import RetryCallState, Retrying

from airflow_provider_genesys.exceptions import CrmDeliveryError, GenesysConfigurationError
from airflow_provider_genesys.hooks.async_connection import aget_connection_and_extra
from airflow_provider_genesys.hooks.retry_policy import (
    MAX_RETRY_AFTER_SECONDS,
    RETRYABLE_STATUSES,
    RetryHint,
    RetryPolicy,
    parse_retry_after,
)
from airflow_provider_genesys.utils.http_answers import NoRedirectSession, is_redirect, redirect_target
from airflow_provider_genesys.utils.redaction import redact, register_secret

if TYPE_CHECKING:
    from airflow.sdk import Connection

DeliveryState = Literal["delivered", "accepted", "failed"]
StatusState = Literal["pending", "done", "failed"]

DEFAULT_ENDPOINT = "/crm/interactions"
DEFAULT_TIMEOUT = 30.0

#: No (complete) answer arrived: the request may or may not have been processed; retried (redelivery is safe).
_NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_DONE_WORDS = frozenset({"done", "completed", "complete", "succeeded", "success", "stored", "processed"})
_FAILED_WORDS = frozenset({"failed", "failure", "error", "rejected", "cancelled", "canceled"})


@dataclass(frozen=True)
class CrmSettings:
    """What a CRM connection resolves to (the signing secret is kept out of ``repr``).

    :param base_url: scheme, host and port of the CRM, without a trailing slash.
    :param endpoint: path of the webhook receiver.
    :param signing_secret: Standard Webhooks secret (``whsec_...``).
    :param timeout: read timeout of one request, in seconds.
    """

    base_url: str
    endpoint: str
    signing_secret: str
    timeout: float

    def __repr__(self) -> str:
        return (
            f"CrmSettings(base_url={self.base_url!r}, endpoint={self.endpoint!r}, "
            f"signing_secret='***', timeout={self.timeout!r})"
        )

    @property
    def url(self) -> str:
        """Absolute URL of the webhook receiver."""
        return urljoin(self.base_url + "/", self.endpoint.lstrip("/"))

    def resolve(self, url: str) -> str:
        """Resolve a (possibly relative) URL returned by the CRM against its base URL."""
        return urljoin(self.base_url + "/", url)


@dataclass(frozen=True)
class DeliveryReceipt:
    """Outcome of one successful delivery.

    :param webhook_id: the ``webhook-id`` sent (the record's idempotency key).
    :param state: ``delivered`` (2xx) or ``accepted`` (202 with a status URL to poll).
    :param http_status: HTTP status of the final attempt.
    :param status_url: absolute status URL when ``accepted``.
    :param attempts: HTTP attempts made.
    :param latency_ms: time from the first attempt to the final response.
    :param duplicate: the CRM said it had already received this ``webhook-id``.
    """

    webhook_id: str
    state: DeliveryState
    http_status: int
    status_url: str | None = None
    attempts: int = 1
    latency_ms: int = 0
    duplicate: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return asdict(self)


@dataclass(frozen=True)
class DeliveryStatus:
    """What a status URL reports.

    :param state: ``pending``, ``done`` or ``failed``.
    :param detail: the CRM's explanation, when it gave one (redacted, truncated).
    """

    state: StatusState
    detail: str | None = None


class _RetryableResponse(Exception):
    """Internal: an HTTP answer worth retrying (429 / 502 / 503 / 504)."""

    def __init__(self, response: requests.Response, retry_after: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after


def parse_status_body(body: Any, *, secrets: tuple[str | None, ...] = ()) -> DeliveryStatus:
    """Read a status document (``{"status": "pending" | "done" | "failed", "detail": ...}``).

    Common synonyms (``completed``, ``succeeded``, ``error``...) are understood; anything else is ``pending``.
    """
    if not isinstance(body, Mapping):
        return DeliveryStatus("pending")
    raw = body.get("status", body.get("state"))
    word = str(raw).strip().lower() if raw is not None else ""
    detail_raw = body.get("detail") or body.get("message") or body.get("error")
    detail = redact(str(detail_raw), secrets, limit=300) if detail_raw else None
    if word in _DONE_WORDS:
        return DeliveryStatus("done", detail)
    if word in _FAILED_WORDS:
        return DeliveryStatus("failed", detail or f"CRM reported status {word!r}")
    return DeliveryStatus("pending", detail)


def settings_from_connection(conn: Connection, extra: Mapping[str, Any] | None = None) -> CrmSettings:
    """Build :class:`CrmSettings` from an Airflow connection (``crm_webhook`` or ``http`` type).

    ``host`` may be a full URL (``https://crm.example.com``) or a bare host name completed by ``schema``
    (default ``https``) and ``port``. The secret is read from the extra ``signing_secret`` or, for an
    ``http`` connection, from the password field.
    """
    extra = (conn.extra_dejson if extra is None else extra) or {}
    host = (conn.host or "").strip()
    if not host:
        raise GenesysConfigurationError(f"Connection {conn.conn_id!r} has no host (the CRM base URL)")
    if "@" in urlsplit(host if "://" in host else f"//{host}").netloc:
        raise GenesysConfigurationError(
            f"Connection {conn.conn_id!r}: the host carries user info ('user:password@' before the host name); give "
            "the CRM's base URL without it (deliveries are authenticated by their signature)."
        )
    base_url = host if "://" in host else f"{conn.schema or 'https'}://{host}"
    if conn.port and urlsplit(base_url).port is None:
        base_url = f"{base_url.rstrip('/')}:{conn.port}"
    endpoint = str(extra.get("endpoint") or DEFAULT_ENDPOINT)
    if not endpoint.startswith("/") and "://" not in endpoint:
        endpoint = "/" + endpoint
    secret = extra.get("signing_secret") or conn.password
    if not secret:
        raise GenesysConfigurationError(
            f"Connection {conn.conn_id!r} has no signing_secret (a Standard Webhooks whsec_... secret)"
        )
    try:
        Webhook(str(secret))
    except Exception:
        # The library's message may quote the secret; say only what is wrong.
        raise GenesysConfigurationError(
            f"Connection {conn.conn_id!r}: signing_secret is not a valid Standard Webhooks secret "
            "(expected whsec_ followed by base64)"
        ) from None
    timeout_raw = extra.get("timeout")
    try:
        timeout = float(timeout_raw) if timeout_raw not in (None, "") else DEFAULT_TIMEOUT
    except (TypeError, ValueError):
        raise GenesysConfigurationError(f"Connection {conn.conn_id!r}: timeout must be a number") from None
    if timeout <= 0:
        raise GenesysConfigurationError(f"Connection {conn.conn_id!r}: timeout must be positive")
    return CrmSettings(base_url=base_url.rstrip("/"), endpoint=endpoint, signing_secret=str(secret), timeout=timeout)


def response_reason(response: requests.Response, secrets: tuple[str | None, ...] = ()) -> str:
    """A short, redacted explanation taken from an error response (never the raw body beyond 300 chars)."""
    reason = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        parts = [str(body[key]) for key in ("code", "error", "message", "detail") if body.get(key)]
        reason = ": ".join(dict.fromkeys(parts))
    elif response.text:
        reason = response.text.strip()
    reason = reason or response.reason or ""
    return redact(reason, secrets, limit=300)


def canonical_body(payload: Mapping[str, Any]) -> str:
    """The exact JSON text that is signed and sent (sorted keys, compact, UTF-8)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


class CrmWebhookHook(BaseHook):
    """Deliver Standard-Webhooks-signed JSON to a CRM and poll asynchronous deliveries.

    Connection (type ``crm_webhook``, an ``http`` connection works too): ``host`` = CRM base URL;
    extra ``endpoint`` (default ``/crm/interactions``), ``signing_secret`` (``whsec_...``), ``timeout`` (seconds).

    Retries (tenacity): 429 after its ``Retry-After`` (giving up at once when that exceeds 180 s), 502/503/504,
    connection errors and timeouts, with capped, jittered exponential backoff and a bounded number of attempts.
    Other 4xx answers are not retried. Each attempt is signed afresh (new ``webhook-timestamp``, same
    ``webhook-id``), so a retry is never rejected as stale.

    :param crm_conn_id: the Airflow connection id.
    :param max_attempts: HTTP attempts per call, including the first.
    :param backoff_initial: first backoff ceiling, in seconds (doubled per attempt, jittered).
    :param backoff_max: backoff cap, in seconds.
    :param pool_maxsize: connections kept per host by the pooled session (size it to the caller's threads).
    """

    conn_name_attr = "crm_conn_id"
    default_conn_name = "crm_default"
    conn_type = "crm_webhook"
    hook_name = "CRM webhook (Standard Webhooks)"

    def __init__(
        self,
        crm_conn_id: str = default_conn_name,
        *,
        max_attempts: int = 5,
        backoff_initial: float = 0.5,
        backoff_max: float = 20.0,
        pool_maxsize: int = 10,
    ) -> None:
        super().__init__()
        if max_attempts < 1:
            raise GenesysConfigurationError("max_attempts must be at least 1")
        self.crm_conn_id = crm_conn_id
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.pool_maxsize = pool_maxsize
        self._sleep: Callable[[float], None] = time.sleep
        self._session_lock = threading.Lock()
        self._session: requests.Session | None = None

    # -- connection ---------------------------------------------------------------------------------------

    @cached_property
    def settings(self) -> CrmSettings:
        """The connection's settings, read once."""
        conn = self.get_connection(self.crm_conn_id)
        settings = settings_from_connection(conn)
        for secret in _secret_forms(settings.signing_secret):
            register_secret(secret)
        return settings

    async def aget_settings(self) -> CrmSettings:
        """Read the connection's settings from an event loop (triggers), without blocking it."""
        conn, extra = await aget_connection_and_extra(self.crm_conn_id, self)
        return settings_from_connection(conn, extra)

    def get_conn(self) -> requests.Session:
        """Return the pooled session shared by every call of this hook (thread-safe to create)."""
        with self._session_lock:
            if self._session is None:
                session = NoRedirectSession()
                adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(self.pool_maxsize, 1))
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                session.headers["User-Agent"] = "airflow-provider-genesys/crm"
                self._session = session
            return self._session

    def close(self) -> None:
        """Close the pooled session."""
        with self._session_lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    @property
    def _secrets(self) -> tuple[str | None, ...]:
        return _secret_forms(self.settings.signing_secret)

    def _timeouts(self) -> tuple[float, float]:
        timeout = self.settings.timeout
        return (min(10.0, timeout), timeout)

    # -- retry machinery ----------------------------------------------------------------------------------

    def _retrying(self) -> Retrying:
        def should_retry(error: BaseException) -> bool:
            if isinstance(error, _RetryableResponse):
                return error.retry_after is None or error.retry_after <= MAX_RETRY_AFTER_SECONDS
            return isinstance(error, _NETWORK_ERRORS)

        def hint(error: BaseException) -> RetryHint:
            retry_after = error.retry_after if isinstance(error, _RetryableResponse) else None
            return RetryHint(retry_after=retry_after)

        policy = RetryPolicy(
            max_attempts=self.max_attempts, backoff_initial=self.backoff_initial, backoff_max=self.backoff_max
        )
        return policy.retrying(
            retry_on=should_retry, hint=hint, before_sleep=self._log_retry, sleep=lambda seconds: self._sleep(seconds)
        )

    def _log_retry(self, retry_state: RetryCallState) -> None:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        what = str(error) if isinstance(error, _RetryableResponse) else type(error).__name__
        self.log.warning("CRM call attempt %d failed (%s); retrying in %.2fs", retry_state.attempt_number, what, wait)

    def _call(self, send: Callable[[], requests.Response]) -> tuple[requests.Response, int]:
        """Run ``send`` under the retry policy; return the final response and the attempts made."""
        attempts = 0

        def attempt() -> requests.Response:
            nonlocal attempts
            attempts += 1
            response = send()
            if response.status_code in RETRYABLE_STATUSES:
                raise _RetryableResponse(response, parse_retry_after(response.headers.get("Retry-After")))
            return response

        try:
            response = self._retrying()(attempt)
        except _RetryableResponse as error:
            response = error.response
        except _NETWORK_ERRORS as error:
            raise CrmDeliveryError(
                f"CRM unreachable: {type(error).__name__}: {redact(str(error)[:200], self._secrets)}",
                status=None,
                attempts=attempts,
                retryable=True,
            ) from None
        return response, attempts

    # -- deliveries ---------------------------------------------------------------------------------------

    def sign(self, body: str, *, webhook_id: str, timestamp: datetime | None = None) -> dict[str, str]:
        """Return the Standard Webhooks headers for ``body`` (``webhook-id``, ``-timestamp``, ``-signature``)."""
        when = (timestamp or datetime.now(timezone.utc)).replace(microsecond=0)
        signature = Webhook(self.settings.signing_secret).sign(webhook_id, when, body)
        return {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": signature,
        }

    def deliver(self, payload: Mapping[str, Any], *, webhook_id: str) -> DeliveryReceipt:
        """POST ``payload`` to the CRM endpoint, signed, with ``webhook-id`` = ``webhook_id``.

        :param payload: JSON-serialisable mapping (sent as canonical JSON, the bytes that are signed).
        :param webhook_id: the record's idempotency key; the CRM deduplicates redeliveries by it.
        :return: ``delivered`` for a 2xx answer, ``accepted`` (with an absolute ``status_url``) for a 202 that
            names a status URL in its ``Location`` header or its body's ``status_url``.
        :raises CrmDeliveryError: on any other answer, after the retries the answer deserves.
        """
        if not webhook_id:
            raise GenesysConfigurationError("webhook_id must be a non-empty string")
        settings = self.settings
        body = canonical_body(payload)
        data = body.encode("utf-8")
        session = self.get_conn()
        timeouts = self._timeouts()

        def send() -> requests.Response:
            headers = {"Content-Type": "application/json", **self.sign(body, webhook_id=webhook_id)}
            return session.post(settings.url, data=data, headers=headers, timeout=timeouts)

        started = time.monotonic()
        try:
            response, attempts = self._call(send)
        except CrmDeliveryError as error:
            error.webhook_id = webhook_id
            raise
        latency_ms = int((time.monotonic() - started) * 1000)
        status = response.status_code
        if is_redirect(response):
            raise CrmDeliveryError(
                f"CRM answered a redirect to {redirect_target(response, self._secrets)}; it is not followed (it "
                "would send the signed delivery elsewhere, or count another page's answer as delivered). Point the "
                "connection at the receiver's final URL.",
                status=status,
                webhook_id=webhook_id,
                attempts=attempts,
                retryable=False,
            )
        if 200 <= status < 300:
            body_json = _json_or_none(response)
            duplicate = isinstance(body_json, Mapping) and str(body_json.get("status", "")).lower() in {
                "duplicate",
                "already_received",
            }
            status_url = None
            if status == 202:
                raw_url = response.headers.get("Location")
                if not raw_url and isinstance(body_json, Mapping):
                    raw_url = body_json.get("status_url")
                status_url = settings.resolve(str(raw_url)) if raw_url else None
            return DeliveryReceipt(
                webhook_id=webhook_id,
                state="accepted" if status_url else "delivered",
                http_status=status,
                status_url=status_url,
                attempts=attempts,
                latency_ms=latency_ms,
                duplicate=duplicate,
            )
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        reason = response_reason(response, self._secrets)
        if status == 429 and retry_after is not None and retry_after > MAX_RETRY_AFTER_SECONDS:
            reason = f"CRM asked to wait {retry_after:g}s (> {MAX_RETRY_AFTER_SECONDS:g}s); giving up. {reason}"
        elif status == 401:
            reason = f"CRM rejected the signature (check the signing secret): {reason}"
        raise CrmDeliveryError(
            f"CRM refused the delivery: {reason}" if reason else "CRM refused the delivery",
            status=status,
            webhook_id=webhook_id,
            attempts=attempts,
            retry_after=retry_after,
            retryable=status in RETRYABLE_STATUSES or status >= 500 or status in (408, 409),
        )

    # -- asynchronous deliveries --------------------------------------------------------------------------

    def check_status(self, status_url: str) -> DeliveryStatus:
        """GET a status URL (resolved against the CRM base URL) and read its state.

        A 404 means the CRM does not know the delivery: reported as ``failed``. Transient answers are retried;
        once the retries are spent they raise :class:`CrmDeliveryError`.
        """
        url = self.settings.resolve(status_url)
        session = self.get_conn()
        timeouts = self._timeouts()
        response, attempts = self._call(
            lambda: session.get(url, headers={"Accept": "application/json"}, timeout=timeouts)
        )
        if response.status_code == 404:
            return DeliveryStatus("failed", "the CRM does not know this delivery (HTTP 404 on its status URL)")
        if is_redirect(response):
            raise CrmDeliveryError(
                f"CRM status check answered a redirect to {redirect_target(response, self._secrets)} (not followed)",
                status=response.status_code,
                attempts=attempts,
                retryable=False,
            )
        if response.status_code >= 400:
            raise CrmDeliveryError(
                f"CRM status check failed: {response_reason(response, self._secrets)}",
                status=response.status_code,
                attempts=attempts,
                retryable=response.status_code >= 500,
            )
        return parse_status_body(_json_or_none(response), secrets=self._secrets)

    def get_status(self, status_url: str) -> str:
        """Return ``pending``, ``done`` or ``failed`` for a status URL (see :meth:`check_status` for the detail)."""
        return self.check_status(status_url).state

    def test_connection(self) -> tuple[bool, str]:
        """Check that the signing secret is usable and the CRM answers on its endpoint (nothing is stored).

        A ``GET`` on the webhook endpoint is expected to answer 405 (or any status below 500).
        """
        try:
            settings = self.settings
            response = self.get_conn().get(settings.url, timeout=self._timeouts())
        except GenesysConfigurationError as error:
            return False, str(error)
        except requests.RequestException as error:
            return False, f"CRM unreachable: {type(error).__name__}"
        if response.status_code >= 500:
            return False, f"CRM answered HTTP {response.status_code} on {settings.endpoint}"
        return True, f"CRM reachable (HTTP {response.status_code} on {settings.endpoint}); signing secret valid"


def _secret_forms(secret: str) -> tuple[str, ...]:
    """The signing secret with and without its ``whsec_`` prefix: the base64 part alone is just as sensitive."""
    return (secret, secret.removeprefix("whsec_"))


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
