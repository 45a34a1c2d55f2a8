"""Workitems exactly once by lookup: direct create when clean, externalTag lookup when an outcome is unknown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_genesys.creation import lookup as strategies
from airflow_provider_genesys.creation.items import PreparedItem
from airflow_provider_genesys.creation.kinds import get_kind
from airflow_provider_genesys.creation.lookup import create_with_lookup, find_workitems, mark_existing, workitem_query
from airflow_provider_genesys.exceptions import GenesysApiError
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from genesys_sandbox import seeds

CREATE = "POST /api/v2/taskmanagement/workitems"
QUERY = "POST /api/v2/taskmanagement/workitems/query"
SPEC = get_kind("workitem")


def test_a_clean_create_is_one_request(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    result = create_with_lookup(hook, SPEC, item_of("workitem"), outcome_unknown=False, state=None)

    assert result.outcome == "created" and result.http_status == 201
    assert result.requests_sent == 1 and result.attempts == 1
    assert result.record_id == admin.records()[0]["id"]
    assert admin.requests_to(QUERY) == {}


def test_an_unknown_outcome_looks_up_first_and_creates_when_absent(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    result = create_with_lookup(hook, SPEC, item_of("workitem"), outcome_unknown=True, state=None)

    assert result.outcome == "created" and result.requests_sent == 2
    assert admin.requests_to(QUERY) == {"200": 1} and admin.requests_to(CREATE) == {"201": 1}


def test_an_unknown_outcome_replays_the_workitem_found(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    first = create_with_lookup(hook, SPEC, item_of("workitem"), outcome_unknown=False, state=None)

    again = create_with_lookup(hook, SPEC, item_of("workitem"), outcome_unknown=True, state=None)

    assert again.outcome == "replayed" and again.record_id == first.record_id
    assert again.requests_sent == 1 and again.http_status == 200
    assert len(admin.records()) == 1


def test_a_dropped_answer_is_found_before_the_hook_resends(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    admin.faults(drop_after_commit_next=1)

    result = create_with_lookup(hook, SPEC, item_of("workitem"), outcome_unknown=False, state=None)

    assert result.outcome == "replayed" and result.record_id == admin.records()[0]["id"]
    assert result.requests_sent == 2  # the dropped create and the lookup
    assert admin.requests_to(CREATE) == {"dropped": 1} and admin.requests_to(QUERY) == {"200": 1}
    assert admin.ledger()["duplicates"] == 0


def test_a_5xx_before_any_work_is_looked_up_then_created_once(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    admin.faults(fail_next=[503])

    result = create_with_lookup(hook, SPEC, item_of("workitem"), outcome_unknown=False, state=None)

    assert result.outcome == "created" and result.requests_sent == 3
    assert admin.requests_to(CREATE) == {"503": 1, "201": 1}
    assert len(admin.records()) == 1


def test_a_rejected_create_raises_the_genesys_error(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    item = item_of("workitem", queueId="5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f6ff")

    with pytest.raises(GenesysApiError) as caught:
        create_with_lookup(hook, SPEC, item, outcome_unknown=False, state=None)
    assert caught.value.status == 400 and caught.value.code == "invalid.value"
    assert admin.records() == []


def test_an_item_found_by_a_bulk_lookup_costs_no_request(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    item = item_of("workitem")
    item.existing = {"id": "w-1", "externalTag": item.key}

    result = create_with_lookup(hook, SPEC, item, outcome_unknown=True, state=None)

    assert result.outcome == "replayed" and result.record_id == "w-1" and result.requests_sent == 0
    assert not [route for route in admin.get("requests")["by_route"] if " /api/" in route]


def test_query_bodies_follow_the_documented_filter_rules() -> None:
    one = workitem_query(seeds.WORKTYPE_ID, ["k1"])
    many = workitem_query(seeds.WORKTYPE_ID, ["k1", "k2"], after="c")

    assert one["filters"][0] == {"name": "typeId", "type": "String", "operator": "EQ", "values": [seeds.WORKTYPE_ID]}
    assert one["filters"][1]["operator"] == "EQ" and many["filters"][1]["operator"] == "IN"
    assert len(many["filters"]) <= 3 and many["pageSize"] <= 200 and many["after"] == "c"


def test_many_keys_are_looked_up_in_batches_with_in(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(strategies, "LOOKUP_BATCH_SIZE", 3)
    monkeypatch.setattr(strategies, "QUERY_MAX_PAGE_SIZE", 2)  # forces cursor paging inside a batch
    items = [item_of("workitem", external_id=f"CASE-{n}") for n in range(5)]
    for item in items[:4]:
        create_with_lookup(hook, SPEC, item, outcome_unknown=False, state=None)

    found = find_workitems(hook, seeds.WORKTYPE_ID, [item.key for item in items])

    assert set(found) == {item.key for item in items[:4]}
    assert admin.requests_to(QUERY) == {"200": 3}  # batch of 3 (2 pages) + batch of 2 (1 page)


def test_mark_existing_annotates_items_lazily(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    items = [item_of("workitem", external_id=f"CASE-{n}") for n in range(3)]
    created = create_with_lookup(hook, SPEC, items[1], outcome_unknown=False, state=None)

    marked = list(mark_existing(hook, iter(items), batch_size=2))

    assert [item.looked_up for item in marked] == [True, True, True]
    assert [item.existing is not None for item in marked] == [False, True, False]
    assert marked[1].existing is not None and marked[1].existing["id"] == created.record_id
    assert admin.requests_to(QUERY) == {"200": 2}


def test_partial_pages_are_followed_to_the_last_match(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    items = [item_of("workitem", external_id=f"CASE-{n}") for n in range(5)]
    for item in items:
        create_with_lookup(hook, SPEC, item, outcome_unknown=False, state=None)
    admin.faults(query_page_limit=1)  # one entity per page, whatever pageSize asks for

    found = find_workitems(hook, seeds.WORKTYPE_ID, [item.key for item in items])
    marked = list(mark_existing(hook, iter(items)))

    assert set(found) == {item.key for item in items}
    assert all(item.existing is not None for item in marked)
    assert admin.requests_to(QUERY) == {"200": 10}  # five pages per lookup, continued with "after"
