"""Observability through the real path: latency is Genesys' round trip, the pacing wait its own field, and every
outcome, throttle and request reaches Airflow's ``Stats``."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_genesys.operators.interactions import (
    GenesysBulkCreateInteractionsOperator,
    GenesysCreateInteractionOperator,
)
from airflow_provider_genesys.sync.records import load_records
from airflow_provider_genesys.utils import metrics
from tests.support.connections import genesys_connection
from tests.support.context import FakeTaskInstance, task_context
from tests.support.payloads import PAYLOADS


class RecordingStats:
    """Stands in for Airflow's ``Stats``: remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any, dict[str, Any]]] = []

    def incr(self, stat: str, count: int | None = None, rate: float | None = None, *, tags: Any = None) -> None:
        self.calls.append(("incr", stat, count, dict(tags or {})))

    def timing(self, stat: str, dt: Any, *, tags: Any = None) -> None:
        self.calls.append(("timing", stat, dt, dict(tags or {})))

    def named(self, stat: str) -> list[tuple[str, str, Any, dict[str, Any]]]:
        return [call for call in self.calls if call[1] == stat]


@pytest.fixture
def stats(monkeypatch: pytest.MonkeyPatch) -> RecordingStats:
    recorder = RecordingStats()
    monkeypatch.setattr(metrics, "Stats", recorder)
    return recorder


def _items(count: int) -> list[dict[str, Any]]:
    return [{**copy.deepcopy(PAYLOADS["interaction"]), "external_id": f"CASE-{n}"} for n in range(count)]


def test_a_pacing_wait_is_its_own_field_and_never_inflates_latency(
    sandbox: Any, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one request per second: four items sent at once queue up to three seconds for their slots
    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_SLOW", genesys_connection(sandbox.base_url, requests_per_minute=60))
    ti = FakeTaskInstance(task_id="paced")
    operator = GenesysBulkCreateInteractionsOperator(
        task_id="paced", interactions=_items(4), genesys_conn_id="genesys_slow", max_concurrency=4
    )

    summary = operator.execute(task_context(ti))

    audits = ti.xcom["genesys_audit"]
    assert [audit["outcome"] for audit in audits] == ["created"] * 4 and len(admin.records()) == 4
    waits = sorted(audit["pacing_wait_ms"] for audit in audits)
    assert waits[-1] >= 2000  # the pacer spaced the four requests a second apart: the last waited its turn
    queued = max(audits, key=lambda audit: audit["pacing_wait_ms"])
    assert queued["latency_ms"] < queued["pacing_wait_ms"]  # its round trip excludes the wait
    # the summary's percentiles are the round trips, with the waits beside them
    assert summary["latency_ms_max"] == max(audit["latency_ms"] for audit in audits)
    assert summary["pacing_wait_ms_p95"] == waits[-1]
    assert summary["latency_ms_p95"] < summary["pacing_wait_ms_p95"]


def test_outcomes_throttles_and_request_latency_reach_airflow_stats(
    stats: RecordingStats, sandbox: Any, admin: Any
) -> None:
    items = _items(4)
    items.append({**copy.deepcopy(PAYLOADS["interaction"]), "type": "fax", "external_id": "CASE-BAD"})
    admin.faults(fail_next=[429, 400], retry_after=0, route_prefix="/api/v2/interactions")
    bulk = GenesysBulkCreateInteractionsOperator(
        task_id="observed", interactions=items, on_invalid="skip", max_invalid=1, max_concurrency=1
    )

    with pytest.raises(AirflowFailException, match="failed after retries"):
        bulk.execute(task_context(FakeTaskInstance(task_id="observed")))
    single = GenesysCreateInteractionOperator(task_id="observed", interaction=PAYLOADS["interaction"])
    single.execute(task_context(FakeTaskInstance(task_id="observed_single")))
    single.execute(task_context(FakeTaskInstance(task_id="observed_single", try_number=2)))  # replayed

    outcomes = Counter(stat for kind, stat, _, _ in stats.calls if stat.startswith("genesys.record."))
    assert outcomes == {
        "genesys.record.created": 4,  # three of the bulk run, the single create
        "genesys.record.failed": 1,  # the item answered 400 after its 429
        "genesys.record.invalid": 1,
        "genesys.record.replayed": 1,
    }
    tags = {tuple(sorted(call[3])) for call in stats.calls if call[1].startswith("genesys.record.")}
    assert tags == {("dag_id", "kind", "task_id")}
    assert [call[3] for call in stats.named("genesys.api.throttled")] == [{"method": "POST", "route": "interactions"}]
    latencies = stats.named("genesys.api.latency")
    statuses = Counter(call[3]["status"] for call in latencies if call[3]["route"] == "interactions")
    assert statuses["429"] == 1 and statuses["400"] == 1 and statuses["201"] == 4
    assert all(call[0] == "timing" and call[2] >= 0 for call in latencies)


def test_a_failing_metrics_backend_never_fails_a_run(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class BrokenStats:
        def incr(self, *args: Any, **kwargs: Any) -> None:
            raise OSError("statsd is down")

        timing = incr

    monkeypatch.setattr(metrics, "Stats", BrokenStats())

    summary = GenesysBulkCreateInteractionsOperator(task_id="broken_stats", interactions=_items(2)).execute(
        task_context(FakeTaskInstance(task_id="broken_stats"))
    )

    assert summary["created"] == 2 and len(load_records(summary)) == 2


def test_route_tags_name_the_endpoint_not_the_record() -> None:
    assert metrics.route_tag("/api/v2/interactions") == "interactions"
    assert (
        metrics.route_tag("/api/v2/taskmanagement/workitems/bulk/add/jobs/3f2a9c1e-0b7d-4c55-9a41-b2c3d4e5f601")
        == "taskmanagement.workitems.bulk.add.jobs.id"
    )
    assert metrics.route_tag("api/v2/conversations/emails/abc123/messages") == "conversations.emails.id.messages"
    assert metrics.route_tag("/oauth/token") == "oauth.token"
