"""Run DAGs with ``dag.test()`` against the migrated test DB and read what they left behind."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = {
    path.stem: path
    for folder in (ROOT / "example_dags", ROOT / "tests" / "e2e" / "dags")
    for path in folder.glob("*.py")
}


def load_dag(file_stem: str, dag_id: str | None = None) -> Any:
    """Import a DAG file (by its file name without ``.py``) and return its DAG (the only one, or ``dag_id``)."""
    from airflow.sdk import DAG

    path = DAG_FILES[file_stem]
    module_name = f"_e2e_dag_{file_stem}"
    if module_name in sys.modules:
        module = sys.modules[module_name]
    else:
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    dags = [value for value in vars(module).values() if isinstance(value, DAG)]
    if dag_id is not None:
        dags = [dag for dag in dags if dag.dag_id == dag_id]
    assert len(dags) == 1, f"expected one DAG in {path}, found {[d.dag_id for d in dags]}"
    return dags[0]


def run_dag(dag: Any, *, logical_date: datetime, conf: dict[str, Any] | None = None) -> Any:
    """``dag.test()`` for one logical date.

    The same date again re-creates the run under the same run id: ``dag.test()`` deletes the earlier DAG run,
    and Airflow deletes its task state with it. A clear keeps the run: see :func:`clear_and_rerun`.
    """
    return dag.test(logical_date=logical_date, run_after=logical_date, run_conf=conf)


def clear_and_rerun(
    dag: Any, *, logical_date: datetime, conf: dict[str, Any] | None = None, run_after: datetime | None = None
) -> Any:
    """What the UI's Clear button does, then the run to the end: the same DAG run (its task state kept), its task
    instances cleared and run again at their next try numbers, through ``dag.test()``'s own loop.

    ``dag.test()`` clears the task instances of the date first; only its replacement of the DAG run is changed
    here: the existing run is set running again instead of being deleted and re-created.
    """
    import airflow.models.dagrun as dagrun_module
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import select

    replace_the_run = dagrun_module.get_or_create_dagrun

    def keep_the_run(*, dag: Any, run_id: str, session: Any, **kwargs: Any) -> Any:
        existing = session.scalar(
            select(dagrun_module.DagRun).where(
                dagrun_module.DagRun.dag_id == dag.dag_id, dagrun_module.DagRun.run_id == run_id
            )
        )
        if existing is None:
            return replace_the_run(dag=dag, run_id=run_id, session=session, **kwargs)
        existing.state = DagRunState.RUNNING
        for ti in existing.get_task_instances(session=session):
            if ti.state in (TaskInstanceState.RESTARTING, TaskInstanceState.RUNNING, TaskInstanceState.QUEUED):
                ti.state = None  # its process is gone (killed): the scheduler would run it again
        session.commit()
        existing.dag = dag  # as a created run carries it
        return existing

    with mock.patch.object(dagrun_module, "get_or_create_dagrun", keep_the_run):
        return dag.test(logical_date=logical_date, run_after=run_after or logical_date, run_conf=conf)


def task_states(dag_run: Any) -> dict[str, str]:
    """Final state of every task instance of a run."""
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances(session=session)}


def try_numbers(dag_run: Any) -> dict[str, int]:
    """Try number of every task instance of a run."""
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: int(ti.try_number) for ti in dag_run.get_task_instances(session=session)}


def xcom(dag_run: Any, task_id: str, key: str = "return_value") -> Any:
    """The XCom value a task of this run pushed under ``key`` (``None`` when absent)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(run_id=dag_run.run_id, key=key, dag_ids=dag_run.dag_id, task_ids=task_id)
        rows = session.scalars(query).all()
        if not rows:
            return None
        return XComModel.deserialize_value(rows[0])
