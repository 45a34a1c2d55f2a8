"""Lineage building blocks: dataset names, counts, the OpenLineage objects and the Asset event extras."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest
from airflow.sdk import Asset

from airflow_provider_genesys.hooks.regions import resolve_endpoints
from airflow_provider_genesys.lineage import (
    OUTCOMES_FACET,
    RunCounts,
    dataset_id,
    genesys_domain,
    genesys_uri,
    operator_lineage,
    record_outlet_events,
)
from airflow_provider_genesys.models.audit import RunSummary

HAS_OPENLINEAGE = importlib.util.find_spec("airflow.providers.openlineage") is not None


@pytest.mark.parametrize(
    ("region", "host", "domain"),
    [
        (None, None, "mypurecloud.com"),
        ("eu-west-1", None, "mypurecloud.ie"),
        ("mypurecloud.jp", None, "mypurecloud.jp"),
        (None, "http://127.0.0.1:8765", "127.0.0.1:8765"),
    ],
)
def test_the_genesys_domain_of_a_connection(region: str | None, host: str | None, domain: str) -> None:
    assert genesys_domain(resolve_endpoints(region=region, host=host)) == domain


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/data/in.jsonl", ("file", "/data/in.jsonl")),
        ("file:///data/in.jsonl", ("file", "/data/in.jsonl")),
        ("s3://bucket/daily/in.csv", ("s3://bucket", "daily/in.csv")),
        ("genesys://mypurecloud.ie/interaction", ("genesys://mypurecloud.ie", "interaction")),
        ("https://crm.example.com:8443/crm/interactions", ("https://crm.example.com:8443", "/crm/interactions")),
    ],
)
def test_dataset_ids_follow_the_openlineage_naming(uri: str, expected: tuple[str, str]) -> None:
    assert dataset_id(uri) == expected


def test_counts_of_a_create_summary_model_and_dict() -> None:
    summary = RunSummary(total=10, valid=8, invalid=2, created=5, replayed=2, failed=1, validation_pass_rate=0.8)
    counts = RunCounts.of_create(summary)
    assert counts == RunCounts.of_create(summary.model_dump())
    assert (counts.rows, counts.written) == (10, 7)
    assert counts.outcomes == {"created": 5, "replayed": 2, "invalid": 2, "failed": 1}
    assert counts.to_extra() == {"rows": 10, "written": 7, "created": 5, "replayed": 2, "invalid": 2, "failed": 1}


def test_counts_of_one_create_and_of_a_sync() -> None:
    assert RunCounts.of_one("replayed").to_extra() == {
        "rows": 1,
        "written": 1,
        "created": 0,
        "replayed": 1,
        "invalid": 0,
        "failed": 0,
    }
    assert RunCounts.of_one("invalid").written == 0
    sync = RunCounts.of_sync({"total": 9, "delivered": 4, "accepted": 3, "failed": 1, "skipped": 1})
    assert (sync.rows, sync.written, sync.outcomes["skipped"]) == (9, 7, 1)


def test_the_counts_go_to_the_event_of_every_asset_outlet() -> None:
    from airflow.sdk.execution_time.context import OutletEventAccessors

    asset = Asset(name="genesys_interactions", uri="genesys://mypurecloud.ie/interaction")
    events = OutletEventAccessors()
    record_outlet_events({"outlet_events": events}, [asset, "not an asset"], RunCounts.of_one("created"))
    assert events[asset].extra == RunCounts.of_one("created").to_extra()
    record_outlet_events({}, [asset], RunCounts.of_one("created"))  # no outlet events: nothing to do


@pytest.mark.skipif(HAS_OPENLINEAGE, reason="the OpenLineage provider is installed")
def test_without_openlineage_there_is_no_lineage() -> None:
    assert operator_lineage(["/in.jsonl"], genesys_uri("mypurecloud.ie", "interaction"), None) is None


@pytest.mark.skipif(not HAS_OPENLINEAGE, reason="needs the OpenLineage provider")
def test_the_lineage_names_input_and_output_with_row_and_outcome_counts() -> None:
    from openlineage.client.serde import Serde

    counts = RunCounts.of_create({"total": 6, "created": 4, "replayed": 1, "invalid": 1})
    lineage = operator_lineage(["/data/in.jsonl"], genesys_uri("mypurecloud.ie", "interaction"), counts)
    assert lineage is not None
    (source,) = lineage.inputs
    (target,) = lineage.outputs
    assert (source.namespace, source.name) == ("file", "/data/in.jsonl")
    assert (target.namespace, target.name) == ("genesys://mypurecloud.ie", "interaction")
    # as it goes over the wire
    wire: dict[str, Any] = json.loads(Serde.to_json(target))
    assert wire["outputFacets"]["outputStatistics"]["rowCount"] == 5
    assert wire["outputFacets"][OUTCOMES_FACET]["outcomes"] == {"created": 4, "replayed": 1, "invalid": 1, "failed": 0}
    assert wire["outputFacets"][OUTCOMES_FACET]["_producer"]
    assert json.loads(Serde.to_json(source))["inputFacets"]["inputStatistics"]["rowCount"] == 6


@pytest.mark.skipif(not HAS_OPENLINEAGE, reason="needs the OpenLineage provider")
def test_without_counts_the_datasets_are_still_named() -> None:
    lineage = operator_lineage([], "http://127.0.0.1:9000/crm/interactions", None)
    assert lineage is not None and lineage.inputs == []
    assert (lineage.outputs[0].namespace, lineage.outputs[0].name) == ("http://127.0.0.1:9000", "/crm/interactions")
    assert lineage.outputs[0].outputFacets == {}
