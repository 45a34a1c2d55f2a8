"""TaskIdentity: what a task context gives the engine, and the inputs of every idempotency key."""

from __future__ import annotations

import pytest

from airflow_provider_genesys.creation.task import TaskIdentity, describe_item
from tests.support.context import FakeTaskInstance, task_context, task_identity


def test_the_key_of_an_item_is_the_same_on_every_try_and_a_clear() -> None:
    identity = {"external_id": "CASE-1"}
    keys = {task_identity(try_number=try_number).key_for("workitem", identity) for try_number in range(1, 8)}
    assert len(keys) == 1


@pytest.mark.parametrize(
    "change", [{"run_id": "scheduled__2026-05-02T00:00:00+00:00"}, {"task_id": "other"}, {"map_index": 3}]
)
def test_a_new_run_task_or_map_index_gives_new_keys(change: dict[str, object]) -> None:
    base = task_identity()
    assert task_identity(**change).key_for("workitem", {"external_id": "X"}) != base.key_for(  # type: ignore[arg-type]
        "workitem", {"external_id": "X"}
    )


def test_from_an_airflow_3_context() -> None:
    ti = FakeTaskInstance(dag_id="d", task_id="t", run_id="r", map_index=2, try_number=3)
    task = TaskIdentity.from_context(task_context(ti))
    assert task == TaskIdentity(dag_id="d", task_id="t", run_id="r", map_index=2, try_number=3)
    assert task.scope == "d/r/t.2"
    assert TaskIdentity.from_context(task_context(FakeTaskInstance(map_index=-1))).scope.endswith("/task")


def test_describe_item() -> None:
    assert describe_item(None, None) == "the interaction"
    assert describe_item(3, "CASE-9") == "item 3 (external_id='CASE-9')"
