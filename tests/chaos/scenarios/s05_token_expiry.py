"""Scenario 5: token expiry mid-run and forced 401s."""

from __future__ import annotations

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


def token_expiry(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """Tokens revoked mid-run (twice) and a forced 401 in between: no item fails, one refresh per event.

    A watcher expires every token at 25% and 75% of the records and injects one 401 at 50%; each event waits for
    the refresh it causes before the next is fired. Then a sandbox whose tokens live 2 s: the hook refreshes
    them ahead of expiry, so no request meets a 401 at all.
    """
    count = 120 if matrix.short else 600
    work = work_dir("token")
    events: list[dict[str, Any]] = []
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_token={}) as _state,
    ):
        box.faults(latency_ms=3)
        items = items_for("interaction", count, seed=51)
        stop = threading.Event()

        def watch() -> None:
            plan = [(0.25, "expire"), (0.50, "force_401"), (0.75, "expire")]
            for share, action in plan:
                deadline = time.monotonic() + 60
                while box.record_count() < share * count and not stop.is_set() and time.monotonic() < deadline:
                    time.sleep(0.002)
                if stop.is_set():
                    return
                issued = box.tokens_issued
                if action == "expire":
                    box.admin("POST", "tokens/expire")
                else:
                    box.faults(latency_ms=3, fail_next=[401])
                while box.tokens_issued == issued and not stop.is_set() and time.monotonic() < deadline:
                    time.sleep(0.002)
                settled_at = box.record_count() + 16  # every thread has finished a request with the new token
                events.append({"at_records": box.record_count(), "action": action, "tokens_issued": box.tokens_issued})
                while box.record_count() < settled_at and not stop.is_set() and time.monotonic() < deadline:
                    time.sleep(0.002)

        watcher = threading.Thread(target=watch, name="chaos-token-watcher")
        watcher.start()
        try:
            run = bulk_run(
                evidence, work, conn_id="chaos_token", kind="interaction", items=items, run_id="manual__token_expiry"
            )
        finally:
            stop.set()
            watcher.join(timeout=10)
        account(result, box, "interaction", items, "manual__token_expiry")
        unauthorized = box.route(INTERACTIONS).get("401", 0)
        refreshes = box.tokens_issued - 1
        result.details["revocations"] = {
            "events": events,
            "tokens_issued": box.tokens_issued,
            "hook_token_fetches": run.hook_stats.get("token_fetches"),
            "answered_401": unauthorized,
            "outcomes": run.outcomes(),
        }
        result.check(len(events) == 3, f"only {len(events)} of 3 token events happened: {events}")
        result.check(
            run.outcomes().get("created") == count and run.error is None,
            f"outcomes {run.outcomes()} {(run.error or '')[:300]}",
        )
        result.check(refreshes == len(events), f"{refreshes} token refreshes for {len(events)} expiries/401s")
        result.check(
            run.hook_stats.get("token_fetches") == 1 + len(events),
            f"the hook fetched {run.hook_stats.get('token_fetches')} tokens",
        )
        result.check(unauthorized >= len(events), f"only {unauthorized} requests met a 401")

    short_lived = 2
    with (
        sandbox(matrix.canaries, evidence, token_ttl_seconds=short_lived) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_ttl={}) as _state,
    ):
        seconds = 3.0 if matrix.short else 6.0
        box.faults(latency_ms=int(1000 * seconds * 4 / (count // 2)))  # ~seconds long at 4 threads
        items = items_for("interaction", count // 2, seed=52)
        run = bulk_run(
            evidence,
            work,
            conn_id="chaos_ttl",
            kind="interaction",
            items=items,
            run_id="manual__token_ttl",
            max_concurrency=4,
        )
        account(result, box, "interaction", items, "manual__token_ttl")
        unauthorized = sum(counts.get("401", 0) for counts in box.requests_by_route().values())
        result.details["short_lived_tokens"] = {
            "ttl_s": short_lived,
            "run_s": round(run.wall_s, 2),
            "tokens_issued": box.tokens_issued,
            "answered_401": unauthorized,
            "outcomes": run.outcomes(),
        }
        result.check(run.outcomes().get("created") == count // 2, f"short-lived tokens: outcomes {run.outcomes()}")
        result.check(unauthorized == 0, f"short-lived tokens: {unauthorized} requests met a 401")
        result.check(box.tokens_issued >= 2, "short-lived tokens: the token was never refreshed")
        # the hook refreshes at half the lifetime: about one token per ttl/2 of the run, never one per request
        result.check(
            box.tokens_issued <= run.wall_s / (short_lived / 2) + 2,
            f"short-lived tokens: {box.tokens_issued} tokens in {run.wall_s:.1f}s",
        )
    result.trials = 2
    result.items = count + count // 2
    result.notes.append("2 revocations + 1 forced 401 mid-run → exactly 3 refreshes; 2 s tokens refreshed ahead")
