"""The retry rules both hooks share: which statuses are retried and how long a server may ask us to wait.

Genesys' own SDKs retry 429, 502, 503 and 504 and give up when ``Retry-After`` exceeds 180 s (that signals a
daily quota, not a burst); the CRM hook follows the same rules.
"""

from __future__ import annotations

#: Statuses worth another attempt (429 after its ``Retry-After``, the others with backoff).
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
#: A longer ``Retry-After`` is not waited for: the quota is spent, retrying is pointless.
MAX_RETRY_AFTER_SECONDS = 180.0


def parse_retry_after(value: str | None) -> float | None:
    """Seconds of a ``Retry-After`` header (``None`` when absent, or given as an HTTP date); never negative."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None
