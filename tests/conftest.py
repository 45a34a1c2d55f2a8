"""Shared test set-up: an isolated Airflow home with a migrated SQLite DB, and the sandbox on loopback.

The environment is set before anything imports Airflow, so every test (and every ``airflow`` subprocess)
uses a throw-away AIRFLOW_HOME. A canary client secret is used for the whole suite so that secret-hygiene
checks can look for it anywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="genesys-test-airflow-"))
DAGS_FOLDER = AIRFLOW_HOME / "dags"
STATE_DIR = AIRFLOW_HOME / "genesys-state"
# Every temporary file of the session (and of its subprocesses) goes under AIRFLOW_HOME, removed at the end.
TMP_DIR = AIRFLOW_HOME / "tmp"
TMP_DIR.mkdir()
tempfile.tempdir = str(TMP_DIR)

#: Canary credentials: they must never appear in a log line, an XCom value, an audit record or an exception.
CANARY_CLIENT_ID = "canary-client-7d1e"
CANARY_CLIENT_SECRET = "canary-secret-Zq81xWv4Lm2P"

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
    from airflow_provider_genesys.sandbox import SandboxConfig, SandboxServer

    config = SandboxConfig(
        client_id=CANARY_CLIENT_ID,
        client_secret=CANARY_CLIENT_SECRET,
        quota_per_minute=100_000,
        token_rate_per_minute=10_000,
    )
    with SandboxServer(config=config) as server:
        yield server


def connection_json(base_url: str, **extra: Any) -> str:
    """Airflow connection (JSON form) for the sandbox, with fast retries for tests."""
    settings: dict[str, Any] = {
        "requests_per_minute": 60_000,
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
        "timeout": 10,
    }
    settings.update(extra)
    return json.dumps(
        {
            "conn_type": "genesys_cloud",
            "login": CANARY_CLIENT_ID,
            "password": CANARY_CLIENT_SECRET,
            "host": base_url,
            "extra": settings,
        }
    )


@pytest.fixture
def sandbox(sandbox_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The session sandbox, reset, with ``genesys_cloud_default`` (and a no-retry variant) pointing at it."""
    import requests

    from airflow_provider_genesys.hooks.genesys_cloud import clear_token_cache

    requests.post(f"{sandbox_server.base_url}/_sandbox/reset", timeout=10).raise_for_status()
    clear_token_cache()
    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT", connection_json(sandbox_server.base_url))
    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_NO_RETRY", connection_json(sandbox_server.base_url, max_attempts=1))
    yield sandbox_server
    clear_token_cache()


class SandboxAdmin:
    """Small client of the sandbox's ``/_sandbox`` admin routes."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def get(self, path: str) -> Any:
        import requests

        response = requests.get(f"{self.base_url}/_sandbox/{path}", timeout=10)
        response.raise_for_status()
        return response.json()

    def faults(self, **faults: Any) -> None:
        import requests

        requests.put(f"{self.base_url}/_sandbox/faults", json=faults, timeout=10).raise_for_status()

    def ledger(self) -> dict[str, Any]:
        return dict(self.get("ledger"))

    def records(self) -> list[dict[str, Any]]:
        return list(self.ledger()["records"])

    def requests_to(self, route: str) -> dict[str, int]:
        return dict(self.get("requests")["by_route"].get(route, {}))


@pytest.fixture
def admin(sandbox: Any) -> SandboxAdmin:
    """Admin client of the (reset) sandbox."""
    return SandboxAdmin(sandbox.base_url)
