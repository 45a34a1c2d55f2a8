"""The oracle itself: it must catch what it is there to catch (each case is a shape the SDK rejects)."""

from __future__ import annotations

from tests.contract.sdk_oracle import (
    allowed_values,
    check,
    enum_confirmed_at_runtime,
    json_fields,
    operation_for,
    operation_for_template,
)

AGENT = "2b3c4d5e-6f70-4a81-9b2c-3d4e5f6a7b01"
TYPE = "8a9b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c01"


def _kinds(problems: list) -> set[tuple[str, str, str]]:
    return {(problem.model, problem.path, problem.kind) for problem in problems}


def test_a_body_of_sdk_names_and_types_conforms() -> None:
    body = {
        "name": "Follow up",
        "typeId": TYPE,
        "queueId": "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f601",
        "dateDue": "2026-01-02T03:04:05.000Z",
        "customFields": {"anything": {"nested": [1, 2]}},
        "scoredAgents": [{"id": AGENT, "score": 80}],
    }
    assert check(body, "WorkitemCreate") == []


def test_unknown_fields_types_dates_and_setter_rules_are_reported_with_model_and_path() -> None:
    body = {
        "name": 5,
        "typeId": TYPE,
        "type_id": TYPE,
        "queueId": "not-a-uuid",
        "dateDue": "2026-01-02T03:04:05+00:00",
        "scoredAgents": [{"agentId": AGENT, "score": 80}],
    }
    assert _kinds(check(body, "WorkitemCreate")) == {
        ("WorkitemCreate", "name", "type"),
        ("WorkitemCreate", "type_id", "unknown-field"),
        ("WorkitemCreate", "queueId", "constraint"),
        ("WorkitemCreate", "dateDue", "type"),
        ("WorkitemScoredAgentRequest", "scoredAgents[0].agentId", "unknown-field"),
    }


def test_enums_come_from_the_setters_and_are_checked_exactly() -> None:
    assert allowed_values("BulkJob", "state") == (
        "Idle", "Queued", "Running", "Succeeded", "Failed", "Cancelled", "Terminated",
    )  # fmt: skip
    assert enum_confirmed_at_runtime("BulkJob", "state")
    assert allowed_values("WorkitemCreate", "name") is None
    assert _kinds(check({"state": "Complete"}, "BulkJob")) == {("BulkJob", "state", "enum")}
    assert _kinds(check({"state": "succeeded"}, "BulkJob")) == {("BulkJob", "state", "enum-case")}


def test_nested_references_maps_and_lists_are_walked() -> None:
    workitem = {"id": "w", "type": {"id": TYPE, "name": "n", "selfUri": "/x"}, "typeId": TYPE, "queue": "q"}
    assert _kinds(check(workitem, "Workitem")) == {
        ("Workitem", "typeId", "unknown-field"),
        ("WorkitemQueueReference", "queue", "type"),
    }
    error = {"message": "m", "messageParams": {"a": 1}, "details": [{"fieldName": "x", "bogus": 1}]}
    assert _kinds(check(error, "ErrorBody")) == {
        ("ErrorBody", "messageParams['a']", "type"),
        ("Detail", "details[0].bogus", "unknown-field"),
    }
    results = {"results": [{"entity": {"id": "w", "workbin": {"id": "b"}}}, {"index": 1, "error": {"status": 400}}]}
    assert _kinds(check(results, "BulkJobAddResponse")) == {
        ("BulkJobAddResult", "results[1].index", "unknown-field"),
        ("BulkJobError", "results[1].error.status", "unknown-field"),
    }


def test_operations_are_read_from_the_sdk_apis() -> None:
    patch = operation_for("PATCH", "/api/v2/taskmanagement/workitems/bulk/add/jobs/123")
    assert patch is not None and (patch.body, patch.response) == ("BulkJobUpdate", "BulkJob")
    query = operation_for("POST", "/api/v2/taskmanagement/workitems/query")
    assert query is not None and query.response == "WorkitemPostQueryEntityListing"  # not /workitems/{id}
    assert operation_for("POST", "/api/v2/interactions") is None
    assert operation_for_template("GET", "/api/v2/routing/queues/{queue_id}") is not None
    assert set(json_fields("BulkJobUpdate")) == {"state"}
