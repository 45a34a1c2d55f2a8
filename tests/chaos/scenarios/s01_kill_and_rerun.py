"""Scenario 1: SIGKILL at random points, then the same task again in the same DAG run."""

from __future__ import annotations

import os
import random
import signal
import time
from typing import TYPE_CHECKING, Any

from tests.chaos.harness import (
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


def kill_and_rerun(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """Kill the bulk task process (SIGKILL) at random points of a run, then run the same task in the same run.

    Each trial forks a task process (from a warm fork server) that executes the bulk operator over a JSON-lines
    file with a complete Airflow 3 task context; the parent watches the sandbox's ledger and SIGKILLs the process
    once a randomly chosen number of records is committed (0 = during start-up/validation). The same task then
    runs again in the same DAG run (same dag/task/run/map index, try 2) and must end with every item created
    exactly once.
    """
    trials, count = (2, 60) if matrix.short else (20, 300)
    result.trials, result.items = trials, trials * count
    rng = random.Random(20260401)
    work = work_dir("kill")
    kill_points: list[dict[str, Any]] = []
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url) as state_dir,
    ):
        conn = connection_env("chaos_kill", box.base_url, matrix.canaries)
        env = {**conn, "GENESYS_PROVIDER_STATE_DIR": str(state_dir)}
        forks = matrix.forks()
        for trial in range(trials):
            box.reset()
            box.faults(latency_ms=3)  # a few ms per request, so that a kill point lands where it was aimed
            run_id = f"manual__chaos_kill_{trial}"
            items = items_for("interaction", count, seed=100 + trial)
            source = write_jsonl(work / f"items-{trial}.jsonl", items)
            job = {
                "conn_id": "chaos_kill",
                "kind": "interaction",
                "source": str(source),
                "run_id": run_id,
                "audit_dir": str(state_dir / "audit"),
                "max_concurrency": 4,
            }
            target = rng.randrange(0, count)
            pid, first_result = forks.start({**job, "try_number": 1}, env)
            deadline = time.monotonic() + 60
            if target == 0:
                time.sleep(rng.uniform(0.0, 0.3))
            while box.record_count() < target and time.monotonic() < deadline and not first_result.exists():
                time.sleep(0.002)
            os.kill(pid, signal.SIGKILL)
            code = forks.wait(pid, timeout=30)
            at_kill = box.record_count()
            killed = code == -signal.SIGKILL and read_result(first_result) is None
            kill_points.append({"trial": trial, "aimed_at": target, "records_at_kill": at_kill, "killed": killed})
            box.faults()
            pid, second_result = forks.start({**job, "try_number": 2}, env)
            code = forks.wait(pid, timeout=120)
            rerun = read_result(second_result) or {}
            summary = rerun.get("summary") or {}
            keys = expected_keys("interaction", items, run_id)
            duplicates, lost = tally(box.creates_by_key("interaction"), keys)
            result.duplicates += duplicates
            result.lost += lost
            result.check(killed, f"trial {trial}: the first run ended before the kill (exit code {code})")
            result.check(code == 0, f"trial {trial}: the re-run failed: {rerun.get('error')}")
            result.check(
                summary.get("failed") == 0 and summary.get("created", 0) + summary.get("replayed", 0) == count,
                f"trial {trial}: re-run summary { ({k: summary.get(k) for k in ('created', 'replayed', 'failed')}) }",
            )
            result.check(
                summary.get("replayed", 0) <= at_kill + 8,
                f"trial {trial}: {summary.get('replayed')} replays for {at_kill} records at the kill",
            )
            for path in (first_result, second_result):
                evidence.add_file(path.with_suffix(".log"))
                if path.exists():
                    evidence.add_file(path)
    result.details["kill_points"] = kill_points
    result.details["records_at_kill"] = sorted(point["records_at_kill"] for point in kill_points)
    result.notes.append(
        "each run is a separate task process forked from a warm fork server, executing the bulk operator with a "
        "complete Airflow 3 context (ti.dag_id/task_id/run_id/map_index/try_number, xcom_push); no scheduler or "
        "dag.test(); re-run = try 2 of the same task in the same DAG run"
    )


# == helpers of the in-process scenarios ========================================================================
