"""The provider's metadata tells the truth: connection forms show what the hooks read, with the hooks' defaults;
the ``[genesys]`` section is declared and read; ``deferrable`` follows ``[operators] default_deferrable``."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from airflow_provider_genesys.get_provider_info import get_provider_info
from airflow_provider_genesys.hooks.crm import CrmWebhookHook, settings_from_connection
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from airflow_provider_genesys.hooks.regions import resolve_endpoints
from airflow_provider_genesys.utils.audit_files import default_state_dir
from tests.support.canaries import CANARY_CLIENT_ID, CANARY_CLIENT_SECRET, CANARY_CRM_SECRET

STANDARD_FIELDS = {"host", "schema", "login", "password", "port"}
#: Extras that stand for a standard field of the form (the Genesys hook also takes ``host`` from the extra).
EXTRA_ALIASES = {"host": "host"}
#: The settings attribute each Genesys form field sets.
GENESYS_SETTINGS = {
    "requests_per_minute": "requests_per_minute",
    "timeout": "timeout",
    "connect_timeout": "connect_timeout",
    "max_attempts": "max_attempts",
    "max_throttle_attempts": "max_throttle_attempts",
    "backoff_initial": "backoff_initial",
    "backoff_max": "backoff_max",
    "token_retry_seconds": "token_retry_seconds",
    "interactions_contract": "interactions_contract",
    "search_indexing_delay": "search_indexing_delay",
    "search_lookback": "search_lookback",
    "search_max_wait": "search_max_wait",
}


def _form(hook: type[Any]) -> dict[str, Any]:
    (entry,) = [e for e in get_provider_info()["connection-types"] if e["connection-type"] == hook.conn_type]
    return dict(entry)


class _RecordingExtra(dict):  # type: ignore[type-arg]
    """Connection extras that remember every key the hook asks for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key: Any, default: Any = None) -> Any:
        self.asked.add(str(key))
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self.asked.add(str(key))
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)


class _RecordingConnection:
    """A connection that remembers which standard fields the hook reads."""

    def __init__(self, conn_type: str, **fields: Any) -> None:
        self._fields = {"conn_id": "form_probe", "conn_type": conn_type, **fields}
        self.read: set[str] = set()
        self.extra_dejson = _RecordingExtra(fields.pop("extra", {"unrelated": "so the extras are not empty"}))

    def __getattr__(self, name: str) -> Any:
        if name in STANDARD_FIELDS:
            self.read.add(name)
        return self._fields.get(name)


def _what_the_module_reads(hook: type[Any]) -> tuple[set[str], set[str]]:
    """(extra keys, standard fields) the hook reads when it turns a connection into its settings."""
    if hook is GenesysCloudHook:
        conn = _RecordingConnection(
            "genesys_cloud", login=CANARY_CLIENT_ID, password=CANARY_CLIENT_SECRET, host="http://127.0.0.1", port=1
        )
        instance = GenesysCloudHook(genesys_conn_id="form_probe")
        instance.get_connection = lambda conn_id: conn  # type: ignore[method-assign]
        instance.settings  # noqa: B018
    else:
        conn = _RecordingConnection("crm_webhook", host="crm.example.com", password=CANARY_CRM_SECRET)
        settings_from_connection(conn)  # type: ignore[arg-type]
    return set(conn.extra_dejson.asked), conn.read


@pytest.mark.parametrize("hook", [GenesysCloudHook, CrmWebhookHook], ids=lambda hook: hook.conn_type)
def test_the_form_shows_every_extra_and_field_the_hook_reads(hook: type[Any]) -> None:
    form = _form(hook)
    extras, fields = _what_the_module_reads(hook)
    assert extras, "the reader found no extras: the hook reads its connection differently now"
    hidden = set(form["ui-field-behaviour"]["hidden-fields"])
    assert extras - set(form["conn-fields"]) - set(EXTRA_ALIASES) == set()
    assert {EXTRA_ALIASES[name] for name in extras & set(EXTRA_ALIASES)} & hidden == set()
    assert fields & hidden == set()
    assert set(form["conn-fields"]) - extras == set(), "a form field the hook never reads"


def test_the_genesys_form_lists_every_retry_and_pacing_extra() -> None:
    assert set(_form(GenesysCloudHook)["conn-fields"]) == {"region", *GENESYS_SETTINGS}
    assert "port" not in _form(GenesysCloudHook)["ui-field-behaviour"]["hidden-fields"]
    assert {"port", "schema", "password"}.isdisjoint(_form(CrmWebhookHook)["ui-field-behaviour"]["hidden-fields"])


def _genesys_settings(monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any], port: int | None = None) -> Any:
    connection = {
        "conn_type": "genesys_cloud",
        "login": CANARY_CLIENT_ID,
        "password": CANARY_CLIENT_SECRET,
        "extra": extra,
    }
    if port is not None:
        connection.update(host="http://127.0.0.1", port=port)
    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_FORM", json.dumps(connection))
    return GenesysCloudHook(genesys_conn_id="genesys_form").settings


def test_the_forms_defaults_are_the_hooks_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = _form(GenesysCloudHook)["conn-fields"]
    settings = _genesys_settings(monkeypatch, {})
    for name, attribute in GENESYS_SETTINGS.items():
        default = fields[name]["schema"].get("default")
        if default is None:  # shown empty; the description names the hook's default
            assert f"(empty: {getattr(settings, attribute):g})" in fields[name]["description"], name
        else:
            assert getattr(settings, attribute) == default, name
    assert settings.endpoints == resolve_endpoints(region=fields["region"]["schema"]["default"], host=None)


def test_every_form_field_reaches_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "requests_per_minute": 120,
        "timeout": 12.5,
        "connect_timeout": 4.5,
        "max_attempts": 2,
        "max_throttle_attempts": 3,
        "backoff_initial": 0.25,
        "backoff_max": 7.0,
        "token_retry_seconds": 11.0,
        "interactions_contract": True,
        "search_indexing_delay": 45.0,
        "search_lookback": 7200.0,
        "search_max_wait": 90.0,
    }
    settings = _genesys_settings(monkeypatch, {**values, "region": "eu-west-1"}, port=8765)
    assert {name: getattr(settings, attribute) for name, attribute in GENESYS_SETTINGS.items()} == values
    assert settings.endpoints.api_base == "http://127.0.0.1:8765"  # the port field is read


def test_the_crm_form_fields_reach_the_hook() -> None:
    from airflow.sdk import Connection

    conn = Connection(
        conn_id="crm_form",
        conn_type="crm_webhook",
        host="crm.example.com",
        schema="http",
        port=8080,
        password=CANARY_CRM_SECRET,
        extra=json.dumps({"endpoint": "/hooks/genesys", "timeout": 9}),
    )
    settings = settings_from_connection(conn)
    assert (settings.base_url, settings.endpoint, settings.timeout) == (
        "http://crm.example.com:8080",
        "/hooks/genesys",
        9,
    )
    assert settings.signing_secret == CANARY_CRM_SECRET


def test_the_genesys_config_section_is_declared() -> None:
    section = get_provider_info()["config"]["genesys"]
    assert set(section["options"]) == {"state_store", "state_dir", "xcom_max_bytes"}
    for option in section["options"].values():
        assert {"description", "version_added", "type", "example", "default"} <= set(option)


def test_the_state_dir_comes_from_the_environment_then_the_config_then_airflow_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from airflow.sdk import conf

    monkeypatch.delenv("GENESYS_PROVIDER_STATE_DIR", raising=False)
    monkeypatch.delenv("AIRFLOW__GENESYS__STATE_DIR", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    # declared by the provider (no fallback needed): Airflow loaded the section from get_provider_info
    assert conf.get("genesys", "state_dir") == ""
    assert default_state_dir() == os.path.join(str(tmp_path), "genesys")
    monkeypatch.setenv("AIRFLOW__GENESYS__STATE_DIR", "/shared/genesys")
    assert default_state_dir() == "/shared/genesys"
    monkeypatch.setenv("GENESYS_PROVIDER_STATE_DIR", "/legacy/genesys")
    assert default_state_dir() == "/legacy/genesys"


def test_the_xcom_budget_is_declared_and_read_from_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk import conf

    from airflow_provider_genesys.utils.xcom_budget import DEFAULT_XCOM_MAX_BYTES, xcom_max_bytes

    monkeypatch.delenv("AIRFLOW__GENESYS__XCOM_MAX_BYTES", raising=False)
    assert conf.getint("genesys", "xcom_max_bytes") == DEFAULT_XCOM_MAX_BYTES == 65536  # declared, no fallback
    assert xcom_max_bytes() == DEFAULT_XCOM_MAX_BYTES
    monkeypatch.setenv("AIRFLOW__GENESYS__XCOM_MAX_BYTES", "262144")
    assert xcom_max_bytes() == 262144


DEFERRABLE = [
    ("airflow_provider_genesys.operators.workitem_jobs", "GenesysBulkAddWorkitemsOperator", {"interactions": []}),
    ("airflow_provider_genesys.sensors.crm", "GenesysCrmSyncSensor", {"receipts": []}),
]


def test_deferrable_is_off_unless_airflow_says_otherwise() -> None:
    for module, name, kwargs in DEFERRABLE:
        operator = getattr(importlib.import_module(module), name)(task_id="t", **kwargs)
        assert operator.deferrable is False, name


def test_deferrable_follows_operators_default_deferrable() -> None:
    # The default is read when the module is imported (as in Airflow's own providers): a fresh interpreter.
    script = "; ".join(
        [
            "import importlib",
            f"cases = {DEFERRABLE!r}",
            "print([getattr(importlib.import_module(m), n)(task_id='t', **k).deferrable for m, n, k in cases])",
        ]
    )
    env = {**os.environ, "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[True, True]"
