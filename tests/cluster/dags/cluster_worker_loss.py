"""Cluster test DAGs: a bulk callback task and a bulk workitem task whose worker is killed part-way.

Each task retries once, soon: the harness SIGKILLs the worker running try 1 while records are being created, so
try 2 runs on the other worker, whose local disk has never seen this task.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider_genesys.operators.interactions import GenesysBulkCreateInteractionsOperator
from tests.cluster import workload

START = pendulum.datetime(2026, 1, 1, tz="UTC")
DEFAULT_ARGS = {"retries": 1, "retry_delay": timedelta(seconds=2)}

with DAG(
    dag_id=workload.CALLBACKS_DAG,
    schedule=None,
    start_date=START,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["genesys", "cluster-test"],
) as callbacks_dag:
    GenesysBulkCreateInteractionsOperator(
        task_id=workload.CALLBACKS_TASK,
        kind="callback",
        interactions=workload.callbacks(),
        max_concurrency=2,
    )

with DAG(
    dag_id=workload.WORKITEMS_DAG,
    schedule=None,
    start_date=START,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["genesys", "cluster-test"],
) as workitems_dag:
    GenesysBulkCreateInteractionsOperator(
        task_id=workload.WORKITEMS_TASK,
        kind="workitem",
        interactions=workload.workitems(),
        max_concurrency=2,
    )
