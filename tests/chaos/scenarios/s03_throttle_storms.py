"""Scenario 3: 429 storms."""

from __future__ import annotations

import itertools
import threading
import time
from typing import TYPE_CHECKING, Any

from tests.chaos.harness import (
    INTERACTIONS,
    Evidence,
    ScenarioResult,
    account,
    bulk_run,
    sandbox,
    scenario_environment,
    work_dir,
)
from tests.support.payloads import items_for

if TYPE_CHECKING:
    from tests.chaos.matrix import Matrix


class RequestRecorder:
    """Wraps a hook's ``requests.Session`` to record when each request left, when its answer came, and what it was."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def install(self, operator: Any) -> None:
        session = operator.hook.session
        original = session.request

        def request(method: str, url: str, **kwargs: Any) -> Any:
            key = (kwargs.get("headers") or {}).get("Idempotency-Key")
            started = time.monotonic()
            status = retry_after = None
            try:
                response = original(method, url, **kwargs)
                status = response.status_code
                retry_after = response.headers.get("Retry-After")
                return response
            finally:
                with self._lock:
                    self.calls.append(
                        {
                            "key": key,
                            "url": url,
                            "start": started,
                            "end": time.monotonic(),
                            "status": status,
                            "retry_after": None if retry_after is None else float(retry_after),
                        }
                    )

        session.request = request

    def waits_after_429(self) -> tuple[list[float], int]:
        """(wait - Retry-After for every retried 429 of a key, requests sent during another request's pause)."""
        margins: list[float] = []
        by_key: dict[str, list[dict[str, Any]]] = {}
        for call in self.calls:
            if call["key"]:
                by_key.setdefault(call["key"], []).append(call)
        for calls in by_key.values():
            calls.sort(key=lambda call: call["start"])
            for before, after in itertools.pairwise(calls):
                if before["status"] == 429 and before["retry_after"] is not None:
                    margins.append(after["start"] - before["end"] - before["retry_after"])
        early = 0
        throttles = [call for call in self.calls if call["status"] == 429 and call["retry_after"]]
        api_calls = [call for call in self.calls if "/api/v2/" in call["url"]]
        for throttle in throttles:
            window_start, window_end = throttle["end"] + 0.05, throttle["end"] + throttle["retry_after"] - 0.01
            early += sum(1 for call in api_calls if window_start < call["start"] < window_end)
        return margins, early


def throttle_storms(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """429 storms with Retry-After: random 429s, a total storm that ends, and a Retry-After beyond 180 s.

    Every retry of a throttled request waits at least its Retry-After (measured on the wire, per key), no
    thread sends while a Retry-After pause is running, every item is created once the storm ends; a
    Retry-After of 600 s is a clear "daily quota" error after a handful of requests (no hammering), and the
    next try after the quota comes back creates everything exactly once.
    """
    random_items, storm_items, quota_items = (30, 20, 24) if matrix.short else (150, 100, 100)
    storm_seconds = 1.5 if matrix.short else 3.0
    concurrency = 8
    work = work_dir("429")
    phases: dict[str, Any] = {}
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_429={}) as _state,
    ):
        # A: random 429s (15% of API requests), Retry-After 1 s
        box.faults(rate_429=0.15, retry_after=1, seed=3)
        items = items_for("interaction", random_items, seed=31)
        recorder = RequestRecorder()
        run = bulk_run(
            evidence,
            work,
            conn_id="chaos_429",
            kind="interaction",
            items=items,
            run_id="manual__429_random",
            prepare=recorder.install,
            max_concurrency=concurrency,
        )
        margins, early = recorder.waits_after_429()
        account(result, box, "interaction", items, "manual__429_random")
        phases["random"] = {
            "items": random_items,
            "throttled": len(margins),
            "early_sends": early,
            "min_wait_minus_retry_after_s": round(min(margins), 4) if margins else None,
            "outcomes": run.outcomes(),
            "wall_s": round(run.wall_s, 2),
        }
        result.check(len(margins) >= 3, f"random storm: only {len(margins)} throttled retries")
        result.check(all(m >= 0 for m in margins), f"random storm: a retry came early ({min(margins, default=0):.3f}s)")
        result.check(early == 0, f"random storm: {early} request(s) sent during a Retry-After pause")
        result.check(run.outcomes().get("created") == random_items, f"random storm: outcomes {run.outcomes()}")

        # B: every API request answered 429 for a while; the storm ends; everything must be created
        box.faults(rate_429=1.0, retry_after=1)
        timer = threading.Timer(storm_seconds, lambda: box.faults())
        timer.start()
        items = items_for("interaction", storm_items, seed=32)
        recorder = RequestRecorder()
        try:
            run = bulk_run(
                evidence,
                work,
                conn_id="chaos_429",
                kind="interaction",
                items=items,
                run_id="manual__429_storm",
                prepare=recorder.install,
                max_concurrency=concurrency,
            )
        finally:
            timer.cancel()
            timer.join()
        margins, early = recorder.waits_after_429()
        account(result, box, "interaction", items, "manual__429_storm")
        phases["storm"] = {
            "items": storm_items,
            "storm_s": storm_seconds,
            "throttled": len(margins),
            "early_sends": early,
            "min_wait_minus_retry_after_s": round(min(margins), 4) if margins else None,
            "outcomes": run.outcomes(),
            "wall_s": round(run.wall_s, 2),
        }
        result.check(all(m >= 0 for m in margins), f"total storm: a retry came early ({min(margins, default=0):.3f}s)")
        result.check(early == 0, f"total storm: {early} request(s) sent during a Retry-After pause")
        result.check(run.outcomes().get("created") == storm_items, f"total storm: outcomes {run.outcomes()}")
        result.check(run.wall_s >= storm_seconds, "total storm: the run finished before the storm ended")

        # C: Retry-After 600 s (> 180 s): a daily quota; stop at once, report every item, then resume
        box.faults(rate_429=1.0, retry_after=600)
        items = items_for("interaction", quota_items, seed=33)
        before = sum(box.route(INTERACTIONS).values())
        run = bulk_run(
            evidence,
            work,
            conn_id="chaos_429",
            kind="interaction",
            items=items,
            run_id="manual__429_quota",
            max_concurrency=concurrency,
        )
        sent = sum(box.route(INTERACTIONS).values()) - before
        failed = [item for item in run.items() if item["outcome"] == "failed"]
        phases["quota"] = {
            "items": quota_items,
            "requests": sent,
            "failed": len(failed),
            "wall_s": round(run.wall_s, 2),
            "error_excerpt": (run.error or "")[:240],
        }
        result.check(sent <= concurrency, f"quota: {sent} requests sent after a Retry-After of 600 s (hammering)")
        result.check(len(failed) == quota_items, f"quota: {len(failed)} of {quota_items} items reported failed")
        result.check(
            "daily" in (run.error or "") and "quota" in (run.error or ""),
            f"quota: the error does not say 'daily quota': {(run.error or '')[:200]}",
        )
        result.check(run.wall_s < 10, f"quota: took {run.wall_s:.1f}s")
        box.faults()  # the quota is back
        resumed = bulk_run(
            evidence,
            work,
            conn_id="chaos_429",
            kind="interaction",
            items=items,
            run_id="manual__429_quota",
            try_number=2,
            max_concurrency=concurrency,
        )
        account(result, box, "interaction", items, "manual__429_quota")
        phases["quota"]["resumed"] = resumed.outcomes()
        result.check(resumed.outcomes().get("created") == quota_items, f"quota: try 2 outcomes {resumed.outcomes()}")
    result.trials = 4
    result.items = random_items + storm_items + quota_items
    result.details["phases"] = phases
    result.notes.append(
        "waits measured on the wire per key; a 429 pauses every thread of the hook; Retry-After 600 s → "
        "'daily quota' error, then try 2 creates all"
    )
