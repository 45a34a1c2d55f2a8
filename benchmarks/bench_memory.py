"""Figure 6: a 100,000-row JSONL file through the bulk operator's streaming path: peak RSS growth and XCom size.

    uv run --no-sync python benchmarks/bench_memory.py [--rows 100000] [--runs 2]

Path measured: ``GenesysBulkCreateInteractionsOperator(source=<file>).execute(context)`` called in this process
with a stub task instance (it records ``xcom_push`` calls; no Airflow task runner, no metadata DB): the streaming
reader, pass 1 (validate every row), pass 2 (prepare again and create through the engine, 16 threads), the audit
and per-item JSON-lines files (above 1,000 items they go to files, XCom holds their paths) and the summary. Every
row is really created in the sandbox (child process, quota 1,000,000/min, no added latency); the operator's
``requests_per_minute=0`` turns client pacing off so that the run fits in a few minutes.

RSS is sampled every 20 ms by a thread (psutil) and compared with the RSS just before ``execute``, after a
200-row warm-up run of the same operator (so imports, the session pool and the thread pool are not counted);
``ru_maxrss`` growth is reported as well. The XCom payload is the JSON size of the return value plus every value
pushed with ``xcom_push``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil
from _common import (
    UNPACED,
    print_figure,
    private_tmp,
    rows,
    sandbox_process,
    spread,
    use_connection,
    write_jsonl,
    write_results,
)

from airflow_provider_genesys.operators.interactions import GenesysBulkCreateInteractionsOperator

MB = 1024 * 1024


class StubTaskInstance:
    """What ``execute`` reads from ``context["ti"]``, and the XComs it pushes."""

    def __init__(self, run_id: str) -> None:
        self.dag_id = "bench_memory"
        self.task_id = "bulk"
        self.run_id = run_id
        self.map_index = -1
        self.try_number = 1
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


class RssSampler(threading.Thread):
    """Samples this process's RSS every ``interval`` seconds; ``peak`` is the highest seen."""

    def __init__(self, interval: float = 0.02) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.process = psutil.Process()
        self.interval = interval
        self.peak = self.process.memory_info().rss
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._halt.wait(self.interval)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        self.peak = max(self.peak, self.process.memory_info().rss)
        return self.peak


def execute(source: Path, run_id: str, concurrency: int) -> tuple[dict[str, Any], StubTaskInstance]:
    operator = GenesysBulkCreateInteractionsOperator(
        task_id="bulk",
        source=str(source),
        max_concurrency=concurrency,
        requests_per_minute=0,
        progress_interval=15.0,
    )
    ti = StubTaskInstance(run_id)
    summary = operator.execute({"ti": ti, "run_id": run_id})  # type: ignore[typeddict-item]
    return summary, ti


def main() -> int:
    private_tmp("genesys-bench-")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="genesys-bench-fig6-"))
    os.environ["GENESYS_PROVIDER_STATE_DIR"] = str(workdir / "state")
    source = write_jsonl(workdir / "rows.jsonl", rows(args.rows, seed=6))
    warmup = write_jsonl(workdir / "warmup.jsonl", rows(200, seed=60))
    print(
        f"Figure 6: {args.rows} rows ({source.stat().st_size / MB:.1f} MB of JSONL) through the bulk operator",
        flush=True,
    )
    runs: list[dict[str, Any]] = []
    with sandbox_process(quota=UNPACED) as sandbox:
        for run in range(1, args.runs + 1):
            sandbox.reset()
            use_connection(sandbox.base_url, requests_per_minute=UNPACED)
            execute(warmup, f"warmup-{run}", args.concurrency)
            sandbox.reset()
            use_connection(sandbox.base_url, requests_per_minute=UNPACED)  # the reset forgot the cached token
            baseline = psutil.Process().memory_info().rss
            maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            sampler = RssSampler()
            sampler.start()
            started = time.perf_counter()
            summary, ti = execute(source, f"manual__2026-11-27T00:00:0{run}+00:00", args.concurrency)
            wall = time.perf_counter() - started
            peak = sampler.stop()
            maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            xcom_bytes = len(json.dumps(summary, default=str)) + sum(
                len(json.dumps(value, default=str)) for value in ti.xcom.values()
            )
            posts = sandbox.posts()
            result = {
                "wall_s": round(wall, 2),
                "baseline_rss_mb": round(baseline / MB, 1),
                "peak_rss_growth_mb": round((peak - baseline) / MB, 2),
                "ru_maxrss_growth_mb": round((maxrss_after - maxrss_before) / MB, 2),
                "xcom_bytes": xcom_bytes,
                "created": summary["created"],
                "failed": summary["failed"],
                "posts": posts,
                "ok": summary["created"] == args.rows and summary["failed"] == 0,
            }
            runs.append(result)
            print(
                f"  run {run}: {wall:.1f} s, created {summary['created']}, peak RSS growth "
                f"{result['peak_rss_growth_mb']} MB (ru_maxrss growth {result['ru_maxrss_growth_mb']} MB, baseline "
                f"{result['baseline_rss_mb']} MB), XCom {xcom_bytes} bytes{'' if result['ok'] else '  [NOT OK]'}",
                flush=True,
            )
    ok = [r for r in runs if r["ok"]]
    if not ok:
        write_results("fig6_memory", {"rows": args.rows, "runs": runs})
        print("Figure 6: no run created every row", file=sys.stderr)
        return 1
    growths = [r["peak_rss_growth_mb"] for r in ok]
    # memory is reported at its worst: the first run grows the heap, later runs reuse it (lower, not better)
    worst = max(ok, key=lambda r: r["peak_rss_growth_mb"])
    figure: dict[str, Any] = {
        "measured": f"peak RSS growth {worst['peak_rss_growth_mb']:.1f} MB (worst run), XCom "
        f"{max(r['xcom_bytes'] for r in ok):,} bytes",
        "goal": "peak RSS growth <= 64 MB; XCom payload <= 1 MB",
        "met": worst["peak_rss_growth_mb"] <= 64 and max(r["xcom_bytes"] for r in ok) <= MB,
    }
    print_figure(
        6,
        f"{args.rows}-row JSONL through the bulk operator (execute() with a stub TI, real sandbox)",
        figure["measured"] + f"  (worst of {len(ok)}; growth over runs {growths} MB)",
        figure["goal"],
        figure["met"],
    )
    path = write_results("fig6_memory", {"rows": args.rows, "runs": runs, "spread": spread(growths), "figure": figure})
    print(f"  results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
