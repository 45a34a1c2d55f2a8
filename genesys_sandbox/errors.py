"""Genesys ``ErrorBody`` responses and the exception handlers that make every error answer in that shape."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

logger = logging.getLogger(__name__)


def format_location(location: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as a Genesys-style field path: ``participants[1].roles[0]``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith("function-") or part in ("json-or-python", "python"):
            continue  # pydantic's internal markers for validator branches
        else:
            path += f".{part}" if path else part
    return path


def _messages(exc: ValidationError) -> list[str]:
    messages: list[str] = []
    for raw in exc.errors(include_url=False, include_input=False):
        path = format_location(tuple(raw.get("loc", ())))
        message = str(raw.get("msg", "invalid value")).removeprefix("Value error, ")
        line = f"{path}: {message}" if path else message
        if line not in messages:
            messages.append(line)
    return messages


CORRELATION_SCOPE_KEY = "sandbox.correlation_id"

#: Default ``code`` and ``message`` per status (the SDK's ``ErrorBody``; docs/genesys-api.md, "Errors").
STATUS_CODES: dict[int, tuple[str, str]] = {
    400: ("bad.request", "The request could not be understood by the server due to malformed syntax."),
    401: ("authentication.required", "No authentication bearer token specified in authorization header."),
    403: ("missing.permissions", "You are missing the permissions required for this operation."),
    404: ("not.found", "The requested resource was not found."),
    405: ("method.not.allowed", "The requested method is not allowed on this resource."),
    409: ("conflict", "The request could not be completed because of a conflict."),
    413: ("payload.too.large", "The request body exceeds the maximum size of 512000 bytes."),
    415: ("unsupported.media.type", "Unsupported Media Type - Unsupported or incorrect media type."),
    422: ("unprocessable.entity", "The request could not be processed."),
    429: ("too.many.requests.retry.after", "Rate limit exceeded the maximum. Retry the request in [1] seconds"),
    500: ("internal.server.error", "The server encountered an unexpected condition."),
    502: ("bad.gateway", "The server received an invalid response from an upstream server."),
    503: ("service.unavailable", "Service Unavailable - The server is currently unavailable."),
    504: ("request.timeout", "The request timed out."),
}

# pydantic error types that mean "wrong kind of value" (the rest break a constraint).
_INVALID_VALUE_TYPES = re.compile(r"(_type|_parsing|literal_error|enum|uuid_version|json_invalid)$")
_LEADING_FIELD = re.compile(r"^([A-Za-z_][\w.\[\]]*): ")


def correlation_id(request: Request) -> str:
    """Return the correlation id the middleware gave ``request``."""
    return str(request.scope.get(CORRELATION_SCOPE_KEY, ""))


def error_body(
    status: int,
    *,
    code: str | None = None,
    message: str | None = None,
    context_id: str = "",
    details: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Build a Genesys ``ErrorBody``."""
    default_code, default_message = STATUS_CODES.get(status, ("error", "Error"))
    return {
        "message": message if message is not None else default_message,
        "code": code or default_code,
        "status": status,
        "contextId": context_id,
        "details": [dict(detail) for detail in details],
        "errors": [],
    }


def retry_message(seconds: int) -> str:
    """Return Genesys' 429 message for ``seconds``."""
    return f"Rate limit exceeded the maximum. Retry the request in [{seconds}] seconds"


class SandboxHTTPError(Exception):
    """Raised by route handlers to answer an ``ErrorBody`` (or, with ``body``, a given JSON body)."""

    def __init__(
        self,
        status: int,
        *,
        code: str | None = None,
        message: str | None = None,
        details: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message or code or str(status))
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)
        self.headers = dict(headers or {})
        self.body = body


def validation_error(exc: ValidationError, *, prefix: str = "") -> SandboxHTTPError:
    """Turn a pydantic ``ValidationError`` into a 400 with one ``details`` entry per problem.

    The top-level code is ``invalid.value`` when a value has the wrong type or format, otherwise
    ``constraint.validation``; each detail carries its own code and the field path (``participants[1].id``).
    """
    details: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for raw in exc.errors(include_url=False, include_input=False):
        path = format_location(tuple(raw.get("loc", ())))
        if not path:
            match = _LEADING_FIELD.match(str(raw.get("msg", "")).removeprefix("Value error, "))
            path = match.group(1) if match else ""
        if prefix:
            path = f"{prefix}.{path}" if path and not path.startswith("[") else f"{prefix}{path}"
        error_code = (
            "invalid.value" if _INVALID_VALUE_TYPES.search(str(raw.get("type", ""))) else "constraint.validation"
        )
        if (path, error_code) in seen:
            continue
        seen.add((path, error_code))
        detail: dict[str, Any] = {"errorCode": error_code}
        if path:
            detail["fieldName"] = path
        details.append(detail)
    messages = _messages(exc)
    if prefix:
        messages = [f"{prefix}{'' if m.startswith('[') else '.'}{m}" for m in messages]
    code = "invalid.value" if any(d["errorCode"] == "invalid.value" for d in details) else "constraint.validation"
    return SandboxHTTPError(400, code=code, message="Validation failed: " + "; ".join(messages), details=details)


def error_response(
    request: Request,
    status: int,
    *,
    code: str | None = None,
    message: str | None = None,
    details: Sequence[Mapping[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Return an ``ErrorBody`` JSON response for ``request``."""
    body = error_body(status, code=code, message=message, context_id=correlation_id(request), details=details)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


async def _sandbox_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SandboxHTTPError)
    if exc.body is not None:
        return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)
    return error_response(
        request, exc.status, code=exc.code, message=exc.message, details=exc.details, headers=exc.headers
    )


async def _http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    return error_response(request, exc.status_code, headers=headers)


async def _request_validation_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details: list[dict[str, Any]] = []
    messages: list[str] = []
    for raw in exc.errors():
        location = tuple(part for part in raw.get("loc", ()) if part not in ("query", "path", "body", "header"))
        field_name = format_location(location)
        details.append({"errorCode": "invalid.value", "fieldName": field_name})
        messages.append(f"{field_name}: {raw.get('msg', 'invalid value')}")
    message = "; ".join(messages)
    return error_response(request, 400, code="invalid.value", message=message, details=details)


async def _unexpected_error_handler(request: Request, exc: Exception) -> Response:
    logger.exception("Unexpected error in the sandbox", exc_info=exc)
    return error_response(request, 500)


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, FastAPI's own included, answer as a Genesys ``ErrorBody``."""
    app.add_exception_handler(SandboxHTTPError, _sandbox_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_exception_handler)
    app.add_exception_handler(RequestValidationError, _request_validation_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)
