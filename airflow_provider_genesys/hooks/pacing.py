"""Client-side pacing shared by every thread (or coroutine) of one hook: a smooth rate plus a shared pause after
a 429."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque

from pyrate_limiter import Duration, Limiter, limiter_factory


def burst_for(requests_per_minute: int) -> int:
    """Requests allowed back to back: 1 up to 100/s; above that, 10 ms worth of requests.

    The limiter counts and waits in whole milliseconds, so with a burst of 1 an interval such as 1.25 ms
    (48,000/min) is served as 2 ms and rates above 1,000/s are capped at 1,000/s. Ten milliseconds of slack
    absorb that rounding, keep the average rate exact, and add at most ``burst`` requests to any one-minute
    window (1 at Genesys' usual quotas, 167 at 1,000,000/min).
    """
    return max(1, -(-requests_per_minute // 6_000))


class Pacer:
    """Spaces requests evenly at ``requests_per_minute`` and lets a 429 pause every thread at once.

    The rate is a GCRA limiter (pyrate-limiter) with burst 1 up to 6,000/min (100/s), so
    requests leave at most once per ``60 / requests_per_minute`` seconds and never bunch up against Genesys'
    per-minute window (see :func:`burst_for` above that).
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
                burst=burst_for(int(requests_per_minute)),
                buffer_ms=0,
            )
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self.pauses = 0
        # Threads take their slots first come, first served: the limiter's own lock is not fair, and a thread
        # could otherwise wait seconds while others go (which would also distort latency percentiles).
        self._queue_lock = threading.Lock()
        self._queue: deque[threading.Event] = deque()
        self._slot_taken = False

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
            self._wait_for_turn()
            try:
                self._limiter.try_acquire("genesys", blocking=True)
            finally:
                self._pass_turn()
            # a pause may have started while this thread waited for its slot
            while (wait := self.remaining_pause()) > 0:
                time.sleep(wait)

    async def aacquire(self) -> None:
        """Wait, without blocking the event loop, until this caller may send one request.

        For the asynchronous hook: its callers are coroutines of one event loop, so the limiter's own asynchronous
        wait suffices (no thread queue). Shared pauses after a 429 apply as in :meth:`acquire`.
        """
        while (wait := self.remaining_pause()) > 0:
            await asyncio.sleep(wait)
        if self._limiter is not None:
            await self._limiter.try_acquire_async("genesys", blocking=True)
            while (wait := self.remaining_pause()) > 0:
                await asyncio.sleep(wait)

    def _wait_for_turn(self) -> None:
        with self._queue_lock:
            if not self._slot_taken:
                self._slot_taken = True
                return
            turn = threading.Event()
            self._queue.append(turn)
        turn.wait()

    def _pass_turn(self) -> None:
        with self._queue_lock:
            if self._queue:
                self._queue.popleft().set()  # the turn goes straight to the longest waiter
            else:
                self._slot_taken = False
