"""The provider as a user meets it on the command line: `airflow providers list`, `airflow connections test`."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from tests.support.canaries import CANARY_CLIENT_SECRET
from tests.support.connections import genesys_connection

pytestmark = pytest.mark.usefixtures("airflow_db")


def _airflow(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_providers_list_shows_the_provider() -> None:
    result = _airflow("providers", "list", env=os.environ.copy())
    assert result.returncode == 0, result.stderr[-2000:]
    assert "airflow-provider-genesys" in result.stdout


def test_connections_test_succeeds_with_the_right_secret_and_fails_cleanly_with_a_wrong_one(
    sandbox: Any, admin: Any
) -> None:
    env = os.environ.copy()
    env["AIRFLOW__CORE__TEST_CONNECTION"] = "Enabled"
    good = _airflow("connections", "test", "genesys_cloud_default", env=env)
    assert good.returncode == 0, good.stdout[-2000:] + good.stderr[-2000:]
    assert "Connection success" in good.stdout
    assert admin.requests_to("GET /api/v2/tokens/me") == {"200": 1}

    wrong_secret = "wrong-secret-Hh7Qp2"
    env["AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"] = genesys_connection(sandbox.base_url).replace(
        CANARY_CLIENT_SECRET, wrong_secret
    )
    bad = _airflow("connections", "test", "genesys_cloud_default", env=env)
    output = bad.stdout + bad.stderr
    assert bad.returncode != 0
    assert "Connection failed" in output and "401" in output
    assert "Traceback" not in output
    assert wrong_secret not in output and CANARY_CLIENT_SECRET not in output
