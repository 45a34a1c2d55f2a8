"""A bulk run against the sandbox: outputs probed before the first request, the source read once, every row
accounted for, a malformed ``interactions=`` refused before anything is sent."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_genesys.creation.bulk_run import BulkOptions, BulkRun
from airflow_provider_genesys.creation.inputs import BulkInput
from airflow_provider_genesys.creation.kinds import get_kind
from airflow_provider_genesys.exceptions import GenesysConfigurationError
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from tests.support.context import FakeTaskInstance, task_context, task_identity
from tests.support.payloads import PAYLOADS


def _items(count: int, kind: str = "interaction") -> list[dict[str, Any]]:
    return [{**copy.deepcopy(PAYLOADS[kind]), "external_id": f"CASE-{n}"} for n in range(count)]


def _api_requests(admin: Any) -> int:
    return sum(
        sum(counts.values())
        for route, counts in admin.get("requests")["by_route"].items()
        if " /api/" in route or route.endswith("/oauth/token")
    )


def _write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_a_source_that_changes_between_the_passes_changes_nothing(
    hook: GenesysCloudHook, admin: Any, tmp_path: Path
) -> None:
    original = _items(3)
    path = _write_jsonl(tmp_path / "items.jsonl", original)
    run = BulkRun(hook, get_kind("interaction"), task_identity(), BulkInput(source=str(path)), options=BulkOptions())

    report = run.validate()
    # between the passes: one row vanishes, an invalid one and an unvalidated new one come in
    _write_jsonl(path, [original[0], {"type": "fax"}, {**original[1], "external_id": "NEVER-VALIDATED"}])
    result = run.create(report)

    assert result.summary is not None and not result.problems
    assert (result.summary.total, result.summary.created, result.summary.invalid) == (3, 3, 0)
    assert [item.external_id for item in result.summary.items or []] == ["CASE-0", "CASE-1", "CASE-2"]
    assert len(admin.records()) == 3


def test_a_malformed_interactions_string_is_refused_before_anything_is_sent(hook: GenesysCloudHook, admin: Any) -> None:
    run = BulkRun(
        hook,
        get_kind("interaction"),
        task_identity(),
        BulkInput(interactions="[{'type': 'chat'}]"),  # a Python repr rendered by a template, not JSON
        options=BulkOptions(on_invalid="skip", max_invalid=100),
    )

    result = run.create(run.validate())

    assert result.refused and result.summary is None
    assert "interactions: is a string but not JSON text of a list of objects" in result.message
    assert _api_requests(admin) == 0


@pytest.mark.parametrize("where", ["unwritable", "no-backend", "unknown-scheme"])
def test_an_unusable_audit_path_fails_the_operator_before_the_first_request(
    where: str, sandbox: Any, admin: Any, tmp_path: Path
) -> None:
    from airflow_provider_genesys.operators.interactions import GenesysBulkCreateInteractionsOperator

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    audit_path = {
        "unwritable": str(blocker / "audit"),
        "no-backend": "s3://audit-bucket/genesys",
        "unknown-scheme": "nosuch://audit-bucket/genesys",
    }[where]
    operator = GenesysBulkCreateInteractionsOperator(
        task_id="bulk", interactions=_items(2), audit_path=audit_path, validate_routing=True
    )

    with pytest.raises(GenesysConfigurationError) as raised:
        operator.execute(task_context(FakeTaskInstance(task_id="bulk")))

    assert audit_path in str(raised.value)
    assert _api_requests(admin) == 0  # not even the routing lookups of validation


def test_the_single_operator_probes_its_audit_path_before_creating(sandbox: Any, admin: Any) -> None:
    from airflow_provider_genesys.operators.interactions import GenesysCreateInteractionOperator

    operator = GenesysCreateInteractionOperator(
        task_id="single", interaction=PAYLOADS["interaction"], audit_path="s3://audit-bucket/genesys"
    )

    with pytest.raises(GenesysConfigurationError, match="apache-airflow-providers-amazon"):
        operator.execute(task_context(FakeTaskInstance(task_id="single")))
    assert admin.records() == []


def test_an_unusable_connection_fails_before_the_first_create(
    sandbox: Any, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_genesys.operators.interactions import GenesysBulkCreateInteractionsOperator
    from tests.support.connections import genesys_connection

    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_FAST", genesys_connection(sandbox.base_url, requests_per_minute="fast"))
    operator = GenesysBulkCreateInteractionsOperator(
        task_id="bulk", interactions=_items(2), genesys_conn_id="genesys_fast"
    )

    with pytest.raises(GenesysConfigurationError, match="'requests_per_minute' must be an integer"):
        operator.execute(task_context(FakeTaskInstance(task_id="bulk")))
    assert _api_requests(admin) == 0


@pytest.mark.parametrize("ids", [{"dag_id": ".."}, {"run_id": "../.."}, {"task_id": ".."}])
def test_hostile_ids_keep_every_file_inside_its_folders(
    ids: dict[str, str], sandbox: Any, admin: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_genesys.operators.interactions import GenesysBulkCreateInteractionsOperator

    state_dir, audit_dir = tmp_path / "deep" / "state", tmp_path / "deep" / "audit"
    monkeypatch.setenv("GENESYS_PROVIDER_STATE_DIR", str(state_dir))
    ti = FakeTaskInstance(**{"dag_id": "d", "task_id": "bulk", **ids})
    operator = GenesysBulkCreateInteractionsOperator(
        task_id=ti.task_id, interactions=_items(3, "callback"), kind="callback", audit_path=str(audit_dir)
    )

    summary = operator.execute(task_context(ti))

    assert summary["created"] == 3
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.name == "genesys.callback.0.json" for path in files)  # the local state (no task runner)
    assert any(path.name == "try-1.jsonl" for path in files)
    for path in files:
        assert path.resolve().is_relative_to(state_dir.resolve()) or path.resolve().is_relative_to(
            audit_dir.resolve()
        ), path


@pytest.mark.parametrize("external_id", ["   ", {"case": 1}])
def test_the_single_operator_reports_a_bad_external_id_as_invalid_input(
    external_id: Any, sandbox: Any, admin: Any
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_provider_genesys.operators.interactions import GenesysCreateInteractionOperator

    ti = FakeTaskInstance(task_id="single")
    operator = GenesysCreateInteractionOperator(
        task_id="single", interaction=PAYLOADS["interaction"], external_id=external_id
    )

    with pytest.raises(AirflowFailException, match="external_id: "):  # not retried: a retry cannot fix it
        operator.execute(task_context(ti))
    assert ti.xcom["genesys_audit"]["outcome"] == "invalid"
    assert _api_requests(admin) == 0
