"""Figures 2, 4 and 5: the creation engine's throughput, requests per created record, client CPU per record.

    uv run --no-sync python benchmarks/bench_engine.py [--only 2,4,5] [--runs 2]

Figure 2 — engine alone: ``CreationEngine.run`` over N = 5,000 already-prepared interactions, 16 threads, against
the sandbox in a child process (its CPU does not share this process's GIL) answering every API call after 20 ms.
Compared with the bound N x latency / concurrency = 6.25 s. The headline runs the hook with pacing off
(``requests_per_minute=0``): the engine is what is measured. The same run with pacing on at an unreachable
1,000,000/min is reported too, because the pacer costs throughput at such rates (see the README's notes).

Figure 4 — requests per created record, counted by the sandbox (``GET /_sandbox/requests``, every answer to
``POST /api/v2/interactions`` including 409 replays) over the records it stores (``/_sandbox/ledger``): the bulk
operator in a DAG run through ``dag.test()`` (``scripts/run_dag_run.py``) in a throw-away AIRFLOW_HOME, (a) a
clean run, (b) a run whose process is SIGKILLed once half the records exist (sandbox latency 40 ms so that
halfway is observable), then that DAG run's task cleared (as the UI's Clear does: the run and its task state stay)
and run again to the end. The clean runs also report what Airflow's task state store cost the bulk run (the
``genesys_state`` line: its calls and the time they took, per valid item).

Figure 5 — client CPU per record, no network: ``time.process_time`` around, for each of 10,000 rows,
``prepare_item`` (validate against the model, canonical dump, identity, key, wire body) + ``json.dumps`` of the
body (what ``requests`` sends) + the engine's audit record of a created item + its JSON line + the per-item result
line (what the bulk operator writes above 1,000 items). Median, p95 and mean per record.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ROOT,
    UNPACED,
    AirflowHome,
    Sandbox,
    genesys_connection,
    interaction_items,
    print_figure,
    private_tmp,
    rows,
    run_timed,
    sandbox_process,
    spread,
    use_connection,
    write_jsonl,
    write_results,
)

from airflow_provider_genesys.creation.engine import CreationEngine, prepare_item
from airflow_provider_genesys.creation.items import CreateResult, PreparedItem
from airflow_provider_genesys.creation.kinds import get_kind
from airflow_provider_genesys.creation.task import TaskIdentity
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook, clear_token_cache
from airflow_provider_genesys.models.audit import ItemResult

SPEC = get_kind("interaction")


def prepared_items(count: int, task: TaskIdentity, *, seed: int = 20261128) -> list[PreparedItem]:
    return [
        prepare_item(SPEC, body, task, position=position, external_id=external_id)
        for position, (external_id, body) in enumerate(interaction_items(count, seed=seed))
    ]


# -- figure 2 -----------------------------------------------------------------------------------------------


def engine_run(sandbox: Sandbox, count: int, concurrency: int, *, paced: bool, run: int) -> dict[str, Any]:
    """One timed ``CreationEngine.run`` on a reset sandbox; the token is fetched before the clock starts."""
    sandbox.reset()
    sandbox.faults(latency_ms=20)
    clear_token_cache()
    task = TaskIdentity("bench_engine", "create", f"run-{run}-{'paced' if paced else 'unpaced'}", -1, 1)
    items = prepared_items(count, task)
    hook = GenesysCloudHook(requests_per_minute=None if paced else 0, pool_maxsize=max(32, concurrency * 2))
    hook.get_token()
    engine = CreationEngine(hook, SPEC, task, max_concurrency=concurrency, progress_interval=3600)
    outcomes = {"created": 0, "other": 0}

    def on_outcome(outcome: Any) -> None:
        outcomes["created" if outcome.audit.outcome == "created" else "other"] += 1

    server_cpu = sandbox.cpu_seconds()
    cpu = time.process_time()
    started = time.perf_counter()
    engine.run(items, total=count, on_outcome=on_outcome)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    server_cpu = sandbox.cpu_seconds() - server_cpu
    return {
        "paced": paced,
        "wall_s": round(wall, 3),
        "created": outcomes["created"],
        "not_created": outcomes["other"],
        "posts": sandbox.posts(),
        "client_cpu_ms_per_request": round(cpu / count * 1000, 3),
        "sandbox_cpu_ms_per_request": round(server_cpu / count * 1000, 3),
        "requests_per_s": round(count / wall, 1),
    }


def figure_2(runs: int, count: int = 5000, concurrency: int = 16, latency_ms: int = 20) -> dict[str, Any]:
    bound = count * latency_ms / 1000 / concurrency
    print(f"Figure 2: engine alone, N={count}, concurrency {concurrency}, latency {latency_ms} ms", flush=True)
    results: dict[str, list[dict[str, Any]]] = {"unpaced": [], "paced_1e6_per_min": []}
    with sandbox_process(quota=UNPACED, latency_ms=latency_ms) as sandbox:
        use_connection(sandbox.base_url, requests_per_minute=UNPACED)
        for run in range(1, runs + 1):
            for label, paced in (("unpaced", False), ("paced_1e6_per_min", True)):
                result = engine_run(sandbox, count, concurrency, paced=paced, run=run)
                result["x_bound"] = round(result["wall_s"] / bound, 3)
                results[label].append(result)
                print(
                    f"  run {run} {label:<18} wall {result['wall_s']:6.2f}s = {result['x_bound']:.2f}x bound, "
                    f"{result['requests_per_s']:.0f} req/s, created {result['created']}, client CPU "
                    f"{result['client_cpu_ms_per_request']} ms/req, sandbox CPU "
                    f"{result['sandbox_cpu_ms_per_request']} ms/req",
                    flush=True,
                )
    ok = [r for r in results["unpaced"] if r["created"] == count]
    walls = [r["wall_s"] for r in ok] or [float("nan")]
    paced_walls = [r["wall_s"] for r in results["paced_1e6_per_min"]]
    best = min(walls)
    figure: dict[str, Any] = {
        "measured": (
            f"{best:.2f} s = {best / bound:.2f}x the bound {bound:.2f} s (pacing off); with the pacer on at "
            f"1,000,000/min: {min(paced_walls):.2f} s = {min(paced_walls) / bound:.2f}x"
        ),
        "goal": "<= 1.3x N*latency/concurrency",
        "met": bool(ok) and best / bound <= 1.3,
    }
    print_figure(
        2,
        f"engine alone, N={count}, latency {latency_ms} ms, concurrency {concurrency}",
        figure["measured"] + f"  (best of {len(walls)}, spread {spread(walls)['spread_pct']:.0f}%)",
        figure["goal"],
        figure["met"],
    )
    return {
        "bound_s": bound,
        "results": results,
        "spread_unpaced": spread(walls),
        "spread_paced": spread(paced_walls),
        "figure": figure,
    }


# -- figure 4 -----------------------------------------------------------------------------------------------

RESUME_DAG = textwrap.dedent(
    """
    import pendulum
    from airflow.sdk import dag

    from airflow_provider_genesys.operators.interactions import GenesysBulkCreateInteractionsOperator


    @dag(dag_id="bench_resume", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
    def bench_resume():
        GenesysBulkCreateInteractionsOperator(task_id="bulk", source=SOURCE, max_concurrency=8, progress_interval=2.0)


    bench_resume_dag = bench_resume()
    """
)


def figure_4(runs: int, count: int = 1000) -> dict[str, Any]:
    print(f"Figure 4: requests per created record, bulk operator over {count} items (dag.test)", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="genesys-bench-fig4-"))
    source = write_jsonl(workdir / "items.jsonl", rows(count, seed=4))
    dags = workdir / "dags"
    dags.mkdir()
    (dags / "bench_resume.py").write_text(RESUME_DAG.replace("SOURCE", repr(str(source))), encoding="utf-8")
    clean: list[dict[str, Any]] = []
    resumed: list[dict[str, Any]] = []
    home = AirflowHome()
    try:
        home.migrate()
        with sandbox_process(quota=UNPACED) as sandbox:
            env = home.env(dags, AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT=genesys_connection(sandbox.base_url))

            def dag_test(date: str, log: str, timeout: float = 240, *, clear: bool = False) -> tuple[int, str]:
                command = [sys.executable, str(ROOT / "scripts" / "run_dag_run.py"), "bench_resume", date, date]
                command += ["--clear"] if clear else []
                code, _, output = run_timed(command, env, workdir / "logs" / log, timeout)
                return code, output

            for run in range(1, runs + 1):
                # (a) a clean run
                sandbox.reset()
                code, output = dag_test(f"2026-05-{run:02d}T00:00:00+00:00", f"clean-{run}.log")
                created = sandbox.created_summary()
                posts = sandbox.posts()
                ratio = sum(posts.values()) / max(created["records"], 1)
                ok = code == 0 and "state=success" in output and created["records"] == count
                state_cost = _state_cost(output)
                clean.append(
                    {
                        "ok": ok,
                        "posts": posts,
                        **created,
                        "requests_per_record": round(ratio, 4),
                        "task_state": state_cost,
                    }
                )
                print(
                    f"  run {run} clean:   {sum(posts.values())} requests / {created['records']} records = "
                    f"{ratio:.3f}  {posts}; task state: {state_cost}{'' if ok else '  [RUN NOT OK]'}",
                    flush=True,
                )

                # (b) killed halfway, then the same DAG run again
                sandbox.reset()
                sandbox.faults(latency_ms=40)
                date = f"2026-06-{run:02d}T00:00:00+00:00"
                command = [sys.executable, str(ROOT / "scripts" / "run_dag_run.py"), "bench_resume", date, date]
                log_path = workdir / "logs" / f"killed-{run}.log"
                log_path.parent.mkdir(parents=True, exist_ok=True)
                with log_path.open("w") as log:
                    first = subprocess.Popen(
                        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                    )
                    deadline = time.monotonic() + 180
                    while time.monotonic() < deadline and first.poll() is None:
                        if sandbox.posts().get("201", 0) >= count // 2:
                            break
                        time.sleep(0.05)
                    killed = first.poll() is None
                    if killed:
                        os.killpg(first.pid, signal.SIGKILL)
                    first.wait(30)
                before = sandbox.created_summary()["records"]
                posts_first = sum(sandbox.posts().values())
                sandbox.faults(latency_ms=0)
                code, output = dag_test(date, f"rerun-{run}.log", clear=True)  # the UI's Clear: same DAG run
                created = sandbox.created_summary()
                posts = sandbox.posts()
                ratio = sum(posts.values()) / max(created["records"], 1)
                ok = (
                    killed
                    and code == 0
                    and "state=success" in output
                    and created["records"] == count
                    and created["duplicates"] == 0
                )
                resumed.append(
                    {
                        "ok": ok,
                        "killed": killed,
                        "records_before_kill": before,
                        "requests_before_kill": posts_first,
                        "posts": posts,
                        **created,
                        "requests_per_record": round(ratio, 4),
                    }
                )
                print(
                    f"  run {run} killed at {before} records, re-run: {sum(posts.values())} requests / "
                    f"{created['records']} records = {ratio:.3f}, duplicates {created['duplicates']}  {posts}"
                    f"{'' if ok else '  [RUN NOT OK]'}",
                    flush=True,
                )
    finally:
        home.cleanup()
    clean_ok = [r["requests_per_record"] for r in clean if r["ok"]]
    resumed_ok = [r["requests_per_record"] for r in resumed if r["ok"]]
    state_ms = [r["task_state"]["per_record_ms"] for r in clean if r["ok"] and r["task_state"]]
    figure: dict[str, Any] = {
        "measured": (
            f"clean run {', '.join(f'{v:.2f}' for v in clean_ok) or 'n/a'}; killed halfway + re-run "
            f"{', '.join(f'{v:.2f}' for v in resumed_ok) or 'n/a'} (one value per run); task state store "
            f"{', '.join(f'{v:.3f}' for v in state_ms) or 'n/a'} ms per record on the clean runs"
        ),
        "goal": "exactly 1.00 clean; <= 2.0 after a kill halfway and a re-run; task state <= 0.2 ms per record",
        "met": bool(clean_ok)
        and bool(resumed_ok)
        and all(v == 1.0 for v in clean_ok)
        and max(resumed_ok) <= 2.0
        and bool(state_ms)
        and max(state_ms) <= 0.2,
    }
    print_figure(
        4, "requests per created record (counted by the sandbox)", figure["measured"], figure["goal"], figure["met"]
    )
    return {"items": count, "clean": clean, "killed_and_rerun": resumed, "figure": figure, "log_dir": str(workdir)}


def _state_cost(output: str) -> dict[str, Any] | None:
    """The ``genesys_state`` line the bulk run logs: calls made of Airflow's task state store and their time."""
    found = re.search(
        r"genesys_state kind=\S+ reads=(\d+) writes=(\d+) store_ms=([\d.]+) per_record_ms=([\d.]+)", output
    )
    if found is None:
        return None
    reads, writes, store_ms, per_record = found.groups()
    in_store = "no task state store" not in output
    return {
        "reads": int(reads),
        "writes": int(writes),
        "store_ms": float(store_ms),
        "per_record_ms": float(per_record),
        "airflow_task_state_store": in_store,
    }


# -- figure 5 -----------------------------------------------------------------------------------------------


def figure_5(runs: int, count: int = 10_000) -> dict[str, Any]:
    print(f"Figure 5: client CPU per record over {count} rows (no network)", flush=True)
    use_connection("http://127.0.0.1:9")  # only the client id is read (audit field); nothing is sent
    task = TaskIdentity("bench_cpu", "create", "manual__2026-11-27T00:00:00+00:00", -1, 1)
    engine = CreationEngine(GenesysCloudHook(), SPEC, task)
    rows = interaction_items(count, seed=5)
    result = CreateResult(
        outcome="created",
        record={},
        record_id="5f0d2c4e-0000-4000-8000-000000000000",
        http_status=201,
        correlation_id="c0ffee00-0000-4000-8000-000000000000",
        attempts=1,
        requests_sent=1,
        latency_ms=21.5,
    )

    def one(position: int, external_id: str, body: dict[str, Any]) -> tuple[int, int]:
        started = time.process_time_ns()
        item = prepare_item(SPEC, body, task, position=position, external_id=external_id)
        prepared = time.process_time_ns()
        json.dumps(item.body)
        result.record = {"id": result.record_id, **item.body}
        audit = engine._succeeded(item, result).audit
        audit.to_json_line()
        ItemResult.from_audit_record(audit).to_json_line()
        return time.process_time_ns() - started, prepared - started

    for position, (external_id, body) in enumerate(rows[:500]):  # warm-up
        one(position, external_id, body)
    medians, p95s, means, prepare_medians = [], [], [], []
    for run in range(1, runs + 1):
        samples = [one(position, external_id, body) for position, (external_id, body) in enumerate(rows)]
        samples_ms = sorted(total / 1e6 for total, _ in samples)
        medians.append(statistics.median(samples_ms))
        p95s.append(samples_ms[int(0.95 * len(samples_ms))])
        means.append(statistics.fmean(samples_ms))
        prepare_medians.append(statistics.median(prepare / 1e6 for _, prepare in samples))
        print(
            f"  run {run}: median {medians[-1]:.3f} ms, p95 {p95s[-1]:.3f} ms, mean {means[-1]:.3f} ms "
            f"(of which prepare_item, median {prepare_medians[-1]:.3f} ms)",
            flush=True,
        )
    best = min(medians)
    figure: dict[str, Any] = {
        "measured": f"median {best:.3f} ms per record (p95 {min(p95s):.3f} ms, mean {min(means):.3f} ms)",
        "goal": "median <= 0.5 ms",
        "met": best <= 0.5,
    }
    print_figure(
        5,
        "client CPU per record (validate + key + serialize + audit)",
        figure["measured"] + f"  (best of {runs}, spread {spread(medians)['spread_pct']:.0f}%)",
        figure["goal"],
        figure["met"],
    )
    return {
        "rows": count,
        "median_ms": medians,
        "prepare_median_ms": prepare_medians,
        "p95_ms": p95s,
        "mean_ms": means,
        "spread": spread(medians),
        "figure": figure,
    }


def main() -> int:
    private_tmp("genesys-bench-")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="2,4,5", help="comma-separated figures to run (default: 2,4,5)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--items", type=int, default=5000, help="N of figure 2")
    args = parser.parse_args()
    wanted = {part.strip() for part in args.only.split(",") if part.strip()}
    if "5" in wanted:
        print(f"  results: {write_results('fig5_cpu_per_record', figure_5(args.runs))}\n")
    if "2" in wanted:
        print(f"  results: {write_results('fig2_engine', figure_2(args.runs, count=args.items))}\n")
    if "4" in wanted:
        print(f"  results: {write_results('fig4_requests_per_record', figure_4(args.runs))}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
