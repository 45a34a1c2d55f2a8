"""Scenario 6: two task processes submitting the same items at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.chaos.harness import (
    INTERACTIONS,
    Evidence,
    ScenarioResult,
    connection_env,
    expected_keys,
    read_result,
    sandbox,
    scenario_environment,
    tally,
    work_dir,
)
from tests.support.payloads import items_for, write_jsonl

if TYPE_CHECKING:
    from tests.chaos.matrix import Matrix


def concurrent_duplicates(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """Two task processes run the same task instance (same keys) at the same time: one record per key.

    Airflow runs one process per task instance, but a worker that loses its heartbeat can leave a zombie
    running while the next try starts. Both processes are forked at once; the sandbox holds each create in
    flight for 20 ms, so the second process meets keys still being processed (409 in flight, retried) as well
    as keys already committed (409 replay).
    """
    trials, count = (1, 60) if matrix.short else (3, 300)
    work = work_dir("concurrent")
    per_trial = []
    with (
        sandbox(matrix.canaries, evidence, processing_ms=20) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url) as state_dir,
    ):
        env = {
            **connection_env("chaos_twin", box.base_url, matrix.canaries),
            "GENESYS_PROVIDER_STATE_DIR": str(state_dir),
        }
        forks = matrix.forks()
        for trial in range(trials):
            box.reset()
            run_id = f"manual__chaos_twin_{trial}"
            items = items_for("interaction", count, seed=60 + trial)
            source = write_jsonl(work / f"twin-{trial}.jsonl", items)
            job = {
                "conn_id": "chaos_twin",
                "kind": "interaction",
                "source": str(source),
                "run_id": run_id,
                "audit_dir": str(state_dir / "audit"),
                "max_concurrency": 8,
            }
            started = [forks.start({**job, "try_number": number}, env) for number in (1, 2)]
            codes = [forks.wait(pid, timeout=180) for pid, _ in started]
            runs = [read_result(path) or {} for _, path in started]
            duplicates, lost = tally(box.creates_by_key("interaction"), expected_keys("interaction", items, run_id))
            result.duplicates += duplicates
            result.lost += lost
            outcomes = [
                ((run.get("summary") or {}).get("created"), (run.get("summary") or {}).get("replayed")) for run in runs
            ]
            posts = box.route(INTERACTIONS)
            per_trial.append({"exit_codes": codes, "created_replayed": outcomes, "posts": posts})
            result.check(codes == [0, 0], f"trial {trial}: exit codes {codes}: {[r.get('error') for r in runs]}")
            created = sum(created or 0 for created, _ in outcomes)
            result.check(created == count, f"trial {trial}: {created} created in total for {count} items")
            result.check(posts.get("409", 0) > 0, f"trial {trial}: the two tasks never met ({posts})")
            for _pid, path in started:
                evidence.add_file(path.with_suffix(".log"))
                if path.exists():
                    evidence.add_file(path)
    result.trials = trials
    result.items = trials * count
    result.details["trials"] = per_trial
    result.notes.append("two forked task processes, same dag/task/run/map index, started together")
