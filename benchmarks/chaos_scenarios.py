"""The reliability and security matrix ("exactly once, nothing lost, nothing leaked"), one function per scenario.

Each scenario starts its own sandbox on loopback, drives the provider's real code paths against it (the bulk and
single operators with a complete task context, the hook, the CRM hook and operator), and returns a
:class:`~benchmarks.chaos_support.ScenarioResult`: trials, items, duplicates, lost, leaks, wall time, and every
check that failed. ``benchmarks/chaos.py`` runs the full matrix (``make chaos``); ``tests/chaos`` runs each
scenario in its short form (``short=True``) as part of ``make test``.

Definitions used in the table:

* **duplicates**: records beyond one per idempotency key in the sandbox's ledger (plus records of keys no item
  should have), for webhooks: deliveries stored beyond one per ``webhook-id``;
* **lost**: items that should exist at the end and have no record (for scenarios where items are meant to fail,
  items that are neither created nor named in the task's per-item failure report);
* **leaks**: occurrences of the canary client secret, the canary CRM signing secret or any token the sandbox
  issued, in the logs, XCom values, audit records, exception texts and audit/journal files of the scenario.
"""

from __future__ import annotations

import os
import random
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.chaos_support import (
    DAG_ID,
    TASK_ID,
    Canaries,
    Evidence,
    ForkServer,
    ScenarioResult,
    captured_output,
    connection_env,
    expected_keys,
    items_for,
    read_result,
    run_bulk,
    sandbox,
    scenario_environment,
    tally,
    write_jsonl,
)

INTERACTIONS = "POST /api/v2/interactions"


class Matrix:
    """Runs scenarios with shared canaries; keeps every scenario's evidence for the matrix-wide secret scan."""

    def __init__(self, *, short: bool, canaries: Canaries | None = None) -> None:
        self.short = short
        self.canaries = canaries or Canaries()
        self.evidence = Evidence()

    def run(self, scenario: Callable[[Matrix, Evidence, ScenarioResult], None], number: int, name: str) -> ScenarioResult:
        """Run one scenario with its output captured, then scan what it produced for secrets."""
        result = ScenarioResult(number=number, name=name)
        evidence = Evidence()
        started = time.monotonic()
        with captured_output(evidence, f"scenario {number}"):
            try:
                scenario(self, evidence, result)
            except Exception as error:  # a crash of the harness or of the code under test: reported, not hidden
                evidence.add_exception(f"scenario {number} crash", error)
                result.check(False, f"crashed: {type(error).__name__}: {error}")
        result.wall_s = time.monotonic() - started
        hits = evidence.scan(self.canaries)
        result.leaks += len(hits)
        result.details["scanned"] = evidence.volume()
        if hits:
            result.details["leak_sources"] = sorted({str(hit) for hit in hits})[:20]
        self.evidence.extend(evidence)
        return result


def _work_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"genesys-chaos-{prefix}-"))


# == 1. SIGKILL at random points, then the same task again in the same DAG run ================================


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
    work = _work_dir("kill")
    kill_points: list[dict[str, Any]] = []
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url) as state_dir,
    ):
        conn = connection_env("chaos_kill", box.base_url, matrix.canaries)
        env = {**conn, "GENESYS_PROVIDER_STATE_DIR": str(state_dir)}
        box.faults(latency_ms=3)  # a few ms per request, so that a kill point lands where it was aimed
        with ForkServer(work, env) as forks:
            for trial in range(trials):
                box.reset()
                box.faults(latency_ms=3)
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
                    f"trial {trial}: re-run summary {({k: summary.get(k) for k in ('created', 'replayed', 'failed')})}",
                )
                result.check(
                    summary.get("replayed", 0) <= at_kill + 8,
                    f"trial {trial}: {summary.get('replayed')} replays for {at_kill} records at the kill",
                )
        for log in forks.logs():
            evidence.add_file(log)
    result.details["kill_points"] = kill_points
    result.details["records_at_kill"] = sorted(point["records_at_kill"] for point in kill_points)
    result.notes.append(
        "each run is a separate task process forked from a warm fork server, executing the bulk operator with a "
        "complete Airflow 3 context (ti.dag_id/task_id/run_id/map_index/try_number, xcom_push); no scheduler or "
        "dag.test(); re-run = try 2 of the same task in the same DAG run"
    )


# == helpers of the in-process scenarios ========================================================================


def _bulk(
    evidence: Evidence,
    work: Path,
    *,
    conn_id: str,
    kind: str,
    items: list[dict[str, Any]],
    run_id: str,
    try_number: int = 1,
    prepare: Callable[[Any], None] | None = None,
    **job: Any,
) -> Any:
    source = write_jsonl(work / f"{run_id}-{kind}-try{try_number}.jsonl", items)
    return run_bulk(
        {
            "conn_id": conn_id,
            "kind": kind,
            "source": str(source),
            "run_id": run_id,
            "try_number": try_number,
            "audit_dir": str(work / "audit"),
            "max_concurrency": job.pop("max_concurrency", 8),
            **job,
        },
        evidence,
        prepare,
    )


def _account(result: ScenarioResult, box: Any, kind: str, items: list[dict[str, Any]], run_id: str) -> tuple[int, int]:
    duplicates, lost = tally(box.creates_by_key(kind), expected_keys(kind, items, run_id))
    result.duplicates += duplicates
    result.lost += lost
    return duplicates, lost


# == 2. creates that commit and then lose their connection =====================================================


def commit_then_drop(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """10% of creates commit and then drop the connection (the client never hears the answer).

    Interactions (server-side Idempotency-Key) and workitems (lookup by externalTag) must end with every item
    created exactly once within the task. Callbacks and inbound emails cannot be looked up, so a lost answer
    is never re-sent: the record exists once, and the item is reported as ``outcome unknown`` (never a second
    record); a second try of the task re-sends nothing for those keys.
    """
    sizes = {"interaction": 60, "workitem": 40, "callback": 30, "email": 30}
    if not matrix.short:
        sizes = {"interaction": 600, "workitem": 300, "callback": 150, "email": 150}
    work = _work_dir("drop")
    per_kind: dict[str, Any] = {}
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_drop={}) as _state,
    ):
        for kind, count in sizes.items():
            box.faults(drop_after_commit_rate=0.10, seed=2 + count)
            items = items_for(kind, count, seed=count)
            run_id = f"manual__chaos_drop_{kind}"
            first = _bulk(evidence, work, conn_id="chaos_drop", kind=kind, items=items, run_id=run_id)
            route = {
                "interaction": INTERACTIONS,
                "workitem": "POST /api/v2/taskmanagement/workitems",
                "callback": "POST /api/v2/conversations/callbacks",
                "email": "POST /api/v2/conversations/emails",
            }[kind]
            dropped = box.route(route).get("dropped", 0)
            # the same task again in the same DAG run (try 2): nothing may be created twice
            box.faults()
            second = _bulk(evidence, work, conn_id="chaos_drop", kind=kind, items=items, run_id=run_id, try_number=2)
            duplicates, lost = _account(result, box, kind, items, run_id)
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
                    for item in (first.summary or {}).get("items") or []
                    if item["outcome"] == "failed" and item.get("error_code") == "outcome.unknown"
                ]
                result.check(
                    len(unknown) == dropped and outcomes.get("created", 0) == count - dropped,
                    f"{kind}: {len(unknown)} outcome-unknown failures for {dropped} drops ({outcomes})",
                )
                result.check(
                    second.outcomes().get("replayed", 0) == count - dropped,
                    f"{kind}: try 2 outcomes {second.outcomes()}",
                )
    result.details["per_kind"] = per_kind
    result.notes.append(
        "interaction + workitem: every item created within the task; callback + email (no lookup in Genesys): a "
        "dropped answer leaves one record and the item reported 'outcome unknown', never re-sent"
    )


# == 3. 429 storms =============================================================================================


class RequestRecorder:
    """Wraps a hook's ``requests.Session`` to record when each request left, when its answer came, and what it was."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def install(self, operator: Any) -> None:
        session = operator.hook.session
        original = session.request

        def request(method: str, url: str, **kwargs: Any) -> Any:
            key = (kwargs.get("headers") or {}).get("Idempotency-Key")
            started = time.monotonic()
            status = retry_after = None
            try:
                response = original(method, url, **kwargs)
                status = response.status_code
                retry_after = response.headers.get("Retry-After")
                return response
            finally:
                with self._lock:
                    self.calls.append(
                        {
                            "key": key,
                            "url": url,
                            "start": started,
                            "end": time.monotonic(),
                            "status": status,
                            "retry_after": None if retry_after is None else float(retry_after),
                        }
                    )

        session.request = request

    def waits_after_429(self) -> tuple[list[float], int]:
        """(wait − Retry-After for every retried 429 of a key, requests sent during another request's pause)."""
        margins: list[float] = []
        by_key: dict[str, list[dict[str, Any]]] = {}
        for call in self.calls:
            if call["key"]:
                by_key.setdefault(call["key"], []).append(call)
        for calls in by_key.values():
            calls.sort(key=lambda call: call["start"])
            for before, after in zip(calls, calls[1:]):
                if before["status"] == 429 and before["retry_after"] is not None:
                    margins.append(after["start"] - before["end"] - before["retry_after"])
        early = 0
        throttles = [call for call in self.calls if call["status"] == 429 and call["retry_after"]]
        api_calls = [call for call in self.calls if "/api/v2/" in call["url"]]
        for throttle in throttles:
            window_start, window_end = throttle["end"] + 0.05, throttle["end"] + throttle["retry_after"] - 0.01
            early += sum(1 for call in api_calls if window_start < call["start"] < window_end)
        return margins, early


def throttle_storms(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """429 storms with Retry-After: random 429s, a total storm that ends, and a Retry-After beyond 180 s.

    Every retry of a throttled request waits at least its Retry-After (measured on the wire, per key), no
    thread sends while a Retry-After pause is running, every item is created once the storm ends; a
    Retry-After of 600 s is a clear "daily quota" error after a handful of requests (no hammering), and the
    next try after the quota comes back creates everything exactly once.
    """
    random_items, storm_items, quota_items = (30, 20, 24) if matrix.short else (150, 100, 100)
    storm_seconds = 1.5 if matrix.short else 3.0
    concurrency = 8
    work = _work_dir("429")
    phases: dict[str, Any] = {}
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_429={}) as _state,
    ):
        # A: random 429s (15% of API requests), Retry-After 1 s
        box.faults(rate_429=0.15, retry_after=1, seed=3)
        items = items_for("interaction", random_items, seed=31)
        recorder = RequestRecorder()
        run = _bulk(evidence, work, conn_id="chaos_429", kind="interaction", items=items, run_id="manual__429_random",
                    prepare=recorder.install, max_concurrency=concurrency)
        margins, early = recorder.waits_after_429()
        _account(result, box, "interaction", items, "manual__429_random")
        phases["random"] = {"items": random_items, "throttled": len(margins), "early_sends": early,
                            "min_wait_minus_retry_after_s": round(min(margins), 4) if margins else None,
                            "outcomes": run.outcomes(), "wall_s": round(run.wall_s, 2)}
        result.check(len(margins) >= 3, f"random storm: only {len(margins)} throttled retries")
        result.check(all(m >= 0 for m in margins), f"random storm: a retry came early ({min(margins, default=0):.3f}s)")
        result.check(early == 0, f"random storm: {early} request(s) sent during a Retry-After pause")
        result.check(run.outcomes().get("created") == random_items, f"random storm: outcomes {run.outcomes()}")

        # B: every API request answered 429 for a while; the storm ends; everything must be created
        box.faults(rate_429=1.0, retry_after=1)
        timer = threading.Timer(storm_seconds, lambda: box.faults())
        timer.start()
        items = items_for("interaction", storm_items, seed=32)
        recorder = RequestRecorder()
        try:
            run = _bulk(evidence, work, conn_id="chaos_429", kind="interaction", items=items,
                        run_id="manual__429_storm", prepare=recorder.install, max_concurrency=concurrency)
        finally:
            timer.cancel()
            timer.join()
        margins, early = recorder.waits_after_429()
        _account(result, box, "interaction", items, "manual__429_storm")
        phases["storm"] = {"items": storm_items, "storm_s": storm_seconds, "throttled": len(margins),
                           "early_sends": early,
                           "min_wait_minus_retry_after_s": round(min(margins), 4) if margins else None,
                           "outcomes": run.outcomes(), "wall_s": round(run.wall_s, 2)}
        result.check(all(m >= 0 for m in margins), f"total storm: a retry came early ({min(margins, default=0):.3f}s)")
        result.check(early == 0, f"total storm: {early} request(s) sent during a Retry-After pause")
        result.check(run.outcomes().get("created") == storm_items, f"total storm: outcomes {run.outcomes()}")
        result.check(run.wall_s >= storm_seconds, "total storm: the run finished before the storm ended")

        # C: Retry-After 600 s (> 180 s): a daily quota; stop at once, report every item, then resume
        box.faults(rate_429=1.0, retry_after=600)
        items = items_for("interaction", quota_items, seed=33)
        before = sum(box.route(INTERACTIONS).values())
        run = _bulk(evidence, work, conn_id="chaos_429", kind="interaction", items=items, run_id="manual__429_quota",
                    max_concurrency=concurrency)
        sent = sum(box.route(INTERACTIONS).values()) - before
        failed = [item for item in (run.summary or {}).get("items") or [] if item["outcome"] == "failed"]
        phases["quota"] = {"items": quota_items, "requests": sent, "failed": len(failed), "wall_s": round(run.wall_s, 2),
                           "error_excerpt": (run.error or "")[:240]}
        result.check(sent <= concurrency, f"quota: {sent} requests sent after a Retry-After of 600 s (hammering)")
        result.check(len(failed) == quota_items, f"quota: {len(failed)} of {quota_items} items reported failed")
        result.check("daily" in (run.error or "") and "quota" in (run.error or ""),
                     f"quota: the error does not say 'daily quota': {(run.error or '')[:200]}")
        result.check(run.wall_s < 10, f"quota: took {run.wall_s:.1f}s")
        box.faults()  # the quota is back
        resumed = _bulk(evidence, work, conn_id="chaos_429", kind="interaction", items=items,
                        run_id="manual__429_quota", try_number=2, max_concurrency=concurrency)
        _account(result, box, "interaction", items, "manual__429_quota")
        phases["quota"]["resumed"] = resumed.outcomes()
        result.check(resumed.outcomes().get("created") == quota_items, f"quota: try 2 outcomes {resumed.outcomes()}")
    result.trials = 4
    result.items = random_items + storm_items + quota_items
    result.details["phases"] = phases
    result.notes.append(
        "waits measured on the wire per key; a 429 pauses every thread of the hook; Retry-After 600 s → "
        "'daily quota' error, then try 2 creates all"
    )


# == 4. 5xx: intermittent, and a route that always fails ======================================================


def server_errors(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """20% of API requests answer 502/503/504; then a create route that always answers 503.

    Intermittent errors: every item is created within the hook's bounded attempts (max_attempts=8 here, so that
    a run of several hundred items does not, by chance, meet 8 failures in a row: 0.2^8 per item). Interactions
    and workitems (whose retries look the key up first, the lookups also failing 20% of the time). A route that
    always fails: every item fails after exactly max_attempts (5) requests, the task's failure report names every
    item, and the total time stays within the backoff budget.
    """
    per_status = 20 if matrix.short else 150
    always = 12 if matrix.short else 40
    work = _work_dir("5xx")
    phases: dict[str, Any] = {}
    bounded = {"max_attempts": 8}
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_5xx=bounded, chaos_503={}) as _state,
    ):
        for index, (kind, status) in enumerate(
            [("interaction", 502), ("interaction", 503), ("interaction", 504), ("workitem", 503)]
        ):
            box.faults(error_rate=0.2, error_status=status, seed=40 + index)
            items = items_for(kind, per_status, seed=40 + index)
            run_id = f"manual__5xx_{kind}_{status}"
            run = _bulk(evidence, work, conn_id="chaos_5xx", kind=kind, items=items, run_id=run_id)
            duplicates, lost = _account(result, box, kind, items, run_id)
            errors = sum(count for route, counts in box.requests_by_route().items() for code, count in counts.items()
                         if code == str(status))
            box.reset()
            max_attempts = max((a["attempts"] for a in _audits(run)), default=0)
            phases[f"{kind}_{status}"] = {"items": per_status, "injected": errors, "outcomes": run.outcomes(),
                                          "max_attempts_per_item": max_attempts}
            result.check(errors > 0, f"{kind} {status}: no error was injected")
            result.check(run.outcomes().get("failed", 0) == 0 and run.error is None,
                         f"{kind} {status}: {run.outcomes()} {(run.error or '')[:300]}")
            result.check(max_attempts <= 8, f"{kind} {status}: an item took {max_attempts} attempts")
            result.items += per_status
            result.trials += 1

        for kind, prefix, route in [
            ("interaction", "/api/v2/interactions", INTERACTIONS),
            ("workitem", "/api/v2/taskmanagement/workitems", "POST /api/v2/taskmanagement/workitems"),
        ]:
            box.reset()
            box.faults(error_rate=1.0, error_status=503, route_prefix=prefix)
            items = items_for(kind, always, seed=49)
            run_id = f"manual__503_{kind}"
            concurrency = 4
            run = _bulk(evidence, work, conn_id="chaos_503", kind=kind, items=items, run_id=run_id,
                        max_concurrency=concurrency)
            failed = [item for item in (run.summary or {}).get("items") or [] if item["outcome"] == "failed"]
            named = [item for item in items if f"external_id={item['external_id']!r}" in (run.error or "")]
            posts = sum(box.route(route).values())
            # backoff budget: 4 waits of at most min(0.2, 0.05 * 3^n) s per item, items spread over the threads
            budget = -(-always // concurrency) * (0.05 + 0.15 + 0.2 + 0.2 + 5 * 0.2) + 5.0
            duplicates, _lost = tally(box.creates_by_key(kind), expected_keys(kind, items, run_id))
            result.duplicates += duplicates
            unaccounted = len(items) - len(failed) - sum(1 for i in (run.summary or {}).get("items") or []
                                                          if i["outcome"] in ("created", "replayed"))
            result.lost += max(0, unaccounted)
            phases[f"always_503_{kind}"] = {"items": always, "failed": len(failed), "named_in_error": len(named),
                                           "create_requests": posts, "wall_s": round(run.wall_s, 2),
                                           "budget_s": round(budget, 2), "error_type": run.error_type}
            result.check(len(failed) == always, f"always-503 {kind}: {len(failed)} of {always} reported failed")
            result.check(all(item.get("http_status") == 503 for item in failed),
                         f"always-503 {kind}: statuses {sorted({str(i.get('http_status')) for i in failed})}")
            result.check(len(named) == always, f"always-503 {kind}: the report names {len(named)} of {always} items")
            result.check(posts == always * 5, f"always-503 {kind}: {posts} create requests for {always} items x 5")
            result.check(run.wall_s <= budget, f"always-503 {kind}: {run.wall_s:.1f}s > budget {budget:.1f}s")
            result.items += always
            result.trials += 1
    result.details["phases"] = phases
    result.notes.append("intermittent: max_attempts=8; always-503: max_attempts=5, backoff 0.05 s x3 capped at 0.2 s")


def _audits(run: Any) -> list[dict[str, Any]]:
    audits = run.xcom.get("genesys_audit")
    return [audit for audit in audits if isinstance(audit, dict)] if isinstance(audits, list) else []
