"""What the hooks check in an HTTP answer before trusting it: no redirect is followed, a JSON answer is JSON.

A corporate proxy in the path answers with its own sign-in page (HTML, status 200), a gateway with an empty body,
a load balancer with a redirect to another host. None of these is an answer of the API that was called, and none
may count as one: the hooks read answers through :func:`read_json_answer` and describe what came back with
:func:`describe_answer` (status, content type, first bytes — redacted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import requests

from airflow_provider_genesys.utils.redaction import redact

#: How many bytes of an answer are redacted before its first characters are quoted (a secret that straddles the
#: quoted prefix is still found whole).
_REDACTION_WINDOW = 8192
#: How many characters of an answer an error quotes.
FIRST_CHARS = 120
_WHITESPACE = re.compile(r"\s+")


class HttpAnswer(Protocol):
    """What the checks read of an answer: a ``requests.Response``, or an asynchronous client's answer read whole."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...


class NoRedirectSession(requests.Session):
    """A session that never follows redirects, whatever a caller passes.

    A followed redirect would send the request (its signed body, its bearer token) to whatever host the answer
    names, and count that host's answer as the API's.
    """

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """Send the request with ``allow_redirects=False``."""
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


def is_redirect(response: HttpAnswer) -> bool:
    """A 3xx answer (never followed)."""
    return 300 <= response.status_code < 400


def redirect_target(response: HttpAnswer, secrets: Iterable[str | None] = ()) -> str:
    """The ``Location`` of a redirect, redacted (``no Location header`` when absent)."""
    location = response.headers.get("Location")
    if not location:
        return "no Location header"
    return repr(redact(location, secrets, limit=300))


def first_chars(content: bytes, secrets: Iterable[str | None] = ()) -> str:
    """The first characters of ``content`` as one line, redacted first and cut afterwards."""
    text = content[:_REDACTION_WINDOW].decode("utf-8", errors="replace")
    return _WHITESPACE.sub(" ", redact(text, secrets)).strip()[:FIRST_CHARS]


def describe_answer(response: HttpAnswer, secrets: Iterable[str | None] = ()) -> str:
    """``HTTP 200, content type 'text/html', 5120 bytes, first characters '<html>…'`` (redacted)."""
    content = response.content or b""
    content_type = response.headers.get("Content-Type") or "none"
    if not content:
        return f"HTTP {response.status_code}, content type {content_type!r}, empty body"
    return (
        f"HTTP {response.status_code}, content type {content_type!r}, {len(content)} bytes, first characters "
        f"{first_chars(content, secrets)!r}"
    )


def read_json_answer(response: HttpAnswer, secrets: Iterable[str | None] = ()) -> tuple[Any, str | None]:
    """The parsed JSON body of ``response`` and, when it is not a JSON answer, what is wrong with it.

    A 204 (or a HEAD answer) has no body by definition; any other answer must declare a JSON content type (or
    none) and parse as JSON. When it does not, the body returned is a short redacted description, never the raw
    text.

    :returns: ``(body, problem)``; ``problem`` is ``None`` for a JSON answer.
    """
    content = response.content or b""
    if not content:
        if response.status_code == 204:
            return None, None
        return None, f"an empty answer ({describe_answer(response, secrets)})"
    content_type = (response.headers.get("Content-Type") or "").lower()
    try:
        if content_type and "json" not in content_type:
            raise ValueError(content_type)
        body = json.loads(content)
    except (ValueError, RecursionError):
        return describe_answer(response, secrets), f"not a JSON answer ({describe_answer(response, secrets)})"
    return body, None


def json_object(body: Any) -> Mapping[str, Any]:
    """``body`` when it is a JSON object, else an empty mapping."""
    return body if isinstance(body, Mapping) else {}
