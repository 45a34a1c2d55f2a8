"""Scenario 2: creates that commit and then lose their connection."""

from __future__ import annotations

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


def commit_then_drop(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """10% of creates commit and then drop the connection (the client never hears the answer).

    Interactions (server-side Idempotency-Key) and workitems (lookup by externalTag) must end with every item
    created exactly once within the task. Callbacks and inbound emails take no key, so a lost answer is never
    re-sent within the try: the record exists once, and the item is reported as ``outcome unknown``; the
    task's second try finds each such conversation by the participant-attribute search and replays it.
    """
    sizes = {"interaction": 60, "workitem": 40, "callback": 30, "email": 30}
    if not matrix.short:
        sizes = {"interaction": 600, "workitem": 300, "callback": 150, "email": 150}
    work = work_dir("drop")
    per_kind: dict[str, Any] = {}
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_drop={}) as _state,
    ):
        for kind, count in sizes.items():
            box.faults(drop_after_commit_rate=0.10, seed=2 + count)
            items = items_for(kind, count, seed=count)
            run_id = f"manual__chaos_drop_{kind}"
            first = bulk_run(evidence, work, conn_id="chaos_drop", kind=kind, items=items, run_id=run_id)
            route = {
                "interaction": INTERACTIONS,
                "workitem": "POST /api/v2/taskmanagement/workitems",
                "callback": "POST /api/v2/conversations/callbacks",
                "email": "POST /api/v2/conversations/emails",
            }[kind]
            dropped = box.route(route).get("dropped", 0)
            # the same task again in the same DAG run (try 2): nothing may be created twice
            box.faults()
            second = bulk_run(evidence, work, conn_id="chaos_drop", kind=kind, items=items, run_id=run_id, try_number=2)
            duplicates, lost = account(result, box, kind, items, run_id)
            outcomes = first.outcomes()
            per_kind[kind] = {
                "items": count,
                "dropped": dropped,
                "first_try": outcomes,
                "second_try": second.outcomes(),
                "duplicates": duplicates,
                "lost": lost,
            }
            result.items += count
            result.trials += 2
            result.check(dropped >= max(1, count // 20), f"{kind}: only {dropped} connections were dropped")
            if kind in ("interaction", "workitem"):
                result.check(
                    outcomes.get("failed", 0) == 0 and first.error is None,
                    f"{kind}: {outcomes.get('failed', 0)} item(s) failed: {(first.error or '')[:300]}",
                )
                result.check(
                    second.outcomes().get("replayed", 0) == count, f"{kind}: try 2 outcomes {second.outcomes()}"
                )
            else:
                unknown = [
                    item
                    for item in first.items()
                    if item["outcome"] == "failed" and item.get("error_code") == "outcome.unknown"
                ]
                result.check(
                    len(unknown) == dropped and outcomes.get("created", 0) == count - dropped,
                    f"{kind}: {len(unknown)} outcome-unknown failures for {dropped} drops ({outcomes})",
                )
                result.check(
                    second.outcomes().get("replayed", 0) == count, f"{kind}: try 2 outcomes {second.outcomes()}"
                )
    result.details["per_kind"] = per_kind
    result.notes.append(
        "interaction + workitem: every item created within the task; callback + email (no key): a dropped answer "
        "leaves one record and the item reported 'outcome unknown', never re-sent; try 2 finds it by search"
    )
