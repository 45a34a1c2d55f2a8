"""``POST /api/v2/conversations/participants/attributes/search`` over the callbacks and emails the sandbox created.

The request is the SDK's ``ConversationParticipantSearchRequest`` (``query`` of
``ConversationParticipantSearchCriteria`` — ``type`` ``EXACT`` | ``DATE_RANGE``, ``fields``, ``value``/``values``,
``startValue``/``endValue``, ``operator``, ``group``, ``dateFormat`` —, ``returnFields``, ``sortBy``, ``sortOrder``,
``sort``, ``cursor``); unknown keys, wrong types and values outside the SDK's enums are answered 400 with an
``ErrorBody``. The answer is a
``JsonCursorSearchResponse`` ``{types, results, cursor}``; ``cursor`` appears while more results follow.

Genesys documents neither the searchable fields nor the shape of a result nor how soon a conversation becomes
searchable. The sandbox follows what public code reports of the real endpoint, and says so:

* searchable fields are ``conversationId``, ``startTime``, ``endTime`` and ``divisionId``; any other field (an
  attribute) is answered 400 "Search not supported."; only ``AND`` is supported (``OR``, ``NOT`` and ``group``
  are answered 400 too);
* a query needs a ``DATE_RANGE`` on ``startTime`` or ``endTime`` spanning at most 24 hours;
* a result is ``{conversationId, startTime, [endTime], divisionIds, participantData: [{participantPurpose,
  participantId, sessionIds, [participantAttributes]}], truncatedData}``, only conversations with attributes
  are stored, and ``returnFields`` does not narrow it (the sandbox accepts and ignores it);
* a conversation becomes searchable only ``search_indexing_delay`` seconds after its creation (a fault setting,
  0 by default; ``--search-indexing-delay`` or ``GENESYS_SANDBOX_SEARCH_INDEXING_DELAY`` on the command line);
* ``dateFormat`` may be omitted (ISO-8601 values) or be the SDK's example ``yyyy-MM-dd'T'HH:mm:ss.SSSX``.

Faults: ``search_page_size`` (results per page, 50 by default), ``search_missing_permission`` (403 naming the
permission ``conversation:participant:attributesview``), ``search_repeat_cursor`` (every page answers the same
cursor: paging that never ends).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from genesys_sandbox.common import read_json, validate_body
from genesys_sandbox.errors import SandboxHTTPError
from genesys_sandbox.state import SandboxState, StoredRecord

SEARCH_PATH = "/api/v2/conversations/participants/attributes/search"
SEARCH_PERMISSION = "conversation:participant:attributesview"
#: Fields the search accepts (reported by public code; Genesys documents none).
SEARCHABLE_FIELDS = frozenset({"conversationId", "startTime", "endTime", "divisionId"})
DATE_FIELDS = frozenset({"startTime", "endTime"})
MAX_RANGE = timedelta(hours=24)
#: The ``dateFormat`` the SDK documents as its example (Java date format syntax).
SDK_DATE_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSX"
NOT_SUPPORTED = "Search not supported."


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchCriteria(_Body):
    """``ConversationParticipantSearchCriteria``: one criterion of the query."""

    type: Literal["EXACT", "DATE_RANGE"]
    fields: list[str] = Field(default_factory=list)
    value: str | None = None
    values: list[str] | None = None
    startValue: str | None = None
    endValue: str | None = None
    operator: Literal["AND", "OR", "NOT"] | None = None
    group: list[SearchCriteria] | None = None
    dateFormat: str | None = None


class SearchSort(_Body):
    """``SearchSort``: one key of a multi-value sort."""

    sortBy: str | None = None
    sortOrder: Literal["ASC", "DESC", "SCORE"] | None = None


class ConversationParticipantSearchRequest(_Body):
    """``ConversationParticipantSearchRequest``: the body of the search."""

    query: list[SearchCriteria] = Field(min_length=1)
    returnFields: list[str] | None = None
    sortBy: str | None = None
    sortOrder: Literal["ASC", "DESC", "SCORE"] | None = None
    sort: list[SearchSort] | None = None
    cursor: str | None = None


def _bad(field_name: str, message: str, *, code: str = "invalid.value") -> SandboxHTTPError:
    return SandboxHTTPError(
        400, code=code, message=f"{field_name}: {message}", details=[{"errorCode": code, "fieldName": field_name}]
    )


def _not_supported(field_name: str, why: str) -> SandboxHTTPError:
    return SandboxHTTPError(
        400,
        code="bad.request",
        message=f"{NOT_SUPPORTED} ({field_name}: {why})",
        details=[{"errorCode": "bad.request", "fieldName": field_name}],
    )


def _moment(text: str, field_name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(field_name, f"{text!r} is not an ISO-8601 date-time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


class _Range:
    """A checked ``DATE_RANGE`` criterion."""

    def __init__(self, field_name: str, start: datetime, end: datetime) -> None:
        self.field_name = field_name
        self.start = start
        self.end = end


def _check(query: ConversationParticipantSearchRequest) -> tuple[list[_Range], list[tuple[str, set[str]]]]:
    """The query's date ranges and exact matches, or a 400 naming what is malformed or not supported."""
    ranges: list[_Range] = []
    exact: list[tuple[str, set[str]]] = []
    for index, criterion in enumerate(query.query):
        where = f"query[{index}]"
        if criterion.operator not in (None, "AND"):
            raise _not_supported(f"{where}.operator", f"only AND is supported, not {criterion.operator}")
        if criterion.group:
            raise _not_supported(f"{where}.group", "groups are not supported")
        if not criterion.fields:
            raise _bad(f"{where}.fields", "at least one field is required")
        for position, name in enumerate(criterion.fields):
            if name not in SEARCHABLE_FIELDS:
                raise _not_supported(f"{where}.fields[{position}]", f"{name!r} is not searchable")
        if criterion.type == "DATE_RANGE":
            if criterion.dateFormat not in (None, SDK_DATE_FORMAT):
                raise _bad(f"{where}.dateFormat", f"the sandbox reads ISO-8601 or {SDK_DATE_FORMAT!r} only")
            for name in criterion.fields:
                if name not in DATE_FIELDS:
                    raise _not_supported(f"{where}.fields", f"{name!r} is not a date")
            if criterion.startValue is None or criterion.endValue is None:
                missing = "startValue" if criterion.startValue is None else "endValue"
                raise _bad(f"{where}.{missing}", "a DATE_RANGE needs startValue and endValue")
            start = _moment(criterion.startValue, f"{where}.startValue")
            end = _moment(criterion.endValue, f"{where}.endValue")
            if end < start:
                raise _bad(f"{where}.endValue", "the end of the range is before its start")
            if end - start > MAX_RANGE:
                raise _bad(f"{where}.startValue", "a DATE_RANGE may span at most 24 hours")
            ranges.extend(_Range(name, start, end) for name in criterion.fields)
        else:
            wanted = set(criterion.values or []) | ({criterion.value} if criterion.value is not None else set())
            if not wanted:
                raise _bad(f"{where}.value", "an EXACT criterion needs value or values")
            exact.extend((name, wanted) for name in criterion.fields)
    if not ranges:
        raise _bad("query", "a DATE_RANGE criterion on startTime or endTime is required")
    return ranges, exact


def _fingerprint(query: ConversationParticipantSearchRequest) -> str:
    canonical = json.dumps(query.model_dump(exclude={"cursor"}, exclude_none=True), sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _encode_cursor(fingerprint: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{fingerprint}:{offset}".encode()).decode("ascii")


def _decode_cursor(cursor: str, fingerprint: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (ValueError, binascii.Error, UnicodeError):
        raise _bad("cursor", "not a cursor returned by this search") from None
    owner, _, number = text.partition(":")
    if not number.isdigit():
        raise _bad("cursor", "not a cursor returned by this search")
    if owner != fingerprint:
        raise _bad("cursor", "this cursor belongs to another query")
    return int(number)


def _row(record: StoredRecord) -> dict[str, Any]:
    """A result: the conversation and its participants' attributes (the customer carries them)."""
    body = record.body
    return {
        "conversationId": body["id"],
        "startTime": body["startTime"],
        "divisionIds": ["*"],
        "participantData": [
            {
                "participantPurpose": "customer",
                "participantId": body["customerParticipantId"],
                "sessionIds": [body["customerParticipantId"]],
                "participantAttributes": dict(body["attributes"]),
            },
            {
                "participantPurpose": "acd",
                "participantId": body["acdParticipantId"],
                "sessionIds": [body["acdParticipantId"]],
            },
        ],
        "truncatedData": False,
    }


def _value(row: dict[str, Any], name: str) -> Any:
    return {"divisionId": "*"}.get(name, row.get(name))


def _matches(row: dict[str, Any], ranges: list[_Range], exact: list[tuple[str, set[str]]]) -> bool:
    for wanted in ranges:
        raw = row.get(wanted.field_name)
        if raw is None or not wanted.start <= _moment(str(raw), wanted.field_name) <= wanted.end:
            return False
    return all(str(_value(row, name)) in values for name, values in exact)


def _sorted(rows: list[dict[str, Any]], query: ConversationParticipantSearchRequest) -> list[dict[str, Any]]:
    keys = [(query.sortBy, query.sortOrder)] if query.sortBy else []
    keys += [(sort.sortBy, sort.sortOrder) for sort in query.sort or [] if sort.sortBy]
    ordered = sorted(rows, key=lambda row: (row["startTime"], row["conversationId"]))
    for name, order in reversed(keys):  # stable sorts: the first key sorts last

        def sort_key(row: dict[str, Any], field_name: str = name) -> str:
            return str(_value(row, field_name) or "")

        ordered.sort(key=sort_key, reverse=order == "DESC")
    return ordered


def build_search_router(state: SandboxState) -> APIRouter:
    """Return the router of the participant-attribute search."""
    router = APIRouter()

    @router.post(SEARCH_PATH)
    async def search_participant_attributes(request: Request) -> JSONResponse:
        faults = state.faults.snapshot()
        if faults.search_missing_permission:
            raise SandboxHTTPError(
                403,
                code="missing.permissions",
                message=f"You are missing the following permission(s): {SEARCH_PERMISSION}",
                details=[{"errorCode": "missing.permissions", "entityName": SEARCH_PERMISSION}],
            )
        query = validate_body(ConversationParticipantSearchRequest, await read_json(request))
        ranges, exact = _check(query)
        fingerprint = _fingerprint(query)
        offset = _decode_cursor(query.cursor, fingerprint) if query.cursor else 0
        searchable_before = time.monotonic() - faults.search_indexing_delay
        rows = [
            _row(record)
            for record in state.iter_records()
            if record.kind in ("callback", "email")
            and record.body.get("attributes")
            and record.created_at <= searchable_before
        ]
        matching = _sorted([row for row in rows if _matches(row, ranges, exact)], query)
        size = faults.search_page_size
        answer: dict[str, Any] = {"types": ["conversations"], "results": matching[offset : offset + size]}
        if faults.search_repeat_cursor:
            answer["cursor"] = _encode_cursor(fingerprint, offset)
        elif offset + size < len(matching):
            answer["cursor"] = _encode_cursor(fingerprint, offset + size)
        return JSONResponse(answer)

    return router
