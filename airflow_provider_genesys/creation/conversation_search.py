"""Find the callback or inbound email that carries an idempotency key, by Genesys' participant-attribute search.

Callbacks and inbound emails carry the provider's key as the participant attribute
:data:`~airflow_provider_genesys.models.platform.IDEMPOTENCY_ATTRIBUTE`. When an earlier try's outcome is unknown,
:func:`find_conversation_by_key` asks ``POST /api/v2/conversations/participants/attributes/search`` whether a
conversation with that attribute exists, and answers one of three verdicts (:class:`SearchVerdict`): found (with
the conversation's id), absent, or undecidable. It never raises for an API error: a failed search is undecidable,
with the reason.

What Genesys documents, and what it does not (the README section "How callbacks and emails are looked up" has
the sources):

* The SDK (``ConversationParticipantSearchRequest``, ``ConversationParticipantSearchCriteria``,
  ``JsonCursorSearchResponse``) gives the request's shape — ``query`` criteria of ``type`` ``EXACT`` or
  ``DATE_RANGE`` over ``fields``, ``returnFields``, ``cursor`` — and an answer of ``{types, results, aggregations,
  cursor}`` whose ``results`` is an untyped object. It names no searchable field and no result shape.
* Genesys documents no indexing delay: how soon a new conversation becomes searchable is unknown, so a search
  made too soon can miss it. Public code that uses this endpoint reports that only ``conversationId``,
  ``startTime``, ``endTime`` and ``divisionId`` are searchable (an ``EXACT`` criterion on an attribute is refused
  with 400), that each result is ``{conversationId, startTime, endTime, divisionIds, participantData:
  [{participantPurpose, participantId, sessionIds, participantAttributes}], truncatedData}``, that one
  ``DATE_RANGE`` may span at most 24 hours (4 hours recommended) and that conversations stay searchable for 30
  days. Those reports are third-party, so this module leans on none of them for a verdict of absence.

So the search is built defensively:

* one ``DATE_RANGE`` criterion on ``startTime`` per window of at most :data:`SEARCH_WINDOW`, covering the time
  the key may have been sent (``sent_at`` minus :data:`CLOCK_SKEW` .. now plus :data:`CLOCK_SKEW`), every page
  followed with ``cursor``; no attribute criterion and no ``returnFields`` (their field names are undocumented,
  and a wrong name would make every search fail);
* every result is checked here: a conversation is found only when one of its participants carries the attribute
  with exactly the key's value. A result that cannot be read that way (another shape, a truncated attribute
  payload without the key) makes a "not found" undecidable, never absent;
* "not found" is absent only once the indexing delay (connection extra ``search_indexing_delay``) has passed
  since the latest moment the create may have been committed: the send time plus the request timeout. Inside
  that window the lookup waits (at most ``search_max_wait``) and searches once more.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.exceptions import GenesysApiError
from airflow_provider_genesys.models.platform import IDEMPOTENCY_ATTRIBUTE
from airflow_provider_genesys.utils.redaction import redact

if TYPE_CHECKING:
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook, GenesysResponse

SEARCH_PATH = "/api/v2/conversations/participants/attributes/search"
#: The permission the OAuth client needs for the search (the SDK's documentation of the operation).
SEARCH_PERMISSION = "conversation:participant:attributesview"
#: The conversation field each ``DATE_RANGE`` criterion searches.
START_TIME_FIELD = "startTime"
#: The widest ``DATE_RANGE`` one request asks for (reported: at most 24 hours accepted, 4 hours recommended).
SEARCH_WINDOW = timedelta(hours=4)
#: How far this worker's clock, the clock that wrote ``sent_at`` and Genesys' clock may disagree.
CLOCK_SKEW = timedelta(minutes=5)
#: The most pages one pass of the search reads before it gives up as undecidable.
MAX_SEARCH_PAGES = 200
#: How much of an answer's text a reason quotes.
_REASON_CHARS = 300


class SearchVerdict(str, enum.Enum):
    """What the search says about a key."""

    #: a conversation carries the key (verified here, value for value)
    FOUND = "found"
    #: no conversation carries it, and the search can be trusted to have seen it if one did
    ABSENT = "absent"
    #: the search cannot tell (an error answer, an unreadable answer, still inside the indexing window)
    UNDECIDABLE = "undecidable"


@dataclass(frozen=True)
class SearchAnswer:
    """The answer of :func:`find_conversation_by_key`.

    :param verdict: found, absent or undecidable.
    :param conversation_id: the conversation carrying the key (``FOUND`` only).
    :param reason: why the search was undecidable (redacted, naming the answer), or what was searched.
    :param requests: the HTTP requests the search used (attempts included, the token fetch not).
    """

    verdict: SearchVerdict
    conversation_id: str | None = None
    reason: str = ""
    requests: int = 0


class _Undecidable(Exception):
    """Internal: the search cannot tell, for ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Pass:
    """What one pass of the search over a time range saw."""

    found: str | None = None
    #: why the results seen cannot prove absence (an unreadable or truncated result), if any
    doubt: str | None = None
    windows: int = 0
    pages: int = 0


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime) -> datetime:
    """``moment`` in UTC (a naive datetime is taken as UTC)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def wire_time(moment: datetime) -> str:
    """``moment`` as Genesys writes date-times: UTC, milliseconds, ``Z``."""
    return _aware(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def search_windows(
    start: datetime, end: datetime, window: timedelta = SEARCH_WINDOW
) -> list[tuple[datetime, datetime]]:
    """``[start, end]`` cut into windows of at most ``window``, newest first (adjacent windows share a bound)."""
    windows: list[tuple[datetime, datetime]] = []
    upper = end
    while upper > start:
        lower = max(start, upper - window)
        windows.append((lower, upper))
        upper = lower
    return windows


def search_body(start: datetime, end: datetime, *, cursor: str | None = None) -> dict[str, Any]:
    """The ``ConversationParticipantSearchRequest`` of conversations that started in ``[start, end]``."""
    body: dict[str, Any] = {
        "query": [
            {
                "type": "DATE_RANGE",
                "fields": [START_TIME_FIELD],
                "startValue": wire_time(start),
                "endValue": wire_time(end),
            }
        ]
    }
    if cursor is not None:
        body["cursor"] = cursor
    return body


def _quoted(value: Any) -> str:
    return redact(repr(value), limit=_REASON_CHARS)


def _error_reason(error: GenesysApiError) -> str:
    reason = f"the search failed: {error}"
    if error.status == 403:
        reason += f" (the OAuth client needs the permission {SEARCH_PERMISSION})"
    return redact(reason, limit=2 * _REASON_CHARS + 200)


def _participants(row: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    data = row.get("participantData")
    if not isinstance(data, list) or not all(isinstance(entry, Mapping) for entry in data):
        return None
    return data


def _carries(participants: list[Mapping[str, Any]], key: str) -> bool | None:
    """Whether a participant carries the key exactly (``None``: an attribute map cannot be read)."""
    for participant in participants:
        attributes = participant.get("participantAttributes")
        if attributes is None:
            continue
        if not isinstance(attributes, Mapping):
            return None
        if attributes.get(IDEMPOTENCY_ATTRIBUTE) == key:
            return True
    return False


def _read_page(body: Any, key: str, seen: _Pass) -> tuple[str | None, str | None]:
    """Read one answer: ``(the id of a conversation carrying the key, the next cursor)``.

    :raises _Undecidable: when the answer is not a ``JsonCursorSearchResponse`` with a list of ``results``.
    """
    if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
        shown = _quoted(body) if not isinstance(body, Mapping) else f"an object with the keys {sorted(body)[:10]}"
        raise _Undecidable(f"the search answered {shown}, not a JsonCursorSearchResponse with a list of results")
    matches: list[tuple[str, str]] = []
    for index, row in enumerate(body["results"]):
        where = f"result {index} of page {seen.pages}"
        participants = _participants(row) if isinstance(row, Mapping) else None
        if not isinstance(row, Mapping) or participants is None:
            seen.doubt = seen.doubt or f"{where} carries no participantData list: {_quoted(row)[:120]}"
            continue
        carries = _carries(participants, key)
        if carries is None:
            seen.doubt = seen.doubt or f"{where} has participantAttributes that are not an object"
            continue
        if not carries:
            if row.get("truncatedData") is True:
                seen.doubt = seen.doubt or f"{where} has a truncated attribute payload (truncatedData: true)"
            continue
        conversation_id = row.get("conversationId")
        if not isinstance(conversation_id, str) or not conversation_id.strip():
            seen.doubt = seen.doubt or f"{where} carries the key without a conversationId: {_quoted(row)[:120]}"
            continue
        matches.append((str(row.get("startTime") or ""), conversation_id))
    cursor = body.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise _Undecidable(f"the search answered the cursor {_quoted(cursor)}, which is not a string")
    found = min(matches)[1] if matches else None  # several (made by something else): the oldest
    return found, cursor or None


def _ask(
    hook: GenesysCloudHook, start: datetime, end: datetime, cursor: str | None, count: Callable[[int], None]
) -> Any:
    """One request of the search; its answer's body. :raises _Undecidable: naming the error answer."""
    try:
        response: GenesysResponse = hook.request("POST", SEARCH_PATH, json=search_body(start, end, cursor=cursor))
    except GenesysApiError as error:
        count(error.attempts if error.request_sent else 0)  # a token failure sent no search
        raise _Undecidable(_error_reason(error)) from None
    count(response.attempts)
    return response.body


def _search(hook: GenesysCloudHook, key: str, start: datetime, end: datetime, count: Callable[[int], None]) -> _Pass:
    """One pass over ``[start, end]``, window by window, newest first, every page followed with ``cursor``.

    Stops at the first page holding a conversation that carries the key.

    :raises _Undecidable: on an error answer, an answer of another shape, or paging that does not end.
    """
    seen = _Pass()
    for lower, upper in search_windows(start, end):
        seen.windows += 1
        cursor: str | None = None
        cursors: set[str] = set()
        while True:
            if seen.pages >= MAX_SEARCH_PAGES:
                raise _Undecidable(f"the search did not end within {MAX_SEARCH_PAGES} pages")
            body = _ask(hook, lower, upper, cursor, count)
            seen.pages += 1
            found, cursor = _read_page(body, key, seen)
            if found is not None:
                seen.found = found
                return seen
            if cursor is None:
                break
            if cursor in cursors:
                raise _Undecidable(f"the search answered the cursor {_quoted(cursor)} again: paging does not advance")
            cursors.add(cursor)
    return seen


def find_conversation_by_key(
    hook: GenesysCloudHook,
    *,
    key: str,
    sent_at: datetime | None,
    sent_from: datetime | None = None,
    now: Callable[[], datetime] = _utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> SearchAnswer:
    """Look for the conversation whose participant attribute :data:`IDEMPOTENCY_ATTRIBUTE` is ``key``.

    * **Found** — a result's participant carries the attribute with exactly ``key``: ``FOUND`` with its
      conversation id (the oldest, should several carry it).
    * **Absent** — nothing carries it, every result could be read, and the connection's
      ``search_indexing_delay`` has passed since the create may last have been committed (``sent_at`` plus the
      connection's read ``timeout``). Inside that window the lookup sleeps until it has passed (when that takes
      at most ``search_max_wait``) and searches once more.
    * **Undecidable** — everything else: an error answer (403 without the permission
      ``conversation:participant:attributesview``, 400, 5xx after the hook's retries, a 2xx that is not the
      documented JSON object), paging that does not end, a result that cannot be read, a send older than the
      look-back, or a window that would need a longer wait. ``reason`` names it, redacted.

    ``sent_at=None`` (the earlier try's send time is not known) searches the connection's ``search_lookback``
    before now and takes the latest possible send time to be now: an earlier try necessarily sent before this
    call began, and no earlier bound is known, so absence is declared only after a full indexing delay.

    :param hook: the Genesys hook (its transport, retries and pacing carry every request).
    :param key: the idempotency key.
    :param sent_at: the latest moment an earlier try's create of the key may have left (naive: UTC), or ``None``
        when unknown (a try that died mid-batch): the window then runs from now.
    :param sent_from: the earliest moment it may have left (when its batch was first announced): the search
        range starts there, also when ``sent_at`` is unknown.
    :param now: the clock (aware UTC datetimes).
    :param sleep: how to wait (seconds).
    :raises GenesysConfigurationError: when the connection's extras are not usable (nothing is sent).
    """
    settings = hook.settings
    delay = timedelta(seconds=settings.search_indexing_delay)
    lookback = timedelta(seconds=settings.search_lookback)
    commit_horizon = timedelta(seconds=settings.timeout)
    started = _aware(now())
    earliest = started - lookback
    latest_send = started if sent_at is None else min(_aware(sent_at), started + CLOCK_SKEW)
    # the first send bounds the search range; with neither time known, the whole look-back is searched
    first_send: datetime | None = latest_send if sent_at is not None else None
    if sent_from is not None:
        first_send = min(_aware(sent_from), latest_send)
    range_start = earliest if first_send is None else max(first_send - CLOCK_SKEW, earliest)
    too_old = first_send is not None and first_send < earliest
    ready_at = latest_send + commit_horizon + delay
    requests = 0

    def count(attempts: int) -> None:
        nonlocal requests
        requests += attempts

    def undecidable(reason: str) -> SearchAnswer:
        return SearchAnswer(SearchVerdict.UNDECIDABLE, reason=redact(reason), requests=requests)

    if too_old:
        return undecidable(
            f"an earlier try sent it at {wire_time(first_send or earliest)}, before the search look-back of "
            f"{settings.search_lookback:g}s (connection extra 'search_lookback')"
        )

    def search_pass() -> tuple[_Pass, str]:
        end = _aware(now()) + CLOCK_SKEW
        seen = _search(hook, key, range_start, end, count)
        searched = (
            f"searched conversations started {wire_time(range_start)}..{wire_time(end)} ({seen.windows} "
            f"window(s), {seen.pages} page(s)) for {IDEMPOTENCY_ATTRIBUTE}={key}"
        )
        return seen, searched

    try:
        seen, searched = search_pass()
        if seen.found is None and seen.doubt is None and _aware(now()) < ready_at:
            wait = (ready_at - _aware(now())).total_seconds()
            if wait > settings.search_max_wait:
                return undecidable(
                    f"not found yet, but it may not be searchable yet: the indexing delay "
                    f"({settings.search_indexing_delay:g}s) ends at {wire_time(ready_at)}, {wait:.0f}s from now, "
                    f"longer than the connection extra 'search_max_wait' ({settings.search_max_wait:g}s); {searched}"
                )
            sleep(wait)
            seen, searched = search_pass()
    except _Undecidable as why:
        return undecidable(why.reason)
    if seen.found is not None:
        return SearchAnswer(SearchVerdict.FOUND, conversation_id=seen.found, reason=redact(searched), requests=requests)
    if seen.doubt is not None:
        return undecidable(f"not found, but {seen.doubt}; {searched}")
    if _aware(now()) < ready_at:
        return undecidable(f"not found, and the indexing delay only ends at {wire_time(ready_at)}; {searched}")
    return SearchAnswer(
        SearchVerdict.ABSENT,
        reason=redact(f"{searched}: none carries it, {settings.search_indexing_delay:g}s after it may have been sent"),
        requests=requests,
    )
