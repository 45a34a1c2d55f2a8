"""Generate realistic interaction rows (JSON lines) for the example DAG, the tests and the benchmarks.

    python benchmarks/datagen.py --count 1000 --invalid 7 --out example_dags/data/interactions.jsonl

Rows are deterministic for a given seed. Valid rows target the sandbox's seeded queues and skills; invalid rows
break one documented rule each (and one line is not JSON at all), so a run shows how bad input is reported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.payloads import rows  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--invalid", type=int, default=0)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as handle:
        for line in rows(args.count, invalid=args.invalid, seed=args.seed):
            handle.write(line + "\n")
    print(f"wrote {args.count} rows ({args.invalid} invalid) to {args.out}")


if __name__ == "__main__":
    main()
