"""GenesysBulkCreateInteractionsOperator end to end: faults, a killed task process, invalid rows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_genesys.creation.state import BATCH_SIZE
from tests.support.dags import ROOT, load_dag, run_dag, task_states, try_numbers, xcom
from tests.support.payloads import rows

pytestmark = pytest.mark.usefixtures("airflow_db")


def _write(path: Path, count: int, invalid: int = 0, seed: int = 7) -> Path:
    path.write_text("\n".join(rows(count, invalid=invalid, seed=seed)) + "\n", encoding="utf-8")
    return path


def _external_ids(path: Path) -> list[str]:
    ids = []
    for line in path.read_text().splitlines():
        try:
            ids.append(json.loads(line)["external_id"])
        except (ValueError, KeyError):
            continue
    return ids


def _assert_exactly_once(admin: Any, expected: int) -> None:
    ledger = admin.ledger()
    assert ledger["duplicates"] == 0
    assert len(ledger["records"]) == expected
    assert all(count == 1 for count in ledger["creates_by_key"].values())


def test_faults_on_every_valid_item_is_created_exactly_once(tmp_path: Path, admin: Any) -> None:
    source = _write(tmp_path / "items.jsonl", 200)
    admin.faults(error_rate=0.05, drop_after_commit_rate=0.05, rate_429=0.03, retry_after=1, seed=11)

    dag_run = run_dag(
        load_dag("e2e_bulk"), logical_date=datetime(2026, 4, 1, tzinfo=timezone.utc), conf={"source": str(source)}
    )

    assert task_states(dag_run)["bulk"] == "success"
    summary = xcom(dag_run, "bulk")
    assert summary["total"] == 200 and summary["failed"] == 0 and summary["invalid"] == 0
    assert summary["created"] + summary["replayed"] == 200
    _assert_exactly_once(admin, 200)
    by_status = admin.requests_to("POST /api/v2/interactions")
    assert by_status.get("dropped", 0) > 0 and by_status.get("503", 0) > 0  # the faults really happened
    assert summary["requests_sent"] >= 200


def test_invalid_rows_are_reported_with_their_position_and_never_sent(tmp_path: Path, admin: Any) -> None:
    source = _write(tmp_path / "items.jsonl", 40, invalid=8, seed=3)

    dag_run = run_dag(
        load_dag("e2e_bulk"), logical_date=datetime(2026, 4, 2, tzinfo=timezone.utc), conf={"source": str(source)}
    )

    summary = xcom(dag_run, "bulk")
    assert summary["invalid"] == 8 and summary["created"] == 32 and summary["total"] == 40
    invalid = [item for item in summary["items"] if item["outcome"] == "invalid"]
    assert len(invalid) == 8 and all(item["key"] is None for item in invalid)
    audits = xcom(dag_run, "bulk", "genesys_audit")
    invalid_audits = [audit for audit in audits if audit["outcome"] == "invalid"]
    assert {audit["position"] for audit in invalid_audits} == {item["position"] for item in invalid}
    assert all(audit["validation_errors"] for audit in invalid_audits)
    assert any("line " in error for audit in invalid_audits for error in audit["validation_errors"])
    assert admin.requests_to("POST /api/v2/interactions") == {"201": 32}


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    sys.path.insert(0, {root!r})
    from tests.support.dags import clear_and_rerun, load_dag, run_dag
    dag_run = {run}(load_dag("e2e_bulk"), logical_date=datetime(2026, 4, 3, tzinfo=timezone.utc),
                      conf={{"source": {source!r}}})
    print("FINAL_STATE", dag_run.state)
    """
)


def test_killed_task_process_then_rerun_in_the_same_run_creates_each_item_once(tmp_path: Path, admin: Any) -> None:
    source = _write(tmp_path / "items.jsonl", 300, seed=5)
    script, clear = tmp_path / "run_bulk.py", tmp_path / "clear_bulk.py"
    script.write_text(KILL_SCRIPT.format(root=str(ROOT), source=str(source), run="run_dag"))
    clear.write_text(KILL_SCRIPT.format(root=str(ROOT), source=str(source), run="clear_and_rerun"))
    admin.faults(latency_ms=40)

    first = subprocess.Popen(
        [sys.executable, str(script)], env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while len(admin.records()) < 120 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    created_before_kill = len(admin.records())
    assert 0 < created_before_kill < 300, created_before_kill

    admin.faults(latency_ms=0)
    second = subprocess.run(  # the UI's Clear: the same DAG run, its task state kept
        [sys.executable, str(clear)], env=os.environ.copy(), capture_output=True, text=True, timeout=300, check=False
    )
    assert "FINAL_STATE success" in second.stdout, second.stdout[-3000:] + second.stderr[-3000:]

    _assert_exactly_once(admin, 300)
    stored = {record["externalId"] for record in admin.records()}
    assert len(stored) == 300
    posts = admin.requests_to("POST /api/v2/interactions")
    # the re-run resumes from the task state: items of settled batches are replayed without a request; only the
    # batch the kill interrupted (at most BATCH_SIZE items) is sent again, its created items replayed by their key
    assert posts.get("409", 0) <= BATCH_SIZE, posts
    assert sum(posts.values()) <= 300 + BATCH_SIZE, posts


def test_a_server_failure_is_retried_by_airflow_and_ends_exactly_once(admin: Any) -> None:
    admin.faults(fail_next=[503])

    dag_run = run_dag(load_dag("e2e_bulk_retries"), logical_date=datetime(2026, 4, 4, tzinfo=timezone.utc))

    assert task_states(dag_run)["bulk"] == "success"
    assert try_numbers(dag_run)["bulk"] == 2
    summary = xcom(dag_run, "bulk")
    assert summary["created"] + summary["replayed"] == 3 and summary["failed"] == 0
    _assert_exactly_once(admin, 3)


def test_a_rejection_that_a_retry_cannot_change_fails_without_retrying(admin: Any) -> None:
    admin.faults(fail_next=[403])

    dag_run = run_dag(load_dag("e2e_bulk_retries"), logical_date=datetime(2026, 4, 5, tzinfo=timezone.utc))

    assert task_states(dag_run)["bulk"] == "failed"
    assert try_numbers(dag_run)["bulk"] == 1
    summary = xcom(dag_run, "bulk", "genesys_audit_summary")  # a failed task has no return value
    assert summary["failed"] == 1 and summary["created"] == 2
    failed = [audit for audit in xcom(dag_run, "bulk", "genesys_audit") if audit["outcome"] == "failed"]
    assert failed[0]["http_status"] == 403 and failed[0]["correlation_id"] and failed[0]["external_id"] == "CASE-R0"
