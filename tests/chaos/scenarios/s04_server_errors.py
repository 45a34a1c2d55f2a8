"""Scenario 4: 5xx: intermittent, and a route that always fails."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.chaos.harness import (
    INTERACTIONS,
    Evidence,
    ScenarioResult,
    account,
    audits_of,
    bulk_run,
    expected_keys,
    sandbox,
    scenario_environment,
    tally,
    work_dir,
)
from tests.support.payloads import items_for

if TYPE_CHECKING:
    from tests.chaos.matrix import Matrix


def server_errors(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """20% of API requests answer 502/503/504; then a create route that always answers 503.

    Intermittent errors: every item is created within the hook's bounded attempts (max_attempts=8 here, so that
    a run of several hundred items rarely meets 8 failures in a row: 0.2^8 per item; when one does, the task is
    retried once, as Airflow would, and that item is created then). Interactions and workitems (whose retries look
    the key up first, the lookups also failing 20% of the time). A route that
    always fails: every item fails after exactly max_attempts (5) requests, the task's failure report names every
    item, and the total time stays within the backoff budget.
    """
    per_status = 20 if matrix.short else 150
    always = 12 if matrix.short else 40
    work = work_dir("5xx")
    phases: dict[str, Any] = {}
    bounded = {"max_attempts": 8}
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_5xx=bounded, chaos_503={}) as _state,
    ):
        for index, (kind, status) in enumerate(
            [("interaction", 502), ("interaction", 503), ("interaction", 504), ("workitem", 503)]
        ):
            box.faults(error_rate=0.2, error_status=status, seed=40 + index)
            items = items_for(kind, per_status, seed=40 + index)
            run_id = f"manual__5xx_{kind}_{status}"
            run = bulk_run(evidence, work, conn_id="chaos_5xx", kind=kind, items=items, run_id=run_id)
            task_retries = 0
            if run.outcomes().get("failed", 0):
                # bounded attempts can all meet a 5xx (0.2^8 per item): Airflow's task retry re-sends that item
                task_retries = 1
                run = bulk_run(evidence, work, conn_id="chaos_5xx", kind=kind, items=items, run_id=run_id, try_number=2)
            account(result, box, kind, items, run_id)
            errors = sum(
                count
                for route, counts in box.requests_by_route().items()
                for code, count in counts.items()
                if code == str(status)
            )
            box.reset()
            max_attempts = max((a["attempts"] for a in audits_of(run)), default=0)
            phases[f"{kind}_{status}"] = {
                "items": per_status,
                "injected": errors,
                "outcomes": run.outcomes(),
                "max_attempts_per_item": max_attempts,
                "task_retries": task_retries,
            }
            result.check(errors > 0, f"{kind} {status}: no error was injected")
            result.check(
                run.outcomes().get("failed", 0) == 0 and run.error is None,
                f"{kind} {status}: {run.outcomes()} {(run.error or '')[:300]}",
            )
            # a workitem's attempts count its lookups too (one before each re-send)
            limit = 8 if kind == "interaction" else 2 * 8
            result.check(max_attempts <= limit, f"{kind} {status}: an item took {max_attempts} attempts")
            result.items += per_status
            result.trials += 1

        for kind, prefix, route in [
            ("interaction", "/api/v2/interactions", INTERACTIONS),
            ("workitem", "/api/v2/taskmanagement/workitems", "POST /api/v2/taskmanagement/workitems"),
        ]:
            box.reset()
            box.faults(error_rate=1.0, error_status=503, route_prefix=prefix)
            items = items_for(kind, always, seed=49)
            run_id = f"manual__503_{kind}"
            concurrency = 4
            run = bulk_run(
                evidence, work, conn_id="chaos_503", kind=kind, items=items, run_id=run_id, max_concurrency=concurrency
            )
            failed = [item for item in run.items() if item["outcome"] == "failed"]
            named = [item for item in items if f"external_id={item['external_id']!r}" in (run.error or "")]
            posts = sum(box.route(route).values())
            lookups = sum(box.route("POST /api/v2/taskmanagement/workitems/query").values())
            # backoff budget: 4 waits of at most min(0.2, 0.05 * 3^n) s per item, items spread over the threads
            budget = -(-always // concurrency) * (0.05 + 0.15 + 0.2 + 0.2 + 5 * 0.2) + 5.0
            duplicates, _lost = tally(box.creates_by_key(kind), expected_keys(kind, items, run_id))
            result.duplicates += duplicates
            unaccounted = (
                len(items) - len(failed) - sum(1 for i in run.items() if i["outcome"] in ("created", "replayed"))
            )
            result.lost += max(0, unaccounted)
            phases[f"always_503_{kind}"] = {
                "items": always,
                "failed": len(failed),
                "named_in_error": len(named),
                "create_requests": posts,
                "lookups": lookups,
                "wall_s": round(run.wall_s, 2),
                "budget_s": round(budget, 2),
                "error_type": run.error_type,
            }
            result.check(len(failed) == always, f"always-503 {kind}: {len(failed)} of {always} reported failed")
            result.check(
                all(item.get("http_status") == 503 for item in failed),
                f"always-503 {kind}: statuses {sorted({str(i.get('http_status')) for i in failed})}",
            )
            result.check(len(named) == always, f"always-503 {kind}: the report names {len(named)} of {always} items")
            if kind == "interaction":
                result.check(posts == always * 5, f"always-503 {kind}: {posts} create requests for {always} items x 5")
            else:  # one create, then the lookup before a re-send fails too (5 attempts): nothing is re-sent blind
                result.check(
                    posts == always and lookups == always * 5,
                    f"always-503 {kind}: {posts} creates and {lookups} lookups for {always} items",
                )
            result.check(run.wall_s <= budget, f"always-503 {kind}: {run.wall_s:.1f}s > budget {budget:.1f}s")
            result.items += always
            result.trials += 1
    result.details["phases"] = phases
    result.notes.append("intermittent: max_attempts=8; always-503: max_attempts=5, backoff 0.05 s x3 capped at 0.2 s")
