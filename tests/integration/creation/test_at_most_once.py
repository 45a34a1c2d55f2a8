"""Callbacks and inbound emails at most once: the send journal decides, a lost answer is never re-sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_genesys.creation.at_most_once import create_at_most_once
from airflow_provider_genesys.creation.items import PreparedItem
from airflow_provider_genesys.creation.journal import SendJournal, SendState
from airflow_provider_genesys.creation.kinds import get_kind
from airflow_provider_genesys.exceptions import GenesysApiError, OutcomeUnknownError
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from tests.support.context import task_identity

CREATE = {"callback": "POST /api/v2/conversations/callbacks", "email": "POST /api/v2/conversations/emails"}
CONVERSATION = "GET /api/v2/conversations/{conversation_id}"
KINDS = ["callback", "email"]


def _journal(state_dir: str, kind: str, try_number: int = 1) -> SendJournal:
    return SendJournal.open(task_identity(try_number), kind, state_dir=state_dir)


def _api_requests(admin: Any) -> dict[str, dict[str, int]]:
    return {route: counts for route, counts in admin.get("requests")["by_route"].items() if " /api/" in route}


@pytest.mark.parametrize("kind", KINDS)
def test_a_clean_create_is_one_request_and_is_journaled(
    kind: str, hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str
) -> None:
    journal = _journal(state_dir, kind)
    item = item_of(kind)

    result = create_at_most_once(hook, get_kind(kind), item, outcome_unknown=False, journal=journal)

    assert result.outcome == "created" and result.requests_sent == 1
    assert result.record_id == admin.records()[0]["id"]
    history = journal.history(item.key)
    assert history.state is SendState.CREATED and history.record_id == result.record_id


@pytest.mark.parametrize("kind", KINDS)
def test_a_later_try_replays_what_the_journal_says_was_created(
    kind: str, hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str
) -> None:
    first = create_at_most_once(
        hook, get_kind(kind), item_of(kind), outcome_unknown=False, journal=_journal(state_dir, kind)
    )

    later = _journal(state_dir, kind, try_number=2)
    again = create_at_most_once(hook, get_kind(kind), item_of(kind), outcome_unknown=True, journal=later)

    assert again.outcome == "replayed" and again.record_id == first.record_id and again.requests_sent == 1
    assert _api_requests(admin) == {CREATE[kind]: {"200": 1}, CONVERSATION: {"200": 1}}


@pytest.mark.parametrize("kind", KINDS)
def test_a_dropped_answer_fails_as_unknown_and_is_never_resent(
    kind: str, hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str
) -> None:
    admin.faults(drop_after_commit_next=1)
    journal = _journal(state_dir, kind)
    item = item_of(kind)

    with pytest.raises(OutcomeUnknownError) as caught:
        create_at_most_once(
            hook, get_kind(kind), item, outcome_unknown=False, journal=journal
        )  # the hook would retry: it must not

    assert "Outcome unknown" in str(caught.value) and item.key in str(caught.value)
    assert journal.history(item.key).state is SendState.UNKNOWN
    later = _journal(state_dir, kind, try_number=2)
    with pytest.raises(OutcomeUnknownError, match="try 1 sent it"):
        create_at_most_once(hook, get_kind(kind), item_of(kind), outcome_unknown=True, journal=later)
    assert _api_requests(admin) == {CREATE[kind]: {"dropped": 1}}
    assert len(admin.records()) == 1


def test_a_5xx_is_an_unknown_outcome_too(
    no_retry_hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str
) -> None:
    admin.faults(fail_next=[503])
    journal = _journal(state_dir, "callback")
    item = item_of("callback")

    with pytest.raises(OutcomeUnknownError):
        create_at_most_once(no_retry_hook, get_kind("callback"), item, outcome_unknown=False, journal=journal)
    assert journal.history(item.key).state is SendState.UNKNOWN


def test_a_429_is_retried_because_nothing_was_processed(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str
) -> None:
    admin.faults(fail_next=[429], retry_after=0)

    result = create_at_most_once(
        hook, get_kind("callback"), item_of("callback"), outcome_unknown=False, journal=_journal(state_dir, "callback")
    )

    assert result.outcome == "created" and result.requests_sent == 2
    assert admin.requests_to(CREATE["callback"]) == {"429": 1, "200": 1}


def test_a_rejected_create_is_journaled_and_may_be_sent_again(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str
) -> None:
    journal = _journal(state_dir, "email")
    bad_queue = "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f6ff"
    item = item_of("email", queueId=bad_queue)

    with pytest.raises(GenesysApiError) as caught:
        create_at_most_once(hook, get_kind("email"), item, outcome_unknown=False, journal=journal)
    assert not isinstance(caught.value, OutcomeUnknownError) and caught.value.status == 400
    assert journal.history(item.key).state is SendState.REJECTED

    later = _journal(state_dir, "email", try_number=2)
    with pytest.raises(GenesysApiError):
        create_at_most_once(
            hook, get_kind("email"), item_of("email", queueId=bad_queue), outcome_unknown=True, journal=later
        )
    assert admin.requests_to(CREATE["email"]) == {"400": 2}


def test_without_a_journal_a_later_try_refuses(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    with pytest.raises(OutcomeUnknownError, match="keeps no send journal"):
        create_at_most_once(hook, get_kind("callback"), item_of("callback"), outcome_unknown=True, journal=None)
    assert _api_requests(admin) == {}


def test_a_later_try_that_sees_no_earlier_journal_refuses(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str
) -> None:
    journal = _journal(state_dir, "callback", try_number=2)  # no try 1 wrote here: another worker's disk?

    with pytest.raises(OutcomeUnknownError, match="GENESYS_PROVIDER_STATE_DIR"):
        create_at_most_once(hook, get_kind("callback"), item_of("callback"), outcome_unknown=True, journal=journal)
    assert _api_requests(admin) == {}


def test_a_later_try_creates_what_was_never_sent(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str
) -> None:
    _journal(state_dir, "callback")  # try 1 ran and sent nothing (e.g. stopped by a quota)
    later = _journal(state_dir, "callback", try_number=2)

    result = create_at_most_once(hook, get_kind("callback"), item_of("callback"), outcome_unknown=True, journal=later)

    assert result.outcome == "created" and result.requests_sent == 1


def test_a_journaled_record_that_does_not_carry_the_key_is_an_error(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str
) -> None:
    other = create_at_most_once(
        hook, get_kind("callback"), item_of("callback", external_id="OTHER"), outcome_unknown=False, journal=None
    )
    journal = _journal(state_dir, "callback")
    item = item_of("callback")
    journal.created(item.key, other.record_id)

    with pytest.raises(GenesysApiError, match="does not carry"):
        create_at_most_once(hook, get_kind("callback"), item, outcome_unknown=True, journal=journal)
    assert len(admin.records()) == 1


def test_a_journaled_record_genesys_no_longer_finds_is_not_recreated(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str, tmp_path: Path
) -> None:
    journal = _journal(state_dir, "email")
    item = item_of("email")
    journal.created(item.key, "00000000-0000-4000-8000-000000000000")

    with pytest.raises(GenesysApiError, match="no longer finds") as caught:
        create_at_most_once(hook, get_kind("email"), item, outcome_unknown=True, journal=journal)
    assert caught.value.status == 404
    assert admin.records() == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_create_whose_connection_never_opened_stays_safe_to_send(
    kind: str, item_of: Callable[..., PreparedItem], state_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genesys_sandbox import SandboxConfig, SandboxServer
    from tests.support.canaries import CANARY_CLIENT_ID, CANARY_CLIENT_SECRET
    from tests.support.connections import genesys_connection

    server = SandboxServer(SandboxConfig(client_id=CANARY_CLIENT_ID, client_secret=CANARY_CLIENT_SECRET)).start()
    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_GONE", genesys_connection(server.base_url, max_attempts=2))
    hook = GenesysCloudHook("genesys_gone")
    hook.get_token()  # cached; then the server goes away, so every create is refused before it is sent
    server.stop()
    journal = _journal(state_dir, kind)
    item = item_of(kind)

    with pytest.raises(GenesysApiError) as caught:
        create_at_most_once(hook, get_kind(kind), item, outcome_unknown=False, journal=journal)

    assert not isinstance(caught.value, OutcomeUnknownError)
    assert caught.value.status is None and caught.value.unknown_outcome is False
    assert caught.value.request_sent is False
    assert journal.history(item.key).state is SendState.NEVER_SENT  # nothing reached Genesys: a retry may send


# -- the journal records only what was sent ------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_token_endpoint_that_fails_leaves_the_key_never_sent_and_a_retry_creates_it(
    kind: str, sandbox: Any, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str, monkeypatch: Any
) -> None:
    from tests.support.connections import genesys_connection

    monkeypatch.setenv("AIRFLOW_CONN_GENESYS_TOKEN_DOWN", genesys_connection(sandbox.base_url, token_retry_seconds=0))
    admin.faults(route_prefix="/oauth/token", error_rate=1.0, error_status=503)
    journal = _journal(state_dir, kind)
    item = item_of(kind)

    with pytest.raises(GenesysApiError) as caught:
        create_at_most_once(GenesysCloudHook("genesys_token_down"), get_kind(kind), item, outcome_unknown=False,
                            journal=journal)  # fmt: skip

    assert not isinstance(caught.value, OutcomeUnknownError) and caught.value.request_sent is False
    assert journal.history(item.key).state is SendState.NEVER_SENT
    admin.faults()
    later = _journal(state_dir, kind, try_number=2)
    result = create_at_most_once(GenesysCloudHook("genesys_token_down"), get_kind(kind), item_of(kind),
                                 outcome_unknown=True, journal=later)  # fmt: skip
    assert result.outcome == "created" and len(admin.records()) == 1
    assert later.history(item.key).state is SendState.CREATED


def test_a_local_failure_before_the_send_leaves_nothing_in_the_journal(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str, monkeypatch: Any
) -> None:
    def broken() -> None:
        raise RuntimeError("the pacer broke")

    monkeypatch.setattr(hook.pacer, "acquire", broken)
    journal = _journal(state_dir, "callback")
    item = item_of("callback")

    with pytest.raises(RuntimeError):
        create_at_most_once(hook, get_kind("callback"), item, outcome_unknown=False, journal=journal)

    assert journal.history(item.key).state is SendState.NEVER_SENT
    assert _api_requests(admin) == {}


def test_a_local_failure_once_the_request_may_have_left_is_an_unknown_outcome(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str, monkeypatch: Any
) -> None:
    hook.get_token()

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt  # e.g. the task is stopped while the request is on the wire

    monkeypatch.setattr(hook.session, "request", interrupted)
    journal = _journal(state_dir, "email")
    item = item_of("email")

    with pytest.raises(KeyboardInterrupt):
        create_at_most_once(hook, get_kind("email"), item, outcome_unknown=False, journal=journal)

    history = SendJournal.open(task_identity(2), "email", state_dir=state_dir).history(item.key)
    assert history.state is SendState.UNKNOWN and "KeyboardInterrupt" in str(history.detail)


@pytest.mark.parametrize("kind", KINDS)
def test_a_created_entry_without_an_id_is_never_sent_again(
    kind: str, hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str
) -> None:
    journal = _journal(state_dir, kind)
    item = item_of(kind)
    journal.sending(item.key)
    with journal.path.open("a", encoding="utf-8") as lines:  # what an earlier version wrote after an id-less 2xx
        lines.write(f'{{"event":"created","key":"{item.key}","try":1,"ts":"2026-05-01T00:00:00.000Z"}}\n')
    with pytest.raises(ValueError, match="record id"):
        journal.created(item.key, "")  # and what this version refuses to write

    later = _journal(state_dir, kind, try_number=2)
    assert later.history(item.key).state is SendState.UNKNOWN
    with pytest.raises(OutcomeUnknownError, match=item.key):
        create_at_most_once(hook, get_kind(kind), item_of(kind), outcome_unknown=True, journal=later)
    assert _api_requests(admin) == {}


def test_an_html_answer_to_a_callback_is_an_unknown_outcome_never_sent_twice(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any, state_dir: str
) -> None:
    admin.faults(hostile_answer="html_200", hostile_rate=1.0, hostile_after_commit=True)
    journal = _journal(state_dir, "callback")
    item = item_of("callback")

    with pytest.raises(OutcomeUnknownError) as caught:
        create_at_most_once(hook, get_kind("callback"), item, outcome_unknown=False, journal=journal)

    assert "text/html" in str(caught.value)
    assert admin.requests_to(CREATE["callback"]) == {"200": 1}  # the hook retries a lost answer, never this one
    assert journal.history(item.key).state is SendState.UNKNOWN
