"""Real Genesys Cloud create endpoints: workitems (single, get, query), callbacks, inbound emails.

Bulk add jobs live in :mod:`genesys_sandbox.bulk_jobs`. Shapes are the official SDK's (``PureCloudPlatformClientV2``
269, held to it by the contract tests). None of these endpoints takes an ``Idempotency-Key``; a client makes its
creates idempotent by writing its key into the record (docs/genesys-api.md), and the ledger counts records per
key to show any duplicate:

* workitems by ``externalTag``;
* callbacks by ``data["genesysIdempotencyKey"]`` and emails by ``attributes["genesysIdempotencyKey"]``.

Shapes served here:

* ``POST /api/v2/taskmanagement/workitems`` (``WorkitemCreate``; ``scoredAgents`` as ``{id, score}``) → 201
  ``Workitem``, which carries references — ``type``, ``queue``, ``workbin``, ``status``, ``skills``,
  ``language``, ``assignee``, ``scoredAgents [{agent: {id}, score}]``… — never flat ids. ``assignmentState`` is
  ``AcdStarted`` while queued and ``Connected`` once the simulated ACD assigned it.
* ``POST /api/v2/taskmanagement/workitems/query`` (``WorkitemQueryPostRequest``) →
  ``WorkitemPostQueryEntityListing {entities, after}``: ``after`` only when more entities match; pass it back.
  A page holds at most ``pageSize`` entities, and at most the fault setting ``query_page_limit`` (partial pages,
  as Genesys allows). ``select: "Count"`` answers ``{count}``.
* ``POST /api/v2/conversations/callbacks`` (``CreateCallbackCommand``; ``routingData.scoredAgents`` as
  ``{agent: {id}, score}``) → 200 ``CreateCallbackResponse``; ``POST /api/v2/conversations/emails`` → 200
  ``EmailConversation`` (flat ``EmailMediaParticipant`` participants); ``GET /api/v2/conversations/{id}`` →
  ``Conversation`` whose customer participant carries the ``attributes`` (the callback's ``data`` or the email's
  ``attributes``); an ``agent`` participant appears once the ACD assigned it.
* ``GET /_sandbox/conversations?attribute=NAME&value=V`` → ``{"entities": [conversation, ...]}``.

Dates are written as Genesys writes them: ``yyyy-MM-ddTHH:mm:ss.mmmZ``.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import JSONResponse, Response

from genesys_sandbox import seeds
from genesys_sandbox.common import created_response, read_json, validate_body
from genesys_sandbox.errors import SandboxHTTPError
from genesys_sandbox.middleware import DroppedResponse
from genesys_sandbox.state import SandboxState, StoredRecord, utc_now_iso

IDEMPOTENCY_ATTRIBUTE = "genesysIdempotencyKey"
MIN_WORKITEM_PRIORITY, MAX_WORKITEM_PRIORITY = -25_000_000, 25_000_000
MAX_DAYS_AHEAD = 365
MAX_QUERY_PAGE_SIZE = 200
MAX_QUERY_FILTERS = 3
UUID_PATTERN = r"^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$"
QUERY_ANCHOR_FIELDS = frozenset({"typeId", "workbinId", "queueId", "assigneeId"})
#: Filter name -> where a ``Workitem`` holds the value (the sandbox's subset of the documented filter names).
QUERY_FIELDS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "id": lambda workitem: workitem.get("id"),
    "typeId": lambda workitem: (workitem.get("type") or {}).get("id"),
    "workbinId": lambda workitem: (workitem.get("workbin") or {}).get("id"),
    "queueId": lambda workitem: (workitem.get("queue") or {}).get("id"),
    "assigneeId": lambda workitem: (workitem.get("assignee") or {}).get("id"),
    "statusId": lambda workitem: (workitem.get("status") or {}).get("id"),
    "languageId": lambda workitem: (workitem.get("language") or {}).get("id"),
    "externalContactId": lambda workitem: (workitem.get("externalContact") or {}).get("id"),
    "statusCategory": lambda workitem: workitem.get("statusCategory"),
    "externalTag": lambda workitem: workitem.get("externalTag"),
    "name": lambda workitem: workitem.get("name"),
    "priority": lambda workitem: workitem.get("priority"),
}
#: The SDK's ``WorkitemFilter.operator`` values; the sandbox evaluates EQ and IN and refuses the others.
SDK_QUERY_OPERATORS = frozenset({"EQ", "NEQ", "GT", "LT", "GTE", "LTE", "IN", "CONTAINS", "BETWEEN", "BEGINS_WITH"})
QUERY_OPERATORS = frozenset({"EQ", "IN"})


def iso(moment: datetime) -> str:
    """``moment`` as Genesys writes date-times: UTC, milliseconds, ``Z``."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class WorkitemScoredAgentRequest(_Body):
    """``WorkitemScoredAgentRequest``: an agent id and its score 0..100."""

    id: str = Field(pattern=UUID_PATTERN)
    score: int = Field(ge=0, le=100)


class WorkitemCommonCreate(_Body):
    """``WorkitemCommonCreate``: a workitem as a bulk add job takes it."""

    name: str = Field(min_length=3, max_length=256)
    typeId: str = Field(min_length=1)
    description: str | None = Field(default=None, max_length=512)
    languageId: str | None = None
    priority: int | None = Field(default=None, ge=MIN_WORKITEM_PRIORITY, le=MAX_WORKITEM_PRIORITY, strict=True)
    dateDue: datetime | None = None
    dateExpires: datetime | None = None
    durationSeconds: int | None = Field(default=None, ge=0, le=MAX_DAYS_AHEAD * 86_400)
    ttl: int | None = Field(default=None, ge=0)
    statusId: str | None = None
    workbinId: str | None = None
    autoStatusTransition: bool | None = None
    assigneeId: str | None = Field(default=None, pattern=UUID_PATTERN)
    externalContactId: str | None = None
    externalTag: str | None = Field(default=None, max_length=1024)
    queueId: str | None = Field(default=None, pattern=UUID_PATTERN)
    skillIds: list[str] = Field(default_factory=list, max_length=50)
    scriptId: str | None = None
    customFields: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _dates_within_a_year(self) -> WorkitemCommonCreate:
        latest = datetime.now(timezone.utc) + timedelta(days=MAX_DAYS_AHEAD)
        for name in ("dateDue", "dateExpires"):
            moment = getattr(self, name)
            if moment is not None and (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)) > latest:
                raise ValueError(f"{name}: must be at most {MAX_DAYS_AHEAD} days in the future")
        if self.ttl is not None and self.ttl > latest.timestamp():
            raise ValueError(f"ttl: must be at most {MAX_DAYS_AHEAD} days in the future")
        return self


class WorkitemCreate(WorkitemCommonCreate):
    """``WorkitemCreate``: body of ``POST /api/v2/taskmanagement/workitems``."""

    wrapupCode: str | None = None
    utilizationLabelId: str | None = None
    preferredAgentIds: list[str] = Field(default_factory=list, max_length=50)
    scoredAgents: list[WorkitemScoredAgentRequest] = Field(default_factory=list, max_length=20)


class QuerySort(_Body):
    """``WorkitemQuerySort``."""

    name: Literal["dateDue", "priority"]
    ascending: bool | None = None


class QueryFilter(_Body):
    """``WorkitemFilter``: one filter of a workitems query."""

    name: str
    type: Literal["String", "Int"] = "String"
    operator: str
    values: list[Any] = Field(min_length=1)


class WorkitemQuery(_Body):
    """``WorkitemQueryPostRequest``: body of ``POST /api/v2/taskmanagement/workitems/query``."""

    filters: list[QueryFilter] = Field(min_length=1)
    sort: QuerySort | None = None
    pageSize: int = Field(default=25, ge=1, le=MAX_QUERY_PAGE_SIZE)
    after: str | None = None
    select: Literal["Count"] | None = None
    attributes: list[str] | None = None
    expands: list[str] | None = None


class AgentRef(_Body):
    """``DomainEntityRef`` of an agent."""

    id: str = Field(min_length=1)
    name: str | None = None
    selfUri: str | None = None


class ScoredAgent(_Body):
    """``ScoredAgent`` of a callback's routing data: ``{agent: {id}, score}``."""

    agent: AgentRef
    score: int = Field(ge=0, le=100)


class CallbackRoutingData(_Body):
    """``RoutingData`` of a callback."""

    queueId: str | None = None
    languageId: str | None = None
    label: str | None = None
    priority: int | None = None
    skillIds: list[str] = Field(default_factory=list)
    skillExpression: str | None = None
    preferredAgentIds: list[str] = Field(default_factory=list)
    scoredAgents: list[ScoredAgent] = Field(default_factory=list, max_length=20)
    routingFlags: list[str] = Field(default_factory=list)


class CreateCallbackCommand(_Body):
    """``CreateCallbackCommand``: body of ``POST /api/v2/conversations/callbacks``."""

    scriptId: str | None = None
    queueId: str | None = None
    routingData: CallbackRoutingData | None = None
    customerFirstCallbackDeliveryMode: (
        Literal["UseQueueSetting", "UseAgentReservation", "NoAgentReservation"] | None
    ) = None
    callbackUserName: str | None = None
    callbackNumbers: list[str] = Field(min_length=1)
    callbackScheduledTime: datetime | None = None
    countryCode: str | None = None
    validateCallbackNumbers: bool | None = None
    data: dict[str, str] = Field(default_factory=dict)
    callerId: str | None = None
    callerIdName: str | None = None

    @model_validator(mode="after")
    def _has_queue(self) -> CreateCallbackCommand:
        if not self.queueId and not (self.routingData and self.routingData.queueId):
            raise ValueError("queueId: either queueId or routingData.queueId is required")
        return self


class CreateEmailRequest(_Body):
    """``CreateEmailRequest``: body of ``POST /api/v2/conversations/emails`` (an inbound, routed email)."""

    queueId: str | None = None
    flowId: str | None = None
    provider: str = Field(min_length=1)
    skillIds: list[str] = Field(default_factory=list)
    skillExpression: str | None = None
    languageId: str | None = None
    priority: int | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    toAddress: str | None = None
    toName: str | None = None
    fromAddress: str | None = None
    fromName: str | None = None
    subject: str | None = None
    direction: Literal["INBOUND", "OUTBOUND"] = "INBOUND"
    htmlBody: str | None = None
    textBody: str | None = None
    externalContactId: str | None = None
    utilizationLabel: str | None = Field(default=None, max_length=36)

    @model_validator(mode="after")
    def _rules(self) -> CreateEmailRequest:
        if self.provider.strip().lower() == "purecloud email":
            raise ValueError("provider: 'PureCloud Email' cannot create inbound emails")
        if bool(self.queueId) == bool(self.flowId):
            raise ValueError("queueId: exactly one of queueId or flowId is required")
        if self.direction != "INBOUND":
            raise ValueError("direction: only INBOUND emails can be created")
        return self


def _unknown(field_name: str, what: str, value: str) -> SandboxHTTPError:
    return SandboxHTTPError(
        400,
        code="invalid.value",
        message=f"{field_name}: the {what} {value} does not exist.",
        details=[{"errorCode": "invalid.value", "fieldName": field_name, "entityId": value}],
    )


def _check_references(
    *, queue_ids: dict[str, str | None], skill_ids: dict[str, list[str]], extra: SandboxHTTPError | None = None
) -> None:
    problems: list[SandboxHTTPError] = [] if extra is None else [extra]
    for field_name, queue_id in queue_ids.items():
        if queue_id and queue_id.lower() not in seeds.QUEUE_IDS:
            problems.append(_unknown(field_name, "queue", queue_id))
    for field_name, ids in skill_ids.items():
        for index, skill_id in enumerate(ids):
            if skill_id.lower() not in seeds.SKILL_IDS:
                problems.append(_unknown(f"{field_name}[{index}]", "skill", skill_id))
    if problems:
        raise SandboxHTTPError(
            400,
            code="invalid.value",
            message="; ".join(problem.message or "" for problem in problems),
            details=[detail for problem in problems for detail in problem.details],
        )


# -- workitems -----------------------------------------------------------------------------------------------


def _ref(entity_id: str | None, collection: str, name: str | None = None) -> dict[str, Any] | None:
    if not entity_id:
        return None
    ref = {"id": entity_id, "selfUri": f"/api/v2/{collection}/{entity_id}"}
    return {**ref, "name": name} if name else ref


def _names(table: tuple[dict[str, Any], ...]) -> dict[str, str]:
    return {entity["id"]: entity["name"] for entity in table}


_QUEUE_NAMES, _SKILL_NAMES, _WORKBIN_NAMES = _names(seeds.QUEUES), _names(seeds.SKILLS), _names(seeds.WORKBINS)


def _workitem_body(request: WorkitemCommonCreate, workitem_id: str) -> dict[str, Any]:
    """Build the stored ``Workitem`` of a new workitem (defaults from its worktype; references, no flat ids)."""
    worktype = next(worktype for worktype in seeds.WORKTYPES if worktype["id"] == request.typeId.lower())
    queue_id = (request.queueId or worktype["defaultQueueId"]).lower()
    workbin_id = (request.workbinId or worktype["defaultWorkbinId"]).lower()
    status = seeds.WORKTYPE_STATUSES[(request.statusId or worktype["defaultStatusId"]).lower()]
    now = utc_now_iso()
    worktype_uri = f"/api/v2/taskmanagement/worktypes/{worktype['id']}"
    routed = request if isinstance(request, WorkitemCreate) else None
    return {
        "id": workitem_id,
        "name": request.name,
        "division": {"id": "*", "name": "Home", "selfUri": "/api/v2/authorization/divisions/*"},
        "type": {"id": worktype["id"], "name": worktype["name"], "selfUri": worktype_uri},
        "description": request.description,
        "language": _ref(request.languageId, "routing/languages"),
        "utilizationLabel": _ref(routed.utilizationLabelId if routed else None, "routing/utilization/labels"),
        "priority": request.priority if request.priority is not None else 0,
        "dateCreated": now,
        "dateModified": now,
        "dateDue": iso(request.dateDue) if request.dateDue else None,
        "dateExpires": iso(request.dateExpires) if request.dateExpires else None,
        "durationSeconds": request.durationSeconds,
        "ttl": request.ttl,
        "status": {"id": status["id"], "name": status["name"], "selfUri": f"{worktype_uri}/statuses/{status['id']}"},
        "statusCategory": status["category"],
        "dateStatusChanged": now,
        "workbin": _ref(workbin_id, "taskmanagement/workbins", _WORKBIN_NAMES.get(workbin_id)),
        "assignee": _ref(request.assigneeId, "users"),
        "externalContact": _ref(request.externalContactId, "externalcontacts/contacts"),
        "externalTag": request.externalTag,
        "queue": _ref(queue_id, "routing/queues", _QUEUE_NAMES.get(queue_id)),
        "skills": [
            _ref(skill_id, "routing/skills", _SKILL_NAMES.get(skill_id.lower())) for skill_id in request.skillIds
        ],
        "preferredAgents": [_ref(agent_id, "users") for agent_id in (routed.preferredAgentIds if routed else [])],
        "autoStatusTransition": request.autoStatusTransition if request.autoStatusTransition is not None else True,
        "customFields": request.customFields,
        "scoredAgents": [
            {"agent": _ref(agent.id, "users"), "score": agent.score}
            for agent in (routed.scoredAgents if routed else [])
        ],
        "script": _ref(request.scriptId, "scripts"),
        "selfUri": f"/api/v2/taskmanagement/workitems/{workitem_id}",
    }


def _workitem_view(record: StoredRecord, state: str) -> dict[str, Any]:
    body = dict(record.body)
    body["assignmentState"] = "Connected" if state == "assigned" else "AcdStarted"
    if state == "assigned" and body.get("assignee") is None:
        body["assignee"] = _ref(seeds.AGENT_USER_ID, "users")
    return {key: value for key, value in body.items() if value is not None}


def validated_workitem(payload: Any, model: type[WorkitemCommonCreate] = WorkitemCreate) -> WorkitemCommonCreate:
    """Validate one workitem body against ``model`` and the seeded worktype, status, workbin, queue and skills."""
    request = validate_body(model, payload)
    type_error = None
    if request.typeId.lower() not in seeds.WORKTYPE_IDS:
        type_error = _unknown("typeId", "worktype", request.typeId)
    elif request.statusId and request.statusId.lower() not in seeds.WORKTYPE_STATUSES:
        type_error = _unknown("statusId", "status", request.statusId)
    elif request.workbinId and request.workbinId.lower() not in seeds.WORKBIN_IDS:
        type_error = _unknown("workbinId", "workbin", request.workbinId)
    _check_references(
        queue_ids={"queueId": request.queueId}, skill_ids={"skillIds": request.skillIds}, extra=type_error
    )
    return request


def new_workitem(request: WorkitemCommonCreate) -> StoredRecord:
    """A new workitem record of ``request`` (not stored yet)."""
    workitem_id = str(uuid.uuid4())
    return StoredRecord(
        kind="workitem",
        id=workitem_id,
        key=request.externalTag,
        body=_workitem_body(request, workitem_id),
        created_at=time.monotonic(),
        view=_workitem_view,
    )


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode("ascii")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
        prefix, _, number = text.partition(":")
        if prefix != "offset" or not number.isdigit():
            raise ValueError(cursor)
        return int(number)
    except (ValueError, binascii.Error, UnicodeError):
        raise SandboxHTTPError(
            400,
            code="invalid.value",
            message="after: not a cursor returned by this API.",
            details=[{"errorCode": "invalid.value", "fieldName": "after"}],
        ) from None


def _check_query(query: WorkitemQuery) -> None:
    problems: list[tuple[str, str]] = []
    if len(query.filters) > MAX_QUERY_FILTERS:
        problems.append(("filters", f"at most {MAX_QUERY_FILTERS} filters are allowed"))
    for index, query_filter in enumerate(query.filters):
        if query_filter.name not in QUERY_FIELDS:
            problems.append((f"filters[{index}].name", f"{query_filter.name!r} is not a filterable field"))
        if query_filter.operator not in SDK_QUERY_OPERATORS:
            problems.append((f"filters[{index}].operator", f"{query_filter.operator!r} is not an operator"))
        elif query_filter.operator not in QUERY_OPERATORS:
            problems.append(
                (f"filters[{index}].operator", f"the sandbox evaluates only EQ and IN, not {query_filter.operator!r}")
            )
        elif query_filter.operator == "EQ" and len(query_filter.values) != 1:
            problems.append((f"filters[{index}].values", "EQ takes exactly one value"))
    if not any(f.operator == "EQ" and f.name in QUERY_ANCHOR_FIELDS for f in query.filters):
        problems.append(("filters", "at least one EQ filter on typeId, workbinId, queueId or assigneeId is required"))
    if problems:
        raise SandboxHTTPError(
            400,
            code="invalid.value",
            message="Invalid workitems query: " + "; ".join(f"{name}: {text}" for name, text in problems),
            details=[{"errorCode": "invalid.value", "fieldName": name} for name, _ in problems],
        )


def _matches(workitem: dict[str, Any], query: WorkitemQuery) -> bool:
    for query_filter in query.filters:
        actual = QUERY_FIELDS[query_filter.name](workitem)
        if actual is None or str(actual).lower() not in {str(value).lower() for value in query_filter.values}:
            return False
    return True


def _sorted(workitems: list[dict[str, Any]], sort: QuerySort | None) -> list[dict[str, Any]]:
    if sort is None:
        return workitems
    return sorted(
        workitems, key=lambda item: (item.get(sort.name) is None, item.get(sort.name)), reverse=sort.ascending is False
    )


# -- conversations -------------------------------------------------------------------------------------------


def _conversation_body(
    conversation_id: str, media: str, queue_id: str, attributes: dict[str, str], extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": conversation_id,
        "startTime": utc_now_iso(),
        "media": media,
        "queueId": queue_id,
        "customerParticipantId": str(uuid.uuid4()),
        "acdParticipantId": str(uuid.uuid4()),
        "agentParticipantId": str(uuid.uuid4()),
        "attributes": dict(attributes),
        **extra,
    }


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _conversation_view(record: StoredRecord, state: str) -> dict[str, Any]:
    """``Conversation``: customer, ACD and (once assigned) agent participants, each with its media list."""
    body = record.body
    media_list = "callbacks" if body["media"] == "callback" else "emails"
    assigned = state == "assigned"
    participants: list[dict[str, Any]] = [
        {
            "id": body["customerParticipantId"],
            "startTime": body["startTime"],
            "purpose": "customer",
            "attributes": dict(body["attributes"]),
            media_list: [_present({"state": "connected", **body.get("customerMedia", {})})],
        },
        {
            "id": body["acdParticipantId"],
            "startTime": body["startTime"],
            "purpose": "acd",
            "queueId": body["queueId"] or None,
            media_list: [{"state": "disconnected" if assigned else "connected"}],
        },
    ]
    if assigned:
        participants.append(
            {
                "id": body["agentParticipantId"],
                "purpose": "agent",
                "userId": seeds.AGENT_USER_ID,
                "queueId": body["queueId"] or None,
                media_list: [{"state": "alerting"}],
            }
        )
    return {
        "id": body["id"],
        "startTime": body["startTime"],
        "participants": [_present(participant) for participant in participants],
        "divisions": [{"division": {"id": "*", "selfUri": "/api/v2/authorization/divisions/*"}, "entities": []}],
        "selfUri": f"/api/v2/conversations/{body['id']}",
    }


def _email_conversation(record: StoredRecord, state: str) -> dict[str, Any]:
    """``EmailConversation``: the answer of ``POST /api/v2/conversations/emails`` (flat email participants)."""
    body = record.body
    media = body.get("customerMedia", {})
    participants = [
        _present(
            {
                "id": body["customerParticipantId"],
                "startTime": body["startTime"],
                "purpose": "customer",
                "state": "connected",
                "direction": "inbound",
                "address": body.get("fromAddress"),
                "attributes": dict(body["attributes"]),
                "provider": media.get("provider"),
                "subject": media.get("subject"),
                "messagesSent": 1,
            }
        ),
        _present(
            {
                "id": body["acdParticipantId"],
                "startTime": body["startTime"],
                "purpose": "acd",
                "state": "connected",
                "direction": "inbound",
                "queue": _ref(body["queueId"] or None, "routing/queues"),
                "provider": media.get("provider"),
                "subject": media.get("subject"),
            }
        ),
    ]
    return {
        "id": body["id"],
        "participants": participants,
        "divisions": [{"division": {"id": "*", "selfUri": "/api/v2/authorization/divisions/*"}, "entities": []}],
        "selfUri": f"/api/v2/conversations/emails/{body['id']}",
    }


def _conversation_matches(record: StoredRecord, attribute: str, value: str) -> bool:
    return record.body.get("attributes", {}).get(attribute) == value


# -- routers -------------------------------------------------------------------------------------------------


def build_platform_router(state: SandboxState) -> APIRouter:
    """Return the router of workitems, callbacks, emails and conversations (plus their admin search)."""
    router = APIRouter()

    @router.post("/api/v2/taskmanagement/workitems")
    async def create_workitem(request: Request) -> Response:
        workitem = validated_workitem(await read_json(request))
        record = state.store_record(new_workitem(workitem))
        return created_response(request, state, record, status=201)

    @router.post("/api/v2/taskmanagement/workitems/query")
    async def query_workitems(request: Request) -> dict[str, Any]:
        query = validate_body(WorkitemQuery, await read_json(request))
        _check_query(query)
        offset = _decode_cursor(query.after) if query.after else 0
        state.refresh()  # bulk add jobs due to finish create their workitems first
        matching = _sorted(
            [state.render(record) for record in state.iter_records("workitem") if _matches(record.body, query)],
            query.sort,
        )
        if query.select == "Count":
            return {"count": len(matching)}
        limit = state.faults.snapshot().query_page_limit
        size = min(query.pageSize, limit) if limit else query.pageSize
        result: dict[str, Any] = {"entities": matching[offset : offset + size]}
        if offset + size < len(matching):
            result["after"] = _encode_cursor(offset + size)
        return result

    @router.get("/api/v2/taskmanagement/workitems/{workitem_id}")
    async def get_workitem(workitem_id: str) -> dict[str, Any]:
        state.refresh()
        record = state.get_record(workitem_id, kind="workitem")
        if record is None:
            raise SandboxHTTPError(404, message=f"The workitem {workitem_id} was not found.")
        return state.render(record)

    @router.post("/api/v2/conversations/callbacks")
    async def create_callback(request: Request) -> Response:
        command = validate_body(CreateCallbackCommand, await read_json(request))
        routing = command.routingData or CallbackRoutingData()
        queue_id = command.queueId or routing.queueId or ""
        _check_references(
            queue_ids={"queueId": command.queueId, "routingData.queueId": routing.queueId},
            skill_ids={"routingData.skillIds": routing.skillIds},
        )
        conversation_id = str(uuid.uuid4())
        body = _conversation_body(
            conversation_id,
            "callback",
            queue_id,
            command.data,
            {
                "customerMedia": {
                    "callbackNumbers": list(command.callbackNumbers),
                    "callbackUserName": command.callbackUserName,
                    "callbackScheduledTime": iso(command.callbackScheduledTime)
                    if command.callbackScheduledTime
                    else None,
                    "callerId": command.callerId,
                    "callerIdName": command.callerIdName,
                    "scriptId": command.scriptId,
                }
            },
        )
        record = state.store_record(
            StoredRecord(
                kind="callback",
                id=conversation_id,
                key=command.data.get(IDEMPOTENCY_ATTRIBUTE),
                body=body,
                created_at=time.monotonic(),
                view=_conversation_view,
            )
        )
        if state.faults.should_drop_after_commit(request.url.path):
            return DroppedResponse()
        return JSONResponse(
            {
                "conversation": {"id": record.id, "selfUri": f"/api/v2/conversations/{record.id}"},
                "callbackIdentifiers": [
                    {"type": "ACD", "id": body["acdParticipantId"]},
                    {"type": "EXTERNAL", "id": body["customerParticipantId"]},
                ],
            },
            status_code=200,
        )

    @router.post("/api/v2/conversations/emails")
    async def create_email(request: Request) -> Response:
        email = validate_body(CreateEmailRequest, await read_json(request))
        _check_references(queue_ids={"queueId": email.queueId}, skill_ids={"skillIds": email.skillIds})
        conversation_id = str(uuid.uuid4())
        body = _conversation_body(
            conversation_id,
            "email",
            email.queueId or "",
            email.attributes,
            {
                "customerMedia": {"subject": email.subject, "provider": email.provider},
                "fromAddress": email.fromAddress,
                "flowId": email.flowId,
            },
        )
        record = state.store_record(
            StoredRecord(
                kind="email",
                id=conversation_id,
                key=email.attributes.get(IDEMPOTENCY_ATTRIBUTE),
                body=body,
                created_at=time.monotonic(),
                view=_conversation_view,
            )
        )
        if state.faults.should_drop_after_commit(request.url.path):
            return DroppedResponse()
        return JSONResponse(_email_conversation(record, "queued"), status_code=200)

    @router.get("/api/v2/conversations/{conversation_id}")
    async def get_conversation(conversation_id: str) -> dict[str, Any]:
        record = state.get_record(conversation_id)
        if record is None or record.kind not in ("callback", "email"):
            raise SandboxHTTPError(404, message=f"The conversation {conversation_id} was not found.")
        return state.render(record)

    @router.get("/_sandbox/conversations")
    async def search_conversations(attribute: str = Query(min_length=1), value: str = Query()) -> dict[str, Any]:
        entities = [
            {**state.render(record), "kind": record.kind}
            for record in state.iter_records()
            if record.kind in ("callback", "email") and _conversation_matches(record, attribute, value)
        ]
        return {"entities": entities}

    return router


__all__ = [
    "IDEMPOTENCY_ATTRIBUTE",
    "CreateCallbackCommand",
    "CreateEmailRequest",
    "WorkitemCommonCreate",
    "WorkitemCreate",
    "WorkitemQuery",
    "build_platform_router",
    "new_workitem",
    "validated_workitem",
]
