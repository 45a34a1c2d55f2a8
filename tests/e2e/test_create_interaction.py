"""GenesysCreateInteractionOperator end to end: dag.test() on a migrated SQLite DB, the sandbox on loopback."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.canaries import CANARY_CLIENT_SECRET
from tests.support.dags import clear_and_rerun, load_dag, run_dag, task_states, try_numbers, xcom

pytestmark = pytest.mark.usefixtures("airflow_db")

INTERACTIONS_ROUTE = "POST /api/v2/interactions"
AUDIT_FIELDS = {
    "timestamp", "dag_id", "task_id", "run_id", "map_index", "try_number", "kind", "interaction_type",
    "idempotency_key", "validation_passed", "validation_errors", "http_status", "attempts", "latency_ms",
    "outcome", "interaction_id", "correlation_id", "oauth_client_id", "error",
}  # fmt: skip


def sandbox_url(admin: Any) -> str:
    return str(admin.base_url)


def _date(day: int) -> datetime:
    return datetime(2026, 3, day, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def example_dag() -> Any:
    return load_dag("genesys_create_interaction")


def test_a_run_creates_exactly_one_record_and_audits_it(example_dag: Any, admin: Any) -> None:
    dag_run = run_dag(example_dag, logical_date=_date(1))

    assert task_states(dag_run) == {"create_interaction": "success", "print_audit": "success"}
    records = admin.records()
    assert len(records) == 1
    returned = xcom(dag_run, "create_interaction")
    audit = xcom(dag_run, "create_interaction", "genesys_audit")
    # the return value is the record's id and the audit fields, never the record (its participants...)
    assert returned == audit and returned["interaction_id"] == records[0]["id"]
    assert not {"participants", "routing", "id"} & set(returned)
    assert set(audit) >= AUDIT_FIELDS
    assert audit["outcome"] == "created"
    assert audit["interaction_id"] == records[0]["id"]
    assert audit["idempotency_key"] == records[0]["externalId"]
    assert audit["run_id"] == dag_run.run_id and audit["map_index"] == -1 and audit["try_number"] == 1
    assert audit["http_status"] == 201 and audit["correlation_id"]
    assert audit["oauth_client_id"] == "canary-client-7d1e"
    assert CANARY_CLIENT_SECRET not in repr(audit) and CANARY_CLIENT_SECRET not in repr(returned)
    # the downstream task read the same audit record from XCom
    assert xcom(dag_run, "print_audit")["idempotency_key"] == audit["idempotency_key"]
    # the task's extra link opens the record (the sandbox's record page; apps.<domain>/... for Genesys)
    link = xcom(dag_run, "create_interaction", "_link_GenesysInteractionLink")
    assert link == f"{sandbox_url(admin)}/_sandbox/records/{records[0]['id']}"
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and records[0]["id"] in page.text


def test_clearing_the_task_in_the_same_run_replays_instead_of_creating(example_dag: Any, admin: Any) -> None:
    first = run_dag(example_dag, logical_date=_date(2))
    again = clear_and_rerun(example_dag, logical_date=_date(2))

    assert first.run_id == again.run_id
    assert task_states(again)["create_interaction"] == "success"
    assert len(admin.records()) == 1
    audit = xcom(again, "create_interaction", "genesys_audit")
    assert audit["outcome"] == "replayed"
    assert audit["interaction_id"] == admin.records()[0]["id"]
    assert admin.requests_to(INTERACTIONS_ROUTE) == {"201": 1, "409": 1}


def test_a_new_run_creates_a_new_record(example_dag: Any, admin: Any) -> None:
    run_dag(example_dag, logical_date=_date(3))
    run_dag(example_dag, logical_date=_date(4))

    records = admin.records()
    assert len(records) == 2
    assert records[0]["externalId"] != records[1]["externalId"]
    assert admin.ledger()["duplicates"] == 0


def test_commit_then_drop_on_the_first_try_ends_with_one_record(admin: Any, tmp_path: Path) -> None:
    dag = load_dag("e2e_create_no_hook_retry")
    admin.faults(drop_after_commit_next=1)
    audit_file = tmp_path / "audit" / "create.jsonl"

    dag_run = run_dag(dag, logical_date=_date(5), conf={"audit_path": str(audit_file)})

    assert task_states(dag_run)["create"] == "success"
    assert try_numbers(dag_run)["create"] == 2  # the first try lost its response and failed
    records = admin.records()
    assert len(records) == 1
    assert admin.ledger()["duplicates"] == 0
    audit = xcom(dag_run, "create", "genesys_audit")
    assert audit["outcome"] == "replayed" and audit["interaction_id"] == records[0]["id"]
    assert admin.requests_to(INTERACTIONS_ROUTE) == {"dropped": 1, "409": 1}
    # the failed first try's audit record survives in the durable file (its XCom was cleared by the retry)
    lines = [json.loads(line) for line in audit_file.read_text().splitlines()]
    assert [(line["try_number"], line["outcome"]) for line in lines] == [(1, "failed"), (2, "replayed")]
    assert lines[0]["http_status"] is None and "connection" in lines[0]["error"]
    assert lines[0]["idempotency_key"] == lines[1]["idempotency_key"] == audit["idempotency_key"]
    assert CANARY_CLIENT_SECRET not in audit_file.read_text()


def test_an_invalid_payload_fails_before_any_request(
    example_dag: Any, admin: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    bad = copy.deepcopy(example_dag.params["interaction"])
    bad["type"] = "fax"
    bad["routing"]["priority"] = 0
    bad["participants"][0]["id"] = "not-a-uuid"
    bad["participants"][0]["roles"] = ["customer"]

    dag_run = run_dag(example_dag, logical_date=_date(6), conf={"interaction": bad, "external_id": "CASE-BAD"})

    assert task_states(dag_run)["create_interaction"] == "failed"
    assert try_numbers(dag_run)["create_interaction"] == 1  # invalid input is not retried
    assert admin.requests_to(INTERACTIONS_ROUTE) == {}
    assert admin.records() == []
    output = capfd.readouterr().out
    for field in ("type", "routing.priority", "participants[0].id", "participants"):
        assert f"{field}:" in output, field
    audit = xcom(dag_run, "create_interaction", "genesys_audit")
    assert audit["outcome"] == "invalid" and audit["validation_passed"] is False
    assert any(error.startswith("participants[0].id") for error in audit["validation_errors"])
    assert audit["http_status"] is None and audit["idempotency_key"] is None
    assert CANARY_CLIENT_SECRET not in output
