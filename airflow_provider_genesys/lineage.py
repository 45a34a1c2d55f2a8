"""What a run read and wrote, for OpenLineage and for Asset events.

The operators report their input (the source file or URI, when they read one) and their output: a
``genesys://<domain>/<kind>`` dataset (``genesys://mypurecloud.ie/interaction``), or the CRM endpoint for the sync,
with the number of rows read, the number of records that exist in the target after the run (``rowCount``) and the
count of each outcome (facet ``genesysOutcomes``). The same counts become the extra of the bulk operators' Asset
events, so a DAG scheduled on the asset can read them.

OpenLineage is optional (extra ``openlineage``): without the OpenLineage provider the operators report nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.sdk import Asset

from airflow_provider_genesys.hooks.regions import Endpoints

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

#: Name of the output dataset facet that carries the outcome counts.
OUTCOMES_FACET = "genesysOutcomes"
#: Outcomes of a create: ``created`` and ``replayed`` records exist in Genesys after the run.
CREATE_OUTCOMES = ("created", "replayed", "invalid", "failed")
#: Outcomes of a CRM delivery: ``delivered`` and ``accepted`` deliveries reached the CRM.
CRM_OUTCOMES = ("delivered", "accepted", "failed", "skipped")


@dataclass(frozen=True)
class RunCounts:
    """Rows and outcomes of one run of an operator.

    :param rows: items the run read.
    :param written: records that exist in the target after the run (created + replayed; delivered + accepted).
    :param outcomes: count of each outcome.
    """

    rows: int
    written: int
    outcomes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of_create(cls, summary: Mapping[str, Any] | Any) -> RunCounts:
        """From a create summary (``total``, ``created``, ``replayed``, ``invalid``, ``failed``; dict or model)."""
        outcomes = {name: _count(summary, name) for name in CREATE_OUTCOMES}
        return cls(_count(summary, "total"), outcomes["created"] + outcomes["replayed"], outcomes)

    @classmethod
    def of_one(cls, outcome: str) -> RunCounts:
        """From the outcome of a single create."""
        return cls.of_create({"total": 1, outcome: 1})

    @classmethod
    def of_sync(cls, summary: Mapping[str, Any]) -> RunCounts:
        """From a CRM sync summary (``total``, ``delivered``, ``accepted``, ``failed``, ``skipped``)."""
        outcomes = {name: _count(summary, name) for name in CRM_OUTCOMES}
        return cls(_count(summary, "total"), outcomes["delivered"] + outcomes["accepted"], outcomes)

    def to_extra(self) -> dict[str, int]:
        """The counts as an Asset event's extra: ``{"rows", "written", <outcome>: n...}``."""
        return {"rows": self.rows, "written": self.written, **self.outcomes}


def _count(summary: Mapping[str, Any] | Any, name: str) -> int:
    value = summary.get(name) if isinstance(summary, Mapping) else getattr(summary, name, None)
    return int(value or 0)


def genesys_domain(endpoints: Endpoints) -> str:
    """The Genesys domain of a connection (``mypurecloud.ie``), or ``host:port`` of a custom host (the sandbox)."""
    netloc = urlsplit(endpoints.api_base).netloc
    return netloc if endpoints.is_custom_host else netloc.removeprefix("api.")


def genesys_uri(domain: str, kind: str) -> str:
    """The dataset (and asset) URI of the records of ``kind`` in a Genesys org: ``genesys://<domain>/<kind>``."""
    return f"genesys://{domain}/{kind}"


def dataset_id(uri: str) -> tuple[str, str]:
    """OpenLineage ``(namespace, name)`` of a URI or local path (``file`` + absolute path for local files)."""
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        return "file", parts.path if parts.scheme else uri
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}", parts.path or "/"
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")


def record_outlet_events(context: Mapping[str, Any], outlets: Iterable[Any], counts: RunCounts | None) -> None:
    """Put the run's counts in the extra of the Asset event of every asset outlet."""
    events = context.get("outlet_events")
    if counts is None or events is None:
        return
    for outlet in outlets:
        if isinstance(outlet, Asset):
            events[outlet].extra.update(counts.to_extra())


def operator_lineage(inputs: Iterable[str], output: str, counts: RunCounts | None) -> OperatorLineage | None:
    """The lineage of one run: ``inputs`` and ``output`` are URIs; ``None`` without the OpenLineage provider."""
    ol = _openlineage()
    if ol is None:
        return None
    output_facets: dict[str, Any] = {}
    input_facets: dict[str, Any] = {}
    if counts is not None:
        output_facets["outputStatistics"] = ol.output_statistics(rowCount=counts.written)
        output_facets[OUTCOMES_FACET] = ol.outcomes(outcomes=dict(counts.outcomes))
        if ol.input_statistics is not None:
            input_facets["inputStatistics"] = ol.input_statistics(rowCount=counts.rows)
    namespace, name = dataset_id(output)
    return ol.lineage(
        inputs=[ol.input_dataset(*dataset_id(uri), inputFacets=dict(input_facets)) for uri in inputs],
        outputs=[ol.output_dataset(namespace, name, outputFacets=output_facets)],
    )


@dataclass(frozen=True)
class _OpenLineageClasses:
    lineage: Any
    input_dataset: Any
    output_dataset: Any
    output_statistics: Any
    input_statistics: Any | None
    outcomes: Any


@cache
def _openlineage() -> _OpenLineageClasses | None:
    """The OpenLineage classes the builders need, or ``None`` when OpenLineage is not installed."""
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
        from attrs import define
        from openlineage.client.generated.base import InputDataset, OutputDataset, OutputDatasetFacet
        from openlineage.client.generated.output_statistics_output_dataset import (
            OutputStatisticsOutputDatasetFacet,
        )
    except ImportError:
        return None
    input_statistics: Any = None
    try:  # not in every release of the OpenLineage client
        from openlineage.client.generated import input_statistics_input_dataset

        input_statistics = input_statistics_input_dataset.InputStatisticsInputDatasetFacet
    except ImportError:
        pass

    @define
    class GenesysOutcomesOutputDatasetFacet(OutputDatasetFacet):
        """Count of each outcome of the records a run wrote (``created``, ``replayed``, ``invalid``...)."""

        outcomes: dict[str, int]

    return _OpenLineageClasses(
        lineage=OperatorLineage,
        input_dataset=InputDataset,
        output_dataset=OutputDataset,
        output_statistics=OutputStatisticsOutputDatasetFacet,
        input_statistics=input_statistics,
        outcomes=GenesysOutcomesOutputDatasetFacet,
    )
