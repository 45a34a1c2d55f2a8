"""Every error the provider raises, in one hierarchy under :class:`GenesysError`.

Every error message is built from data the provider controls; response bodies are parsed as Genesys'
``ErrorBody`` and never echoed raw, and every field taken from an answer is redacted before it is cut, so a
client secret or a bearer token echoed by a server cannot leak through an exception.

::

    GenesysError
     ├── GenesysConfigurationError (also a ValueError)   a connection or an argument is not usable
     ├── InteractionValidationError (also a ValueError)  a payload failed validation; nothing was sent
     ├── GenesysApiError                                 a Genesys Cloud call failed
     │    ├── GenesysAuthError                           the OAuth token could not be obtained
     │    ├── GenesysQuotaExhaustedError                 Retry-After > 180 s: a daily quota is spent
     │    ├── PayloadChangedError                        HTTP 422: the key was used with another payload
     │    ├── OutcomeUnknownError                        a create was sent and its answer was lost
     │    ├── JobOutcomeUnknownError                     a bulk add job was submitted and its answer lost
     │    └── GenesysBulkCreateError                     a bulk run ended with failed or too many invalid items
     ├── CrmDeliveryError                                a CRM call failed after its retries
     └── CrmSyncError                                    some CRM deliveries failed
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from typing_extensions import Self

from airflow_provider_genesys.utils.redaction import redact

#: How much of an answer's message, code or id an error keeps (cut after redaction).
MAX_MESSAGE_CHARS = 500
MAX_CODE_CHARS = 200
MAX_DETAILS = 20


class GenesysError(Exception):
    """Base class of every error raised by this provider."""


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of an ErrorBody's ``details`` list."""

    error_code: str | None = None
    field_name: str | None = None
    entity_id: str | None = None
    entity_name: str | None = None


class GenesysApiError(GenesysError):
    """A Genesys Cloud API call failed.

    :param status: HTTP status, or ``None`` when no response arrived (network error, timeout).
    :param code: Genesys error code such as ``too.many.requests.retry.after``.
    :param message: human-readable message from the ErrorBody (redacted).
    :param correlation_id: the ``ININ-Correlation-Id`` header (or the body's ``contextId``).
    :param retry_after: seconds the server asked to wait, when it said so.
    :param details: the ErrorBody's ``details`` entries.
    :param method: HTTP method of the failed call.
    :param path: path of the failed call (never a full URL with credentials).
    :param body: the parsed response body (only for callers that need a record from a 409).
    """

    def __init__(
        self,
        *,
        status: int | None,
        code: str | None = None,
        message: str = "",
        correlation_id: str | None = None,
        retry_after: float | None = None,
        details: tuple[ErrorDetail, ...] = (),
        method: str | None = None,
        path: str | None = None,
        body: Any = None,
        attempts: int = 1,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.correlation_id = correlation_id
        self.retry_after = retry_after
        self.details = details
        self.method = method
        self.path = path
        self.body = body
        self.attempts = attempts
        #: True when an attempt may have reached Genesys without its answer arriving (set by the hook).
        self.unknown_outcome = False
        #: False only when the hook knows that no attempt of the call left this process (a token or settings
        #: failure, a connection that could not be opened): nothing can have been created.
        self.request_sent = True
        #: the HTTP round trips of the call's attempts, summed (set by the hook)
        self.latency_ms: float | None = None
        #: the time the call waited for its pacing slots (set by the hook)
        self.pacing_wait_ms: float | None = None
        super().__init__(redact(self._render()))

    def _render(self) -> str:
        where = f"{self.method} {self.path}" if self.method and self.path else "Genesys Cloud call"
        status = f"HTTP {self.status}" if self.status is not None else "no response"
        parts = [f"{where} failed: {status}"]
        if self.code:
            parts.append(f"code={self.code}")
        if self.message:
            parts.append(f"message={self.message!r}")
        if self.correlation_id:
            parts.append(f"correlation_id={self.correlation_id}")
        if self.retry_after is not None:
            parts.append(f"retry_after={self.retry_after:g}s")
        if self.details:
            fields = ", ".join(
                f"{d.field_name or '?'}:{d.error_code or '?'}" for d in self.details if d.field_name or d.error_code
            )
            if fields:
                parts.append(f"details=[{fields}]")
        if self.attempts > 1:
            parts.append(f"attempts={self.attempts}")
        return "; ".join(parts)

    def __str__(self) -> str:
        return redact(self._render())

    @classmethod
    def from_error_body(
        cls,
        *,
        status: int | None,
        body: Any,
        correlation_id: str | None = None,
        retry_after: float | None = None,
        method: str | None = None,
        path: str | None = None,
        secrets: Iterable[str | None] = (),
    ) -> Self:
        """Build an error from a parsed Genesys ``ErrorBody`` (or an OAuth error body, or an answer's text).

        Every field taken from the answer (``code``, ``error``, ``message``, ``contextId``, ``details[]``, the
        correlation header) is redacted after it is assembled and before it is cut: an answer may echo the
        request's credentials.
        """
        secrets = tuple(secrets)

        def clean(value: Any, limit: int) -> str | None:
            return None if value is None else redact(str(value), secrets, limit=limit)

        code: str | None = None
        message = ""
        details: list[ErrorDetail] = []
        if isinstance(body, Mapping):
            code = clean(_first(body, "code", "error"), MAX_CODE_CHARS)
            message = str(_first(body, "message", "error_description", "description") or "")
            correlation_id = correlation_id or _str_or_none(body.get("contextId"))
            raw_details = body.get("details")
            for raw in raw_details if isinstance(raw_details, list) else []:
                if isinstance(raw, Mapping):
                    details.append(
                        ErrorDetail(
                            error_code=clean(raw.get("errorCode"), MAX_CODE_CHARS),
                            field_name=clean(raw.get("fieldName"), MAX_CODE_CHARS),
                            entity_id=clean(raw.get("entityId"), MAX_CODE_CHARS),
                            entity_name=clean(raw.get("entityName"), MAX_CODE_CHARS),
                        )
                    )
                if len(details) >= MAX_DETAILS:
                    break
        elif isinstance(body, str):
            message = body
        return cls(
            status=status,
            code=code,
            message=redact(message, secrets, limit=MAX_MESSAGE_CHARS),
            correlation_id=clean(correlation_id, MAX_CODE_CHARS),
            retry_after=retry_after,
            details=tuple(details),
            method=method,
            path=path,
            body=body if isinstance(body, (Mapping, list)) else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary for audit records (no body, no headers)."""
        return {
            "status": self.status,
            "code": None if self.code is None else redact(self.code),
            "message": redact(self.message),
            "correlation_id": None if self.correlation_id is None else redact(self.correlation_id),
            "retry_after": self.retry_after,
        }


class GenesysAuthError(GenesysApiError):
    """The OAuth token could not be obtained (bad client id/secret, token endpoint throttling)."""


class GenesysQuotaExhaustedError(GenesysApiError):
    """Genesys asked to wait longer than the provider will (Retry-After > 180 s): a daily quota is spent."""


class GenesysConfigurationError(GenesysError, ValueError):
    """The Airflow connection or an operator argument is not usable."""


@dataclass(frozen=True)
class FieldError:
    """One validation problem: where (``participants[1].id``) and what (``not a UUID``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass
class InteractionValidationError(GenesysError, ValueError):
    """A payload failed validation; lists every problem at once, before any request is sent.

    :param errors: every field error found.
    :param item: which item failed (``"item 3 (external_id='CASE-9')"``), when there are several.
    """

    errors: list[FieldError]
    item: str | None = None
    kind: str | None = None
    _rendered: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        what = f"{self.kind} payload" if self.kind else "payload"
        head = f"Invalid {what}" + (f" for {self.item}" if self.item else "")
        lines = [f"{head}: {len(self.errors)} problem(s)"]
        lines.extend(f"  - {error}" for error in self.errors)
        self._rendered = "\n".join(lines)
        super().__init__(self._rendered)

    def __str__(self) -> str:
        return self._rendered


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _first(body: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if body.get(name):
            return body[name]
    return None


class PayloadChangedError(GenesysApiError):
    """The idempotency key was already used with a different payload (HTTP 422)."""


class OutcomeUnknownError(GenesysApiError):
    """A create was sent, no answer came back, and Genesys cannot be asked whether it happened.

    Nothing is sent again for this key: a second send could create a second record. The message says where
    to look (the participant attribute carrying the key) and how to go on.
    """

    def __init__(self, message: str, *, cause: GenesysApiError | None = None, attempts: int = 1) -> None:
        super().__init__(
            status=None if cause is None else cause.status,
            code="outcome.unknown",
            message=message,
            correlation_id=None if cause is None else cause.correlation_id,
            method="POST",
            path=None if cause is None else cause.path,
            attempts=attempts,
        )

    def _render(self) -> str:
        return self.message


class JobOutcomeUnknownError(GenesysApiError):
    """A bulk add job was submitted and its answer was lost: the job may exist; the batch is not re-sent."""


class GenesysBulkCreateError(GenesysApiError):
    """A bulk run finished with failed or too many invalid items; ``summary`` holds the run's summary."""

    def __init__(self, message: str, *, summary: dict[str, Any]) -> None:
        super().__init__(status=None, message=message)
        self.summary = summary

    def _render(self) -> str:
        return self.message


class CrmDeliveryError(GenesysError):
    """A CRM call failed after the retries it was entitled to.

    :param message: what failed, already redacted.
    :param status: HTTP status of the last attempt, or ``None`` when no response arrived.
    :param webhook_id: the delivery's ``webhook-id`` (the record's idempotency key), when it was a delivery.
    :param attempts: number of HTTP attempts made.
    :param retry_after: seconds the CRM asked to wait, when it said so.
    :param retryable: whether a later attempt (e.g. an Airflow task retry) could succeed.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        webhook_id: str | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
        retryable: bool = False,
    ) -> None:
        self.message = message
        self.status = status
        self.webhook_id = webhook_id
        self.attempts = attempts
        self.retry_after = retry_after
        self.retryable = retryable
        super().__init__(redact(message))

    def __str__(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no response"
        parts = [f"{self.message} ({status}"]
        if self.attempts > 1:
            parts.append(f"; attempts={self.attempts}")
        if self.retry_after is not None:
            parts.append(f"; retry_after={self.retry_after:g}s")
        return redact("".join(parts) + ")")


class CrmSyncError(GenesysError):
    """Some CRM deliveries (or status checks) failed; lists which records.

    :param message: the rendered explanation, naming the records.
    :param failed: the failed receipts (plain dicts).
    :param permanent: ``True`` when no failure could succeed on a retry (e.g. a rejected signature).
    """

    def __init__(self, message: str, *, failed: Sequence[Mapping[str, Any]] = (), permanent: bool = False):
        self.failed = [dict(receipt) for receipt in failed]
        self.permanent = permanent
        super().__init__(message)
