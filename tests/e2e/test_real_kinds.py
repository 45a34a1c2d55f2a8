"""Workitems, callbacks and inbound emails end to end: dag.test() against the sandbox's real Genesys routes.

Per kind: a clean run costs one request per record; a connection dropped after the commit ends with exactly one
workitem (by lookup) and, for callbacks/emails, with one record and the item failed as "outcome unknown" (never
a second send); a clear of the same run replays instead of creating; bad bodies fail before any request.
"""

from __future__ import annotations

import copy
import sys
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_genesys.creation.keys import item_identity
from airflow_provider_genesys.creation.task import TaskIdentity
from tests.support.dags import clear_and_rerun, load_dag, run_dag, task_states, try_numbers, xcom

pytestmark = pytest.mark.usefixtures("airflow_db")

FILE = "e2e_real_kinds"
WORKITEMS = "POST /api/v2/taskmanagement/workitems"
WORKITEMS_QUERY = "POST /api/v2/taskmanagement/workitems/query"
SEARCH = "POST /api/v2/conversations/participants/attributes/search"
CONVERSATION = "GET /api/v2/conversations/{conversation_id}"
CREATE_ROUTE = {
    "workitem": WORKITEMS,
    "callback": "POST /api/v2/conversations/callbacks",
    "email": "POST /api/v2/conversations/emails",
}
KEY_OF = {
    "workitem": lambda record: record["externalTag"],
    "callback": lambda record: record["idempotencyKey"],
    "email": lambda record: record["idempotencyKey"],
}
LEGACY_SKILL_ID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e04"  # seeded inactive
UNKNOWN_QUEUE_ID = "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f6ff"


def _date(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 4, day, hour, 0, tzinfo=timezone.utc)


def _dag(kind: str, suffix: str) -> Any:
    return load_dag(FILE, f"e2e_{kind}_{suffix}")


def _payload(kind: str) -> dict[str, Any]:
    """The DAG file's default payload (a fresh copy: ``dag.test(run_conf=...)`` updates the DAG's params)."""
    return copy.deepcopy(sys.modules[f"_e2e_dag_{FILE}"].PAYLOADS[kind])


def _run(dag: Any, kind: str, day: int, payload: dict[str, Any] | None = None) -> Any:
    return run_dag(dag, logical_date=_date(day), conf={"payload": payload if payload is not None else _payload(kind)})


def _clear(dag: Any, kind: str, day: int) -> Any:
    """Clear the run's task, as the UI does, and let it run again (the DAG run and its task state stay)."""
    return clear_and_rerun(dag, logical_date=_date(day), conf={"payload": _payload(kind)})


def _api_routes(admin: Any) -> dict[str, dict[str, int]]:
    by_route = admin.get("requests")["by_route"]
    return {route: counts for route, counts in by_route.items() if " /api/" in route}


@pytest.mark.parametrize("kind", ["workitem", "callback", "email"])
def test_a_clean_run_sends_one_request_per_record(kind: str, admin: Any) -> None:
    dag_run = _run(_dag(kind, "no_retry"), kind, 1)

    assert task_states(dag_run) == {"create": "success"}
    records = admin.records()
    assert len(records) == 1
    audit = xcom(dag_run, "create", "genesys_audit")
    assert audit["outcome"] == "created" and audit["kind"] == kind
    assert audit["requests_sent"] == 1 and audit["attempts"] == 1
    assert audit["interaction_id"] == records[0]["id"]
    assert KEY_OF[kind](records[0]) == audit["idempotency_key"]
    assert _api_routes(admin) == {CREATE_ROUTE[kind]: {"201" if kind == "workitem" else "200": 1}}


def test_workitem_commit_then_drop_on_the_first_try_is_found_by_the_second(admin: Any) -> None:
    admin.faults(drop_after_commit_next=1)

    dag_run = _run(_dag("workitem", "no_retry"), "workitem", 2)

    assert task_states(dag_run) == {"create": "success"}
    assert try_numbers(dag_run)["create"] == 2
    records = admin.records()
    assert len(records) == 1 and admin.ledger()["duplicates"] == 0
    audit = xcom(dag_run, "create", "genesys_audit")
    assert audit["outcome"] == "replayed" and audit["interaction_id"] == records[0]["id"]
    assert _api_routes(admin) == {WORKITEMS: {"dropped": 1}, WORKITEMS_QUERY: {"200": 1}}


def test_workitem_commit_then_drop_inside_the_hook_retry_is_found_before_resending(admin: Any) -> None:
    admin.faults(drop_after_commit_next=1)

    dag_run = _run(_dag("workitem", "hook_retry"), "workitem", 3)

    assert task_states(dag_run) == {"create": "success"}
    assert try_numbers(dag_run)["create"] == 1
    assert len(admin.records()) == 1 and admin.ledger()["duplicates"] == 0
    audit = xcom(dag_run, "create", "genesys_audit")
    assert audit["outcome"] == "replayed" and audit["requests_sent"] == 2
    assert _api_routes(admin) == {WORKITEMS: {"dropped": 1}, WORKITEMS_QUERY: {"200": 1}}


def test_workitem_lost_answer_without_commit_is_created_once(admin: Any) -> None:
    admin.faults(fail_next=[503])  # answered before any work: nothing was committed

    dag_run = _run(_dag("workitem", "hook_retry"), "workitem", 4)

    assert task_states(dag_run) == {"create": "success"}
    assert len(admin.records()) == 1
    audit = xcom(dag_run, "create", "genesys_audit")
    assert audit["outcome"] == "created"
    assert _api_routes(admin) == {WORKITEMS: {"503": 1, "201": 1}, WORKITEMS_QUERY: {"200": 1}}


def test_a_cleared_workitem_task_replays_without_a_new_record(admin: Any) -> None:
    dag = _dag("workitem", "no_retry")
    first = _run(dag, "workitem", 5)
    again = _clear(dag, "workitem", 5)

    assert first.run_id == again.run_id
    assert task_states(again) == {"create": "success"}
    records = admin.records()
    assert len(records) == 1
    audit = xcom(again, "create", "genesys_audit")
    assert audit["outcome"] == "replayed" and audit["interaction_id"] == records[0]["id"]
    assert _api_routes(admin) == {WORKITEMS: {"201": 1}, WORKITEMS_QUERY: {"200": 1}}


@pytest.mark.parametrize("kind", ["callback", "email"])
@pytest.mark.parametrize("suffix", ["no_retry", "hook_retry"])
def test_a_lost_answer_is_never_sent_again(kind: str, suffix: str, admin: Any) -> None:
    admin.faults(drop_after_commit_next=1)

    dag_run = _run(_dag(kind, suffix), kind, 6)

    assert task_states(dag_run) == {"create": "failed"}
    assert try_numbers(dag_run)["create"] == 1  # no later try could know more: fail fast
    records = admin.records()
    assert len(records) == 1 and admin.ledger()["duplicates"] == 0
    assert _api_routes(admin) == {CREATE_ROUTE[kind]: {"dropped": 1}}
    audit = xcom(dag_run, "create", "genesys_audit")
    assert audit["outcome"] == "failed"
    assert "Outcome unknown" in audit["error"] and KEY_OF[kind](records[0]) in audit["error"]
    assert "genesysIdempotencyKey" in audit["error"]


@pytest.mark.parametrize("kind", ["callback", "email"])
def test_a_clear_after_a_lost_answer_finds_the_conversation_by_search_and_never_resends(kind: str, admin: Any) -> None:
    dag = _dag(kind, "no_retry")
    admin.faults(drop_after_commit_next=1)
    first = _run(dag, kind, 7)
    assert task_states(first) == {"create": "failed"}

    again = _clear(dag, kind, 7)

    assert task_states(again) == {"create": "success"}
    (record,) = admin.records()
    routes = _api_routes(admin)
    assert routes[CREATE_ROUTE[kind]] == {"dropped": 1}  # sent once, never again
    assert routes[SEARCH]["200"] >= 1 and routes[CONVERSATION] == {"200": 1}
    audit = xcom(again, "create", "genesys_audit")
    assert audit["outcome"] == "replayed" and audit["interaction_id"] == record["id"]


@pytest.mark.parametrize("kind", ["callback", "email"])
def test_a_cleared_conversation_task_replays_from_its_state(kind: str, admin: Any) -> None:
    dag = _dag(kind, "no_retry")
    first = _run(dag, kind, 8)
    again = _clear(dag, kind, 8)

    assert task_states(again) == {"create": "success"}
    records = admin.records()
    assert len(records) == 1
    created = xcom(first, "create", "genesys_audit")
    audit = xcom(again, "create", "genesys_audit")
    assert audit["outcome"] == "replayed" and audit["interaction_id"] == created["interaction_id"]
    assert audit["requests_sent"] == 1  # one GET of the conversation, no create
    ok = "200"
    assert _api_routes(admin) == {CREATE_ROUTE[kind]: {ok: 1}, CONVERSATION: {ok: 1}}


BAD_BODIES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "workitem": (
        {"name": "ab", "typeId": "not-a-uuid", "priority": 30_000_000, "externalTag": "mine"},
        ["name", "typeId", "priority", "externalTag"],
    ),
    "callback": (
        {"callbackNumbers": [], "queueId": "nope", "data": {"genesysIdempotencyKey": "mine"}},
        ["callbackNumbers", "queueId", "data"],
    ),
    "email": (
        {"provider": "PureCloud Email", "queueId": UNKNOWN_QUEUE_ID, "flowId": "f1", "fromAddress": "nobody"},
        ["provider", "queueId", "fromAddress"],
    ),
}


@pytest.mark.parametrize("kind", ["workitem", "callback", "email"])
def test_bad_bodies_fail_with_field_errors_and_zero_requests(
    kind: str, admin: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    body, fields = BAD_BODIES[kind]

    dag_run = _run(_dag(kind, "no_retry"), kind, 9, copy.deepcopy(body))

    assert task_states(dag_run) == {"create": "failed"}
    assert try_numbers(dag_run)["create"] == 1
    assert _api_routes(admin) == {}
    assert admin.records() == []
    output = capfd.readouterr().out
    for field in fields:
        assert f"{field}" in output, field
    audit = xcom(dag_run, "create", "genesys_audit")
    assert audit["outcome"] == "invalid" and len(audit["validation_errors"]) >= len(fields)


# -- validate_routing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "change", "message"),
    [
        ("workitem", {"queueId": UNKNOWN_QUEUE_ID}, f"queueId: queue {UNKNOWN_QUEUE_ID} does not exist"),
        ("workitem", {"skillIds": [LEGACY_SKILL_ID]}, f"skillIds[0]: skill {LEGACY_SKILL_ID} is inactive"),
        (
            "callback",
            {"routingData": {"queueId": UNKNOWN_QUEUE_ID}},
            f"routingData.queueId: queue {UNKNOWN_QUEUE_ID} does not exist",
        ),
    ],
)
def test_validate_routing_fails_before_anything_is_created(
    kind: str, change: dict[str, Any], message: str, admin: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    dag = _dag(kind, "routing")
    payload = {**_payload(kind), **change}

    dag_run = _run(dag, kind, 10, payload)

    assert task_states(dag_run) == {"create": "failed"}
    assert admin.records() == []
    assert CREATE_ROUTE[kind] not in _api_routes(admin)
    assert message in capfd.readouterr().out


def test_validate_routing_passes_and_creates(admin: Any) -> None:
    dag_run = _run(_dag("workitem", "routing"), "workitem", 11)

    assert task_states(dag_run) == {"create": "success"}
    routes = _api_routes(admin)
    assert routes["GET /api/v2/routing/queues/{queue_id}"] == {"200": 1}
    assert routes["GET /api/v2/routing/skills/{skill_id}"] == {"200": 1}


# -- bulk -------------------------------------------------------------------------------------------------


def test_bulk_workitems_retry_looks_keys_up_in_one_query(admin: Any) -> None:
    admin.faults(drop_after_commit_next=1)

    dag_run = run_dag(load_dag(FILE, "e2e_workitem_bulk"), logical_date=_date(12))

    assert task_states(dag_run) == {"create_many": "success"}
    assert try_numbers(dag_run)["create_many"] == 2
    assert len(admin.records()) == 5 and admin.ledger()["duplicates"] == 0
    summary = xcom(dag_run, "create_many")
    assert summary["replayed"] == 5 and summary["created"] == 0 and summary["failed"] == 0
    routes = _api_routes(admin)
    assert routes[WORKITEMS] == {"201": 4, "dropped": 1}
    assert routes[WORKITEMS_QUERY] == {"200": 1}  # the five keys of try 2 in one IN query
    # routing checked once per task run: one queue, one skill, for five items (per try)
    assert routes["GET /api/v2/routing/queues/{queue_id}"] == {"200": 2}
    assert routes["GET /api/v2/routing/skills/{skill_id}"] == {"200": 2}


def test_bulk_callbacks_fail_only_the_item_whose_answer_was_lost(admin: Any) -> None:
    admin.faults(drop_after_commit_next=1)

    dag_run = run_dag(load_dag(FILE, "e2e_callback_bulk"), logical_date=_date(13))

    assert task_states(dag_run) == {"create_many": "failed"}
    assert len(admin.records()) == 5 and admin.ledger()["duplicates"] == 0
    routes = _api_routes(admin)
    assert routes["POST /api/v2/conversations/callbacks"] == {"200": 4, "dropped": 1}
    assert try_numbers(dag_run) == {"create_many": 1}  # a retry cannot settle an unknown outcome: none is made
    summary = xcom(dag_run, "create_many", "genesys_audit_summary")
    assert summary["created"] == 4 and summary["failed"] == 1


# -- workitem bulk add jobs -------------------------------------------------------------------------------

JOBS = "POST /api/v2/taskmanagement/workitems/bulk/add/jobs"
QUEUE_JOB = "PATCH /api/v2/taskmanagement/workitems/bulk/add/jobs/{job_id}"


def _records(n: int = 5, **changes: Any) -> list[dict[str, Any]]:
    return [{**_payload("workitem"), "external_id": f"CASE-{i}", **changes} for i in range(n)]


def _run_jobs(day: int, deferrable: bool = False, records: list[dict[str, Any]] | None = None) -> Any:
    dag = load_dag(FILE, "e2e_workitem_jobs_deferrable" if deferrable else "e2e_workitem_jobs")
    return run_dag(dag, logical_date=_date(day), conf={"records": records or _records()})


@pytest.mark.parametrize("deferrable", [False, True])
def test_bulk_jobs_create_every_workitem_once(deferrable: bool, admin: Any) -> None:
    dag_run = _run_jobs(14, deferrable)

    assert task_states(dag_run) == {"add_jobs": "success"}
    records = admin.records()
    assert len(records) == 5 and admin.ledger()["duplicates"] == 0
    summary = xcom(dag_run, "add_jobs")
    assert summary["created"] == 5 and summary["failed"] == 0
    assert {item["interaction_id"] for item in summary["items"]} == {record["id"] for record in records}
    routes = _api_routes(admin)
    assert routes[JOBS] == {"202": 3} and routes[QUEUE_JOB] == {"200": 3}  # 5 items in batches of 2


def test_bulk_jobs_cleared_replay_without_a_new_job(admin: Any) -> None:
    _run_jobs(15)
    dag = load_dag(FILE, "e2e_workitem_jobs")
    again = clear_and_rerun(dag, logical_date=_date(15), conf={"records": _records()})

    assert task_states(again) == {"add_jobs": "success"}
    assert len(admin.records()) == 5
    summary = xcom(again, "add_jobs")
    assert summary["replayed"] == 5 and summary["created"] == 0
    routes = _api_routes(admin)
    assert routes[JOBS] == {"202": 3} and routes[WORKITEMS_QUERY] == {"200": 1}


def test_bulk_jobs_report_rejected_entities_per_item(admin: Any) -> None:
    records = _records()
    records[3]["queueId"] = UNKNOWN_QUEUE_ID

    dag_run = _run_jobs(16, records=records)

    assert task_states(dag_run) == {"add_jobs": "failed"}
    assert try_numbers(dag_run)["add_jobs"] == 2
    assert len(admin.records()) == 4 and admin.ledger()["duplicates"] == 0
    summary = xcom(dag_run, "add_jobs", "genesys_audit_summary")  # of try 2: the four were found, not re-sent
    assert summary["replayed"] == 4 and summary["failed"] == 1
    audits = xcom(dag_run, "add_jobs", "genesys_audit")
    failed = [audit for audit in audits if audit["outcome"] == "failed"]
    assert [audit["external_id"] for audit in failed] == ["CASE-3"]
    assert UNKNOWN_QUEUE_ID in failed[0]["error"] and "bulk add job" in failed[0]["error"]


def test_bulk_jobs_a_lost_creation_answer_leaves_an_inert_job_and_the_retry_sends_the_batch_again(
    admin: Any,
) -> None:
    admin.faults(drop_after_commit_next=1)  # the first job is created (Idle), its answer lost

    dag_run = _run_jobs(17)

    assert task_states(dag_run) == {"add_jobs": "success"}
    assert try_numbers(dag_run)["add_jobs"] == 2
    assert len(admin.records()) == 5 and admin.ledger()["duplicates"] == 0
    summary = xcom(dag_run, "add_jobs")  # try 2: the two items of the lost job created, the rest found
    assert (summary["created"], summary["replayed"]) == (2, 3)
    routes = _api_routes(admin)
    assert routes[JOBS] == {"dropped": 1, "202": 3} and routes[QUEUE_JOB] == {"200": 3}  # never queued twice


def test_bulk_jobs_a_lost_queueing_answer_is_settled_by_the_jobs_state_within_the_try(admin: Any) -> None:
    admin.faults(drop_after_commit_next=1, route_prefix="/api/v2/taskmanagement/workitems/bulk/add/jobs/")

    dag_run = _run_jobs(18)

    assert task_states(dag_run) == {"add_jobs": "success"}
    assert try_numbers(dag_run)["add_jobs"] == 1
    assert len(admin.records()) == 5 and admin.ledger()["duplicates"] == 0
    assert xcom(dag_run, "add_jobs")["created"] == 5
    routes = _api_routes(admin)
    assert routes[QUEUE_JOB] == {"dropped": 1, "200": 2}
    assert routes["GET /api/v2/taskmanagement/workitems/bulk/add/jobs/{job_id}"].get("200", 0) >= 1


def test_bulk_jobs_report_the_entities_a_job_rejects_with_their_code(
    admin: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    when = _date(19)
    task = TaskIdentity("e2e_workitem_jobs", "add_jobs", f"manual__{when.isoformat()}", -1, 1)
    admin.faults(bulk_reject_tags=[task.key_for("workitem", item_identity(external_id="CASE-2", payload=None))])

    dag_run = _run_jobs(19)

    assert task_states(dag_run) == {"add_jobs": "failed"}
    assert "code=entity.rejected" in capfd.readouterr().out  # the failure report names Genesys' error code
    audits = xcom(dag_run, "add_jobs", "genesys_audit")
    failed = [audit for audit in audits if audit["outcome"] == "failed"]
    assert [audit["external_id"] for audit in failed] == ["CASE-2"]
    summary = xcom(dag_run, "add_jobs", "genesys_audit_summary")
    assert summary["failed"] == 1 and summary["replayed"] + summary["created"] == 4
    assert len(admin.records()) == 4 and admin.ledger()["duplicates"] == 0
