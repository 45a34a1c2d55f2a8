"""The retry policy both hooks share: jittered, capped backoff; Retry-After; separate bounds for throttling."""

from __future__ import annotations

import pytest

from airflow_provider_genesys.hooks.retry_policy import RetryHint, RetryPolicy, parse_retry_after


def test_backoff_is_jittered_within_the_upper_half_of_its_step_and_never_beyond_the_cap() -> None:
    policy = RetryPolicy(max_attempts=5, backoff_initial=0.5, backoff_max=5.0, backoff_factor=3.0)
    seen: set[float] = set()
    for attempt_number in range(1, 12):
        step = min(5.0, 0.5 * 3 ** (attempt_number - 1))
        for _ in range(30):
            wait = policy.wait(RetryHint(), attempt_number)
            assert step / 2 <= wait <= step <= 5.0
            seen.add(round(wait, 6))
    assert len(seen) > 100  # really jittered


def test_the_factor_sets_the_schedule() -> None:
    genesys = RetryPolicy(max_attempts=5, backoff_initial=3.0, backoff_max=27.0, backoff_factor=3.0)
    crm = RetryPolicy(max_attempts=5, backoff_initial=3.0, backoff_max=27.0, backoff_factor=2.0)
    assert [max(genesys.backoff(n) for _ in range(200)) for n in (1, 2, 3)] == pytest.approx([3, 9, 27], rel=0.05)
    assert [max(crm.backoff(n) for _ in range(200)) for n in (1, 2, 3)] == pytest.approx([3, 6, 12], rel=0.05)


def test_a_retry_after_is_waited_for_whatever_the_cap() -> None:
    policy = RetryPolicy(max_attempts=5, backoff_initial=0.5, backoff_max=1.0)
    for _ in range(50):
        assert 42.0 <= policy.wait(RetryHint(throttled=True, retry_after=42.0), 20) <= 42.25


def test_throttling_has_its_own_attempt_bound() -> None:
    policy = RetryPolicy(max_attempts=2, backoff_initial=0.1, backoff_max=0.1, max_throttle_attempts=5)
    assert policy.should_stop(RetryHint(), 2)
    assert not policy.should_stop(RetryHint(throttled=True), 4)
    assert policy.should_stop(RetryHint(throttled=True), 5)
    same = RetryPolicy(max_attempts=2, backoff_initial=0.1, backoff_max=0.1)
    assert same.should_stop(RetryHint(throttled=True), 2)


def test_retrying_applies_the_policy_to_the_chosen_exceptions_only() -> None:
    policy = RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=0.01)
    sleeps: list[float] = []
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("dropped")
        return "ok"

    retrying = policy.retrying(
        retry_on=lambda error: isinstance(error, ConnectionError), hint=lambda error: RetryHint(), sleep=sleeps.append
    )
    assert retrying(flaky) == "ok" and len(calls) == 3 and len(sleeps) == 2

    def broken() -> None:
        raise ValueError("not retried")

    calls.clear()
    with pytest.raises(ValueError):
        policy.retrying(retry_on=lambda error: isinstance(error, ConnectionError), hint=lambda e: RetryHint())(broken)


@pytest.mark.parametrize(
    ("header", "seconds"), [(None, None), ("", None), ("7", 7.0), (" 2.5 ", 2.5), ("-3", 0.0), ("Wed, 21 Oct", None)]
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds
