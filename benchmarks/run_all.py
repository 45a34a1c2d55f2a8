"""Run every benchmark behind the README's figures and print them as a markdown table.

    uv run --no-sync python benchmarks/run_all.py [--only 1,2,3,4,5,6,7] [--runs 2]     (or: make bench)

Each benchmark runs in its own process with a hard timeout; each writes ``benchmarks/results/<figure>.json``
(git-ignored) and this script writes ``benchmarks/results/summary.json``. The exit status is non-zero only when a
benchmark errored (or timed out), never because a figure missed its goal. Takes about 30 minutes; figure 1
(~3 min per repetition: three ``airflow dags test`` runs, 1,000 mapped task instances), figure 6 (~3-4 min
per repetition: 100,000 real creates) and figure 7 (~4 min per repetition: 2 x 10,000 workitems paced at
300 requests/min) dominate.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS_DIR, ROOT, machine, private_tmp, write_results

PY = "uv run --no-sync python"

#: figure -> (script, extra args, results file, timeout in seconds, title)
FIGURES: dict[str, tuple[str, list[str], str, int, str]] = {
    "1": (
        "bench_mapped_vs_bulk.py",
        [],
        "fig1_mapped_vs_bulk",
        1200,
        "Bulk operator vs mapped HttpOperator, 1,000 items",
    ),
    "2": ("bench_engine.py", ["--only", "2"], "fig2_engine", 400, "Engine alone: N=5,000, 20 ms, concurrency 16"),
    "3": ("bench_pacing.py", [], "fig3_pacing", 300, "Pacing: 1,500 items at 3,000/min"),
    "4": ("bench_engine.py", ["--only", "4"], "fig4_requests_per_record", 600, "Requests per created record"),
    "5": ("bench_engine.py", ["--only", "5"], "fig5_cpu_per_record", 300, "Client CPU per record"),
    "6": ("bench_memory.py", [], "fig6_memory", 1200, "100,000-row JSONL: memory and XCom"),
    "7": (
        "bench_bulk_jobs.py",
        [],
        "fig7_bulk_jobs",
        1500,
        "10,000 workitems through bulk add jobs at 300 requests/min",
    ),
}


def command_of(figure: str, runs: int) -> list[str]:
    script, extra, _, _, _ = FIGURES[figure]
    return [sys.executable, str(ROOT / "benchmarks" / script), *extra, "--runs", str(runs)]


def shown_command(figure: str, runs: int) -> str:
    script, extra, _, _, _ = FIGURES[figure]
    return " ".join([PY, f"benchmarks/{script}", *extra, *(["--runs", str(runs)] if runs != 2 else [])])


def main() -> int:
    private_tmp("genesys-bench-")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(FIGURES), help="comma-separated figures (default: all)")
    parser.add_argument("--runs", type=int, default=2, help="repetitions of each figure (default: 2)")
    args = parser.parse_args()
    wanted = [f for f in FIGURES if f in {part.strip() for part in args.only.split(",")}]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    errors = 0
    for figure in wanted:
        _, _, results_name, timeout, title = FIGURES[figure]
        results_file = RESULTS_DIR / f"{results_name}.json"
        results_file.unlink(missing_ok=True)
        print(f"\n=== Figure {figure}: {title} ({shown_command(figure, args.runs)}) ===", flush=True)
        started = time.perf_counter()
        try:
            code = subprocess.run(command_of(figure, args.runs), cwd=ROOT, timeout=timeout, check=False).returncode
        except subprocess.TimeoutExpired:
            code = -9
            print(f"Figure {figure}: timed out after {timeout} s", file=sys.stderr)
        wall = time.perf_counter() - started
        row: dict[str, Any] = {"figure": figure, "title": title, "command": shown_command(figure, args.runs)}
        row.update({"exit": code, "bench_wall_s": round(wall, 1)})
        if code == 0 and results_file.exists():
            result = json.loads(results_file.read_text(encoding="utf-8"))
            row.update(result.get("figure", {}))
        else:
            errors += 1
            row.update({"measured": f"error (exit {code})", "goal": "", "met": None})
        rows.append(row)

    print("\n| # | Figure | Goal | Measured | Met | Command |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        met = {True: "yes", False: "**no**", None: "-"}[row.get("met")]
        print(
            f"| {row['figure']} | {row['title']} | {row.get('goal', '')} | {row.get('measured', '')} | {met} | "
            f"`{row['command']}` |"
        )
    path = write_results("summary", {"runs": args.runs, "figures": rows, "machine_at_end": machine()})
    print(f"\nresults: {path}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
