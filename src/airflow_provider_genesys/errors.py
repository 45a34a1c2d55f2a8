"""Typed errors raised by the provider.

Every error message is built from data the provider controls; response bodies are parsed as Genesys'
``ErrorBody`` and never echoed raw, so a client secret or a bearer token cannot leak through an exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from typing_extensions import Self

# A bearer token or Basic credential that a server might echo back is blanked before it reaches a message.
_CREDENTIAL_PATTERN = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return ``text`` with credentials and the given secret values replaced by ``***``."""
    redacted = _CREDENTIAL_PATTERN.sub(r"\1 ***", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            redacted = redacted.replace(secret, "***")
    return redacted


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
        super().__init__(self._render())

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
        return self._render()

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
        """Build an error from a parsed Genesys ``ErrorBody`` (or an OAuth error body)."""
        secrets = tuple(secrets)
        code: str | None = None
        message = ""
        details: list[ErrorDetail] = []
        if isinstance(body, Mapping):
            code = _str_or_none(body.get("code")) or _str_or_none(body.get("error"))
            message = str(body.get("message") or body.get("error_description") or body.get("description") or "")
            correlation_id = correlation_id or _str_or_none(body.get("contextId"))
            for raw in body.get("details") or []:
                if isinstance(raw, Mapping):
                    details.append(
                        ErrorDetail(
                            error_code=_str_or_none(raw.get("errorCode")),
                            field_name=_str_or_none(raw.get("fieldName")),
                            entity_id=_str_or_none(raw.get("entityId")),
                            entity_name=_str_or_none(raw.get("entityName")),
                        )
                    )
        elif isinstance(body, str):
            message = body[:300]
        return cls(
            status=status,
            code=code,
            message=redact(message[:500], secrets),
            correlation_id=correlation_id,
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
            "code": self.code,
            "message": self.message,
            "correlation_id": self.correlation_id,
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
