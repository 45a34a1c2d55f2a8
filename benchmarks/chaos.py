"""``make chaos``: the reliability and security matrix — exactly once, nothing lost, nothing leaked.

    python benchmarks/chaos.py            # the full matrix (~5-8 minutes on 2 cores)
    python benchmarks/chaos.py --short    # the short form (what tests/chaos runs in ``make test``)
    python benchmarks/chaos.py --only 1,8

Every scenario runs against a real sandbox on loopback (see ``tests/chaos/scenarios/`` for what each one
does and checks). Prints the table (scenario, trials, items, duplicates, lost, leaks, wall s) as text and as
Markdown, and writes ``benchmarks/results/chaos.json`` (``chaos-short.json`` for ``--short``). Exits 1 when any
scenario found a duplicate, a lost item, a leak, or failed a check.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import private_tmp  # noqa: E402

private_tmp("genesys-chaos-")  # every work dir of the run lives here and is removed at exit
# A throw-away Airflow home, set before anything imports Airflow (the operators only need a config to read).
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="genesys-chaos-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")

from benchmarks._common import write_results  # noqa: E402
from tests.chaos.harness import ScenarioResult  # noqa: E402
from tests.chaos.matrix import SCENARIOS, Matrix  # noqa: E402

COLUMNS = ("#", "scenario", "trials", "items", "duplicates", "lost", "leaks", "wall s", "ok")


def _row(result: ScenarioResult) -> list[str]:
    return [
        str(result.number),
        result.name,
        f"{result.trials:,}",
        f"{result.items:,}",
        str(result.duplicates),
        str(result.lost),
        str(result.leaks),
        f"{result.wall_s:.1f}",
        "yes" if result.ok else "NO",
    ]


def text_table(results: list[ScenarioResult]) -> str:
    rows = [list(COLUMNS), *(_row(result) for result in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i == 1 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_table(results: list[ScenarioResult]) -> str:
    lines = ["| " + " | ".join(COLUMNS[:-1]) + " |", "|" + "---|" * (len(COLUMNS) - 1)]
    lines.extend("| " + " | ".join(_row(result)[:-1]) + " |" for result in results)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="The reliability and security matrix against the local sandbox.")
    parser.add_argument("--short", action="store_true", help="small trial counts (the form tests/chaos runs)")
    parser.add_argument("--only", default="", help="comma-separated scenario numbers (default: all)")
    args = parser.parse_args()
    wanted = {int(part) for part in args.only.split(",") if part.strip()}

    matrix = Matrix(short=args.short)
    results: list[ScenarioResult] = []
    started = time.monotonic()
    print(f"Chaos matrix ({'short' if args.short else 'full'} form), sandbox on loopback", flush=True)
    try:
        for number, name, scenario in SCENARIOS:
            if wanted and number not in wanted:
                continue
            result = matrix.run(scenario, number, name)
            results.append(result)
            verdict = "ok" if result.ok else "FAILED"
            print(
                f"  [{number:>2}] {name}: {verdict} in {result.wall_s:.1f}s (trials={result.trials} "
                f"items={result.items} duplicates={result.duplicates} lost={result.lost} leaks={result.leaks})",
                flush=True,
            )
            for failure in result.failures[:10]:
                print(f"       - {failure[:400]}", flush=True)
    finally:
        matrix.close()
    total = time.monotonic() - started
    results.sort(key=lambda result: result.number)

    print("\n" + text_table(results))
    print(f"\nTotal wall time: {total:.1f}s on {os.cpu_count()} CPU(s).")
    print("\nNotes:")
    for result in results:
        for note in result.notes:
            print(f"  {result.number}. {note}")
    print("\nMarkdown (for the README):\n")
    print(markdown_table(results))

    path = write_results(
        "chaos-short" if args.short else "chaos",
        {
            "form": "short" if args.short else "full",
            "command": "python benchmarks/chaos.py" + (" --short" if args.short else ""),
            "wall_s": round(total, 1),
            "ok": all(result.ok for result in results),
            "scenarios": [result.to_dict() for result in results],
        },
    )
    print(f"\nWrote {path.relative_to(ROOT)}")
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
