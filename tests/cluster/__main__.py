"""``python -m tests.cluster`` (``make cluster-test``): bring the cluster up, run the scenarios, judge, tear down.

Prints progress, the path of the log folder, every check (failures with their reasons), the timings, and as its
last line::

    cluster: executor=CeleryExecutor workers=<w1>,<w2> tries=<task>:<worker>[,…] created=<n> duplicates=0 lost=0

The exit status is 0 only if every check held, nothing was created twice and nothing was lost. Every process is
stopped at exit, also after a failure, an exception, Ctrl-C or SIGTERM. ``--up`` only brings the cluster up and
keeps it running (UI on the printed URL) until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from tests.cluster.deployment import WORKERS, Cluster
from tests.cluster.layout import ROOT, ClusterLayout
from tests.cluster.scenarios import REQUIRED_DAGS, Report, Scenarios
from tests.cluster.settings import SEARCH_INDEXING_DELAY
from tests.cluster.verdict import Check, LedgerTally, ledger_checks, passed, summary_line, tally_ledger

STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=ROOT / ".cluster", help="working folder (default: %(default)s)")
    parser.add_argument("--up", action="store_true", help="only bring the cluster up and keep it running")
    args = parser.parse_args(argv)
    layout = ClusterLayout(args.dir.resolve())
    # Airflow code imported by the harness itself (to read the DAG files) gets a home of its own, too
    os.environ["AIRFLOW_HOME"] = str(layout.node_home("harness"))
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)

    sandbox_args = [
        *("--quota", "6000", "--crm-mode", "async", "--crm-async-delay", "1", "--bulk-job-seconds", "30"),
        # a new conversation becomes searchable by participant attribute only after a delay, as in Genesys
        *("--search-indexing-delay", str(SEARCH_INDEXING_DELAY)),
    ]
    cluster = Cluster(layout, sandbox_args=sandbox_args, required_dags=REQUIRED_DAGS)
    report = Report()
    tally: LedgerTally | None = None
    status = 1
    log(f"logs: {layout.logs}")
    try:
        log("bringing the cluster up (PostgreSQL, Redis, sandbox, Airflow: api-server, scheduler, dag-processor,")
        log("triggerer, worker-a, worker-b)")
        cluster.up()
        log(f"cluster up in {cluster.timings['up: total']:.1f}s: UI and REST API at {cluster.settings.api_url}")
        if args.up:
            log("up; Ctrl-C stops everything")
            while True:
                cluster.check()
                time.sleep(2)
        scenarios = Scenarios(cluster, log, report)
        scenarios.run_all()
        tally = tally_ledger(scenarios.sandbox.ledger(), report.expected)
        status = 0 if passed(report.checks, tally) else 1
    except KeyboardInterrupt as interrupt:
        log(f"interrupted ({interrupt or 'SIGINT'}); tearing down")
        report.checks.append(Check("the run completed", False, "interrupted"))
        status = 130
    except Exception as error:
        log(f"failed: {type(error).__name__}: {error}")
        report.checks.append(Check("the run completed", False, f"{type(error).__name__}: {error}"))
        status = 1
    finally:
        log("tearing down")
        cluster.down()
    if cluster.leftovers:
        report.checks.append(Check("every process stopped", False, "; ".join(cluster.leftovers)))
        status = status or 1
    _print_report(report, tally, cluster.timings)
    print(f"logs: {layout.logs}")
    print(
        summary_line(
            executor="CeleryExecutor",
            workers=WORKERS,
            tries=[(t.task_id, t.hostname or "?") for t in report.tries],
            tally=tally,
        ),
        flush=True,
    )
    return status


def _print_report(report: Report, tally: LedgerTally | None, timings: dict[str, float]) -> None:
    print("checks:")
    for check in report.checks:
        print(f"  {check.render()}")
    for check in ledger_checks(tally):
        print(f"  {check.render()}")
    for note in report.notes:
        print(f"  note: {note}")
    print("timings:")
    for name, seconds in {**timings, **report.timings}.items():
        print(f"  {name}: {seconds:.1f}s")
    print(f"  whole run: {time.monotonic() - STARTED:.1f}s")


if __name__ == "__main__":
    sys.exit(main())
