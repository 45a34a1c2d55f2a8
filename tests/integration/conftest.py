"""Fixtures of the integration tests: hooks and prepared items on the (reset) session sandbox, CRM connections."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from genesys_sandbox import SandboxConfig, SandboxServer
from tests.support.canaries import CANARY_CRM_SECRET
from tests.support.connections import crm_connection
from tests.support.context import FakeTaskInstance, task_context


@pytest.fixture
def hook(sandbox: Any) -> GenesysCloudHook:
    """A hook on the reset sandbox (fast retries)."""
    return GenesysCloudHook()


@pytest.fixture
def no_retry_hook(sandbox: Any) -> GenesysCloudHook:
    """A hook on the reset sandbox that never retries."""
    return GenesysCloudHook("genesys_no_retry")


@pytest.fixture
def state_dir(tmp_path: Path) -> str:
    """A fresh state directory (journals, checkpoints)."""
    return str(tmp_path / "state")


@pytest.fixture
def make_context() -> Callable[..., dict[str, Any]]:
    """``make_context(task_id=..., try_number=...)``: a task context with a fresh fake task instance."""

    def make(task_id: str = "crm_sync", try_number: int = 1) -> dict[str, Any]:
        return task_context(FakeTaskInstance(dag_id="crm_dag", task_id=task_id, try_number=try_number))

    return make


@pytest.fixture
def make_conn(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Define a CRM connection in the environment under a fresh id (no cache can mix two tests up)."""

    def make(host: str, secret: str | None = CANARY_CRM_SECRET, conn_type: str = "crm_webhook", **extra: Any) -> str:
        conn_id = f"crm_{uuid.uuid4().hex[:12]}"
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}", crm_connection(host, secret=secret, conn_type=conn_type, **extra)
        )
        return conn_id

    return make


@pytest.fixture
def crm_sandbox() -> Iterator[SandboxServer]:
    """A sandbox of its own (uvicorn on 127.0.0.1) whose CRM receiver shares the canary signing secret."""
    server = SandboxServer(
        SandboxConfig(crm_signing_secret=CANARY_CRM_SECRET, crm_mode="sync", crm_async_delay_seconds=0.3)
    ).start()
    try:
        yield server
    finally:
        server.stop()
