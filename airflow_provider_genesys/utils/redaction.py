"""Blank credentials and known secret values out of text before it reaches a log, XCom, a file or an exception."""

from __future__ import annotations

import re
from collections.abc import Iterable

# A bearer token or Basic credential that a server might echo back is blanked before it reaches a message.
_CREDENTIAL_PATTERN = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return ``text`` with credentials and the given secret values replaced by ``***``."""
    redacted = _CREDENTIAL_PATTERN.sub(r"\1 ***", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            redacted = redacted.replace(secret, "***")
    return redacted
