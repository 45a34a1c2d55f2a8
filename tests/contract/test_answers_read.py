"""The provider reads Genesys' answers as the SDK shapes them: job states, bulk results, query pages.

The answers are built with the SDK's own models and serialised by the SDK (``ApiClient.sanitize_for_serialization``),
then handed to the provider's readers through a hook that answers them (no sandbox involved: the sandbox could
share a misunderstanding with the client).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PureCloudPlatformClientV2 import ApiClient
from PureCloudPlatformClientV2 import models as m

from airflow_provider_genesys.creation.bulk_jobs import is_terminal
from airflow_provider_genesys.creation.bulk_jobs_run import JobsState
from airflow_provider_genesys.creation.kinds import get_kind
from airflow_provider_genesys.creation.lookup import create_with_lookup, find_workitems
from airflow_provider_genesys.exceptions import GenesysApiError
from airflow_provider_genesys.hooks.genesys_cloud import GenesysResponse
from airflow_provider_genesys.operators.workitem_jobs import GenesysBulkAddWorkitemsOperator
from tests.contract.sdk_oracle import allowed_values
from tests.support.context import task_identity
from tests.support.payloads import PAYLOADS

WORKTYPE = PAYLOADS["workitem"]["typeId"]
#: Job states after which a job changes no more (docs/genesys-api.md; the SDK lists the states, not their order).
FINISHED = {"Succeeded", "Failed", "Cancelled", "Terminated"}


def _json(model: Any) -> Any:
    return ApiClient().sanitize_for_serialization(model)


class _Answering:
    """A hook answering each request with ``answer(method, path, json)`` (and keeping what was asked)."""

    requests_sent = 0
    throttled = 0
    client_id = "client"

    def __init__(self, answer: Callable[[str, str, Any], Any]) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str, Any]] = []

    def request(self, method: str, path: str, *, json: Any = None, **_: Any) -> GenesysResponse:
        self.asked.append((method, path, json))
        body = self.answer(method, path, json)
        return GenesysResponse(status=200, body=body, correlation_id=None, attempts=1, latency_ms=0.0)


def _workitem(workitem_id: str, tag: str) -> m.Workitem:
    workitem = m.Workitem()
    workitem.id, workitem.external_tag, workitem.name = workitem_id, tag, f"item {workitem_id}"
    worktype = m.WorktypeReference()
    worktype.id = WORKTYPE
    workitem.type = worktype
    return workitem


def _page(entities: list[m.Workitem], after: str | None) -> Any:
    page = m.WorkitemPostQueryEntityListing()
    page.entities, page.after, page.count = entities, after, len(entities)
    return _json(page)


def test_every_sdk_job_state_is_classified_and_the_finished_ones_end_the_wait() -> None:
    states = allowed_values("BulkJob", "state")
    assert states is not None
    assert {state for state in states if is_terminal({"state": state})} == FINISHED
    assert not is_terminal({"state": "Idle"}) and not is_terminal({"state": "Running"})


def test_partial_query_pages_are_followed_with_after_until_it_is_absent() -> None:
    pages = {
        None: _page([_workitem("w1", "k1")], "c1"),
        "c1": _page([], "c2"),  # a page may hold fewer entities than asked while more exist
        "c2": _page([_workitem("w2", "k2")], None),
    }
    hook = _Answering(lambda method, path, body: pages[body.get("after")])

    found = find_workitems(hook, WORKTYPE, ["k1", "k2", "k3"])  # type: ignore[arg-type]

    assert {key: record["id"] for key, record in found.items()} == {"k1": "w1", "k2": "w2"}
    assert [body.get("after") for _, _, body in hook.asked] == [None, "c1", "c2"]


def test_the_single_key_lookup_pages_too(item_of: Callable[..., Any]) -> None:
    item = item_of("workitem")
    pages = {None: _page([], "c1"), "c1": _page([_workitem("w9", item.key)], None)}
    hook = _Answering(lambda method, path, body: pages[body.get("after")])

    result = create_with_lookup(hook, get_kind("workitem"), item, outcome_unknown=True, state=None)  # type: ignore[arg-type]

    assert (result.outcome, result.record_id) == ("replayed", "w9")
    assert [method for method, _, _ in hook.asked] == ["POST", "POST"]  # two query pages, no create


def test_bulk_results_are_read_by_position_from_a_bulk_job_add_response() -> None:
    records = [{**PAYLOADS["workitem"], "external_id": f"CASE-{n}"} for n in range(3)]
    created, rejected = m.BulkJobAddResult(), m.BulkJobAddResult()
    summary, error = m.BulkJobAddWorkitemSummary(), m.BulkJobError()
    summary.id, summary.name = "w-0", "Refund CASE-1"
    created.entity = summary
    error.message, error.code = "The queue does not exist.", "invalid.value"
    rejected.error = error
    last = m.BulkJobAddResult()
    last_summary = m.BulkJobAddWorkitemSummary()
    last_summary.id = "w-2"
    last.entity = last_summary
    response = m.BulkJobAddResponse()
    response.results, response.error_count, response.error_indexes = [created, rejected, last], 1, [1]
    job = m.BulkJob()
    job.id, job.state, job.total_count, job.successful_count, job.failed_count = "job-1", "Succeeded", 3, 2, 1

    def answer(method: str, path: str, body: Any) -> Any:
        return _json(response) if path.endswith("/results") else _json(job)

    operator = GenesysBulkAddWorkitemsOperator(task_id="add", interactions=records)
    operator.__dict__["hook"] = _Answering(answer)
    run = operator._jobs_run(task_identity(task_id="add"))
    items, _ = run.validate()
    state = JobsState(jobs=[{"id": "job-1", "keys": [item.key for item in items]}])

    result = run.finish(state)

    assert result.summary is not None
    outcomes = {item.external_id: (item.outcome, item.interaction_id, item.error_code) for item in result.summary.items}
    assert outcomes == {
        "CASE-0": ("created", "w-0", None),
        "CASE-1": ("failed", None, "invalid.value"),
        "CASE-2": ("created", "w-2", None),
    }


def test_a_query_that_answers_its_cursor_again_is_an_error_not_an_endless_loop() -> None:
    hook = _Answering(lambda method, path, body: _page([_workitem("w1", "k1")], "same"))

    with pytest.raises(GenesysApiError, match="paging does not advance"):
        find_workitems(hook, WORKTYPE, ["k1", "k2"])  # type: ignore[arg-type]

    assert len(hook.asked) == 2


def _finish_with(results: list[m.BulkJobAddResult], states: dict[str, str]) -> dict[str, tuple[Any, ...]]:
    response = m.BulkJobAddResponse()
    response.results = results
    records = [{**PAYLOADS["workitem"], "external_id": f"CASE-{n}"} for n in range(2)]
    operator = GenesysBulkAddWorkitemsOperator(task_id="add", interactions=records)
    operator.__dict__["hook"] = _Answering(lambda method, path, body: _json(response))
    run = operator._jobs_run(task_identity(task_id="add"))
    items, _ = run.validate()
    result = run.finish(JobsState(jobs=[{"id": "job-1", "keys": [item.key for item in items]}], states=states))
    assert result.summary is not None
    return {item.external_id: (item.outcome, item.interaction_id, item.error_code) for item in result.summary.items}


def test_an_entity_reported_created_without_an_id_does_not_count_as_created() -> None:
    nameless, summary = m.BulkJobAddResult(), m.BulkJobAddWorkitemSummary()
    summary.name = "Refund CASE-1"
    nameless.entity = summary

    outcomes = _finish_with([nameless], {"job-1": "Succeeded"})

    assert outcomes == {
        "CASE-0": ("failed", None, "bulk.result.no.id"),
        "CASE-1": ("failed", None, "bulk.result.missing"),  # no result at all for the second entity
    }


def test_a_job_that_ended_failed_without_results_fails_each_item_with_the_jobs_state() -> None:
    assert _finish_with([], {"job-1": "Failed"}) == {
        "CASE-0": ("failed", None, "bulk.job.failed"),
        "CASE-1": ("failed", None, "bulk.job.failed"),
    }
