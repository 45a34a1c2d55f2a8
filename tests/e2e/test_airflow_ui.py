"""What the Airflow 3 UI gets from the api-server (its FastAPI app, in process): the connection forms, built by
Airflow's ProvidersManager from ``get_provider_info``, and the extra link of a task that created a record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_genesys.get_provider_info import get_provider_info
from tests.support.dags import load_dag, run_dag, task_states

pytestmark = pytest.mark.usefixtures("airflow_db")


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The api-server's core app (public API and UI routes); every caller is an admin of the simple auth manager."""
    from airflow.api_fastapi.app import create_app, purge_cached_app
    from fastapi.testclient import TestClient

    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "e2e-" + "0123456789abcdef" * 4)  # a key of SHA-512 size
    with TestClient(create_app(apps="core")) as client:
        yield client
    purge_cached_app()


def _form(api: Any, conn_type: str) -> dict[str, Any]:
    response = api.get("/ui/connections/hook_meta")
    assert response.status_code == 200, response.text
    (form,) = [entry for entry in response.json() if entry["connection_type"] == conn_type]
    return dict(form)


def _declared(conn_type: str) -> dict[str, Any]:
    (entry,) = [e for e in get_provider_info()["connection-types"] if e["connection-type"] == conn_type]
    return dict(entry)


@pytest.mark.parametrize("conn_type", ["genesys_cloud", "crm_webhook"])
def test_the_ui_gets_each_connection_form_with_every_field(api: Any, conn_type: str) -> None:
    form = _form(api, conn_type)
    declared = _declared(conn_type)
    assert form["hook_name"] == declared["hook-name"]
    assert form["hook_class_name"] == declared["hook-class-name"]
    assert set(form["extra_fields"]) == set(declared["conn-fields"])
    for name, field in form["extra_fields"].items():
        assert field["schema"]["title"] == declared["conn-fields"][name]["label"]
    standard = form["standard_fields"]
    hidden = {name for name in ("url_schema", "host", "port", "login", "password") if standard[name]["hidden"]}
    assert hidden == ({"url_schema"} if conn_type == "genesys_cloud" else {"login"})


def test_the_genesys_form_shows_the_hooks_defaults_and_masks_nothing_it_should_not(api: Any) -> None:
    fields = _form(api, "genesys_cloud")["extra_fields"]
    assert {name: fields[name]["value"] for name in ("max_attempts", "backoff_initial", "backoff_max")} == {
        "max_attempts": 5,
        "backoff_initial": 3,
        "backoff_max": 27,
    }
    assert fields["token_retry_seconds"]["value"] is None  # a default there would be shown as ***
    assert fields["region"]["value"] == "us-east-1"
    standard = _form(api, "genesys_cloud")["standard_fields"]
    assert (standard["login"]["title"], standard["password"]["title"]) == ("Client ID", "Client Secret")


def test_the_ui_gets_the_extra_link_of_a_created_record(api: Any, admin: Any) -> None:
    dag_run = run_dag(load_dag("genesys_create_interaction"), logical_date=datetime(2026, 8, 1, tzinfo=timezone.utc))
    assert task_states(dag_run)["create_interaction"] == "success"
    (record,) = admin.records()

    response = api.get(f"/api/v2/dags/{dag_run.dag_id}/dagRuns/{dag_run.run_id}/taskInstances/create_interaction/links")

    assert response.status_code == 200, response.text
    assert response.json()["extra_links"] == {"Genesys record": f"{admin.base_url}/_sandbox/records/{record['id']}"}
