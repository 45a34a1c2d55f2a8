"""Fixtures of the CRM sync tests: connections in the environment, a real sandbox on loopback, a task context."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from crm_support import CANARY_SECRET, FakeTaskInstance

from airflow_provider_genesys.sandbox import SandboxConfig, SandboxServer


@pytest.fixture
def make_context() -> Callable[..., dict[str, Any]]:
    def make(task_id: str = "crm_sync", try_number: int = 1) -> dict[str, Any]:
        ti = FakeTaskInstance(task_id, try_number)
        return {"ti": ti, "run_id": ti.run_id, "dag_id": None, "task_id": None}

    return make


@pytest.fixture
def make_conn(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Define a connection in the environment under a fresh id (no cache can mix two tests up)."""

    def make(host: str, secret: str | None = CANARY_SECRET, conn_type: str = "crm_webhook", **extra: Any) -> str:
        conn_id = f"crm_{uuid.uuid4().hex[:12]}"
        if secret is not None:
            extra.setdefault("signing_secret", secret)
        extra.setdefault("timeout", 5)
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": conn_type, "host": host, "extra": extra})
        )
        return conn_id

    return make


@pytest.fixture
def crm_sandbox() -> Iterator[SandboxServer]:
    """A real sandbox (uvicorn on 127.0.0.1) whose CRM receiver shares the canary secret."""
    server = SandboxServer(
        SandboxConfig(crm_signing_secret=CANARY_SECRET, crm_mode="sync", crm_async_delay_seconds=0.3)
    ).start()
    try:
        yield server
    finally:
        server.stop()
