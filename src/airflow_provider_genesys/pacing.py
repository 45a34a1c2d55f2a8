"""Client-side pacing shared by every thread of one hook: a smooth rate plus a shared pause after a 429."""

from __future__ import annotations

import threading
import time

from pyrate_limiter import Duration, Limiter, limiter_factory


class Pacer:
    """Spaces requests evenly at ``requests_per_minute`` and lets a 429 pause every thread at once.

    The rate is a GCRA limiter with burst 1 (pyrate-limiter), so requests leave at most once per
    ``60 / requests_per_minute`` seconds and never bunch up against Genesys' per-minute window.
    :meth:`pause_for` is called when Genesys answers 429: all threads then wait out the same Retry-After
    instead of each discovering the throttle on its own.

    :param requests_per_minute: the budget; ``None`` or ``0`` disables the rate (pauses still apply).
    """

    def __init__(self, requests_per_minute: int | None) -> None:
        self.requests_per_minute = requests_per_minute
        self._limiter: Limiter | None = None
        if requests_per_minute:
            self._limiter = limiter_factory.create_token_bucket_limiter(
                rate_per_duration=int(requests_per_minute),
                duration=Duration.MINUTE,
                burst=1,
                buffer_ms=0,
            )
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self.pauses = 0

    def pause_for(self, seconds: float) -> None:
        """Hold every caller of :meth:`acquire` for at least ``seconds`` from now."""
        until = time.monotonic() + max(0.0, seconds)
        with self._lock:
            if until > self._paused_until:
                self._paused_until = until
                self.pauses += 1

    def remaining_pause(self) -> float:
        """Seconds left of the current shared pause (0 when none)."""
        with self._lock:
            return max(0.0, self._paused_until - time.monotonic())

    def acquire(self) -> None:
        """Block until this caller may send one request."""
        while (wait := self.remaining_pause()) > 0:
            time.sleep(wait)
        if self._limiter is not None:
            self._limiter.try_acquire("genesys", blocking=True)
            # a pause may have started while this thread waited for its slot
            while (wait := self.remaining_pause()) > 0:
                time.sleep(wait)
