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

import contextlib
import itertools
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
        self._forks: ForkServer | None = None

    def forks(self) -> ForkServer:
        """The fork server of task processes (started on first use, shared by the scenarios that kill)."""
        if self._forks is None:
            self._forks = ForkServer(_work_dir("forks")).__enter__()
        return self._forks

    def close(self) -> None:
        """Stop the fork server."""
        if self._forks is not None:
            self._forks.__exit__(None, None, None)
            self._forks = None

    def run(
        self, scenario: Callable[[Matrix, Evidence, ScenarioResult], None], number: int, name: str
    ) -> ScenarioResult:
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
        """(wait - Retry-After for every retried 429 of a key, requests sent during another request's pause)."""
        margins: list[float] = []
        by_key: dict[str, list[dict[str, Any]]] = {}
        for call in self.calls:
            if call["key"]:
                by_key.setdefault(call["key"], []).append(call)
        for calls in by_key.values():
            calls.sort(key=lambda call: call["start"])
            for before, after in itertools.pairwise(calls):
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
        run = _bulk(
            evidence,
            work,
            conn_id="chaos_429",
            kind="interaction",
            items=items,
            run_id="manual__429_random",
            prepare=recorder.install,
            max_concurrency=concurrency,
        )
        margins, early = recorder.waits_after_429()
        _account(result, box, "interaction", items, "manual__429_random")
        phases["random"] = {
            "items": random_items,
            "throttled": len(margins),
            "early_sends": early,
            "min_wait_minus_retry_after_s": round(min(margins), 4) if margins else None,
            "outcomes": run.outcomes(),
            "wall_s": round(run.wall_s, 2),
        }
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
            run = _bulk(
                evidence,
                work,
                conn_id="chaos_429",
                kind="interaction",
                items=items,
                run_id="manual__429_storm",
                prepare=recorder.install,
                max_concurrency=concurrency,
            )
        finally:
            timer.cancel()
            timer.join()
        margins, early = recorder.waits_after_429()
        _account(result, box, "interaction", items, "manual__429_storm")
        phases["storm"] = {
            "items": storm_items,
            "storm_s": storm_seconds,
            "throttled": len(margins),
            "early_sends": early,
            "min_wait_minus_retry_after_s": round(min(margins), 4) if margins else None,
            "outcomes": run.outcomes(),
            "wall_s": round(run.wall_s, 2),
        }
        result.check(all(m >= 0 for m in margins), f"total storm: a retry came early ({min(margins, default=0):.3f}s)")
        result.check(early == 0, f"total storm: {early} request(s) sent during a Retry-After pause")
        result.check(run.outcomes().get("created") == storm_items, f"total storm: outcomes {run.outcomes()}")
        result.check(run.wall_s >= storm_seconds, "total storm: the run finished before the storm ended")

        # C: Retry-After 600 s (> 180 s): a daily quota; stop at once, report every item, then resume
        box.faults(rate_429=1.0, retry_after=600)
        items = items_for("interaction", quota_items, seed=33)
        before = sum(box.route(INTERACTIONS).values())
        run = _bulk(
            evidence,
            work,
            conn_id="chaos_429",
            kind="interaction",
            items=items,
            run_id="manual__429_quota",
            max_concurrency=concurrency,
        )
        sent = sum(box.route(INTERACTIONS).values()) - before
        failed = [item for item in (run.summary or {}).get("items") or [] if item["outcome"] == "failed"]
        phases["quota"] = {
            "items": quota_items,
            "requests": sent,
            "failed": len(failed),
            "wall_s": round(run.wall_s, 2),
            "error_excerpt": (run.error or "")[:240],
        }
        result.check(sent <= concurrency, f"quota: {sent} requests sent after a Retry-After of 600 s (hammering)")
        result.check(len(failed) == quota_items, f"quota: {len(failed)} of {quota_items} items reported failed")
        result.check(
            "daily" in (run.error or "") and "quota" in (run.error or ""),
            f"quota: the error does not say 'daily quota': {(run.error or '')[:200]}",
        )
        result.check(run.wall_s < 10, f"quota: took {run.wall_s:.1f}s")
        box.faults()  # the quota is back
        resumed = _bulk(
            evidence,
            work,
            conn_id="chaos_429",
            kind="interaction",
            items=items,
            run_id="manual__429_quota",
            try_number=2,
            max_concurrency=concurrency,
        )
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
    a run of several hundred items rarely meets 8 failures in a row: 0.2^8 per item; when one does, the task is
    retried once, as Airflow would, and that item is created then). Interactions and workitems (whose retries look
    the key up first, the lookups also failing 20% of the time). A route that
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
            task_retries = 0
            if run.outcomes().get("failed", 0):
                # bounded attempts can all meet a 5xx (0.2^8 per item): Airflow's task retry re-sends that item
                task_retries = 1
                run = _bulk(evidence, work, conn_id="chaos_5xx", kind=kind, items=items, run_id=run_id, try_number=2)
            _account(result, box, kind, items, run_id)
            errors = sum(
                count
                for route, counts in box.requests_by_route().items()
                for code, count in counts.items()
                if code == str(status)
            )
            box.reset()
            max_attempts = max((a["attempts"] for a in _audits(run)), default=0)
            phases[f"{kind}_{status}"] = {
                "items": per_status,
                "injected": errors,
                "outcomes": run.outcomes(),
                "max_attempts_per_item": max_attempts,
                "task_retries": task_retries,
            }
            result.check(errors > 0, f"{kind} {status}: no error was injected")
            result.check(
                run.outcomes().get("failed", 0) == 0 and run.error is None,
                f"{kind} {status}: {run.outcomes()} {(run.error or '')[:300]}",
            )
            # a workitem's attempts count its lookups too (one before each re-send)
            limit = 8 if kind == "interaction" else 2 * 8
            result.check(max_attempts <= limit, f"{kind} {status}: an item took {max_attempts} attempts")
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
            run = _bulk(
                evidence, work, conn_id="chaos_503", kind=kind, items=items, run_id=run_id, max_concurrency=concurrency
            )
            failed = [item for item in (run.summary or {}).get("items") or [] if item["outcome"] == "failed"]
            named = [item for item in items if f"external_id={item['external_id']!r}" in (run.error or "")]
            posts = sum(box.route(route).values())
            lookups = sum(box.route("POST /api/v2/taskmanagement/workitems/query").values())
            # backoff budget: 4 waits of at most min(0.2, 0.05 * 3^n) s per item, items spread over the threads
            budget = -(-always // concurrency) * (0.05 + 0.15 + 0.2 + 0.2 + 5 * 0.2) + 5.0
            duplicates, _lost = tally(box.creates_by_key(kind), expected_keys(kind, items, run_id))
            result.duplicates += duplicates
            unaccounted = (
                len(items)
                - len(failed)
                - sum(1 for i in (run.summary or {}).get("items") or [] if i["outcome"] in ("created", "replayed"))
            )
            result.lost += max(0, unaccounted)
            phases[f"always_503_{kind}"] = {
                "items": always,
                "failed": len(failed),
                "named_in_error": len(named),
                "create_requests": posts,
                "lookups": lookups,
                "wall_s": round(run.wall_s, 2),
                "budget_s": round(budget, 2),
                "error_type": run.error_type,
            }
            result.check(len(failed) == always, f"always-503 {kind}: {len(failed)} of {always} reported failed")
            result.check(
                all(item.get("http_status") == 503 for item in failed),
                f"always-503 {kind}: statuses {sorted({str(i.get('http_status')) for i in failed})}",
            )
            result.check(len(named) == always, f"always-503 {kind}: the report names {len(named)} of {always} items")
            if kind == "interaction":
                result.check(posts == always * 5, f"always-503 {kind}: {posts} create requests for {always} items x 5")
            else:  # one create, then the lookup before a re-send fails too (5 attempts): nothing is re-sent blind
                result.check(
                    posts == always and lookups == always * 5,
                    f"always-503 {kind}: {posts} creates and {lookups} lookups for {always} items",
                )
            result.check(run.wall_s <= budget, f"always-503 {kind}: {run.wall_s:.1f}s > budget {budget:.1f}s")
            result.items += always
            result.trials += 1
    result.details["phases"] = phases
    result.notes.append("intermittent: max_attempts=8; always-503: max_attempts=5, backoff 0.05 s x3 capped at 0.2 s")


def _audits(run: Any) -> list[dict[str, Any]]:
    audits = run.xcom.get("genesys_audit")
    return [audit for audit in audits if isinstance(audit, dict)] if isinstance(audits, list) else []


# == 5. token expiry mid-run and forced 401s ==================================================================


def token_expiry(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """Tokens revoked mid-run (twice) and a forced 401 in between: no item fails, one refresh per event.

    A watcher expires every token at 25% and 75% of the records and injects one 401 at 50%; each event waits for
    the refresh it causes before the next is fired. Then a sandbox whose tokens live 2 s: the hook refreshes
    them ahead of expiry, so no request meets a 401 at all.
    """
    count = 120 if matrix.short else 600
    work = _work_dir("token")
    events: list[dict[str, Any]] = []
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_token={}) as _state,
    ):
        box.faults(latency_ms=3)
        items = items_for("interaction", count, seed=51)
        stop = threading.Event()

        def watch() -> None:
            plan = [(0.25, "expire"), (0.50, "force_401"), (0.75, "expire")]
            for share, action in plan:
                deadline = time.monotonic() + 60
                while box.record_count() < share * count and not stop.is_set() and time.monotonic() < deadline:
                    time.sleep(0.002)
                if stop.is_set():
                    return
                issued = box.tokens_issued
                if action == "expire":
                    box.admin("POST", "tokens/expire")
                else:
                    box.faults(latency_ms=3, fail_next=[401])
                while box.tokens_issued == issued and not stop.is_set() and time.monotonic() < deadline:
                    time.sleep(0.002)
                settled_at = box.record_count() + 16  # every thread has finished a request with the new token
                events.append({"at_records": box.record_count(), "action": action, "tokens_issued": box.tokens_issued})
                while box.record_count() < settled_at and not stop.is_set() and time.monotonic() < deadline:
                    time.sleep(0.002)

        watcher = threading.Thread(target=watch, name="chaos-token-watcher")
        watcher.start()
        try:
            run = _bulk(
                evidence, work, conn_id="chaos_token", kind="interaction", items=items, run_id="manual__token_expiry"
            )
        finally:
            stop.set()
            watcher.join(timeout=10)
        _account(result, box, "interaction", items, "manual__token_expiry")
        unauthorized = box.route(INTERACTIONS).get("401", 0)
        refreshes = box.tokens_issued - 1
        result.details["revocations"] = {
            "events": events,
            "tokens_issued": box.tokens_issued,
            "hook_token_fetches": run.hook_stats.get("token_fetches"),
            "answered_401": unauthorized,
            "outcomes": run.outcomes(),
        }
        result.check(len(events) == 3, f"only {len(events)} of 3 token events happened: {events}")
        result.check(
            run.outcomes().get("created") == count and run.error is None,
            f"outcomes {run.outcomes()} {(run.error or '')[:300]}",
        )
        result.check(refreshes == len(events), f"{refreshes} token refreshes for {len(events)} expiries/401s")
        result.check(
            run.hook_stats.get("token_fetches") == 1 + len(events),
            f"the hook fetched {run.hook_stats.get('token_fetches')} tokens",
        )
        result.check(unauthorized >= len(events), f"only {unauthorized} requests met a 401")

    short_lived = 2
    with (
        sandbox(matrix.canaries, evidence, token_ttl_seconds=short_lived) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_ttl={}) as _state,
    ):
        seconds = 3.0 if matrix.short else 6.0
        box.faults(latency_ms=int(1000 * seconds * 4 / (count // 2)))  # ~seconds long at 4 threads
        items = items_for("interaction", count // 2, seed=52)
        run = _bulk(
            evidence,
            work,
            conn_id="chaos_ttl",
            kind="interaction",
            items=items,
            run_id="manual__token_ttl",
            max_concurrency=4,
        )
        _account(result, box, "interaction", items, "manual__token_ttl")
        unauthorized = sum(counts.get("401", 0) for counts in box.requests_by_route().values())
        result.details["short_lived_tokens"] = {
            "ttl_s": short_lived,
            "run_s": round(run.wall_s, 2),
            "tokens_issued": box.tokens_issued,
            "answered_401": unauthorized,
            "outcomes": run.outcomes(),
        }
        result.check(run.outcomes().get("created") == count // 2, f"short-lived tokens: outcomes {run.outcomes()}")
        result.check(unauthorized == 0, f"short-lived tokens: {unauthorized} requests met a 401")
        result.check(box.tokens_issued >= 2, "short-lived tokens: the token was never refreshed")
        # the hook refreshes at half the lifetime: about one token per ttl/2 of the run, never one per request
        result.check(
            box.tokens_issued <= run.wall_s / (short_lived / 2) + 2,
            f"short-lived tokens: {box.tokens_issued} tokens in {run.wall_s:.1f}s",
        )
    result.trials = 2
    result.items = count + count // 2
    result.notes.append("2 revocations + 1 forced 401 mid-run → exactly 3 refreshes; 2 s tokens refreshed ahead")


# == 6. two task processes submitting the same items at once ==================================================


def concurrent_duplicates(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """Two task processes run the same task instance (same keys) at the same time: one record per key.

    Airflow runs one process per task instance, but a worker that loses its heartbeat can leave a zombie
    running while the next try starts. Both processes are forked at once; the sandbox holds each create in
    flight for 20 ms, so the second process meets keys still being processed (409 in flight, retried) as well
    as keys already committed (409 replay).
    """
    trials, count = (1, 60) if matrix.short else (3, 300)
    work = _work_dir("concurrent")
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


# == 7. bad input: generated invalid payloads, malformed files ================================================


def bad_input(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """Hypothesis-generated invalid payloads over every rule of every kind, and malformed JSON-lines/CSV files.

    Each payload breaks one rule of its kind (the kinds table is read at run time, so a new kind is covered by
    generic rules until it gets its own). Every payload must be rejected by validation with an
    :class:`InteractionValidationError` naming the item (position and external id) and listing field-level
    problems; nothing may crash and no request may reach the sandbox: each payload also goes through the single
    operator, and all of them through the bulk operator. Malformed file rows are reported with their line number.
    """
    from hypothesis import HealthCheck, Phase, given, settings

    from airflow_provider_genesys.creation.engine import prepare_item
    from airflow_provider_genesys.creation.kinds import KINDS
    from airflow_provider_genesys.creation.task import TaskIdentity, describe_item
    from airflow_provider_genesys.exceptions import InteractionValidationError
    from airflow_provider_genesys.operators.interactions import GenesysCreateInteractionOperator
    from benchmarks.chaos_payloads import (
        CATALOG,
        malformed_csv,
        malformed_jsonl,
        rule_count,
        rule_strategies,
    )
    from benchmarks.chaos_support import FakeTaskInstance, task_context

    examples_wanted = 250 if matrix.short else 1200
    files_wanted = 16 if matrix.short else 60
    kinds = sorted(KINDS)
    models = {kind: KINDS[kind].model for kind in kinds}
    options = rule_strategies(kinds, models)
    work = _work_dir("bad")
    task = TaskIdentity(dag_id=DAG_ID, task_id=TASK_ID, run_id="manual__bad_input", map_index=-1, try_number=1)
    seen: list[tuple[str, str, Any]] = []
    by_rule: dict[str, int] = {}
    problems: list[str] = []
    crashes: list[str] = []
    single_failures: list[str] = []

    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_bad={}) as _state,
    ):

        def check_one(kind: str, rule: str, payload: Any) -> None:
            position = len(seen)
            external_id = f"BAD-{position:05d}"
            seen.append((kind, rule, payload))
            by_rule[f"{kind}: {rule}"] = by_rule.get(f"{kind}: {rule}", 0) + 1
            label = describe_item(position, external_id)
            try:
                prepare_item(KINDS[kind], payload, task, position=position, external_id=external_id)
            except InteractionValidationError as error:
                text = str(error)
                if error.item != label or label not in text or not error.errors:
                    problems.append(f"{kind} / {rule}: the error does not name {label}: {text[:200]}")
                elif isinstance(payload, dict) and not all(problem.path for problem in error.errors):
                    problems.append(f"{kind} / {rule}: a problem without a field path: {text[:300]}")
            except Exception as error:
                crashes.append(f"{kind} / {rule}: {type(error).__name__}: {error} for {payload!r:.200}")
            else:
                problems.append(f"{kind} / {rule}: accepted {json_text(payload)[:300]}")
            # the same payload through the single operator: an AirflowFailException, an invalid audit, no request
            operator = GenesysCreateInteractionOperator(
                task_id="single", kind=kind, interaction=payload, external_id=external_id, genesys_conn_id="chaos_bad"
            )
            ti = FakeTaskInstance(dag_id=DAG_ID, task_id="single", run_id="manual__bad_input")
            try:
                operator.execute(task_context(ti))
            except Exception as error:
                audit = ti.xcom.get("genesys_audit") or {}
                if type(error).__name__ != "AirflowFailException" or audit.get("outcome") != "invalid":
                    single_failures.append(f"{kind} / {rule}: {type(error).__name__}: {str(error)[:200]}")
                if position % 50 == 0:
                    evidence.add_exception(f"single operator {kind}", error)
                    evidence.add(f"single operator xcom {kind}", ti.xcom)
            else:
                single_failures.append(f"{kind} / {rule}: the single operator created it")

        per_rule = -(-examples_wanted // len(options))
        for kind, rule, strategy in options:

            @settings(
                max_examples=per_rule,
                database=None,
                deadline=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(strategy.map(lambda payload, k=kind, r=rule: (k, r, payload)))
            def generated(example: tuple[str, str, Any]) -> None:
                check_one(*example)

            generated()

        # every payload through the bulk operator, one batch per kind: all invalid, no request
        bulk: dict[str, Any] = {}
        for kind in kinds:
            batch = []
            for index, (item_kind, _rule, payload) in enumerate(seen):
                if item_kind == kind:
                    batch.append(
                        {"external_id": f"BAD-{index:05d}", **payload} if isinstance(payload, dict) else payload
                    )
            if not batch:
                continue
            run = run_bulk(
                {
                    "conn_id": "chaos_bad",
                    "kind": kind,
                    "items": batch,
                    "run_id": f"manual__bad_{kind}",
                    "on_invalid": "skip",
                    "max_invalid": len(batch),
                    "audit_dir": str(work / "audit"),
                },
                evidence,
            )
            audits = _audits(run)
            named = sum(
                1
                for audit in audits
                if audit.get("outcome") == "invalid"
                and audit.get("validation_errors")
                and audit.get("position") is not None
            )
            bulk[kind] = {
                "items": len(batch),
                "invalid": (run.summary or {}).get("invalid"),
                "audits_naming_item": named,
            }
            result.check(
                (run.summary or {}).get("invalid") == len(batch),
                f"bulk {kind}: {(run.summary or {}).get('invalid')} of {len(batch)} invalid ({run.error})",
            )
            result.check(named == len(batch), f"bulk {kind}: {named} of {len(batch)} audit records name the item")
        fail_fast = run_bulk(
            {
                "conn_id": "chaos_bad",
                "kind": "interaction",
                "run_id": "manual__bad_fail",
                "items": [payload for kind, _r, payload in seen if kind == "interaction"][:60],
                "on_invalid": "fail",
            },
            evidence,
        )
        result.check(
            fail_fast.error_type == "AirflowFailException" and "(on_invalid='fail')" in (fail_fast.error or ""),
            f"on_invalid='fail': {fail_fast.error_type}: {(fail_fast.error or '')[:200]}",
        )
        refused = [audit for audit in _audits(fail_fast) if audit.get("outcome") == "invalid"]
        result.check(
            len(refused) == min(60, by_kind_count(seen, "interaction")),
            f"on_invalid='fail': {len(refused)} invalid audit records in XCom (the report lists 50)",
        )

        # malformed JSON-lines and CSV files: every bad row reported with its line number, nothing sent
        valid_line = json_text(items_for("interaction", 1, seed=70)[0] | {"external_id": None})
        file_checks = {"files": 0, "bad_rows": 0, "reported": 0}

        @settings(
            max_examples=files_wanted,
            database=None,
            deadline=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(malformed_jsonl(valid_line) | malformed_csv())
        def files(generated_file: tuple[str, set[int]]) -> None:
            text, bad_lines = generated_file
            suffix = "csv" if text.startswith("external_id,") else "jsonl"
            path = work / f"malformed-{file_checks['files']}.{suffix}"
            path.write_text(text, encoding="utf-8")
            file_checks["files"] += 1
            file_checks["bad_rows"] += len(bad_lines)
            run = run_bulk(
                {
                    "conn_id": "chaos_bad",
                    "kind": "interaction",
                    "source": str(path),
                    "run_id": f"manual__malformed_{file_checks['files']}",
                    "on_invalid": "fail",
                },
                evidence,
            )
            reported = {int(number) for number in _LINE_NUMBER.findall(run.error or "")}
            file_checks["reported"] += len(reported & bad_lines)
            if reported != bad_lines:
                problems.append(f"{suffix} file: reported lines {sorted(reported)}, bad lines {sorted(bad_lines)}")

        files()
        requests_seen = box.api_requests()
        result.details["routes"] = box.requests_by_route()

    result.crashes = len(crashes)  # type: ignore[attr-defined]
    distinct = len({json_text([kind, payload]) for kind, _rule, payload in seen})
    result.trials = len(seen) + file_checks["files"]
    result.items = len(seen) + file_checks["bad_rows"]
    result.details.update(
        {
            "payloads": len(seen),
            "distinct_payloads": distinct,
            "rules": rule_count(kinds, models),
            "kinds_without_catalog": [kind for kind in kinds if kind not in CATALOG],
            "per_rule": by_rule,
            "crashes": len(crashes),
            "requests_to_sandbox": requests_seen,
            "bulk": bulk,
            "files": file_checks,
        }
    )
    result.check(len(seen) >= examples_wanted * 0.95, f"only {len(seen)} payloads were generated")
    result.check(not crashes, f"{len(crashes)} crash(es): {crashes[:5]}")
    result.check(not problems, f"{len(problems)} problem(s): {problems[:8]}")
    result.check(not single_failures, f"single operator: {single_failures[:5]}")
    result.check(requests_seen == 0, f"{requests_seen} request(s) reached the sandbox")
    result.check(all(f"{kind}: " in " ".join(by_rule) for kind in kinds), "a kind got no payload")
    missing_rules = [
        f"{kind}: {rule}"
        for kind in kinds
        if kind in CATALOG
        for rule in CATALOG[kind][1]
        if f"{kind}: {rule}" not in by_rule
    ]
    result.check(not missing_rules, f"rules never exercised: {missing_rules}")
    result.notes.append(
        f"{len(seen)} payloads ({distinct} distinct) over {sum(rule_count(kinds, models).values())} rules of "
        f"{len(kinds)} kinds, each through validation, the single and the bulk operator; "
        f"{file_checks['files']} malformed JSONL/CSV files; 0 crashes, 0 requests"
    )


def by_kind_count(seen: list[tuple[str, str, Any]], kind: str) -> int:
    return sum(1 for item_kind, _rule, _payload in seen if item_kind == kind)


_LINE_NUMBER = __import__("re").compile(r"- line (\d+):")


def json_text(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)


# == 8. secret hygiene =========================================================================================


def secret_hygiene(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """The canary client secret, every issued token and the canary CRM signing secret appear nowhere.

    A workload built to tempt leaks (faults of every kind, revoked tokens, a token endpoint that fails, a wrong
    client secret, CRM deliveries with a wrong signing secret and dropped answers, DEBUG logging of every
    library) feeds the scan, together with everything the other scenarios of the matrix produced: captured
    log records and fd 1/2 output, XCom values, return values, audit records (XCom and files), journals,
    exception texts with tracebacks, and the task processes' logs.
    """
    from airflow_provider_genesys.hooks.crm import CrmWebhookHook
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
    from airflow_provider_genesys.operators.crm import GenesysCrmSyncOperator
    from airflow_provider_genesys.operators.interactions import GenesysCreateInteractionOperator
    from benchmarks.chaos_support import FakeTaskInstance, crm_connection_env, environment, task_context

    canaries = matrix.canaries
    work = _work_dir("secrets")
    count = 40 if matrix.short else 200
    operations = 0
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(
            canaries, evidence, box.base_url, chaos_secret={}, chaos_token_down={"token_retry_seconds": 0.5}
        ) as _state,
        environment(
            **connection_env(
                "chaos_wrong", box.base_url, Canaries(canaries.client_id, canaries.client_secret + "-old")
            ),
            **crm_connection_env("chaos_crm", box.base_url, canaries.crm_secret),
            **crm_connection_env("chaos_crm_wrong", box.base_url, "whsec_" + "d3Jvbmctc2VjcmV0LWtleS0xMjM0NTY3OA=="),
        ),
    ):
        # a single create with an audit file, then the bulk operator through every fault at once
        ti = FakeTaskInstance(dag_id=DAG_ID, task_id="single", run_id="manual__secrets")
        single = GenesysCreateInteractionOperator(
            task_id="single",
            interaction={k: v for k, v in items_for("interaction", 1, seed=80)[0].items() if k != "external_id"},
            genesys_conn_id="chaos_secret",
            audit_path=str(work / "single-audit.jsonl"),
        )
        record = single.execute(task_context(ti))
        evidence.add("single xcom", ti.xcom)
        evidence.add("single return value", record)
        evidence.add("hook settings repr", repr(single.hook.settings))
        operations += 1
        items = items_for("interaction", count, seed=81)
        box.faults(error_rate=0.05, rate_429=0.05, retry_after=1, drop_after_commit_rate=0.05, seed=8, fail_next=[401])
        timer = threading.Timer(0.3, lambda: box.admin("POST", "tokens/expire"))
        timer.start()
        run = _bulk(evidence, work, conn_id="chaos_secret", kind="interaction", items=items, run_id="manual__secrets")
        timer.join()
        box.faults()
        _account(result, box, "interaction", items, "manual__secrets")
        result.check(run.outcomes().get("failed", 0) == 0, f"bulk under faults: {run.outcomes()}")
        operations += 1
        for kind in ("workitem", "callback"):
            box.faults(drop_after_commit_rate=0.2, error_rate=0.1, seed=9)
            kind_items = items_for(kind, 20, seed=82)
            _bulk(evidence, work, conn_id="chaos_secret", kind=kind, items=kind_items, run_id=f"manual__secrets_{kind}")
            box.faults()
            operations += 1

        # a wrong client secret, a failing token endpoint: the errors say what is wrong, never the secret
        ok, message = GenesysCloudHook("chaos_wrong").test_connection()
        evidence.add("test_connection (wrong secret)", message)
        result.check(not ok, "test_connection with a wrong secret succeeded")
        box.faults(route_prefix="/oauth/token", error_rate=1.0, error_status=503)
        try:
            GenesysCloudHook("chaos_token_down").request("GET", "/api/v2/tokens/me")
        except Exception as error:
            evidence.add_exception("token endpoint down", error)
        box.faults()
        operations += 2

        # CRM: deliveries with the right secret (some answers dropped), then with a wrong one
        records = (run.summary or {}).get("items") or []
        box.admin("PUT", "crm/mode", json={"drop_next": 3})
        for conn_id, try_number in (("chaos_crm", 1), ("chaos_crm", 2), ("chaos_crm_wrong", 1)):
            crm_ti = FakeTaskInstance(
                dag_id=DAG_ID, task_id="crm_sync", run_id="manual__secrets", try_number=try_number
            )
            operator = GenesysCrmSyncOperator(task_id="crm_sync", records=records, crm_conn_id=conn_id)
            try:
                evidence.add(f"crm return value {conn_id}", operator.execute(task_context(crm_ti)))
            except Exception as error:
                evidence.add_exception(f"crm sync {conn_id}", error)
            evidence.add(f"crm xcom {conn_id}", crm_ti.xcom)
            operations += 1
        crm = box.admin("GET", "crm")
        evidence.add("crm hook settings repr", repr(CrmWebhookHook("chaos_crm").settings))
        result.check(crm["totals"]["stored"] == len(records), f"CRM stored {crm['totals']['stored']} of {len(records)}")
        result.check(crm["totals"]["rejected"] >= 1, "the wrong CRM secret was not rejected")
        result.duplicates += sum(1 for delivery in crm["stored"] if delivery["deliveries"] < 1)

    # a control: the scanner must find a planted canary and a planted token
    control = Evidence()
    control.tokens = set(list(evidence.tokens)[:1])
    control.add("planted", f"a {canaries.client_secret} b {next(iter(control.tokens), '')} c {canaries.crm_secret}")
    planted = control.scan(canaries)
    result.check(len(planted) == 3 and bool(control.tokens), f"the scanner missed planted secrets: {planted}")

    # the scan: this scenario's evidence and everything the other scenarios of this matrix produced
    everything = Evidence()
    everything.extend(matrix.evidence)
    everything.extend(evidence)
    hits = everything.scan(canaries)
    volume = everything.volume()
    result.leaks += len(hits)
    result.trials = operations
    result.items = volume["texts"] + volume["files"]
    result.details["matrix_scan"] = volume
    result.details["secrets"] = [*sorted(canaries.secrets()), f"{volume['tokens']} issued tokens"]
    if hits:
        result.details["matrix_leak_sources"] = sorted({str(hit) for hit in hits})[:20]
    result.notes.append(
        f"scanned {volume['texts']} captured texts and {volume['files']} files ({volume['chars']:,} characters) "
        f"for 3 canaries and {volume['tokens']} issued tokens"
    )


# == 9. webhooks: tampering, wrong secrets, stale timestamps, replays ==========================================


def webhook_attacks(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """Signed deliveries to the CRM receiver, each attacked one way: rejected (401) or deduplicated (200).

    Attacks: a flipped byte in the body, an added field, a signature made with another secret, a signature of
    another webhook-id, a timestamp 6 minutes old or ahead, missing or malformed signature headers, and replays
    of a stored webhook-id (same body, or another body, freshly and validly signed). Then the CRM sync operator
    delivers with dropped answers and runs again (a retry): every webhook-id is stored exactly once.
    """
    import json

    from standardwebhooks import Webhook

    from airflow_provider_genesys.operators.crm import GenesysCrmSyncOperator
    from benchmarks.chaos_support import FakeTaskInstance, crm_connection_env, environment, task_context

    canaries = matrix.canaries
    count = 20 if matrix.short else 150
    rng = random.Random(9)
    good = Webhook(canaries.crm_secret)
    other = Webhook("whsec_" + __import__("base64").b64encode(b"another-crm-secret-987654").decode())
    outcomes: dict[str, dict[str, int]] = {}
    with sandbox(matrix.canaries, evidence) as box:
        http = box.http
        url = f"{box.base_url}/crm/interactions"

        def post(attack: str, body: str, headers: dict[str, str], expect: set[int]) -> None:
            response = http.post(
                url, data=body.encode(), headers={"Content-Type": "application/json", **headers}, timeout=10
            )
            counts = outcomes.setdefault(attack, {})
            counts[str(response.status_code)] = counts.get(str(response.status_code), 0) + 1
            result.check(response.status_code in expect, f"{attack}: HTTP {response.status_code} {response.text[:120]}")
            evidence.add(f"crm answer {attack}", response.text)

        def signed(signer: Webhook, webhook_id: str, body: str, when: Any = None) -> dict[str, str]:
            from datetime import datetime, timezone

            moment = when or datetime.now(timezone.utc)
            return {
                "webhook-id": webhook_id,
                "webhook-timestamp": str(int(moment.timestamp())),
                "webhook-signature": signer.sign(webhook_id, moment, body),
            }

        from datetime import datetime, timedelta, timezone

        for number in range(count):
            webhook_id = f"msg_chaos_{number:05d}"
            body = json.dumps({"interaction_id": f"I-{number}", "external_id": f"CASE-{number}"}, sort_keys=True)
            tampered = body[: (cut := rng.randrange(1, len(body) - 1))] + chr(ord(body[cut]) ^ 1) + body[cut + 1 :]
            post("tampered body (one byte)", tampered, signed(good, webhook_id, body), {400, 401})
            post("tampered body (added field)", body[:-1] + ', "admin": true}', signed(good, webhook_id, body), {401})
            post("wrong secret", body, signed(other, webhook_id, body), {401})
            post(
                "signature of another webhook-id",
                body,
                {**signed(good, webhook_id + "x", body), "webhook-id": webhook_id},
                {401},
            )
            stale = datetime.now(timezone.utc) - timedelta(minutes=6)
            post("stale timestamp (6 min old)", body, signed(good, webhook_id, body, stale), {401})
            future = datetime.now(timezone.utc) + timedelta(minutes=6)
            post("timestamp 6 min ahead", body, signed(good, webhook_id, body, future), {401})
            headers = signed(good, webhook_id, body)
            missing = rng.choice(["webhook-id", "webhook-timestamp", "webhook-signature"])
            post("missing header", body, {k: v for k, v in headers.items() if k != missing}, {401})
            post(
                "malformed signature",
                body,
                {
                    **headers,
                    "webhook-signature": rng.choice(
                        ["v1,", "v1,@@@", "garbage", "v2," + headers["webhook-signature"].split(",", 1)[1]]
                    ),
                },
                {401},
            )
            post("valid delivery", body, signed(good, webhook_id, body), {200, 201})
            post("replay (same body, re-signed)", body, signed(good, webhook_id, body), {200})
            other_body = json.dumps({"interaction_id": "I-evil", "external_id": "CASE-evil"})
            post("replay (other body, validly signed)", other_body, signed(good, webhook_id, other_body), {200})
            post("replay (same signature again)", body, headers, {200})

        # the operator: dropped answers on the first try, then a retry of the task
        records = [
            {"interaction_id": f"OP-{n}", "key": f"op-key-{n:05d}", "outcome": "created", "position": n}
            for n in range(count)
        ]
        box.admin("PUT", "crm/mode", json={"drop_next": max(2, count // 10)})
        with environment(**crm_connection_env("chaos_crm9", box.base_url, canaries.crm_secret)):
            for try_number in (1, 2):
                ti = FakeTaskInstance(
                    dag_id=DAG_ID, task_id="crm_sync", run_id="manual__webhooks", try_number=try_number
                )
                try:
                    evidence.add(
                        "crm sync",
                        GenesysCrmSyncOperator(task_id="crm_sync", records=records, crm_conn_id="chaos_crm9").execute(
                            task_context(ti)
                        ),
                    )
                except Exception as error:
                    evidence.add_exception("crm sync", error)
                evidence.add("crm sync xcom", ti.xcom)
        crm = box.admin("GET", "crm")
        stored = {delivery["webhook_id"]: delivery for delivery in crm["stored"]}
        expected = {f"msg_chaos_{n:05d}" for n in range(count)} | {f"op-key-{n:05d}" for n in range(count)}
        result.lost += len(expected - set(stored))
        result.duplicates += len(set(stored) - expected)
        tampered_stored = [
            d for d in crm["stored"] if d["payload"].get("interaction_id") == "I-evil" or "admin" in d["payload"]
        ]
        result.duplicates += len(tampered_stored)
        result.check(not tampered_stored, f"{len(tampered_stored)} tampered or replayed bodies were stored")
        result.check(crm["totals"]["stored"] == len(expected), f"stored {crm['totals']['stored']} of {len(expected)}")
    result.trials = sum(sum(counts.values()) for counts in outcomes.values()) + 2
    result.items = len(expected)
    result.details["answers_by_attack"] = outcomes
    result.details["crm_totals"] = crm["totals"]
    result.notes.append("12 deliveries per webhook-id (8 attacks, 1 valid, 3 replays) + operator retry after drops")


# == 10. sandbox robustness ====================================================================================


def sandbox_robustness(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """Malformed JSON, wrong content types, bodies over 512,000 bytes, missing or bad auth, garbage on the socket.

    Every answer on an API route is a Genesys ErrorBody (``status`` = the HTTP status, ``code``, ``message``,
    ``contextId``) with an ``ININ-Correlation-Id`` header; the token endpoint answers OAuth errors; nothing is
    stored; and the sandbox keeps serving (a valid create succeeds after every round).
    """
    import json
    import socket

    rounds = 3 if matrix.short else 15
    rng = random.Random(10)
    routes = [
        "/api/v2/interactions",
        "/api/v2/taskmanagement/workitems",
        "/api/v2/conversations/callbacks",
        "/api/v2/conversations/emails",
        "/api/v2/taskmanagement/workitems/query",
    ]
    statuses: dict[str, dict[str, int]] = {}
    with sandbox(matrix.canaries, evidence) as box:
        http = box.http
        token = http.post(
            f"{box.base_url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(matrix.canaries.client_id, matrix.canaries.client_secret),
            timeout=10,
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        valid = items_for("interaction", 1, seed=100)[0]
        valid.pop("external_id")

        def expect_error(case: str, response: Any, allowed: set[int], *, oauth: bool = False) -> None:
            counts = statuses.setdefault(case, {})
            counts[str(response.status_code)] = counts.get(str(response.status_code), 0) + 1
            result.check(response.status_code in allowed, f"{case}: HTTP {response.status_code} {response.text[:150]}")
            try:
                body = response.json()
            except ValueError:
                result.check(False, f"{case}: the error body is not JSON: {response.text[:100]!r}")
                return
            if oauth:
                result.check("error" in body and "description" in body, f"{case}: not an OAuth error: {body}")
            else:
                result.check(
                    body.get("status") == response.status_code
                    and body.get("code")
                    and body.get("message")
                    and body.get("contextId"),
                    f"{case}: not a Genesys ErrorBody: {body}",
                )
            result.check(bool(response.headers.get("ININ-Correlation-Id")), f"{case}: no correlation id")

        for round_number in range(rounds):
            for route in routes:
                target = f"{box.base_url}{route}"
                headers = {**auth, "Idempotency-Key": f"robust-{round_number}"}
                garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
                broken = json.dumps(valid)[: rng.randrange(1, 40)]
                expect_error(
                    "malformed JSON",
                    http.post(target, data=broken, timeout=10, headers={**headers, "Content-Type": "application/json"}),
                    {400},
                )
                expect_error(
                    "binary body",
                    http.post(
                        target, data=garbage, timeout=10, headers={**headers, "Content-Type": "application/json"}
                    ),
                    {400},
                )
                not_object = json.dumps(rng.choice([[], [valid], 1, "x", None, True]))
                expect_error(
                    "JSON that is not an object",
                    http.post(
                        target, data=not_object, timeout=10, headers={**headers, "Content-Type": "application/json"}
                    ),
                    {400},
                )
                content_type = rng.choice(
                    ["text/plain", "application/xml", "multipart/form-data", "application/x-www-form-urlencoded", ""]
                )
                expect_error(
                    "wrong content type",
                    http.post(
                        target, data=json.dumps(valid), timeout=10, headers={**headers, "Content-Type": content_type}
                    ),
                    {415},
                )
                oversized = b'{"type": "voice", "pad": "' + b"x" * (512_000 + rng.randrange(1, 50_000)) + b'"}'
                expect_error(
                    "oversized body",
                    http.post(
                        target, data=oversized, timeout=30, headers={**headers, "Content-Type": "application/json"}
                    ),
                    {413},
                )
                chunks = (oversized[i : i + 65_536] for i in range(0, len(oversized), 65_536))
                expect_error(
                    "oversized body (chunked)",
                    http.post(target, data=chunks, timeout=30, headers={**headers, "Content-Type": "application/json"}),
                    {413},
                )
                expect_error(
                    "missing auth",
                    http.post(target, json=valid, timeout=10, headers={"Idempotency-Key": "robust-x"}),
                    {401},
                )
                bad_token = rng.choice(["Bearer ", "Bearer not-a-token", "Basic Zm9vOmJhcg==", "bearer" + "x" * 40])
                expect_error(
                    "bad auth",
                    http.post(
                        target,
                        json=valid,
                        timeout=10,
                        headers={"Authorization": bad_token, "Idempotency-Key": "robust-y"},
                    ),
                    {401},
                )
            expect_error(
                "token: JSON body",
                http.post(f"{box.base_url}/oauth/token", json={"grant_type": "x"}, timeout=10),
                {400},
                oauth=True,
            )
            expect_error(
                "token: wrong secret",
                http.post(
                    f"{box.base_url}/oauth/token",
                    data={"grant_type": "client_credentials"},
                    timeout=10,
                    auth=(matrix.canaries.client_id, "wrong"),
                ),
                {401},
                oauth=True,
            )
            # garbage and half-requests straight on the socket; the server must shrug them off
            for payload in (
                b"\x00\xff\x13garbage\r\n\r\n",
                b"POST /api/v2/interactions HTTP/1.1\r\nContent-Length: 99",
                b"GET / HTTP/9.9\r\n\r\n",
                bytes(rng.randrange(256) for _ in range(300)),
            ):
                with socket.create_connection((box.server.host, box.server.port), timeout=5) as raw:
                    raw.sendall(payload)
                    raw.shutdown(socket.SHUT_WR)
                    with contextlib.suppress(OSError):
                        raw.recv(4096)
            # and it keeps serving
            alive = http.post(
                f"{box.base_url}/api/v2/interactions",
                json=valid,
                timeout=10,
                headers={**auth, "Idempotency-Key": f"alive-{round_number}"},
            )
            result.check(alive.status_code == 201, f"round {round_number}: a valid create answered {alive.status_code}")
            health = http.get(f"{box.base_url}/_sandbox/health", timeout=10)
            result.check(health.status_code == 200, f"round {round_number}: health answered {health.status_code}")
        stored = box.record_count()
        result.duplicates += max(0, stored - rounds)
        result.lost += max(0, rounds - stored)
        server_errors = {
            route: counts
            for route, counts in box.requests_by_route().items()
            if any(code.startswith("5") for code in counts)
        }
        result.check(not server_errors, f"5xx answers: {server_errors}")
    result.trials = rounds
    result.items = sum(sum(counts.values()) for counts in statuses.values())
    result.details["answers"] = statuses
    result.notes.append("each round: 8 kinds of bad request on 5 create/query routes, token errors, raw-socket garbage")


#: The matrix, in order (scenario 8 scans what the others produced, so it runs after them).
SCENARIOS: list[tuple[int, str, Callable[[Matrix, Evidence, ScenarioResult], None]]] = [
    (1, "SIGKILL at a random point, re-run in the same DAG run", kill_and_rerun),
    (2, "10% of creates commit, then drop the connection", commit_then_drop),
    (3, "429 storms with Retry-After (and > 180 s)", throttle_storms),
    (4, "20% 5xx, and a route that always 503s", server_errors),
    (5, "token expiry mid-run and a forced 401", token_expiry),
    (6, "two tasks submit the same items at once", concurrent_duplicates),
    (7, "bad input: generated invalid payloads, malformed files", bad_input),
    (9, "webhooks: tampered, wrong secret, stale, replayed", webhook_attacks),
    (10, "sandbox robustness: malformed, oversized, no auth", sandbox_robustness),
    (8, "secret hygiene: canary secret, tokens, CRM secret", secret_hygiene),
]
