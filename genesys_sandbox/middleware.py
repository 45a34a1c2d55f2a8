"""The outermost ASGI layer: correlation ids, request log, body limit, fault injection, bearer check, quota.

Hostile answers (``hostile_answer`` faults) are produced here too: in place of the request (a proxy that never
forwarded it), or after the request was served, replacing its answer (a gateway that mangled it).

It also gives route handlers a way to close the TCP connection without answering (a "drop after commit"):
under uvicorn the ASGI ``send`` callable is a bound method of the request cycle, whose ``transport`` is
aborted. Elsewhere the response is started and left incomplete, which a client sees as a broken connection too.
"""

from __future__ import annotations

import asyncio
import base64
import html
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from genesys_sandbox.errors import CORRELATION_SCOPE_KEY, error_body, retry_message
from genesys_sandbox.state import SandboxState, TokenStatus

logger = logging.getLogger(__name__)

ABORT_SCOPE_KEY = "sandbox.abort"
DROPPED_SCOPE_KEY = "sandbox.dropped"
TOKEN_SCOPE_KEY = "sandbox.token"
API_PREFIX = "/api/v2/"
ADMIN_PREFIX = "/_sandbox/"
_CORRELATION_HEADER = b"inin-correlation-id"


class BodyTooLarge(StarletteHTTPException):
    """The request body exceeded the configured maximum (answered 413)."""

    def __init__(self) -> None:
        super().__init__(413)


class DroppedResponse(Response):
    """A "response" that closes the connection without sending anything."""

    def __init__(self) -> None:
        super().__init__(content=b"", status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[DROPPED_SCOPE_KEY] = True
        abort: Callable[[], Awaitable[bool]] | None = scope.get(ABORT_SCOPE_KEY)
        if abort is not None and await abort():
            return
        # No transport to abort: promise a body that never comes; the server closes the connection.
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1024")]})
        await send({"type": "http.response.body", "body": b"", "more_body": True})


def _aborter(send: Send) -> Callable[[], Awaitable[bool]]:
    async def abort() -> bool:
        cycle = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is None or not hasattr(transport, "abort"):
            return False
        transport.abort()
        # let the server notice the lost connection so that it does not try to answer 500
        for _ in range(50):
            if getattr(cycle, "disconnected", True):
                break
            await asyncio.sleep(0)
        return True

    return abort


class SandboxMiddleware:
    """Wraps the whole application (outside Starlette's own error middleware)."""

    def __init__(self, app: ASGIApp, state: SandboxState, routes: Callable[[], Sequence[BaseRoute]]) -> None:
        self.app = app
        self.state = state
        self.routes = routes

    def route_template(self, scope: Scope) -> str:
        """Return ``METHOD /route/{template}`` for the request (``<unmatched>`` when no route matches)."""
        partial: str | None = None
        for route in self.routes():
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return f"{scope['method']} {getattr(route, 'path', scope['path'])}"
            if match is Match.PARTIAL and partial is None:
                partial = getattr(route, "path", None)
        return f"{scope['method']} {partial or '<unmatched>'}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation = str(uuid.uuid4())
        scope[CORRELATION_SCOPE_KEY] = correlation
        scope[ABORT_SCOPE_KEY] = _aborter(send)
        route = self.route_template(scope)
        status: list[int] = []
        correlation_header = (_CORRELATION_HEADER, correlation.encode("ascii"))

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                message = {**message, "headers": [*message.get("headers", []), correlation_header]}
            await send(message)

        limit = self.state.config.max_body_bytes
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        try:
            hostile = None if scope["path"].startswith(ADMIN_PREFIX) else self.state.faults.hostile(scope["path"])
            config = self.state.faults.snapshot() if hostile else None
            early = await self._gate(scope, correlation) if hostile is None else None
            if hostile is not None and config is not None and not config.hostile_after_commit:
                await hostile_response(hostile, scope, self.state, config.redirect_location)(
                    scope, receive, send_with_header
                )
            elif early is not None:
                await early(scope, receive, send_with_header)
            elif hostile is not None and config is not None:
                await self._served_then_replaced(scope, limited_receive, send_with_header, hostile, config)
            else:
                await self.app(scope, limited_receive, send_with_header)
        except Exception:
            logger.exception("Unhandled error while serving %s", route)
            if not status and not scope.get(DROPPED_SCOPE_KEY):
                await self._error(500, correlation)(scope, receive, send_with_header)
        finally:
            outcome = "dropped" if scope.get(DROPPED_SCOPE_KEY) else str(status[0] if status else 0)
            self.state.count_request(route, outcome)

    async def _served_then_replaced(
        self, scope: Scope, receive: Receive, send: Send, hostile: str, config: Any
    ) -> None:
        """Serve the request (through the gate), discard its answer and send the hostile one instead."""
        early = await self._gate(scope, str(scope.get(CORRELATION_SCOPE_KEY, "")))
        if early is not None:
            await early(scope, receive, send)
            return

        async def discard(message: Message) -> None:
            return None

        await self.app(scope, receive, discard)
        if scope.get(DROPPED_SCOPE_KEY):
            return
        await hostile_response(hostile, scope, self.state, config.redirect_location)(scope, receive, send)

    @staticmethod
    def _error(
        status: int,
        correlation: str,
        *,
        code: str | None = None,
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = error_body(status, code=code, message=message, context_id=correlation)
        return JSONResponse(body, status_code=status, headers=headers)

    async def _gate(self, scope: Scope, correlation: str) -> Response | None:
        """Return an early answer (413, injected fault, 401, 429) or ``None`` to serve the request."""
        path: str = scope["path"]
        if path.startswith(ADMIN_PREFIX):
            return None
        headers = _headers(scope)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.state.config.max_body_bytes:
            return self._error(413, correlation)

        faults = self.state.faults
        delay = faults.latency_seconds(path)
        if delay > 0:
            await asyncio.sleep(delay)
        fault = faults.decide(path)
        if fault is not None:
            if fault.status == 429:
                wait = fault.retry_after if fault.retry_after is not None else 1
                return self._error(429, correlation, message=retry_message(wait), headers={"Retry-After": str(wait)})
            return self._error(fault.status, correlation)

        if not path.startswith(API_PREFIX):
            return None
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return self._error(401, correlation)
        token_status = self.state.check_token(token)
        if token_status is TokenStatus.UNKNOWN:
            return self._error(401, correlation, message="Invalid login credentials.")
        if token_status is TokenStatus.EXPIRED:
            return self._error(
                401, correlation, code="bad.credentials", message="Invalid login credentials (token expired)."
            )
        scope[TOKEN_SCOPE_KEY] = token
        wait_seconds = self.state.consume_quota(token)
        if wait_seconds is not None:
            return self._error(
                429,
                correlation,
                message=retry_message(wait_seconds),
                headers={"Retry-After": str(wait_seconds)},
            )
        return None


def hostile_response(kind: str, scope: Scope, state: SandboxState, location: str) -> Response:
    """The hostile answer ``kind`` to a request: what a proxy or a broken gateway would send back.

    ``html_200`` and ``echo_secrets`` echo the request's credentials (its Authorization header, the client secret
    the sandbox knows, the Basic credentials URL-encoded and colon-separated) in every field a client might quote,
    with the secret also straddling the 300th and 500th characters, where a client that cuts before it redacts
    would leak its first characters.
    """
    headers = _headers(scope)
    authorization = headers.get("authorization", "")
    secret = state.config.client_secret
    scheme, _, credential = authorization.partition(" ")
    basic = (
        credential
        if scheme.lower() == "basic"
        else base64.b64encode(f"{state.config.client_id}:{secret}".encode()).decode("ascii")
    )
    echo = (
        f"Authorization: {authorization}; client_secret={secret}; Basic%20{basic}; basic:{basic}; bearer={credential}"
    )
    if kind == "html_200":
        page = f"<html><body><p>Proxy sign-in required. {html.escape(echo)}</p></body></html>"
        return Response(page, status_code=200, media_type="text/html")
    if kind == "empty_201":
        return Response(b"", status_code=201, media_type="application/json")
    if kind == "json_without_id":
        return JSONResponse({"status": "accepted", "selfUri": "/api/v2/unknown"}, status_code=200)
    if kind in ("redirect_302", "redirect_307"):
        target = f"{location}{'&' if '?' in location else '?'}access_token={credential}&client_secret={secret}"
        return Response(b"", status_code=302 if kind == "redirect_302" else 307, headers={"Location": target})
    # the secret straddles the 300th and the 500th character
    first = 300 - len(secret) // 2
    second = 500 - len(secret) // 2 - first - len(secret)
    message = "x" * first + secret + "y" * second + secret + " " + echo
    body = {
        "message": message,
        "code": f"bad.request {secret}",
        "status": 400,
        "contextId": credential or secret,
        "details": [
            {
                "errorCode": secret,
                "fieldName": f"Authorization: {authorization}",
                "entityId": credential,
                "entityName": f"basic:{basic}",
            },
        ],
        "error": secret,
        "error_description": echo,
        "description": echo,
    }
    return JSONResponse(body, status_code=400, headers={"ININ-Correlation-Id": f"{credential}"})


def _headers(scope: Scope) -> dict[str, str]:
    raw: list[tuple[bytes, bytes]] = scope.get("headers", [])
    result: dict[str, Any] = {}
    for name, value in raw:
        result[name.decode("latin-1").lower()] = value.decode("latin-1")
    return result
