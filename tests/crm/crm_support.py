"""Helpers of the CRM sync tests (imported by the tests and their conftest)."""

from __future__ import annotations

import base64
import json
from typing import Any

#: The connection's secret in every test: it must never show up in a log, an XCom value or an exception.
CANARY_SECRET = "whsec_" + base64.b64encode(b"canary-crm-secret-0123456789").decode()
CANARY_PARTS = (CANARY_SECRET, CANARY_SECRET.removeprefix("whsec_"))


class FakeTaskInstance:
    """The few task-instance attributes the operators read, and an XCom store."""

    def __init__(self, task_id: str = "crm_sync", try_number: int = 1) -> None:
        self.dag_id = "crm_dag"
        self.task_id = task_id
        self.run_id = "manual__2025-01-01T00:00:00+00:00"
        self.map_index = -1
        self.try_number = try_number
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        json.dumps(value)  # XCom values must be plain JSON
        self.xcom[key] = value


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for part in CANARY_PARTS:
            assert part not in text, "the signing secret leaked"
