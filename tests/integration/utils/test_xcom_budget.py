"""One XCom budget for every operator, measured at 10,000 items through the real path (sandbox on loopback).

Each operator runs 10,000 items; the test adds up what it pushed and returned, as XCom stores it (JSON text), and
checks it against ``[genesys] xcom_max_bytes`` (64 KB by default) — and that nothing was lost on the way: every
per-item result and audit record is in the files XCom names, and the downstream consumer reads them from there.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_genesys.operators.crm import GenesysCrmSyncOperator
from airflow_provider_genesys.operators.interactions import (
    GenesysBulkCreateInteractionsOperator,
    GenesysCreateInteractionOperator,
)
from airflow_provider_genesys.operators.workitem_jobs import GenesysBulkAddWorkitemsOperator
from airflow_provider_genesys.sync.records import accepted_deliveries, load_records
from airflow_provider_genesys.utils.xcom_budget import DEFAULT_XCOM_MAX_BYTES, xcom_size
from genesys_sandbox import SandboxServer
from tests.support.context import FakeTaskInstance, task_context
from tests.support.payloads import PAYLOADS

ITEMS = 10_000


def _xcom_bytes(ti: FakeTaskInstance, returned: Any) -> int:
    """What the run leaves in XCom: every key it pushed, and its return value (Airflow pushes that one)."""
    return sum(xcom_size(value) for value in ti.xcom.values()) + xcom_size(returned)


def _lines(path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def _records(kind: str, count: int) -> list[dict[str, Any]]:
    return [{**copy.deepcopy(PAYLOADS[kind]), "external_id": f"CASE-{n}"} for n in range(count)]


def test_the_bulk_operator_keeps_10000_items_within_the_budget(sandbox: Any, admin: Any) -> None:
    ti = FakeTaskInstance(dag_id="budget", task_id="bulk")
    operator = GenesysBulkCreateInteractionsOperator(
        task_id="bulk", interactions=_records("interaction", ITEMS), max_concurrency=16, progress_interval=60
    )

    summary = operator.execute(task_context(ti))

    size = _xcom_bytes(ti, summary)
    print(f"bulk create, {ITEMS} items: XCom {size} bytes")
    assert size <= DEFAULT_XCOM_MAX_BYTES
    assert summary["created"] == ITEMS and summary["items"] is None
    assert ti.xcom["genesys_audit"] == summary["audit_path"]  # XCom names the file, the file holds the records
    results = load_records(summary)  # what a CRM sync reads: the per-item results file
    assert len(results) == ITEMS and {result["outcome"] for result in results} == {"created"}
    assert len(_lines(summary["audit_path"])) == ITEMS
    assert {result["interaction_id"] for result in results} == {record["id"] for record in admin.records()}


def test_the_workitem_jobs_operator_keeps_10000_items_within_the_budget_and_honours_audit_path(
    sandbox: Any, admin: Any, tmp_path: Path
) -> None:
    ti = FakeTaskInstance(dag_id="budget", task_id="jobs")
    operator = GenesysBulkAddWorkitemsOperator(
        task_id="jobs",
        interactions=_records("workitem", ITEMS),
        poll_interval=0.2,
        job_timeout=300,
        deferrable=False,
        audit_path=str(tmp_path / "audit"),
    )

    summary = operator.execute(task_context(ti))

    size = _xcom_bytes(ti, summary)
    print(f"workitem bulk jobs, {ITEMS} items: XCom {size} bytes")
    assert size <= DEFAULT_XCOM_MAX_BYTES
    assert summary["created"] == ITEMS and summary["items"] is None
    assert summary["audit_path"].startswith(str(tmp_path / "audit"))
    assert summary["items_path"].startswith(str(tmp_path / "audit"))
    assert len(_lines(summary["audit_path"])) == ITEMS and len(load_records(summary)) == ITEMS
    assert len(admin.records()) == ITEMS and admin.ledger()["duplicates"] == 0


def test_the_crm_sync_keeps_10000_deliveries_within_the_budget_and_the_sensor_reads_the_receipts(
    crm_sandbox: SandboxServer, make_conn: Any, tmp_path: Path
) -> None:
    results = tmp_path / "items.jsonl"  # a bulk run's per-item results file, as its summary names it
    rows = [
        {"position": n, "external_id": f"CASE-{n}", "key": f"key-{n}", "outcome": "created", "interaction_id": f"i-{n}"}
        for n in range(ITEMS)
    ]
    results.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    ti = FakeTaskInstance(dag_id="budget", task_id="crm_sync")
    operator = GenesysCrmSyncOperator(
        task_id="crm_sync",
        records={"total": ITEMS, "items": None, "items_path": str(results)},
        crm_conn_id=make_conn(crm_sandbox.base_url),
        max_concurrency=8,
    )

    summary = operator.execute(task_context(ti))

    size = _xcom_bytes(ti, summary)
    print(f"CRM sync, {ITEMS} deliveries: XCom {size} bytes")
    assert size <= DEFAULT_XCOM_MAX_BYTES
    assert summary["delivered"] == ITEMS and summary["receipts"] is None
    assert len(_lines(summary["receipts_path"])) == ITEMS
    assert ti.xcom["crm_audit"] == summary["audit_path"] and len(_lines(summary["audit_path"])) == ITEMS
    assert accepted_deliveries(summary) == []  # the sensor reads the receipts' file (all delivered, none pending)


def test_the_single_create_returns_the_record_id_and_audit_fields_not_the_record(sandbox: Any, admin: Any) -> None:
    ti = FakeTaskInstance(dag_id="budget", task_id="single")

    returned = GenesysCreateInteractionOperator(task_id="single", interaction=PAYLOADS["interaction"]).execute(
        task_context(ti)
    )

    record = admin.records()[0]
    assert returned["interaction_id"] == record["id"] and returned == ti.xcom["genesys_audit"]
    assert not {"participants", "routing"} & set(returned)
    print(f"single create: XCom {_xcom_bytes(ti, returned)} bytes")
    assert _xcom_bytes(ti, returned) <= 4096


def test_the_record_comes_back_only_when_asked_for(sandbox: Any, admin: Any) -> None:
    returned = GenesysCreateInteractionOperator(
        task_id="single", interaction=PAYLOADS["interaction"], return_record=True
    ).execute(task_context(FakeTaskInstance(dag_id="budget", task_id="single_record")))

    assert returned["id"] == admin.records()[0]["id"] and returned["participants"]


def test_a_smaller_budget_moves_a_small_run_to_files(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__GENESYS__XCOM_MAX_BYTES", "4096")
    ti = FakeTaskInstance(dag_id="budget", task_id="small")

    summary = GenesysBulkCreateInteractionsOperator(task_id="small", interactions=_records("interaction", 5)).execute(
        task_context(ti)
    )

    assert _xcom_bytes(ti, summary) <= 4096
    assert summary["items"] is None and len(load_records(summary)) == 5


def test_within_the_budget_everything_stays_inline(sandbox: Any) -> None:
    ti = FakeTaskInstance(dag_id="budget", task_id="inline")

    summary = GenesysBulkCreateInteractionsOperator(task_id="inline", interactions=_records("interaction", 5)).execute(
        task_context(ti)
    )

    assert len(summary["items"]) == 5 and summary["items_path"] is None and summary["audit_path"] is None
    assert len(ti.xcom["genesys_audit"]) == 5


def test_an_unusable_budget_is_a_configuration_error(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_genesys.exceptions import GenesysConfigurationError

    monkeypatch.setenv("AIRFLOW__GENESYS__XCOM_MAX_BYTES", "lots")

    with pytest.raises(GenesysConfigurationError, match=r"\[genesys\] xcom_max_bytes must be an integer"):
        GenesysBulkCreateInteractionsOperator(task_id="bad", interactions=_records("interaction", 1)).execute(
            task_context(FakeTaskInstance(dag_id="budget", task_id="bad"))
        )
