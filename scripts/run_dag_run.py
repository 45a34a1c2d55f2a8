"""Run one DAG run in-process with ``dag.test()``, pinned to a run id.

    python scripts/run_dag_run.py DAG_ID LOGICAL_DATE RUN_AFTER [--clear]

``airflow dags test`` always starts a new run id; passing the ``run_after`` of an earlier run (the time in its
``manual__<run_after>`` run id) runs that run id again, so its tasks derive the same keys. By default the earlier
DAG run is deleted and re-created (what ``dag.test()`` does; Airflow deletes the run's task state with it);
``--clear`` keeps it and re-runs its cleared task instances at their next try numbers, as the UI's Clear does.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pendulum
from airflow.sdk import DAG


def find_dag(dag_id: str) -> DAG:
    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    for path in sorted(folder.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"_dag_file_{path.stem}", path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for value in vars(module).values():
            if isinstance(value, DAG) and value.dag_id == dag_id:
                return value
    raise SystemExit(f"DAG {dag_id!r} not found in {folder}")


def main() -> int:
    dag_id, logical_date, run_after = sys.argv[1:4]
    dag = find_dag(dag_id)
    if "--clear" in sys.argv[4:]:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.support.dags import clear_and_rerun

        dag_run = clear_and_rerun(dag, logical_date=pendulum.parse(logical_date), run_after=pendulum.parse(run_after))
    else:
        dag_run = dag.test(logical_date=pendulum.parse(logical_date), run_after=pendulum.parse(run_after))
    print(f"DagRun {dag_run.run_id} finished: state={dag_run.state}")
    return 0 if str(dag_run.state) == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
