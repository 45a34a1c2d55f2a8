"""OpenLineage of real runs against the sandbox: each operator's ``get_openlineage_facets_on_complete``, called
directly and through the OpenLineage provider's own extractor."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest

from airflow_provider_genesys.lineage import OUTCOMES_FACET
from airflow_provider_genesys.operators.crm import GenesysCrmSyncOperator
from airflow_provider_genesys.operators.interactions import (
    GenesysBulkCreateInteractionsOperator,
    GenesysCreateInteractionOperator,
)
from airflow_provider_genesys.operators.workitem_jobs import GenesysBulkAddWorkitemsOperator
from genesys_sandbox import SandboxServer
from tests.support.payloads import interaction_body, items_for, rows, write_jsonl

pytest.importorskip("airflow.providers.openlineage")


def _task_id(name: str) -> str:
    return f"{name}_{uuid.uuid4().hex[:8]}"  # its own checkpoint and journal scope


def _through_the_extractor(operator: Any) -> Any:
    """What the OpenLineage listener gets for a successful task (dag run and task instance are not read)."""
    from airflow.providers.openlineage.extractors import ExtractorManager
    from airflow.utils.state import TaskInstanceState

    return ExtractorManager().extract_metadata(
        dagrun=mock.MagicMock(run_id="r"),
        task=operator,
        task_instance_state=TaskInstanceState.SUCCESS,
        task_instance=mock.MagicMock(),
    )


def _output(lineage: Any) -> tuple[str, str, int, dict[str, int]]:
    (output,) = lineage.outputs
    facets = output.outputFacets
    return output.namespace, output.name, facets["outputStatistics"].rowCount, facets[OUTCOMES_FACET].outcomes


def test_the_bulk_operator_reports_its_file_and_the_interactions_it_wrote(
    sandbox: Any, tmp_path: Path, make_context: Callable[..., dict[str, Any]]
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", rows(6, invalid=1))
    task_id = _task_id("bulk")
    operator = GenesysBulkCreateInteractionsOperator(
        task_id=task_id, source=str(source), on_invalid="skip", max_invalid=1, max_concurrency=2
    )
    operator.execute(make_context(task_id=task_id))

    lineage = operator.get_openlineage_facets_on_complete(None)
    domain = urlsplit(sandbox.base_url).netloc
    outcomes = {"created": 5, "replayed": 0, "invalid": 1, "failed": 0}
    assert _output(lineage) == (f"genesys://{domain}", "interaction", 5, outcomes)
    (source_dataset,) = lineage.inputs
    assert (source_dataset.namespace, source_dataset.name) == ("file", str(source))
    assert source_dataset.inputFacets["inputStatistics"].rowCount == 6
    assert _output(_through_the_extractor(operator)) == _output(lineage)


def test_the_single_create_reports_one_record_created_then_replayed(
    sandbox: Any, make_context: Callable[..., dict[str, Any]]
) -> None:
    task_id = _task_id("create")
    operator = GenesysCreateInteractionOperator(task_id=task_id, interaction=interaction_body(), external_id="C-1")
    operator.execute(make_context(task_id=task_id))
    domain = urlsplit(sandbox.base_url).netloc
    first = operator.get_openlineage_facets_on_complete(None)
    assert first.inputs == []
    assert _output(first) == (
        f"genesys://{domain}",
        "interaction",
        1,
        {"created": 1, "replayed": 0, "invalid": 0, "failed": 0},
    )

    operator.execute(make_context(task_id=task_id, try_number=2))  # a retry finds the record
    assert _output(_through_the_extractor(operator))[2:] == (
        1,
        {"created": 0, "replayed": 1, "invalid": 0, "failed": 0},
    )


def test_the_workitem_jobs_report_the_workitems_they_wrote(
    sandbox: Any, make_context: Callable[..., dict[str, Any]]
) -> None:
    task_id = _task_id("jobs")
    operator = GenesysBulkAddWorkitemsOperator(
        task_id=task_id, interactions=items_for("workitem", 3), batch_size=2, poll_interval=0.1, deferrable=False
    )
    operator.execute(make_context(task_id=task_id))
    domain = urlsplit(sandbox.base_url).netloc
    lineage = _through_the_extractor(operator)
    assert lineage.inputs == []  # the items were inline
    assert _output(lineage) == (
        f"genesys://{domain}",
        "workitem",
        3,
        {"created": 3, "replayed": 0, "invalid": 0, "failed": 0},
    )


def test_the_crm_sync_reports_the_endpoint_it_delivered_to(
    crm_sandbox: SandboxServer,
    make_conn: Callable[..., str],
    make_context: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    records = [
        {"position": n, "key": f"{n:064x}", "outcome": outcome, "interaction_id": str(uuid.uuid4())}
        for n, outcome in enumerate(["created", "replayed", "invalid"])
    ]
    records[2]["interaction_id"] = None
    path = write_jsonl(tmp_path / "items.jsonl", records)
    operator = GenesysCrmSyncOperator(
        task_id="crm_sync", records=str(path), crm_conn_id=make_conn(crm_sandbox.base_url)
    )
    operator.execute(make_context())

    lineage = _through_the_extractor(operator)
    assert _output(lineage) == (
        crm_sandbox.base_url,
        "/crm/interactions",
        2,
        {"delivered": 2, "accepted": 0, "failed": 0, "skipped": 1},
    )
    assert [(dataset.namespace, dataset.name) for dataset in lineage.inputs] == [("file", str(path))]
