"""The participant-attribute search against the sandbox over loopback: real waits, real pages, real faults.

The sandbox makes a conversation searchable only ``search_indexing_delay`` seconds after its creation; the
connections here declare a delay at least that long (the extra ``search_indexing_delay``), as a real deployment
must.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_genesys.creation.conversation_search import SEARCH_PATH, SearchVerdict, find_conversation_by_key
from airflow_provider_genesys.creation.engine import CreationEngine
from airflow_provider_genesys.creation.items import PreparedItem
from airflow_provider_genesys.creation.kinds import get_kind
from airflow_provider_genesys.creation.state import TaskState
from airflow_provider_genesys.exceptions import GenesysConfigurationError, OutcomeUnknownError
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from tests.support.connections import genesys_connection
from tests.support.context import task_identity
from tests.support.sandbox_client import SandboxAdmin
from tests.support.state_store import RecordingStateStore

KINDS = ["callback", "email"]
SEARCH_ROUTE = f"POST {SEARCH_PATH}"
AN_HOUR_AGO = timedelta(hours=1)


@pytest.fixture
def search_hook(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., GenesysCloudHook]:
    """A hook on the sandbox whose search extras are given (fast retries; a 2 s read timeout)."""

    def make(**extra: Any) -> GenesysCloudHook:
        conn_id = f"search_{uuid.uuid4().hex[:10]}"
        settings = {"timeout": 2, "search_indexing_delay": 1, "search_max_wait": 10, **extra}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", genesys_connection(sandbox.base_url, **settings))
        return GenesysCloudHook(conn_id)

    return make


def _create(hook: GenesysCloudHook, kind: str, item: PreparedItem) -> str:
    response = hook.request("POST", get_kind(kind).path, json=item.body)
    record_id = get_kind(kind).read_id(response.body)
    assert record_id
    return record_id


@pytest.mark.parametrize("kind", KINDS)
def test_a_create_whose_answer_was_lost_is_found_by_its_key(
    kind: str,
    search_hook: Callable[..., GenesysCloudHook],
    item_of: Callable[..., PreparedItem],
    admin: SandboxAdmin,
) -> None:
    hook = search_hook()
    admin.faults(drop_after_commit_next=1)
    store = RecordingStateStore()
    state = TaskState.load(store, kind=kind, try_number=1)
    item = item_of(kind)
    outcome = CreationEngine(hook, get_kind(kind), task_identity(), state=state).create_one(item)
    assert isinstance(outcome.error, OutcomeUnknownError)
    (record,) = admin.records()
    earlier = TaskState.load(store, kind=kind, try_number=2).earlier(item.key)
    sent_at = datetime.fromisoformat(str(earlier.timestamp).replace("Z", "+00:00"))

    answer = find_conversation_by_key(hook, key=item.key, sent_at=sent_at)

    assert (answer.verdict, answer.conversation_id) == (SearchVerdict.FOUND, record["id"])
    assert answer.requests == admin.requests_to(SEARCH_ROUTE)["200"]


def test_a_key_never_sent_is_absent_once_the_indexing_delay_has_passed(
    search_hook: Callable[..., GenesysCloudHook], item_of: Callable[..., PreparedItem], admin: SandboxAdmin
) -> None:
    hook = search_hook()
    _create(hook, "callback", item_of("callback", external_id="CASE-OTHER"))
    slept: list[float] = []

    answer = find_conversation_by_key(
        hook, key=item_of("callback").key, sent_at=datetime.now(timezone.utc) - AN_HOUR_AGO, sleep=slept.append
    )

    assert answer.verdict is SearchVerdict.ABSENT and slept == []
    assert answer.requests == 1 == admin.requests_to(SEARCH_ROUTE)["200"]


def test_a_conversation_not_yet_searchable_is_found_after_waiting_out_the_delay(
    search_hook: Callable[..., GenesysCloudHook], item_of: Callable[..., PreparedItem], admin: SandboxAdmin
) -> None:
    admin.faults(search_indexing_delay=1.0)
    hook = search_hook(search_indexing_delay=1.5, timeout=1)
    item = item_of("email")
    sent_at = datetime.now(timezone.utc)
    record_id = _create(hook, "email", item)
    started = time.monotonic()

    answer = find_conversation_by_key(hook, key=item.key, sent_at=sent_at)

    assert (answer.verdict, answer.conversation_id) == (SearchVerdict.FOUND, record_id)
    assert time.monotonic() - started >= 1.0  # the first pass could not see it: the search waited
    assert admin.requests_to(SEARCH_ROUTE) == {"200": 2}


def test_a_window_longer_than_the_longest_wait_is_undecidable(
    search_hook: Callable[..., GenesysCloudHook], item_of: Callable[..., PreparedItem], admin: SandboxAdmin
) -> None:
    admin.faults(search_indexing_delay=30)
    hook = search_hook(search_indexing_delay=60, search_max_wait=1)
    item = item_of("callback")
    sent_at = datetime.now(timezone.utc)
    _create(hook, "callback", item)

    answer = find_conversation_by_key(hook, key=item.key, sent_at=sent_at)

    assert answer.verdict is SearchVerdict.UNDECIDABLE and "search_max_wait" in answer.reason


def test_an_unknown_send_time_searches_the_look_back_and_finds_it(
    search_hook: Callable[..., GenesysCloudHook], item_of: Callable[..., PreparedItem], admin: SandboxAdmin
) -> None:
    hook = search_hook(search_lookback=9 * 3600)
    item = item_of("callback")
    record_id = _create(hook, "callback", item)

    answer = find_conversation_by_key(hook, key=item.key, sent_at=None)

    assert (answer.verdict, answer.conversation_id) == (SearchVerdict.FOUND, record_id)
    assert answer.requests == 1  # the newest window holds it


def test_an_unknown_send_time_waits_a_full_delay_before_absent(
    search_hook: Callable[..., GenesysCloudHook], item_of: Callable[..., PreparedItem], admin: SandboxAdmin
) -> None:
    hook = search_hook(search_lookback=9 * 3600, search_indexing_delay=0.5, timeout=0.5)
    started = time.monotonic()

    answer = find_conversation_by_key(hook, key=item_of("email").key, sent_at=None)

    assert answer.verdict is SearchVerdict.ABSENT
    assert time.monotonic() - started >= 1.0
    assert answer.requests == 6 == admin.requests_to(SEARCH_ROUTE)["200"]  # 3 windows of 4 hours, searched twice


def test_the_key_is_found_on_a_later_page(
    search_hook: Callable[..., GenesysCloudHook], item_of: Callable[..., PreparedItem], admin: SandboxAdmin
) -> None:
    hook = search_hook()
    target = item_of("callback", external_id="CASE-TARGET")
    target_id = _create(hook, "callback", target)
    for number in range(4):
        _create(hook, "callback", item_of("callback", external_id=f"CASE-{number}"))
    admin.faults(search_page_size=2)

    answer = find_conversation_by_key(hook, key=target.key, sent_at=datetime.now(timezone.utc) - AN_HOUR_AGO)

    assert (answer.verdict, answer.conversation_id) == (SearchVerdict.FOUND, target_id)
    assert answer.requests == admin.requests_to(SEARCH_ROUTE)["200"] >= 1


def test_paging_that_never_ends_is_undecidable(
    search_hook: Callable[..., GenesysCloudHook], item_of: Callable[..., PreparedItem], admin: SandboxAdmin
) -> None:
    hook = search_hook()
    _create(hook, "callback", item_of("callback", external_id="CASE-OTHER"))
    admin.faults(search_repeat_cursor=True)

    answer = find_conversation_by_key(
        hook, key=item_of("callback").key, sent_at=datetime.now(timezone.utc) - AN_HOUR_AGO
    )

    assert answer.verdict is SearchVerdict.UNDECIDABLE and "paging does not advance" in answer.reason
    assert answer.requests == 2


def test_without_the_permission_it_is_undecidable_naming_the_permission(
    search_hook: Callable[..., GenesysCloudHook], item_of: Callable[..., PreparedItem], admin: SandboxAdmin
) -> None:
    admin.faults(search_missing_permission=True)

    answer = find_conversation_by_key(
        search_hook(), key=item_of("email").key, sent_at=datetime.now(timezone.utc) - AN_HOUR_AGO
    )

    assert answer.verdict is SearchVerdict.UNDECIDABLE
    assert "HTTP 403" in answer.reason and "missing.permissions" in answer.reason
    assert "conversation:participant:attributesview" in answer.reason
    assert admin.requests_to(SEARCH_ROUTE) == {"403": 1}


def test_server_errors_are_retried_by_the_hook_before_the_search_decides(
    search_hook: Callable[..., GenesysCloudHook], item_of: Callable[..., PreparedItem], admin: SandboxAdmin
) -> None:
    hook = search_hook()
    item = item_of("callback")
    record_id = _create(hook, "callback", item)
    admin.faults(fail_next=[503, 502], route_prefix=SEARCH_PATH)

    answer = find_conversation_by_key(hook, key=item.key, sent_at=datetime.now(timezone.utc) - AN_HOUR_AGO)

    assert (answer.verdict, answer.conversation_id, answer.requests) == (SearchVerdict.FOUND, record_id, 3)


def test_server_errors_beyond_the_retries_are_undecidable(
    search_hook: Callable[..., GenesysCloudHook], item_of: Callable[..., PreparedItem], admin: SandboxAdmin
) -> None:
    admin.faults(error_rate=1.0, error_status=503, route_prefix=SEARCH_PATH)

    answer = find_conversation_by_key(
        search_hook(max_attempts=2), key=item_of("callback").key, sent_at=datetime.now(timezone.utc) - AN_HOUR_AGO
    )

    assert answer.verdict is SearchVerdict.UNDECIDABLE and "HTTP 503" in answer.reason
    assert answer.requests == 2 == admin.requests_to(SEARCH_ROUTE)["503"]


@pytest.mark.parametrize("hostile", ["html_200", "json_without_id", "echo_secrets"])
def test_an_answer_that_is_not_the_apis_is_undecidable_and_redacted(
    hostile: str,
    search_hook: Callable[..., GenesysCloudHook],
    item_of: Callable[..., PreparedItem],
    admin: SandboxAdmin,
) -> None:
    from tests.support.canaries import CANARY_CLIENT_SECRET

    admin.faults(hostile_answer=hostile, hostile_rate=1.0, route_prefix=SEARCH_PATH)

    answer = find_conversation_by_key(
        search_hook(max_attempts=1),
        key=item_of("callback").key,
        sent_at=datetime.now(timezone.utc) - AN_HOUR_AGO,
    )

    assert answer.verdict is SearchVerdict.UNDECIDABLE, answer
    assert CANARY_CLIENT_SECRET not in answer.reason


def test_an_unusable_search_extra_is_a_configuration_error_before_anything_is_sent(
    search_hook: Callable[..., GenesysCloudHook], admin: SandboxAdmin
) -> None:
    with pytest.raises(GenesysConfigurationError, match="'search_lookback'"):
        find_conversation_by_key(search_hook(search_lookback="a week"), key="k" * 64, sent_at=None)
    assert admin.requests_to(SEARCH_ROUTE) == {}
