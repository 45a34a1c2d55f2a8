"""The interaction contract (models/interaction.py) and the audit models (models/audit.py)."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from airflow_provider_genesys.exceptions import InteractionValidationError
from airflow_provider_genesys.models.audit import AuditRecord, ItemResult, RunSummary
from airflow_provider_genesys.models.interaction import (
    INTERACTION_TYPES,
    PARTICIPANT_ROLES,
    InteractionRecord,
    InteractionRequest,
)
from airflow_provider_genesys.models.validation import validate_model

SKILL = "5d4e1b9c-6a2f-4f0e-9b3d-1c2a3b4c5d6e"
QUEUE = "0b8f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
PERSON = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
AGENT = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


def valid_interaction() -> dict[str, Any]:
    return {
        "type": "chat",
        "routing": {"priority": 50, "skills": [{"id": SKILL, "level": 3}], "queue": {"id": QUEUE}},
        "participants": [
            {"id": PERSON, "roles": ["initiator", "customer"], "channel": {"id": "web-chat-1"}},
            {"id": AGENT, "roles": ["agent"]},
        ],
    }


def problems(payload: Any) -> dict[str, str]:
    with pytest.raises(InteractionValidationError) as caught:
        validate_model(InteractionRequest, payload)
    return {error.path: error.message for error in caught.value.errors}


def with_change(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    payload = valid_interaction()
    target: Any = payload
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return payload


# --- the interaction contract: every rule of the module docstring ---------------------------------------


def test_valid_interaction_passes() -> None:
    request = validate_model(InteractionRequest, valid_interaction())
    assert request.type == "chat"
    assert str(request.routing.skills[0].id) == SKILL


@pytest.mark.parametrize("interaction_type", INTERACTION_TYPES)
def test_every_interaction_type_is_accepted(interaction_type: str) -> None:
    assert validate_model(InteractionRequest, with_change(("type",), interaction_type)).type == interaction_type


@pytest.mark.parametrize("interaction_type", ["fax", "VOICE", "", None, 1])
def test_unknown_interaction_type_is_rejected(interaction_type: Any) -> None:
    assert "type" in problems(with_change(("type",), interaction_type))


def test_routing_is_required() -> None:
    payload = valid_interaction()
    del payload["routing"]
    assert problems(payload) == {"routing": "field required"}


@pytest.mark.parametrize("priority", [1, 100])
def test_priority_bounds_are_inclusive(priority: int) -> None:
    assert (
        validate_model(InteractionRequest, with_change(("routing", "priority"), priority)).routing.priority == priority
    )


@pytest.mark.parametrize("priority", [0, 101, -5, "50", 50.5, True, None])
def test_priority_outside_1_to_100_or_not_an_integer_is_rejected(priority: Any) -> None:
    assert "routing.priority" in problems(with_change(("routing", "priority"), priority))


@pytest.mark.parametrize(
    "path", [("routing", "skills", 0, "id"), ("routing", "queue", "id"), ("participants", 1, "id")]
)
def test_ids_must_be_uuids(path: tuple[str | int, ...]) -> None:
    rendered = ".".join(str(part) for part in path).replace(".0", "[0]").replace(".1", "[1]")
    assert problems(with_change(path, "not-a-uuid")) == {rendered: "not a UUID"}


@pytest.mark.parametrize("level", [0, 5, 2.5])
def test_skill_level_within_0_to_5_is_accepted(level: float) -> None:
    request = validate_model(InteractionRequest, with_change(("routing", "skills", 0, "level"), level))
    assert request.routing.skills[0].level == level


@pytest.mark.parametrize("level", [-0.1, 5.1, "high"])
def test_skill_level_outside_0_to_5_is_rejected(level: Any) -> None:
    assert "routing.skills[0].level" in problems(with_change(("routing", "skills", 0, "level"), level))


def test_at_least_one_participant() -> None:
    assert "participants" in problems(with_change(("participants",), []))


def test_each_participant_needs_a_role() -> None:
    assert "participants[1].roles" in problems(with_change(("participants", 1, "roles"), []))


@pytest.mark.parametrize("role", PARTICIPANT_ROLES)
def test_every_role_is_accepted(role: str) -> None:
    request = validate_model(InteractionRequest, with_change(("participants", 1, "roles"), [role]))
    assert request.participants[1].roles == [role]


def test_unknown_role_is_rejected() -> None:
    assert "participants[1].roles[0]" in problems(with_change(("participants", 1, "roles"), ["boss"]))


def test_duplicate_roles_are_rejected() -> None:
    found = problems(with_change(("participants", 1, "roles"), ["agent", "agent"]))
    assert found == {"participants[1].roles": "duplicate role(s): agent"}


def test_an_initiator_is_required() -> None:
    found = problems(with_change(("participants", 0, "roles"), ["customer"]))
    assert found == {"participants": "at least one participant must have the 'initiator' role"}


@pytest.mark.parametrize(
    "where",
    [
        (),
        ("routing",),
        ("routing", "skills", 0),
        ("routing", "queue"),
        ("participants", 0),
        ("participants", 0, "channel"),
    ],
)
def test_unknown_fields_are_rejected_everywhere(where: tuple[str | int, ...]) -> None:
    payload = valid_interaction()
    target: Any = payload
    for part in where:
        target = target[part]
    target["surprise"] = 1
    prefix = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in where).lstrip(".")
    expected_path = f"{prefix}.surprise" if prefix else "surprise"
    assert problems(payload) == {expected_path: "unknown field (not part of the contract)"}


def test_all_problems_are_reported_at_once_with_paths() -> None:
    payload = {
        "type": "fax",
        "routing": {"priority": 0, "skills": [{"id": "x", "level": 9}], "queue": {"id": "y"}},
        "participants": [{"id": "z", "roles": ["agent", "agent"], "channel": {"id": ""}}, {"id": PERSON, "roles": []}],
        "extra": True,
    }
    assert set(problems(payload)) == {
        "type",
        "routing.priority",
        "routing.skills[0].id",
        "routing.skills[0].level",
        "routing.queue.id",
        "participants[0].id",
        "participants[0].roles",
        "participants[0].channel.id",
        "participants[1].roles",
        "participants",  # no initiator: reported together with the rest, not after they are fixed
        "extra",
    }


def test_initiator_rule_also_applies_to_direct_model_validation() -> None:
    payload = with_change(("participants", 0, "roles"), ["customer"])
    payload["participants"][1]["id"] = "bad"
    with pytest.raises(ValidationError) as caught:
        InteractionRequest.model_validate(payload)
    locations = {tuple(error["loc"]) for error in caught.value.errors()}
    assert locations == {("participants", 1, "id"), ("participants",)}


def test_participant_models_count_as_raw_participants() -> None:
    request = validate_model(InteractionRequest, valid_interaction())
    rebuilt = InteractionRequest(type="voice", routing=request.routing, participants=request.participants)
    assert rebuilt.participants[0].roles[0] == "initiator"


def test_validation_error_names_item_and_kind() -> None:
    with pytest.raises(InteractionValidationError) as caught:
        validate_model(InteractionRequest, [], item="item 3 (external_id='CASE-9')", kind="interaction")
    assert "item 3" in str(caught.value) and "interaction payload" in str(caught.value)
    assert caught.value.errors[0].message.startswith("expected a JSON object")


def test_interaction_record_reads_wire_names() -> None:
    record = InteractionRecord.model_validate(
        {"id": "r1", "type": "chat", "externalId": "CASE-9", "createTime": "2025-01-01T00:00:00Z", "more": 1}
    )
    assert record.external_id == "CASE-9"
    assert record.create_time == datetime(2025, 1, 1, tzinfo=timezone.utc)


# --- property: any mutation yields either a valid request or an InteractionValidationError with paths ------

_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)


def _locations(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_locations(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_locations(child, (*prefix, index)))
    return found


@st.composite
def mutated_interactions(draw: st.DrawFn) -> dict[str, Any]:
    payload = valid_interaction()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        locations = [location for location in _locations(payload) if location]
        if not locations:
            break
        location = draw(st.sampled_from(locations))
        parent: Any = payload
        for part in location[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add_field", "append"]))
        last = location[-1]
        if action == "replace":
            parent[last] = draw(_junk)
        elif action == "delete":
            del parent[last]
        elif action == "add_field" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=5))] = draw(_junk)
        elif isinstance(parent, list):
            parent.append(draw(_junk))
    return copy.deepcopy(payload)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=mutated_interactions())
def test_mutations_only_ever_raise_interaction_validation_errors_with_paths(payload: dict[str, Any]) -> None:
    # the sandbox's own, separately written model of the contract is the oracle of validity
    from genesys_sandbox.contract import InteractionRequest as ContractOracle

    try:
        model = validate_model(InteractionRequest, payload)
    except InteractionValidationError as error:
        assert error.errors
        assert all(field_error.path for field_error in error.errors), error
        assert all(field_error.message for field_error in error.errors), error
        with pytest.raises(ValidationError):
            ContractOracle.model_validate(payload)
        return
    wire = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert validate_model(InteractionRequest, wire) == model  # the wire form is valid and means the same
    ContractOracle.model_validate(wire)  # and the server side of the contract accepts it


# --- audit models -------------------------------------------------------------------------------------------


def audit(**overrides: Any) -> AuditRecord:
    fields: dict[str, Any] = {
        "dag_id": "crm_cases",
        "task_id": "create",
        "run_id": "manual__1",
        "map_index": -1,
        "try_number": 2,
        "kind": "workitem",
        "idempotency_key": "ab" * 32,
        "validation_passed": True,
        "http_status": 201,
        "attempts": 1,
        "latency_ms": 12.5,
        "outcome": "created",
        "interaction_id": "wi-1",
        "correlation_id": "corr-1",
        "oauth_client_id": "client-1",
        "requests_sent": 1,
    }
    return AuditRecord(**{**fields, **overrides})


def test_audit_record_defaults_and_timestamp() -> None:
    record = audit()
    assert record.validation_errors == []
    assert record.error is None and record.position is None
    parsed = datetime.fromisoformat(record.timestamp.replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_audit_record_json_line_is_compact_sorted_and_round_trips() -> None:
    record = audit(validation_errors=[], error=None)
    line = record.to_json_line()
    assert "\n" not in line and ": " not in line and ", " not in line
    decoded = json.loads(line)
    assert list(decoded) == sorted(decoded)
    assert AuditRecord.model_validate(decoded) == record
    assert json.loads(json.dumps(record.to_xcom())) == decoded


def test_audit_record_has_every_documented_field() -> None:
    assert set(audit().to_xcom()) == {
        "timestamp", "dag_id", "task_id", "run_id", "map_index", "try_number", "kind", "interaction_type",
        "idempotency_key", "external_id", "position", "validation_passed", "validation_errors", "http_status",
        "attempts", "latency_ms", "pacing_wait_ms", "outcome", "interaction_id", "correlation_id", "oauth_client_id",
        "error", "requests_sent", "queue_id", "resumed",
    }  # fmt: skip


def test_audit_record_rejects_unknown_fields_and_outcomes() -> None:
    with pytest.raises(ValidationError):
        audit(token="secret")
    with pytest.raises(ValidationError):
        audit(outcome="maybe")


def test_invalid_outcome_goes_with_failed_validation() -> None:
    invalid = audit(outcome="invalid", validation_passed=False, validation_errors=["name: field required"])
    assert invalid.validation_errors == ["name: field required"]
    with pytest.raises(ValidationError):
        audit(outcome="invalid", validation_passed=True)
    with pytest.raises(ValidationError):
        audit(outcome="created", validation_passed=False)


def test_audit_error_text_has_credentials_blanked() -> None:
    record = audit(outcome="failed", error="401 for Authorization: Bearer abcdefghijklmnop.qrs")
    assert "abcdefghijklmnop" not in (record.error or "")
    assert "Bearer ***" in (record.error or "")


def test_item_result_from_audit_record() -> None:
    result = ItemResult.from_audit_record(audit(position=4, external_id="CASE-9"), error_code=None)
    assert result.to_xcom() == {
        "position": 4, "outcome": "created", "external_id": "CASE-9", "key": "ab" * 32, "interaction_id": "wi-1",
        "http_status": 201, "error_code": None, "correlation_id": "corr-1", "error": None,
        "kind": "workitem", "interaction_type": None, "queue_id": None,
    }  # fmt: skip
    with pytest.raises(ValueError):
        ItemResult.from_audit_record(audit())


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.95, 7.0),
        ([4.0, 1.0, 3.0, 2.0], 0.5, 2.0),
        ([1.0, 2.0, 3.0, 4.0], 0.0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 1.0, 4.0),
        ([float(v) for v in range(1, 21)], 0.95, 19.0),
        ([float(v) for v in range(1, 101)], 0.95, 95.0),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], q: float, expected: float | None) -> None:
    assert RunSummary.percentile(values, q) == expected


@pytest.mark.parametrize("q", [-0.1, 1.5, 95])
def test_percentile_rejects_quantiles_outside_0_to_1(q: float) -> None:
    with pytest.raises(ValueError):
        RunSummary.percentile([1.0], q)


def test_run_summary_from_records() -> None:
    records = [
        audit(position=0, latency_ms=10.0, requests_sent=1),
        audit(position=1, outcome="replayed", latency_ms=30.0, requests_sent=2),
        audit(position=2, outcome="invalid", validation_passed=False, latency_ms=None, requests_sent=0,
              http_status=None, interaction_id=None),
        audit(position=3, outcome="failed", latency_ms=20.0, requests_sent=3, http_status=503),
    ]  # fmt: skip
    summary = RunSummary.from_records(records, wall_seconds=1.5, throttled_429=2, audit_path="/tmp/audit.jsonl")
    assert (summary.total, summary.valid, summary.invalid) == (4, 3, 1)
    assert (summary.created, summary.replayed, summary.failed) == (1, 1, 1)
    assert summary.validation_pass_rate == 0.75
    assert (summary.latency_ms_p50, summary.latency_ms_p95, summary.latency_ms_max) == (20.0, 30.0, 30.0)
    assert summary.requests_sent == 6 and summary.throttled_429 == 2
    assert summary.items is not None and [item.outcome for item in summary.items][2] == "invalid"
    assert json.loads(summary.to_json_line())["audit_path"] == "/tmp/audit.jsonl"
    to_file = RunSummary.from_records(records, wall_seconds=1.5, include_items=False, items_path="/tmp/i.jsonl")
    assert to_file.items is None and to_file.items_path == "/tmp/i.jsonl"


def test_run_summary_of_an_empty_batch() -> None:
    summary = RunSummary.from_records([], wall_seconds=0.0)
    assert summary.total == 0 and summary.validation_pass_rate == 1.0 and summary.latency_ms_p50 is None


def test_run_summary_rejects_rates_outside_0_to_1() -> None:
    with pytest.raises(ValidationError):
        RunSummary(total=1, valid=1, invalid=0, created=1, replayed=0, failed=0, validation_pass_rate=1.5)
