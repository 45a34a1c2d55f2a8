"""Blank credentials and known secret values out of text before it reaches a log, XCom, a file or an exception.

Two layers, both applied by :func:`redact`:

* Airflow's secrets masker: every value given to :func:`register_secret` (the hooks register the client secret,
  each access token and the CRM signing secret as soon as they hold them) and every connection password Airflow
  masked itself. :func:`register_secret` also tells the task supervisor, so its log stream masks the value too.
* The provider's own patterns, which hold whatever the masker's state (outside a task, a value too short for the
  masker, a credential the provider never held): ``Bearer …``/``Basic …`` in every spelling a server echoes
  (``Basic%20…``, ``basic:…``, ``Authorization=Basic+…``), ``access_token=…``/``"client_secret": "…"``, user info
  in URLs (``https://user:pass@host``), and the explicit ``secrets`` given (also URL-encoded).

Redact first, cut afterwards (``limit``): a secret that straddles the cut would otherwise leave its first
characters behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any
from urllib.parse import quote, quote_plus

#: ``Bearer xyz``, ``Basic xyz``, ``Basic%20xyz``, ``basic:xyz``, ``Bearer=xyz``, ``Basic+xyz`` (case-insensitive).
_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)(\s*[:=]\s*|\s+|%20|%3A|\+)([\"']?)[A-Za-z0-9._~+/=%-]{6,}")
#: ``access_token=xyz``, ``"client_secret": "xyz"``, ``password%3Dxyz``... (the name stays, the value goes).
_SECRET_FIELD = re.compile(
    r"(?i)((?:access|refresh|id)_token|client_secret|signing_secret|password|passwd|api_?key|secret)"
    r"(\"?\s*[:=]\s*\"?|%22%3A%22|%3D)([^\s\"'&,;}<>]{3,})"
)
#: ``scheme://user:password@host`` → ``scheme://***@host``.
_URL_USER_INFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:]*:[^/\s@]*@")
#: Shorter values are not treated as secrets (they would blank ordinary words).
MIN_SECRET_LENGTH = 4


@cache
def _masker() -> tuple[Callable[[Any], Any], Callable[..., Any]] | None:
    """Airflow's ``redact`` and ``mask_secret`` (the task SDK's; the common-compat layer's on older Airflow)."""
    try:
        from airflow.sdk.log import mask_secret
        from airflow.sdk.log import redact as airflow_redact
    except ImportError:
        try:
            from airflow.providers.common.compat.sdk import (
                mask_secret,
            )
            from airflow.providers.common.compat.sdk import (
                redact as airflow_redact,
            )
        except ImportError:  # pragma: no cover - an Airflow without a masker: the provider's patterns still apply
            return None
    return airflow_redact, mask_secret


def register_secret(value: str | None) -> None:
    """Register ``value`` with Airflow's secrets masker (this process and the task supervisor's log stream)."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    masker = _masker()
    if masker is not None:
        masker[1](value)


def secret_forms(secret: str) -> tuple[str, ...]:
    """``secret`` as it may appear in echoed text: as is, URL-encoded (``%2F``) and form-encoded (``+``)."""
    return tuple(dict.fromkeys((secret, quote(secret, safe=""), quote_plus(secret, safe=""))))


def redact(text: str, secrets: Iterable[str | None] = (), *, limit: int | None = None) -> str:
    """Return ``text`` with credentials and the given secret values replaced by ``***``, then cut to ``limit``.

    :param text: any text (an answer's field, an exception message...).
    :param secrets: values to blank besides what Airflow's masker knows (shorter than 4 characters: ignored).
    :param limit: the most characters to keep, counted after redaction.
    """
    redacted = _URL_USER_INFO.sub(r"\1***@", str(text))
    redacted = _CREDENTIAL.sub(r"\1\2\3***", redacted)
    redacted = _SECRET_FIELD.sub(r"\1\2***", redacted)
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            for form in secret_forms(secret):
                redacted = redacted.replace(form, "***")
    masker = _masker()
    if masker is not None:
        masked = masker[0](redacted)
        if isinstance(masked, str):
            redacted = masked
    return redacted if limit is None else redacted[:limit]
