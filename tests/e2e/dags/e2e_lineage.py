"""Test DAG: every operator that reports lineage, on inputs from the run's conf; the bulk task has an Asset outlet."""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag

from airflow_provider_genesys.operators.crm import GenesysCrmSyncOperator
from airflow_provider_genesys.operators.interactions import (
    GenesysBulkCreateInteractionsOperator,
    GenesysCreateInteractionOperator,
)
from airflow_provider_genesys.operators.workitem_jobs import GenesysBulkAddWorkitemsOperator

#: The asset of the example DAGs (genesys_interactions_consumer is scheduled on it).
GENESYS_INTERACTIONS = Asset(name="genesys_interactions", uri="genesys://mypurecloud.com/interaction")


@dag(
    dag_id="e2e_lineage",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"source": "", "interaction": {}, "workitems": []},
    render_template_as_native_obj=True,
)
def e2e_lineage() -> None:
    bulk = GenesysBulkCreateInteractionsOperator(
        task_id="bulk",
        source="{{ params.source }}",
        on_invalid="skip",
        max_invalid=1,
        max_concurrency=2,
        outlets=[GENESYS_INTERACTIONS],
    )
    GenesysCreateInteractionOperator(task_id="create", interaction="{{ params.interaction }}", external_id="ONE-1")
    GenesysBulkAddWorkitemsOperator(
        task_id="workitems", interactions="{{ params.workitems }}", batch_size=2, poll_interval=0.1, deferrable=False
    )
    GenesysCrmSyncOperator(task_id="sync", records=bulk.output)


e2e_lineage_dag = e2e_lineage()
