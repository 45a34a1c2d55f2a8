"""An in-memory stand-in for Airflow's task state store accessor (``context["task_state_store"]``).

Same calls as ``TaskStateStoreAccessor`` (``get``, ``set``, ``delete``, ``clear``) and the same rules: values are
JSON (stored as their JSON text, so a caller can never mutate a stored value), ``None`` cannot be stored. It
counts calls, so tests can check what a run costs; the real accessor is exercised under ``airflow dags test``
(tests/e2e) and on the Celery cluster (tests/cluster).
"""

from __future__ import annotations

import json
from typing import Any


class RecordingStateStore:
    """Values by key, as JSON text; ``gets`` and ``sets`` count the calls."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.gets = 0
        self.sets = 0

    def get(self, key: str, default: Any = None) -> Any:
        self.gets += 1
        return json.loads(self.values[key]) if key in self.values else default

    def set(self, key: str, value: Any) -> None:
        if value is None:
            raise ValueError("Cannot set value as None")
        self.sets += 1
        self.values[key] = json.dumps(value)

    def delete(self, key: str) -> None:
        self.values.pop(key, None)

    def clear(self) -> None:
        self.values.clear()

    def size(self, key: str) -> int:
        """The stored value's size in bytes (what Airflow compares with ``max_value_storage_bytes``)."""
        return len(self.values[key].encode("utf-8"))
