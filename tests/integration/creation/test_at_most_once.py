"""Callbacks and inbound emails at most once: the task's state decides, a lost answer is never re-sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_genesys.creation.at_most_once import create_at_most_once
from airflow_provider_genesys.creation.engine import CreationEngine
from airflow_provider_genesys.creation.items import PreparedItem
from airflow_provider_genesys.creation.kinds import get_kind
from airflow_provider_genesys.creation.state import SendState, TaskState
from airflow_provider_genesys.exceptions import GenesysApiError, OutcomeUnknownError
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from tests.support.context import task_identity
from tests.support.state_store import RecordingStateStore

CREATE = {"callback": "POST /api/v2/conversations/callbacks", "email": "POST /api/v2/conversations/emails"}
CONVERSATION = "GET /api/v2/conversations/{conversation_id}"
SEARCH = "POST /api/v2/conversations/participants/attributes/search"
KINDS = ["callback", "email"]


class Execution:
    """One execution of a task instance: its state of one kind, and creates made as the operators make them."""

    def __init__(self, store: RecordingStateStore, kind: str, try_number: int = 1) -> None:
        self.store = store
        self.kind = kind
        self.try_number = try_number
        self.state = TaskState.load(store, kind=kind, try_number=try_number)

    def create(self, hook: GenesysCloudHook, item: PreparedItem, *, outcome_unknown: bool) -> Any:
        """Create through the engine (written ahead, outcome recorded); raise what the item failed with."""
        engine = CreationEngine(hook, get_kind(self.kind), task_identity(self.try_number), state=self.state)
        outcome = engine.create_one(item, outcome_unknown=outcome_unknown)
        if outcome.error is not None:
            raise outcome.error
        audit = outcome.audit
        return _Result(audit.outcome, audit.requests_sent, audit.interaction_id)

    def seed_created(self, key: str, record_id: str) -> None:
        """Record ``key`` as created as ``record_id``, as an execution that created it would have."""
        self.state.announce([key])
        self.state.sending(key)
        self.state.created(key, record_id)
        self.state.flush()

    def history(self, key: str) -> Any:
        """What the next execution will read of ``key``."""
        return TaskState.load(self.store, kind=self.kind, try_number=self.try_number + 1).earlier(key)


class _Result:
    def __init__(self, outcome: str, requests_sent: int | None, record_id: str | None) -> None:
        self.outcome, self.requests_sent, self.record_id = outcome, requests_sent, record_id


@pytest.fixture
def store() -> RecordingStateStore:
    """The task instance's state store (Airflow's, stood in for)."""
    return RecordingStateStore()


def _journal(store: RecordingStateStore, kind: str, try_number: int = 1) -> Execution:
    return Execution(store, kind, try_number)


def _api_requests(admin: Any) -> dict[str, dict[str, int]]:
    return {route: counts for route, counts in admin.get("requests")["by_route"].items() if " /api/" in route}


@pytest.mark.parametrize("kind", KINDS)
def test_a_clean_create_is_one_request_and_is_journaled(
    kind: str, hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    journal = _journal(store, kind)
    item = item_of(kind)

    result = journal.create(hook, item, outcome_unknown=False)

    assert result.outcome == "created" and result.requests_sent == 1
    assert result.record_id == admin.records()[0]["id"]
    history = journal.history(item.key)
    assert history.state is SendState.CREATED and history.record_id == result.record_id


@pytest.mark.parametrize("kind", KINDS)
def test_a_later_try_replays_what_the_journal_says_was_created(
    kind: str, hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    first = _journal(store, kind).create(hook, item_of(kind), outcome_unknown=False)

    later = _journal(store, kind, try_number=2)
    again = later.create(hook, item_of(kind), outcome_unknown=True)

    assert again.outcome == "replayed" and again.record_id == first.record_id and again.requests_sent == 1
    assert _api_requests(admin) == {CREATE[kind]: {"200": 1}, CONVERSATION: {"200": 1}}


@pytest.mark.parametrize("kind", KINDS)
def test_a_dropped_answer_is_never_resent_and_the_next_try_finds_it_by_search(
    kind: str, hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    admin.faults(drop_after_commit_next=1)
    journal = _journal(store, kind)
    item = item_of(kind)

    with pytest.raises(OutcomeUnknownError) as caught:
        journal.create(hook, item, outcome_unknown=False)  # the hook would retry: it must not

    assert "Outcome unknown" in str(caught.value) and item.key in str(caught.value)
    assert journal.history(item.key).state is SendState.UNKNOWN
    later = _journal(store, kind, try_number=2)
    again = later.create(hook, item_of(kind), outcome_unknown=True)  # sent_at + timeout(10 s) later: searched
    (record,) = admin.records()
    assert again.outcome == "replayed" and again.record_id == record["id"]
    routes = _api_requests(admin)
    assert routes[CREATE[kind]] == {"dropped": 1} and routes[CONVERSATION] == {"200": 1}
    assert routes[SEARCH] == {"200": routes[SEARCH]["200"]}


def test_a_5xx_is_an_unknown_outcome_too(
    no_retry_hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    admin.faults(fail_next=[503])
    journal = _journal(store, "callback")
    item = item_of("callback")

    with pytest.raises(OutcomeUnknownError):
        journal.create(no_retry_hook, item, outcome_unknown=False)
    assert journal.history(item.key).state is SendState.UNKNOWN


def test_a_429_is_retried_because_nothing_was_processed(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    admin.faults(fail_next=[429], retry_after=0)

    result = _journal(store, "callback").create(hook, item_of("callback"), outcome_unknown=False)

    assert result.outcome == "created" and result.requests_sent == 2
    assert admin.requests_to(CREATE["callback"]) == {"429": 1, "200": 1}


def test_a_rejected_create_is_journaled_and_may_be_sent_again(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    journal = _journal(store, "email")
    bad_queue = "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f6ff"
    item = item_of("email", queueId=bad_queue)

    with pytest.raises(GenesysApiError) as caught:
        journal.create(hook, item, outcome_unknown=False)
    assert not isinstance(caught.value, OutcomeUnknownError) and caught.value.status == 400
    assert journal.history(item.key).state is SendState.REJECTED

    later = _journal(store, "email", try_number=2)
    with pytest.raises(GenesysApiError):
        later.create(hook, item_of("email", queueId=bad_queue), outcome_unknown=True)
    assert admin.requests_to(CREATE["email"]) == {"400": 2}


def test_without_state_a_later_try_searches_and_creates_what_genesys_does_not_have(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    # no state: the send time is unknown, so "not found" counts only after a full window (timeout + delay)
    result = create_at_most_once(hook, get_kind("callback"), item_of("callback"), outcome_unknown=True, state=None)

    assert result.outcome == "created" and len(admin.records()) == 1
    assert _api_requests(admin)[SEARCH]["200"] >= 2  # searched, waited out the window, searched again


def test_a_later_try_that_sees_no_earlier_state_finds_what_was_created(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    first = _journal(store, "callback").create(hook, item_of("callback"), outcome_unknown=False)
    cleared = _journal(RecordingStateStore(), "callback", try_number=2)  # e.g. [state_store] clear_on_success

    again = cleared.create(hook, item_of("callback"), outcome_unknown=True)

    assert again.outcome == "replayed" and again.record_id == first.record_id
    assert len(admin.records()) == 1 and _api_requests(admin)[CREATE["callback"]] == {"200": 1}


def test_a_later_try_creates_what_was_never_sent(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    first = _journal(store, "callback")  # try 1 announced the item and sent nothing (e.g. stopped by a quota)
    first.state.announce([item_of("callback").key])
    first.state.flush()
    later = _journal(store, "callback", try_number=2)

    result = later.create(hook, item_of("callback"), outcome_unknown=True)

    assert result.outcome == "created" and result.requests_sent == 1


def test_a_journaled_record_that_does_not_carry_the_key_is_an_error(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    other = _journal(RecordingStateStore(), "callback").create(
        hook, item_of("callback", external_id="OTHER"), outcome_unknown=False
    )
    item = item_of("callback")
    _journal(store, "callback").seed_created(item.key, other.record_id)

    with pytest.raises(GenesysApiError, match="does not carry"):
        _journal(store, "callback", try_number=2).create(hook, item, outcome_unknown=True)
    assert len(admin.records()) == 1


def test_a_journaled_record_genesys_no_longer_finds_is_not_recreated(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    item = item_of("email")
    _journal(store, "email").seed_created(item.key, "00000000-0000-4000-8000-000000000000")

    with pytest.raises(GenesysApiError, match="no longer finds") as caught:
        _journal(store, "email", try_number=2).create(hook, item, outcome_unknown=True)
    assert caught.value.status == 404
    assert admin.records() == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_create_whose_connection_never_opened_stays_safe_to_send(
    kind: str, item_of: Callable[..., PreparedItem], store: RecordingStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genesys_sandbox import SandboxConfig, SandboxServer
    from tests.support.canaries import CANARY_CLIENT_ID, CANARY_CLIENT_SECRET
    from tests.support.connections import genesys_connection

    server = SandboxServer(SandboxConfig(client_id=CANARY_CLIENT_ID, client_secret=CANARY_CLIENT_SECRET)).start()
    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_GONE", genesys_connection(server.base_url, max_attempts=2))
    hook = GenesysCloudHook("genesys_gone")
    hook.get_token()  # cached; then the server goes away, so every create is refused before it is sent
    server.stop()
    journal = _journal(store, kind)
    item = item_of(kind)

    with pytest.raises(GenesysApiError) as caught:
        journal.create(hook, item, outcome_unknown=False)

    assert not isinstance(caught.value, OutcomeUnknownError)
    assert caught.value.status is None and caught.value.unknown_outcome is False
    assert caught.value.request_sent is False
    assert journal.history(item.key).state is SendState.NEVER_SENT  # nothing reached Genesys: a retry may send


# -- the journal records only what was sent ------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_token_endpoint_that_fails_leaves_the_key_never_sent_and_a_retry_creates_it(
    kind: str,
    sandbox: Any,
    item_of: Callable[..., PreparedItem],
    admin: Any,
    store: RecordingStateStore,
    monkeypatch: Any,
) -> None:
    from tests.support.connections import genesys_connection

    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_TOKEN_DOWN", genesys_connection(sandbox.base_url, token_retry_seconds=0))
    admin.faults(route_prefix="/oauth/token", error_rate=1.0, error_status=503)
    journal = _journal(store, kind)
    item = item_of(kind)

    with pytest.raises(GenesysApiError) as caught:
        journal.create(GenesysCloudHook("genesys_token_down"), item, outcome_unknown=False)  # fmt: skip

    assert not isinstance(caught.value, OutcomeUnknownError) and caught.value.request_sent is False
    assert journal.history(item.key).state is SendState.NEVER_SENT
    admin.faults()
    later = _journal(store, kind, try_number=2)
    result = later.create(GenesysCloudHook("genesys_token_down"), item_of(kind), outcome_unknown=True)  # fmt: skip
    assert result.outcome == "created" and len(admin.records()) == 1
    assert later.history(item.key).state is SendState.CREATED


def test_a_local_failure_before_the_send_leaves_nothing_in_the_journal(
    hook: GenesysCloudHook,
    item_of: Callable[..., PreparedItem],
    admin: Any,
    store: RecordingStateStore,
    monkeypatch: Any,
) -> None:
    def broken() -> None:
        raise RuntimeError("the pacer broke")

    monkeypatch.setattr(hook.pacer, "acquire", broken)
    journal = _journal(store, "callback")
    item = item_of("callback")

    with pytest.raises(RuntimeError):
        journal.create(hook, item, outcome_unknown=False)

    assert journal.history(item.key).state is SendState.NEVER_SENT
    assert _api_requests(admin) == {}


def test_a_local_failure_once_the_request_may_have_left_is_an_unknown_outcome(
    hook: GenesysCloudHook,
    item_of: Callable[..., PreparedItem],
    admin: Any,
    store: RecordingStateStore,
    monkeypatch: Any,
) -> None:
    hook.get_token()

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt  # e.g. the task is stopped while the request is on the wire

    monkeypatch.setattr(hook.session, "request", interrupted)
    journal = _journal(store, "email")
    item = item_of("email")

    with pytest.raises(KeyboardInterrupt):
        journal.create(hook, item, outcome_unknown=False)

    history = journal.history(item.key)  # the batch was written out as the interruption passed through
    assert history.state is SendState.SENDING and history.may_exist


@pytest.mark.parametrize("kind", KINDS)
def test_a_created_entry_without_an_id_is_never_sent_again(
    kind: str, hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    item = item_of(kind)
    # what an earlier version could write after an id-less 2xx
    store.set(f"genesys.{kind}.0", {"try": 1, "ts": "2026-05-01T00:00:00.000Z", "done": {item.key: {"s": "created"}}})
    journal = _journal(store, kind)
    with pytest.raises(ValueError, match="record id"):
        journal.state.created(item.key, "")  # and what this version refuses to write

    later = _journal(store, kind, try_number=2)
    assert later.history(item.key).state is SendState.UNKNOWN
    with pytest.raises(OutcomeUnknownError, match=item.key):
        later.create(hook, item_of(kind), outcome_unknown=True)
    assert _api_requests(admin) == {}


def test_an_html_answer_to_a_callback_is_an_unknown_outcome_never_sent_twice(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, store: RecordingStateStore
) -> None:
    admin.faults(hostile_answer="html_200", hostile_rate=1.0, hostile_after_commit=True)
    journal = _journal(store, "callback")
    item = item_of("callback")

    with pytest.raises(OutcomeUnknownError) as caught:
        journal.create(hook, item, outcome_unknown=False)

    assert "text/html" in str(caught.value)
    assert admin.requests_to(CREATE["callback"]) == {"200": 1}  # the hook retries a lost answer, never this one
    assert journal.history(item.key).state is SendState.UNKNOWN
