"""Shared test set-up: an isolated Airflow home with a migrated SQLite DB, and the sandbox on loopback.

The environment is set before anything imports Airflow, so every test (and every ``airflow`` subprocess)
uses a throw-away AIRFLOW_HOME. The canary credentials of ``tests.support.canaries`` are used for the whole
suite so that secret-hygiene checks can look for them anywhere.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.canaries import CANARY_CLIENT_ID, CANARY_CLIENT_SECRET
from tests.support.connections import genesys_connection
from tests.support.sandbox_client import SandboxAdmin

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="genesys-test-airflow-"))
DAGS_FOLDER = AIRFLOW_HOME / "dags"
STATE_DIR = AIRFLOW_HOME / "genesys-state"
# Every temporary file of the session (and of its subprocesses) goes under AIRFLOW_HOME, removed at the end.
TMP_DIR = AIRFLOW_HOME / "tmp"
TMP_DIR.mkdir()
tempfile.tempdir = str(TMP_DIR)

os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "GENESYS_PROVIDER_STATE_DIR": str(STATE_DIR),
        "TMPDIR": str(TMP_DIR),
    }
)

# Airflow's configuration module, when first imported, puts "default::DeprecationWarning:airflow" in front of the
# warning filters; its pattern also matches airflow_provider_genesys. Imported here, before pytest installs the
# filterwarnings of pyproject.toml for collection and for each test, it cannot shadow them.
import airflow.configuration  # noqa: E402, F401

# DAG files the e2e tests run: the shipped examples plus test-only DAGs, in one dags folder.
DAGS_FOLDER.mkdir(parents=True, exist_ok=True)
for source_dir in (ROOT / "example_dags", ROOT / "tests" / "e2e" / "dags"):
    for dag_file in source_dir.glob("*.py"):
        target = DAGS_FOLDER / dag_file.name
        if not target.exists():
            target.symlink_to(dag_file)
if (ROOT / "example_dags" / "data").exists() and not (DAGS_FOLDER / "data").exists():
    (DAGS_FOLDER / "data").symlink_to(ROOT / "example_dags" / "data")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture
def item_of() -> Callable[..., Any]:
    """``item_of(kind, external_id=..., **changes)``: a prepared item of the default payload of ``kind``."""

    def make(kind: str, external_id: str = "CASE-1", position: int | None = None, **changes: Any) -> Any:
        from airflow_provider_genesys.creation.engine import prepare_item
        from airflow_provider_genesys.creation.kinds import get_kind
        from tests.support.context import task_identity
        from tests.support.payloads import PAYLOADS

        payload = {**copy.deepcopy(PAYLOADS[kind]), **changes}
        return prepare_item(get_kind(kind), payload, task_identity(), external_id=external_id, position=position)

    return make


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the SQLite metadata DB once per session (``airflow db migrate``, as a user would)."""
    marker = AIRFLOW_HOME / ".migrated"
    if not marker.exists():
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        marker.touch()
    return AIRFLOW_HOME / "airflow.db"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    """One sandbox for the session, on a free loopback port, with the canary credentials."""
    from genesys_sandbox import SandboxConfig, SandboxServer

    config = SandboxConfig(
        client_id=CANARY_CLIENT_ID,
        client_secret=CANARY_CLIENT_SECRET,
        quota_per_minute=100_000,
        token_rate_per_minute=10_000,
    )
    with SandboxServer(config=config) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The session sandbox, reset, with ``genesys_cloud_default`` (and a no-retry variant) pointing at it."""
    import requests

    from airflow_provider_genesys.hooks.genesys_cloud import clear_token_cache

    requests.post(f"{sandbox_server.base_url}/_sandbox/reset", timeout=10).raise_for_status()
    clear_token_cache()
    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT", genesys_connection(sandbox_server.base_url))
    monkeypatch.setenv(
        "AIRFLOW_CONN_GENESYS_NO_RETRY", genesys_connection(sandbox_server.base_url, max_attempts=1, timeout=3)
    )
    yield sandbox_server
    clear_token_cache()


@pytest.fixture
def admin(sandbox: Any) -> SandboxAdmin:
    """Admin client of the (reset) sandbox."""
    return SandboxAdmin(sandbox.base_url)
