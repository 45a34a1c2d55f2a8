"""The reliability and security matrix ("exactly once, nothing lost, nothing leaked"), one function per scenario.

Each scenario starts its own sandbox on loopback, drives the provider's real code paths against it (the bulk and
single operators with a complete task context, the hook, the CRM hook and operator), and returns a
:class:`~tests.chaos.harness.ScenarioResult`: trials, items, duplicates, lost, leaks, wall time, and every
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

import time
from collections.abc import Callable

from tests.chaos.harness import Canaries, Evidence, ForkServer, ScenarioResult, captured_output, work_dir
from tests.chaos.scenarios import (
    s01_kill_and_rerun,
    s02_commit_then_drop,
    s03_throttle_storms,
    s04_server_errors,
    s05_token_expiry,
    s06_concurrent_duplicates,
    s07_bad_input,
    s08_secret_hygiene,
    s09_webhook_attacks,
    s10_sandbox_robustness,
)


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
            self._forks = ForkServer(work_dir("forks")).__enter__()
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


SCENARIOS: list[tuple[int, str, Callable[[Matrix, Evidence, ScenarioResult], None]]] = [
    (1, "SIGKILL at a random point, re-run in the same DAG run", s01_kill_and_rerun.kill_and_rerun),
    (2, "10% of creates commit, then drop the connection", s02_commit_then_drop.commit_then_drop),
    (3, "429 storms with Retry-After (and > 180 s)", s03_throttle_storms.throttle_storms),
    (4, "20% 5xx, and a route that always 503s", s04_server_errors.server_errors),
    (5, "token expiry mid-run and a forced 401", s05_token_expiry.token_expiry),
    (6, "two tasks submit the same items at once", s06_concurrent_duplicates.concurrent_duplicates),
    (7, "bad input: generated invalid payloads, malformed files", s07_bad_input.bad_input),
    (9, "webhooks: tampered, wrong secret, stale, replayed", s09_webhook_attacks.webhook_attacks),
    (10, "sandbox robustness: malformed, oversized, no auth", s10_sandbox_robustness.sandbox_robustness),
    (8, "secret hygiene: canary secret, tokens, CRM secret", s08_secret_hygiene.secret_hygiene),
]
