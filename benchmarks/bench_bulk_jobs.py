"""Figure 7: 10,000 workitems through bulk add jobs under Genesys' default quota (300 requests/min per token).

    uv run --no-sync python benchmarks/bench_bulk_jobs.py [--runs 1] [--items 10000]

The bulk-jobs operator's own run (``GenesysBulkAddWorkitemsOperator``: validate, create each job ``Idle``, write
it to the job log, queue it, read the results by position) against the sandbox in a child process that enforces
300 requests per token per sliding minute, with the connection paced at 300/min. Jobs hold 50 entities (Genesys'
documented maximum). Two scenarios per run:

* **clean** — every entity is created;
* **1% rejected** — the sandbox's jobs reject 1% of the entities (``bulk_reject_rate=0.01``): each rejected item
  must be reported failed with the job's error code, every other item created exactly once.

Measured: API requests (the sandbox's request log, ``/api/v2/...`` only) per created record, wall time (the token
fetched before the clock starts), duplicate ``externalTag`` values in the sandbox's ledger. Goal: at most 0.02
requests per record. Floor of the protocol: a job costs at least 3 requests (create, queue, results) for at most
50 records, i.e. 0.06 per record.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_figure, private_tmp, sandbox_process, use_connection, write_results

from airflow_provider_genesys.creation.bulk_jobs import MAX_ENTITIES_PER_JOB
from airflow_provider_genesys.creation.bulk_jobs_run import BulkJobLog, BulkJobsRun
from airflow_provider_genesys.creation.bulk_run import BulkOptions
from airflow_provider_genesys.creation.inputs import BulkInput
from airflow_provider_genesys.creation.kinds import WORKITEM_BULK_JOBS
from airflow_provider_genesys.creation.state import LocalStateStore
from airflow_provider_genesys.creation.task import TaskIdentity
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook, clear_token_cache
from genesys_sandbox import seeds

QUOTA = 300
ITEMS = 10_000
REJECT_RATE = 0.01
GOAL = 0.02
REJECTED_CODE = "entity.rejected"  # what the sandbox's jobs answer for a rejected entity


def _items(count: int) -> list[dict[str, Any]]:
    queues = (seeds.QUEUE_SUPPORT_ID, seeds.QUEUE_SALES_ID, seeds.QUEUE_BILLING_ID)
    return [
        {
            "external_id": f"ORDER-{number:06d}",
            "name": f"Follow up on order {number}",
            "typeId": seeds.WORKTYPE_ID,
            "queueId": queues[number % 3],
            "skillIds": [seeds.SKILL_ENGLISH_ID],
            "priority": number % 10,
            "description": "bench_bulk_jobs",
        }
        for number in range(count)
    ]


def _api_requests(sandbox: Any) -> int:
    by_route = sandbox.requests_summary()["by_route"]
    return sum(sum(counts.values()) for route, counts in by_route.items() if " /api/v2/" in route)


def scenario(sandbox: Any, *, items: int, reject_rate: float, run: int, state_dir: str) -> dict[str, Any]:
    """One bulk-jobs execution of ``items`` workitems; what it cost and what the sandbox holds afterwards."""
    sandbox.reset()
    sandbox.faults(bulk_reject_rate=reject_rate, seed=20261202 + run)
    use_connection(sandbox.base_url, requests_per_minute=QUOTA)
    clear_token_cache()
    task = TaskIdentity("bench_bulk_jobs", "add", f"run-{run}-{reject_rate}", -1, 1)
    hook = GenesysCloudHook()
    hook.get_token()  # the token is not part of the measured wall time
    bulk = BulkJobsRun(  # what GenesysBulkAddWorkitemsOperator runs, with its defaults
        hook,
        WORKITEM_BULK_JOBS,
        task,
        BulkInput(interactions=_items(items)),
        options=BulkOptions(),
        batch_size=MAX_ENTITIES_PER_JOB,
        poll_interval=1.0,
        job_log=BulkJobLog.open(LocalStateStore(Path(state_dir) / task.scope), task, WORKITEM_BULK_JOBS.name),
    )

    started = time.perf_counter()
    valid, invalid = bulk.validate()
    state = bulk.submit(valid, resumed=False)
    bulk.wait(state)
    result = bulk.finish(state)
    wall = time.perf_counter() - started

    assert result.summary is not None and not invalid
    summary = result.summary
    failed = [item for item in summary.items or [] if item.outcome == "failed"]
    ledger = sandbox.ledger()
    creates = ledger["by_kind"].get("workitem", {}).get("creates_by_key", {})
    keys = {item.key for item in summary.items or []}
    failed_keys = {item.key for item in failed}
    requests = _api_requests(sandbox)
    return {
        "items": items,
        "reject_rate": reject_rate,
        "wall_s": round(wall, 2),
        "jobs": len(state.jobs),
        "created": summary.created,
        "failed": len(failed),
        "failed_codes": sorted({str(item.error_code) for item in failed}),
        "api_requests": requests,
        "client_requests": hook.requests_sent,
        "throttled_429": hook.throttled,
        "requests_per_record": round(requests / summary.created, 4) if summary.created else None,
        "duplicates": int(ledger["duplicates"]),
        "records": len(ledger["records"]),
        # every item either created exactly once, or failed with the job's code and absent from Genesys
        "every_other_item_created_once": set(creates) == keys - failed_keys and all(c == 1 for c in creates.values()),
        "every_rejection_reported_with_its_code": all(item.error_code == REJECTED_CODE for item in failed)
        and not failed_keys & set(creates),
    }


def main() -> int:
    private_tmp("genesys-bench-")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--items", type=int, default=ITEMS)
    args = parser.parse_args()
    print(
        f"Figure 7: {args.items} workitems in bulk add jobs of {MAX_ENTITIES_PER_JOB}, sandbox quota {QUOTA}/min per "
        f"token, client paced at {QUOTA}/min; clean, then {REJECT_RATE:.0%} of the entities rejected",
        flush=True,
    )
    runs: list[dict[str, Any]] = []
    with sandbox_process(quota=QUOTA) as sandbox:
        for run in range(1, args.runs + 1):
            for rate in (0.0, REJECT_RATE):
                result = scenario(sandbox, items=args.items, reject_rate=rate, run=run, state_dir=tempfile.mkdtemp())
                runs.append(result)
                print(
                    f"  run {run}, {rate:.0%} rejected: wall {result['wall_s']:.1f} s, {result['jobs']} jobs, "
                    f"created {result['created']}, failed {result['failed']} {result['failed_codes']}, "
                    f"{result['api_requests']} API requests = {result['requests_per_record']} per record, "
                    f"429s {result['throttled_429']}, duplicates {result['duplicates']}, "
                    f"others once: {result['every_other_item_created_once']}, "
                    f"rejections with code: {result['every_rejection_reported_with_its_code']}",
                    flush=True,
                )
    clean = [r for r in runs if r["reject_rate"] == 0]
    rejecting = [r for r in runs if r["reject_rate"] > 0]
    correct = all(
        r["duplicates"] == 0 and r["every_other_item_created_once"] and r["every_rejection_reported_with_its_code"]
        for r in runs
    ) and all(r["created"] == r["items"] for r in clean)
    worst = max(r["requests_per_record"] or 0 for r in runs)
    clean_text = ", ".join("{requests_per_record} req/record, {wall_s:.0f} s".format(**r) for r in clean)
    rejecting_text = ", ".join(
        "{failed} rejected (codes {failed_codes}), {created} created once, {requests_per_record} req/record, "
        "{wall_s:.0f} s".format(**r)
        for r in rejecting
    )
    figure: dict[str, Any] = {
        "measured": (
            f"clean: {clean_text}; {REJECT_RATE:.0%} rejected: {rejecting_text}; "
            f"duplicates {sum(r['duplicates'] for r in runs)}"
        ),
        "goal": f"<= {GOAL} API requests per created record; 0 duplicates; rejections reported with their code",
        "met": correct and worst <= GOAL,
    }
    title = f"{args.items} workitems through bulk add jobs at {QUOTA}/min"
    print_figure(7, title, figure["measured"], figure["goal"], figure["met"])
    path = write_results("fig7_bulk_jobs", {"runs": runs, "correct": correct, "figure": figure})
    print(f"  results: {path}")
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
