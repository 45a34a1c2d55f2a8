"""The sandbox's participant-attribute search: ``POST /api/v2/conversations/participants/attributes/search``.

It searches the callbacks and emails the sandbox created, a conversation becoming searchable only once the
indexing delay (fault setting ``search_indexing_delay``, CLI ``--search-indexing-delay``, environment variable
``GENESYS_SANDBOX_SEARCH_INDEXING_DELAY``) has passed since its creation; it enforces the request shape of the
SDK's ``ConversationParticipantSearchRequest`` and answers ``JsonCursorSearchResponse`` pages linked by ``cursor``.
(Every answer is also held to the SDK's models in tests/contract/test_sandbox_answers.py.)
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from genesys_sandbox import QUEUE_SUPPORT_ID
from genesys_sandbox.__main__ import SEARCH_DELAY_ENV, build_parser, config_from_args
from tests.support.sandbox_client import SandboxClient, assert_error_body
from tests.support.waiting import wait_until

SEARCH = "/api/v2/conversations/participants/attributes/search"


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def around_now(before: float = 600, after: float = 600, field: str = "startTime") -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    return {
        "type": "DATE_RANGE",
        "fields": [field],
        "startValue": _iso(now - timedelta(seconds=before)),
        "endValue": _iso(now + timedelta(seconds=after)),
    }


def create_callback(sandbox: SandboxClient, key: str) -> str:
    body = {"callbackNumbers": ["+15551230001"], "queueId": QUEUE_SUPPORT_ID, "data": {"genesysIdempotencyKey": key}}
    response = sandbox.post("/api/v2/conversations/callbacks", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["conversation"]["id"])


def create_email(sandbox: SandboxClient, key: str) -> str:
    body = {
        "provider": "Acme CRM",
        "queueId": QUEUE_SUPPORT_ID,
        "subject": "Refund",
        "attributes": {"genesysIdempotencyKey": key, "caseId": "CASE-1"},
    }
    response = sandbox.post("/api/v2/conversations/emails", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def search(sandbox: SandboxClient, *criteria: dict[str, Any], **extra: Any) -> Any:
    return sandbox.post(SEARCH, json={"query": list(criteria), **extra})


def every_page(sandbox: SandboxClient, *criteria: dict[str, Any]) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    body: dict[str, Any] = {"query": list(criteria)}
    while True:
        response = sandbox.post(SEARCH, json=body)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        if not pages[-1].get("cursor"):
            return pages
        body["cursor"] = pages[-1]["cursor"]


def test_callbacks_and_emails_are_found_with_their_participant_attributes(sandbox: SandboxClient) -> None:
    callback_id = create_callback(sandbox, "key-cb")
    email_id = create_email(sandbox, "key-em")

    response = search(sandbox, around_now())

    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"types", "results"} and answer["types"] == ["conversations"]
    by_id = {result["conversationId"]: result for result in answer["results"]}
    assert set(by_id) == {callback_id, email_id}
    callback = by_id[callback_id]
    assert set(callback) == {"conversationId", "startTime", "divisionIds", "participantData", "truncatedData"}
    (customer,) = [p for p in callback["participantData"] if p.get("participantAttributes")]
    assert customer["participantAttributes"] == {"genesysIdempotencyKey": "key-cb"}
    assert customer["participantPurpose"] == "customer" and customer["participantId"]
    assert by_id[email_id]["participantData"][0]["participantAttributes"]["caseId"] == "CASE-1"
    assert callback["truncatedData"] is False


def test_only_conversations_that_started_inside_the_range_are_answered(sandbox: SandboxClient) -> None:
    create_callback(sandbox, "key-1")

    assert search(sandbox, around_now(before=600, after=-300)).json()["results"] == []  # ended 5 minutes ago
    assert search(sandbox, around_now(before=-300, after=600)).json()["results"] == []  # starts in 5 minutes
    assert len(search(sandbox, around_now(field="endTime")).json()["results"]) == 0  # still going: no end time
    conversation_id = create_email(sandbox, "key-2")
    exact = {"type": "EXACT", "fields": ["conversationId"], "value": conversation_id}
    (found,) = search(sandbox, around_now(), exact).json()["results"]
    assert found["conversationId"] == conversation_id


def test_a_conversation_becomes_searchable_only_after_the_indexing_delay(sandbox: SandboxClient) -> None:
    sandbox.admin("PATCH", "/faults", json={"search_indexing_delay": 0.6})
    conversation_id = create_callback(sandbox, "key-late")
    created = time.monotonic()

    assert search(sandbox, around_now()).json()["results"] == []
    wait_until(lambda: search(sandbox, around_now()).json()["results"], timeout=5)
    assert time.monotonic() - created >= 0.6
    assert search(sandbox, around_now()).json()["results"][0]["conversationId"] == conversation_id
    # the record itself exists from the start: only the search lags
    assert sandbox.get(f"/api/v2/conversations/{conversation_id}").status_code == 200


def test_pages_are_linked_by_cursor_until_the_last(sandbox: SandboxClient) -> None:
    sandbox.admin("PATCH", "/faults", json={"search_page_size": 2})
    created = {create_callback(sandbox, f"key-{n}") for n in range(5)}

    pages = every_page(sandbox, around_now())

    assert [len(page["results"]) for page in pages] == [2, 2, 1]
    assert {result["conversationId"] for page in pages for result in page["results"]} == created
    assert "cursor" not in pages[-1]


def test_a_cursor_is_refused_for_another_query_and_when_it_is_not_one(sandbox: SandboxClient) -> None:
    sandbox.admin("PATCH", "/faults", json={"search_page_size": 1})
    create_callback(sandbox, "key-1")
    create_callback(sandbox, "key-2")
    cursor = search(sandbox, around_now()).json()["cursor"]

    other = search(sandbox, around_now(before=60), cursor=cursor)
    assert_error_body(other, 400, "invalid.value")
    assert "cursor" in other.json()["message"]
    assert_error_body(search(sandbox, around_now(), cursor="not-a-cursor"), 400, "invalid.value")


def test_a_repeating_cursor_fault_never_ends_the_paging(sandbox: SandboxClient) -> None:
    sandbox.admin("PATCH", "/faults", json={"search_repeat_cursor": True})
    create_callback(sandbox, "key-1")
    criterion = around_now()
    first = search(sandbox, criterion).json()
    second = search(sandbox, criterion, cursor=first["cursor"]).json()
    assert first["cursor"] == second["cursor"] and first["results"] == second["results"]


def test_the_missing_permission_fault_answers_403_naming_the_permission(sandbox: SandboxClient) -> None:
    sandbox.admin("PATCH", "/faults", json={"search_missing_permission": True})

    response = search(sandbox, around_now())

    body = assert_error_body(response, 403, "missing.permissions")
    assert "conversation:participant:attributesview" in body["message"]
    # other routes keep working
    assert (
        sandbox.post(
            "/api/v2/conversations/callbacks", json={"callbackNumbers": ["+1555"], "queueId": QUEUE_SUPPORT_ID}
        ).status_code
        == 200
    )


BAD_QUERIES: list[tuple[str, Any, str]] = [
    ("not an object", [around_now()], "body"),
    ("an unknown field", {"query": [around_now()], "pageSize": 25}, "pageSize"),
    ("no query", {}, "query"),
    ("no type", {"query": [{"fields": ["startTime"], "startValue": "x", "endValue": "y"}]}, "query[0].type"),
    ("an unknown type", {"query": [{**around_now(), "type": "FUZZY"}]}, "query[0].type"),
    ("fields not a list", {"query": [{**around_now(), "fields": "startTime"}]}, "query[0].fields"),
    ("an unknown criterion field", {"query": [{**around_now(), "size": 3}]}, "query[0].size"),
    ("no date range", {"query": [{"type": "EXACT", "fields": ["conversationId"], "value": "c"}]}, "DATE_RANGE"),
    (
        "an attribute criterion",
        {"query": [around_now(), {"type": "EXACT", "fields": ["participantData.genesysIdempotencyKey"], "value": "k"}]},
        "Search not supported",
    ),
    ("a range on an attribute", {"query": [around_now(field="participantData.when")]}, "Search not supported"),
    ("an OR", {"query": [{**around_now(), "operator": "OR"}]}, "Search not supported"),
    ("a group", {"query": [{**around_now(), "group": [around_now()]}]}, "Search not supported"),
    ("no end", {"query": [{k: v for k, v in around_now().items() if k != "endValue"}]}, "endValue"),
    ("a date that is no date", {"query": [{**around_now(), "startValue": "yesterday"}]}, "startValue"),
    ("a range over 24 hours", {"query": [around_now(before=25 * 3600)]}, "24 hours"),
    ("an end before the start", {"query": [around_now(before=-600, after=-1200)]}, "endValue"),
    ("an unsupported date format", {"query": [{**around_now(), "dateFormat": "dd/MM/yyyy"}]}, "dateFormat"),
    ("an EXACT without value", {"query": [around_now(), {"type": "EXACT", "fields": ["conversationId"]}]}, "value"),
    ("a sort order outside the enum", {"query": [around_now()], "sortOrder": "UP"}, "sortOrder"),
    ("returnFields not a list", {"query": [around_now()], "returnFields": "startTime"}, "returnFields"),
]


@pytest.mark.parametrize(("body", "named"), [(b, n) for _, b, n in BAD_QUERIES], ids=[w for w, _, _ in BAD_QUERIES])
def test_a_malformed_query_is_a_400_error_body_naming_the_problem(
    sandbox: SandboxClient, body: Any, named: str
) -> None:
    response = sandbox.post(SEARCH, json=body)

    error = assert_error_body(response, 400)
    text = error["message"] + " " + " ".join(str(detail.get("fieldName")) for detail in error["details"])
    assert named in text, error


def test_the_sdk_date_format_is_accepted(sandbox: SandboxClient) -> None:
    create_callback(sandbox, "key-1")
    criterion = {**around_now(), "dateFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSX"}
    assert len(search(sandbox, criterion).json()["results"]) == 1


def test_results_follow_the_requested_sort_order(sandbox: SandboxClient) -> None:
    first = create_callback(sandbox, "key-1")
    time.sleep(0.01)
    second = create_callback(sandbox, "key-2")
    ascending = search(sandbox, around_now(), sortBy="startTime", sortOrder="ASC").json()["results"]
    descending = search(sandbox, around_now(), sort=[{"sortBy": "startTime", "sortOrder": "DESC"}]).json()["results"]
    assert [r["conversationId"] for r in ascending] == [first, second]
    assert [r["conversationId"] for r in descending] == [second, first]


def test_the_command_line_and_the_environment_set_the_indexing_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SEARCH_DELAY_ENV, raising=False)
    assert config_from_args(build_parser().parse_args([])).faults.search_indexing_delay == 0.0
    monkeypatch.setenv(SEARCH_DELAY_ENV, "2.5")
    assert config_from_args(build_parser().parse_args([])).faults.search_indexing_delay == 2.5
    flags = ["--search-indexing-delay", "7"]
    assert config_from_args(build_parser().parse_args(flags)).faults.search_indexing_delay == 7.0
    monkeypatch.setenv(SEARCH_DELAY_ENV, "soon")
    with pytest.raises(SystemExit):
        build_parser().parse_args([])
