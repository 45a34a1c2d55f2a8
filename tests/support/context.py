"""An Airflow 3 task context for code that runs an operator's ``execute`` directly (no scheduler)."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_genesys.creation.task import TaskIdentity

DEFAULT_RUN_ID = "manual__2026-05-01T00:00:00+00:00"


class FakeTaskInstance:
    """The task-instance attributes the operators read, and an XCom store that insists on plain JSON."""

    def __init__(
        self,
        *,
        dag_id: str = "test_dag",
        task_id: str = "task",
        run_id: str = DEFAULT_RUN_ID,
        map_index: int = -1,
        try_number: int = 1,
    ) -> None:
        self.dag_id = dag_id
        self.task_id = task_id
        self.run_id = run_id
        self.map_index = map_index
        self.try_number = try_number
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        json.dumps(value)  # XCom values must be plain JSON
        self.xcom[key] = value


def task_context(ti: FakeTaskInstance | None = None, *, state_store: Any = None, **ids: Any) -> dict[str, Any]:
    """An Airflow 3 context: ``ti`` and ``run_id``; top-level ``dag_id`` / ``task_id`` are None, as in Airflow 3.

    :param state_store: the task state store accessor (``context["task_state_store"]``); without one the
        provider keeps its state in files under the state directory.
    """
    ti = ti or FakeTaskInstance(**ids)
    context = {"ti": ti, "run_id": ti.run_id, "dag_id": None, "task_id": None, "logical_date": None}
    if state_store is not None:
        context["task_state_store"] = state_store
    return context


def task_identity(try_number: int = 1, run_id: str = DEFAULT_RUN_ID, **ids: Any) -> TaskIdentity:
    """A task identity (what a task context gives the engine)."""
    values: dict[str, Any] = {"dag_id": "test_dag", "task_id": "create", "map_index": -1, **ids}
    return TaskIdentity(run_id=run_id, try_number=try_number, **values)
