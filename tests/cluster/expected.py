"""The records each creating task of the cluster run must leave behind, read from the DAG files themselves.

The harness imports the same DAG files the cluster runs and reads each creating operator's input (its list of
items or its source file, its kind and id field), so a change to an example DAG changes the expectation with it.
Which items are valid is judged by :func:`tests.cluster.verdict.valid_external_ids` (the sandbox's models).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import jinja2

from tests.cluster.verdict import ExpectedRecords, valid_external_ids


def load_dags(path: Path) -> dict[str, Any]:
    """Import one DAG file; return its DAGs by id."""
    from airflow.sdk import DAG

    module_name = f"_cluster_dag_{path.stem}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return {value.dag_id: value for value in vars(module).values() if isinstance(value, DAG)}


def bulk_task(dag: Any, task_id: str, run_id: str) -> ExpectedRecords:
    """One record per valid item of a bulk task (its ``interactions`` list or its ``source`` file)."""
    operator = dag.get_task(task_id)
    if operator.interactions is not None:
        if not isinstance(operator.interactions, list):
            raise ValueError(f"{dag.dag_id}.{task_id}: interactions must be a literal list for the cluster test")
        rows: list[Any] = list(operator.interactions)
    else:
        rows = Path(str(operator.source)).read_text(encoding="utf-8").splitlines()
    kind = str(operator.kind)
    ids = valid_external_ids(kind, rows, str(operator.external_id_field))
    return ExpectedRecords(dag_id=dag.dag_id, run_id=run_id, task_id=task_id, kind=kind, external_ids=tuple(ids))


def single_task(dag: Any, task_id: str, run_id: str) -> ExpectedRecords:
    """The one record of a single-create task (its ``external_id`` rendered with the DAG's params)."""
    operator = dag.get_task(task_id)
    params = {name: dag.params[name] for name in dag.params}
    external_id = jinja2.Environment().from_string(str(operator.external_id)).render(params=params)
    return ExpectedRecords(
        dag_id=dag.dag_id, run_id=run_id, task_id=task_id, kind=str(operator.kind), external_ids=(external_id,)
    )
