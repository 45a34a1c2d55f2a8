"""The retry policy both hooks share: which answers are retried, how long to wait, when to stop.

Genesys' own SDKs retry 429, 502, 503 and 504 and give up when ``Retry-After`` exceeds 180 s (that signals a
daily quota, not a burst); the CRM hook follows the same rules. Waits are a server's ``Retry-After`` when the
hook reads one from the answer, otherwise capped exponential backoff with jitter over the upper half of the
step (the spread stays, the wait never collapses to zero).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, Retrying, nap, retry_if_exception
from tenacity.stop import stop_base

#: Statuses worth another attempt (429 after its ``Retry-After``, the others with backoff).
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
#: A longer ``Retry-After`` is not waited for: the quota is spent, retrying is pointless.
MAX_RETRY_AFTER_SECONDS = 180.0
#: Genesys' SDKs wait this long on a 429 that carries no Retry-After.
DEFAULT_RETRY_AFTER_SECONDS = 3.0


def parse_retry_after(value: str | None) -> float | None:
    """Seconds of a ``Retry-After`` header (``None`` when absent, or given as an HTTP date); never negative."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


@dataclass(frozen=True)
class RetryHint:
    """What a failed attempt tells the policy.

    :param throttled: the server throttled the call (429): counted against ``max_throttle_attempts``.
    :param retry_after: seconds the server asked to wait, when the hook takes that from the answer.
    """

    throttled: bool = False
    retry_after: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts and their waits.

    :param max_attempts: attempts per call for failures (the first included).
    :param backoff_initial: first backoff step, in seconds.
    :param backoff_max: cap of a backoff step, in seconds.
    :param backoff_factor: growth of the step per attempt (3 gives Genesys' 3 s, 9 s, 27 s).
    :param max_throttle_attempts: attempts per call while the server throttles (``None``: ``max_attempts``).
    """

    max_attempts: int
    backoff_initial: float
    backoff_max: float
    backoff_factor: float = 2.0
    max_throttle_attempts: int | None = None

    def backoff(self, attempt_number: int) -> float:
        """The jittered wait after failed attempt ``attempt_number`` (1-based), within the upper half of its step."""
        step = min(self.backoff_max, self.backoff_initial * self.backoff_factor ** (attempt_number - 1))
        return step / 2 + random.uniform(0, step / 2)

    def wait(self, hint: RetryHint, attempt_number: int) -> float:
        """Seconds to wait before the next attempt: the server's ``Retry-After`` (a little jitter on top) or backoff."""
        if hint.retry_after is not None:
            return hint.retry_after + random.uniform(0, min(0.25, hint.retry_after * 0.1 + 0.01))
        return self.backoff(attempt_number)

    def should_stop(self, hint: RetryHint, attempt_number: int) -> bool:
        """Whether ``attempt_number`` attempts are all this kind of failure gets."""
        limit = self.max_attempts
        if hint.throttled and self.max_throttle_attempts is not None:
            limit = self.max_throttle_attempts
        return attempt_number >= limit

    def retrying(
        self,
        *,
        retry_on: Callable[[BaseException], bool],
        hint: Callable[[BaseException], RetryHint],
        before_sleep: Callable[[RetryCallState], None] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> Retrying:
        """A tenacity ``Retrying`` applying this policy to the exceptions ``retry_on`` accepts.

        :param retry_on: which exceptions of an attempt are retried (others are raised at once).
        :param hint: reads a retried exception's :class:`RetryHint`.
        :param before_sleep: called before each wait (logging).
        :param sleep: the sleep function (default: tenacity's own; tests pass a recorder).
        """
        return Retrying(
            **self._tenacity_arguments(retry_on, hint),
            before_sleep=before_sleep,
            sleep=sleep or nap.sleep,
            reraise=True,
        )

    def async_retrying(
        self,
        *,
        retry_on: Callable[[BaseException], bool],
        hint: Callable[[BaseException], RetryHint],
        before_sleep: Callable[[RetryCallState], None] | None = None,
    ) -> AsyncRetrying:
        """The same policy for coroutines: its waits are ``asyncio.sleep``, so they never hold a thread.

        :param retry_on: which exceptions of an attempt are retried (others are raised at once).
        :param hint: reads a retried exception's :class:`RetryHint`.
        :param before_sleep: called before each wait (logging).
        """
        return AsyncRetrying(**self._tenacity_arguments(retry_on, hint), before_sleep=before_sleep, reraise=True)

    def _tenacity_arguments(
        self, retry_on: Callable[[BaseException], bool], hint: Callable[[BaseException], RetryHint]
    ) -> dict[str, Any]:
        """What decides a retry, its stop and its wait: the one rule set behind both ``retrying`` forms."""

        def hint_of(retry_state: RetryCallState) -> RetryHint:
            error = retry_state.outcome.exception() if retry_state.outcome else None
            return hint(error) if error is not None and retry_on(error) else RetryHint()

        policy = self

        class _Stop(stop_base):
            def __call__(self, retry_state: RetryCallState) -> bool:
                return policy.should_stop(hint_of(retry_state), retry_state.attempt_number)

        return {
            "retry": retry_if_exception(retry_on),
            "stop": _Stop(),
            "wait": lambda retry_state: self.wait(hint_of(retry_state), retry_state.attempt_number),
        }
