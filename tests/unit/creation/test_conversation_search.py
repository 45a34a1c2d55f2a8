"""The verdicts of the participant-attribute search, edge by edge, with Genesys' answers mocked (``responses``).

The clock and the sleep are fakes: a wait advances the clock and is recorded, never slept. The hook is real (its
token cache, its retries and its error parsing), on a connection to a mocked host.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import responses

from airflow_provider_genesys.creation.conversation_search import (
    CLOCK_SKEW,
    MAX_SEARCH_PAGES,
    SEARCH_PATH,
    SEARCH_WINDOW,
    SearchAnswer,
    SearchVerdict,
    find_conversation_by_key,
    search_windows,
)
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook, clear_token_cache
from tests.support.canaries import CANARY_CLIENT_SECRET
from tests.support.connections import genesys_connection

HOST = "http://genesys.test"
SEARCH_URL = f"{HOST}{SEARCH_PATH}"
KEY = "9f" * 32
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
DELAY = 60.0
TIMEOUT = 10.0


class Clock:
    """``now`` and ``sleep`` for the search: sleeping advances the clock, instantly, and is recorded."""

    def __init__(self, start: datetime = NOW) -> None:
        self.current = start
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    clear_token_cache()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(
            responses.POST,
            f"{HOST}/oauth/token",
            json={"access_token": "tok-search-0001", "token_type": "bearer", "expires_in": 86399},
        )
        yield mock
    clear_token_cache()


@pytest.fixture
def make_hook(monkeypatch: pytest.MonkeyPatch) -> Callable[..., GenesysCloudHook]:
    """A hook on a fresh connection to the mocked host: indexing delay 60 s, read timeout 10 s, one attempt."""

    def make(**extra: Any) -> GenesysCloudHook:
        settings = {
            "search_indexing_delay": DELAY,
            "timeout": TIMEOUT,
            "max_attempts": 1,
            "search_max_wait": 600,
            **extra,
        }
        conn_id = f"search_{uuid.uuid4().hex[:10]}"
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", genesys_connection(HOST, **settings))
        return GenesysCloudHook(conn_id)

    return make


def row(
    conversation_id: str = "c-1", attributes: dict[str, Any] | None = None, *, start: str = "2026-05-01T11:59:00.000Z"
) -> dict[str, Any]:
    """One result in the shape public code reports: participantData[].participantAttributes."""
    return {
        "conversationId": conversation_id,
        "startTime": start,
        "divisionIds": ["*"],
        "participantData": [
            {"participantPurpose": "acd", "participantId": "p-0", "sessionIds": []},
            {
                "participantPurpose": "customer",
                "participantId": "p-1",
                "sessionIds": ["s-1"],
                "participantAttributes": {"caseId": "CASE-1", **(attributes or {})},
            },
        ],
        "truncatedData": False,
    }


def page(*rows: dict[str, Any], cursor: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"types": ["conversations"], "results": list(rows)}
    if cursor is not None:
        body["cursor"] = cursor
    return body


def sent_bodies(rsps: responses.RequestsMock) -> list[dict[str, Any]]:
    return [json.loads(call.request.body or b"{}") for call in rsps.calls if call.request.url == SEARCH_URL]


def find(hook: GenesysCloudHook, clock: Clock, sent_at: datetime | None) -> SearchAnswer:
    return find_conversation_by_key(hook, key=KEY, sent_at=sent_at, now=clock.now, sleep=clock.sleep)


# -- found, absent ------------------------------------------------------------------------------------------


def test_a_conversation_carrying_the_key_is_found(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    rsps.add(
        responses.POST,
        SEARCH_URL,
        json=page(row("c-other", {"genesysIdempotencyKey": "ab" * 32}), row("c-7", {"genesysIdempotencyKey": KEY})),
    )

    answer = find(make_hook(), clock, sent_at=NOW - timedelta(minutes=10))

    assert (answer.verdict, answer.conversation_id, answer.requests) == (SearchVerdict.FOUND, "c-7", 1)
    assert clock.sleeps == []
    (body,) = sent_bodies(rsps)
    assert body == {
        "query": [
            {
                "type": "DATE_RANGE",
                "fields": ["startTime"],
                "startValue": "2026-05-01T11:45:00.000Z",
                "endValue": "2026-05-01T12:05:00.000Z",
            }
        ]
    }


@pytest.mark.parametrize(
    "value",
    [KEY.upper(), KEY + " ", KEY[:-1], f"[{KEY}]", None, 1],
    ids=["other-case", "trailing-space", "prefix", "bracketed", "null", "number"],
)
def test_only_the_exact_value_counts_as_the_key(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock, value: Any
) -> None:
    rsps.add(responses.POST, SEARCH_URL, json=page(row("c-near", {"genesysIdempotencyKey": value})))

    answer = find(make_hook(), clock, sent_at=NOW - timedelta(hours=1))

    assert answer.verdict is SearchVerdict.ABSENT, answer
    assert answer.conversation_id is None


def test_not_found_after_the_indexing_delay_is_absent_without_waiting(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    rsps.add(responses.POST, SEARCH_URL, json=page(row("c-1")))
    sent_at = NOW - timedelta(seconds=DELAY + TIMEOUT + 1)

    answer = find(make_hook(), clock, sent_at=sent_at)

    assert (answer.verdict, answer.requests, clock.sleeps) == (SearchVerdict.ABSENT, 1, [])
    assert "genesysIdempotencyKey=" + KEY in answer.reason and "2026-05-01T11:53:49.000Z" in answer.reason


def test_several_conversations_with_the_key_give_the_oldest(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    newer = row("c-newer", {"genesysIdempotencyKey": KEY}, start="2026-05-01T11:58:00.000Z")
    older = row("c-older", {"genesysIdempotencyKey": KEY}, start="2026-05-01T11:57:00.000Z")
    rsps.add(responses.POST, SEARCH_URL, json=page(newer, older))

    assert find(make_hook(), clock, sent_at=NOW - timedelta(minutes=5)).conversation_id == "c-older"


# -- the indexing window ----------------------------------------------------------------------------------------


def test_inside_the_indexing_window_it_waits_until_the_window_ends_and_searches_again(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    rsps.add(responses.POST, SEARCH_URL, json=page())
    rsps.add(responses.POST, SEARCH_URL, json=page(row("c-late", {"genesysIdempotencyKey": KEY})))
    sent_at = NOW - timedelta(seconds=20)

    answer = find(make_hook(), clock, sent_at=sent_at)

    assert (answer.verdict, answer.conversation_id, answer.requests) == (SearchVerdict.FOUND, "c-late", 2)
    assert clock.sleeps == [pytest.approx(DELAY + TIMEOUT - 20)]


def test_still_not_found_once_the_window_has_passed_is_absent(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    rsps.add(responses.POST, SEARCH_URL, json=page())

    answer = find(make_hook(), clock, sent_at=NOW - timedelta(seconds=5))

    assert (answer.verdict, answer.requests) == (SearchVerdict.ABSENT, 2)
    assert clock.sleeps == [pytest.approx(DELAY + TIMEOUT - 5)]
    second = sent_bodies(rsps)[1]["query"][0]
    assert second["endValue"] == "2026-05-01T12:06:05.000Z"  # the second pass reaches the later "now"


def test_a_wait_longer_than_search_max_wait_is_undecidable_without_waiting(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    rsps.add(responses.POST, SEARCH_URL, json=page())

    answer = find(make_hook(search_max_wait=30), clock, sent_at=NOW - timedelta(seconds=5))

    assert (answer.verdict, answer.requests, clock.sleeps) == (SearchVerdict.UNDECIDABLE, 1, [])
    assert "search_max_wait" in answer.reason and "65s from now" in answer.reason


def test_a_sleep_that_returns_early_leaves_it_undecidable(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    rsps.add(responses.POST, SEARCH_URL, json=page())
    woken: list[float] = []

    answer = find_conversation_by_key(
        make_hook(), key=KEY, sent_at=NOW - timedelta(seconds=5), now=clock.now, sleep=woken.append
    )

    assert answer.verdict is SearchVerdict.UNDECIDABLE and "indexing delay only ends" in answer.reason
    assert woken == [pytest.approx(65)]


def test_an_unknown_send_time_searches_the_look_back_and_waits_a_full_indexing_delay(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    rsps.add(responses.POST, SEARCH_URL, json=page())

    answer = find(make_hook(search_lookback=6 * 3600), clock, sent_at=None)

    assert answer.verdict is SearchVerdict.ABSENT
    assert clock.sleeps == [pytest.approx(DELAY + TIMEOUT)]
    first_pass = [body["query"][0] for body in sent_bodies(rsps)][:2]
    assert [(c["startValue"], c["endValue"]) for c in first_pass] == [
        ("2026-05-01T08:05:00.000Z", "2026-05-01T12:05:00.000Z"),  # the newest 4-hour window first
        ("2026-05-01T06:00:00.000Z", "2026-05-01T08:05:00.000Z"),  # back to the look-back
    ]
    assert answer.requests == 4  # two windows, searched twice


def test_a_send_of_unknown_end_searches_from_its_first_announcement_and_waits_a_full_delay(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    # a try that died mid-batch: the batch was announced at 11:00, the create may have left any time until now
    rsps.add(responses.POST, SEARCH_URL, json=page())

    answer = find_conversation_by_key(
        make_hook(), key=KEY, sent_at=None, sent_from=NOW - timedelta(hours=1), now=clock.now, sleep=clock.sleep
    )

    assert answer.verdict is SearchVerdict.ABSENT
    assert clock.sleeps == [pytest.approx(DELAY + TIMEOUT)]  # "not found" is trusted only a full window from now
    assert sent_bodies(rsps)[0]["query"][0]["startValue"] == "2026-05-01T10:55:00.000Z"


def test_a_send_older_than_the_look_back_is_undecidable_without_a_request(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    answer = find(make_hook(search_lookback=3600), clock, sent_at=NOW - timedelta(hours=2))

    assert (answer.verdict, answer.requests) == (SearchVerdict.UNDECIDABLE, 0)
    assert "search_lookback" in answer.reason
    assert sent_bodies(rsps) == []


def test_a_naive_send_time_is_taken_as_utc(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    rsps.add(responses.POST, SEARCH_URL, json=page())

    find(make_hook(), clock, sent_at=datetime(2026, 5, 1, 11, 0))

    assert sent_bodies(rsps)[0]["query"][0]["startValue"] == "2026-05-01T10:55:00.000Z"


def test_long_ranges_are_cut_into_windows_of_at_most_four_hours_newest_first() -> None:
    start, end = NOW - timedelta(hours=9), NOW
    windows = search_windows(start, end)
    assert [upper - lower for lower, upper in windows] == [SEARCH_WINDOW, SEARCH_WINDOW, timedelta(hours=1)]
    assert windows[0][1] == end and windows[-1][0] == start
    assert all(newer[0] == older[1] for newer, older in itertools.pairwise(windows))
    assert search_windows(end, end) == []


# -- paging ------------------------------------------------------------------------------------------------------


def test_pages_are_followed_with_the_cursor(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    rsps.add(responses.POST, SEARCH_URL, json=page(row("c-1"), cursor="cur-1"))
    rsps.add(responses.POST, SEARCH_URL, json=page(row("c-2"), cursor="cur-2"))
    rsps.add(responses.POST, SEARCH_URL, json=page(row("c-3", {"genesysIdempotencyKey": KEY})))

    answer = find(make_hook(), clock, sent_at=NOW - timedelta(hours=1))

    assert (answer.verdict, answer.conversation_id, answer.requests) == (SearchVerdict.FOUND, "c-3", 3)
    bodies = sent_bodies(rsps)
    assert [body.get("cursor") for body in bodies] == [None, "cur-1", "cur-2"]
    assert len({json.dumps(body["query"]) for body in bodies}) == 1  # the same query on every page


def test_a_cursor_answered_twice_is_undecidable(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    rsps.add(responses.POST, SEARCH_URL, json=page(row("c-1"), cursor="same"))

    answer = find(make_hook(), clock, sent_at=NOW - timedelta(hours=1))

    assert answer.verdict is SearchVerdict.UNDECIDABLE
    assert "'same' again" in answer.reason and answer.requests == 2


def test_paging_that_never_ends_is_undecidable(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    counter = iter(range(10_000))
    rsps.add_callback(
        responses.POST,
        SEARCH_URL,
        callback=lambda request: (
            200,
            {"Content-Type": "application/json"},
            json.dumps(page(cursor=f"c{next(counter)}")),
        ),
    )

    answer = find(make_hook(), clock, sent_at=NOW - timedelta(hours=1))

    assert answer.verdict is SearchVerdict.UNDECIDABLE and f"within {MAX_SEARCH_PAGES} pages" in answer.reason
    assert answer.requests == MAX_SEARCH_PAGES


# -- answers that prove nothing -----------------------------------------------------------------------------------


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"message": message, "code": code, "status": status, "contextId": "ctx-9", "details": [], "errors": []}


@pytest.mark.parametrize(
    ("status", "code", "named"),
    [
        (403, "missing.permissions", "conversation:participant:attributesview"),
        (400, "bad.request", "Search not supported"),
        (404, "not.found", "HTTP 404"),
        (500, "internal.server.error", "HTTP 500"),
    ],
)
def test_an_error_answer_is_undecidable_naming_it(
    make_hook: Callable[..., GenesysCloudHook],
    rsps: responses.RequestsMock,
    clock: Clock,
    status: int,
    code: str,
    named: str,
) -> None:
    rsps.add(responses.POST, SEARCH_URL, status=status, json=_error(status, code, "Search not supported."))

    answer = find(make_hook(), clock, sent_at=NOW - timedelta(hours=1))

    assert answer.verdict is SearchVerdict.UNDECIDABLE
    assert f"HTTP {status}" in answer.reason and code in answer.reason and named in answer.reason
    assert "ctx-9" in answer.reason and answer.requests == 1


def test_a_token_that_cannot_be_had_is_undecidable_with_no_search_sent(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    rsps.replace(responses.POST, f"{HOST}/oauth/token", status=401, json={"error": "invalid_client"})

    answer = find(make_hook(token_retry_seconds=0), clock, sent_at=NOW - timedelta(hours=1))

    assert answer.verdict is SearchVerdict.UNDECIDABLE and "/oauth/token" in answer.reason
    assert answer.requests == 0 and sent_bodies(rsps) == []


def test_a_5xx_is_retried_by_the_hook_then_undecidable(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    rsps.add(responses.POST, SEARCH_URL, status=503, json=_error(503, "service.unavailable", "down"))

    hook = make_hook(max_attempts=3, backoff_initial=0, backoff_max=0)
    answer = find(hook, clock, sent_at=NOW - timedelta(hours=1))

    assert answer.verdict is SearchVerdict.UNDECIDABLE and "HTTP 503" in answer.reason
    assert answer.requests == 3 == len(sent_bodies(rsps))


def test_an_answer_echoing_the_client_secret_is_redacted(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    message = f"bad query; client_secret={CANARY_CLIENT_SECRET}; Authorization: Bearer tok-search-0001"
    rsps.add(responses.POST, SEARCH_URL, status=400, json=_error(400, "bad.request", message))

    answer = find(make_hook(), clock, sent_at=NOW - timedelta(hours=1))

    assert answer.verdict is SearchVerdict.UNDECIDABLE
    assert CANARY_CLIENT_SECRET not in answer.reason and "tok-search-0001" not in answer.reason


@pytest.mark.parametrize(
    ("answer_body", "content_type", "named"),
    [
        ("<html>sign in</html>", "text/html", "answer.unreadable"),
        ("", "application/json", "answer.unreadable"),
        (json.dumps([{"conversationId": "c-1"}]), "application/json", "not a JsonCursorSearchResponse"),
        (json.dumps({"types": ["conversations"]}), "application/json", "not a JsonCursorSearchResponse"),
        (json.dumps({"results": {"c-1": {}}}), "application/json", "not a JsonCursorSearchResponse"),
        (json.dumps({"results": [], "cursor": 7}), "application/json", "not a string"),
    ],
    ids=["html", "empty", "a-list", "no-results", "results-not-a-list", "cursor-not-a-string"],
)
def test_a_2xx_that_is_not_the_documented_object_is_undecidable(
    make_hook: Callable[..., GenesysCloudHook],
    rsps: responses.RequestsMock,
    clock: Clock,
    answer_body: str,
    content_type: str,
    named: str,
) -> None:
    rsps.add(responses.POST, SEARCH_URL, body=answer_body, status=200, content_type=content_type)

    answer = find(make_hook(), clock, sent_at=NOW - timedelta(hours=1))

    assert answer.verdict is SearchVerdict.UNDECIDABLE and named in answer.reason, answer


@pytest.mark.parametrize(
    ("result", "named"),
    [
        ({"conversationId": "c-1", "participants": [{"attributes": {}}]}, "no participantData list"),
        ("c-1", "no participantData list"),
        ({**row("c-1"), "participantData": [{"participantAttributes": "k=v"}]}, "not an object"),
        ({**row("c-1"), "truncatedData": True}, "truncated"),
        ({**row("c-1", {"genesysIdempotencyKey": KEY}), "conversationId": None}, "without a conversationId"),
    ],
    ids=["another-shape", "not-an-object", "attributes-not-an-object", "truncated", "no-conversation-id"],
)
def test_a_result_that_cannot_be_read_makes_not_found_undecidable(
    make_hook: Callable[..., GenesysCloudHook],
    rsps: responses.RequestsMock,
    clock: Clock,
    result: Any,
    named: str,
) -> None:
    rsps.add(responses.POST, SEARCH_URL, json=page(row("c-0"), result))

    answer = find(make_hook(), clock, sent_at=NOW - timedelta(hours=1))

    assert answer.verdict is SearchVerdict.UNDECIDABLE and named in answer.reason, answer
    assert clock.sleeps == []


def test_an_unreadable_result_beside_a_verified_one_is_still_found(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    rsps.add(responses.POST, SEARCH_URL, json=page("garbage", row("c-9", {"genesysIdempotencyKey": KEY})))

    answer = find(make_hook(), clock, sent_at=NOW - timedelta(hours=1))

    assert (answer.verdict, answer.conversation_id) == (SearchVerdict.FOUND, "c-9")


def test_the_search_window_bounds_allow_for_clock_skew(
    make_hook: Callable[..., GenesysCloudHook], rsps: responses.RequestsMock, clock: Clock
) -> None:
    rsps.add(responses.POST, SEARCH_URL, json=page())
    sent_at = NOW - timedelta(hours=1)

    find(make_hook(), clock, sent_at=sent_at)

    (criterion,) = sent_bodies(rsps)[0]["query"]
    assert criterion["startValue"] == (sent_at - CLOCK_SKEW).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert criterion["endValue"] == (NOW + CLOCK_SKEW).isoformat(timespec="milliseconds").replace("+00:00", "Z")
