"""Real Genesys Cloud create endpoints: workitems (single, query, bulk add jobs), callbacks, inbound emails.

None of them takes an ``Idempotency-Key``; a client makes its creates idempotent by writing its key into the
record (docs/genesys-api.md), and the ledger counts records per key to show any duplicate:

* workitems by ``externalTag``;
* callbacks by ``data["genesysIdempotencyKey"]`` and emails by ``attributes["genesysIdempotencyKey"]``.

Shapes served here:

* ``POST /api/v2/taskmanagement/workitems`` (``WorkitemCreate``) → 201 ``Workitem``. Besides Genesys' references
  (``type``, ``queue``, ``workbin``, ``status``, ``skills``) it carries the flat ids (``typeId``, ``queueId``,
  ``workbinId``, ``statusId``, ``skillIds``) for convenience. ``assignmentState`` is ``AcdStarted`` while queued
  and ``Connected`` once the simulated ACD assigned it.
* ``POST /api/v2/taskmanagement/workitems/query`` → ``{"entities": [...], "cursor": "..."}`` (``cursor`` only when
  there is a next page; pass it back as ``after``).
* ``POST /api/v2/taskmanagement/workitems/bulk/add/jobs`` ``{"entities": [WorkitemCreate, ...]}`` → 202 ``BulkJob``
  ``{id, state, totalCount, successfulCount, failedCount, dateCreated, dateStarted, dateFinished, selfUri}``;
  the state goes ``Created`` → ``Processing`` → ``Complete`` (``bulk_job_start_seconds`` and
  ``bulk_job_process_seconds``); workitems are created when the job completes.
  ``GET .../bulk/add/jobs/{id}/results`` → ``{"id", "state", "entities": [...]}`` with, once ``Complete``, one
  entry per submitted entity, in order: ``{"index": i, "workitem": Workitem}`` or ``{"index": i, "error":
  ErrorBody}`` (an empty list before that).
* ``POST /api/v2/conversations/callbacks`` → 200 ``{"conversation": {"id", "selfUri"}, "callbackIdentifiers":
  [{"type", "id"}]}``; ``POST /api/v2/conversations/emails`` → 200 ``EmailConversation``
  ``{id, participants, selfUri}``; ``GET /api/v2/conversations/{id}`` → ``{id, startTime, participants,
  selfUri}`` whose customer participant carries the ``attributes`` (the callback's ``data`` or the email's
  ``attributes``); an ``agent`` participant appears once the ACD assigned it.
* ``GET /_sandbox/conversations?attribute=NAME&value=V`` → ``{"entities": [conversation, ...]}``.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import JSONResponse, Response

from genesys_sandbox import seeds
from genesys_sandbox.common import created_response, read_json, validate_body
from genesys_sandbox.errors import SandboxHTTPError, error_body
from genesys_sandbox.middleware import DroppedResponse
from genesys_sandbox.state import SandboxState, StoredRecord, utc_now_iso

IDEMPOTENCY_ATTRIBUTE = "genesysIdempotencyKey"
MIN_WORKITEM_PRIORITY, MAX_WORKITEM_PRIORITY = -25_000_000, 25_000_000
MAX_QUERY_PAGE_SIZE = 200
MAX_QUERY_FILTERS = 3
QUERY_ANCHOR_FIELDS = frozenset({"typeId", "workbinId", "queueId", "assigneeId"})
QUERY_FIELDS = QUERY_ANCHOR_FIELDS | frozenset(
    {"externalTag", "statusId", "statusCategory", "name", "priority", "languageId", "externalContactId"}
)
QUERY_OPERATORS = frozenset({"EQ", "IN"})
BULK_JOBS_KEY = "bulk_add_jobs"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ScoredAgent(_Body):
    """An agent and its routing score."""

    agentId: str = Field(min_length=1)
    score: int = Field(ge=0, le=100)


class WorkitemCreate(_Body):
    """Body of ``POST /api/v2/taskmanagement/workitems`` (Genesys ``WorkitemCreate``)."""

    name: str = Field(min_length=3, max_length=256)
    typeId: str = Field(min_length=1)
    description: str | None = Field(default=None, max_length=512)
    languageId: str | None = None
    priority: int | None = Field(default=None, ge=MIN_WORKITEM_PRIORITY, le=MAX_WORKITEM_PRIORITY, strict=True)
    dateDue: datetime | None = None
    dateExpires: datetime | None = None
    durationSeconds: int | None = Field(default=None, ge=0)
    ttl: int | None = Field(default=None, ge=0)
    statusId: str | None = None
    workbinId: str | None = None
    autoStatusTransition: bool | None = None
    assigneeId: str | None = None
    externalContactId: str | None = None
    externalTag: str | None = Field(default=None, max_length=1024)
    queueId: str | None = None
    skillIds: list[str] = Field(default_factory=list, max_length=50)
    scriptId: str | None = None
    preferredAgentIds: list[str] = Field(default_factory=list, max_length=50)
    customFields: dict[str, Any] | None = None
    utilizationLabelId: str | None = None
    scoredAgents: list[ScoredAgent] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _expiry_within_a_year(self) -> WorkitemCreate:
        if self.dateExpires is not None:
            expires = self.dateExpires if self.dateExpires.tzinfo else self.dateExpires.replace(tzinfo=timezone.utc)
            if expires > datetime.now(timezone.utc) + timedelta(days=365):
                raise ValueError("dateExpires: must be at most 365 days in the future")
        return self


class QueryFilter(_Body):
    """One filter of a workitems query."""

    name: str
    type: str = "String"
    operator: str
    values: list[Any] = Field(min_length=1)


class WorkitemQuery(_Body):
    """Body of ``POST /api/v2/taskmanagement/workitems/query``."""

    filters: list[QueryFilter] = Field(min_length=1)
    sort: dict[str, Any] | None = None
    pageSize: int = Field(default=25, ge=1, le=MAX_QUERY_PAGE_SIZE)
    after: str | None = None
    select: list[str] | None = None
    expands: list[str] | None = None


class BulkAddRequest(_Body):
    """Body of ``POST /api/v2/taskmanagement/workitems/bulk/add/jobs`` (entities are validated one by one)."""

    entities: list[Any] = Field(min_length=1)


class CallbackRoutingData(_Body):
    """``routingData`` of a callback."""

    queueId: str | None = None
    languageId: str | None = None
    label: str | None = None
    priority: int | None = None
    skillIds: list[str] = Field(default_factory=list)
    preferredAgentIds: list[str] = Field(default_factory=list)
    scoredAgents: list[ScoredAgent] = Field(default_factory=list, max_length=20)
    routingFlags: list[str] = Field(default_factory=list)


class CreateCallbackCommand(_Body):
    """Body of ``POST /api/v2/conversations/callbacks``."""

    scriptId: str | None = None
    queueId: str | None = None
    routingData: CallbackRoutingData | None = None
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
    """Body of ``POST /api/v2/conversations/emails`` (an inbound, routed email)."""

    queueId: str | None = None
    flowId: str | None = None
    provider: str = Field(min_length=1)
    skillIds: list[str] = Field(default_factory=list)
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


def _ref(entity_id: str | None, collection: str) -> dict[str, Any] | None:
    if not entity_id:
        return None
    return {"id": entity_id, "selfUri": f"/api/v2/{collection}/{entity_id}"}


def _workitem_body(request: WorkitemCreate, workitem_id: str) -> dict[str, Any]:
    """Build the stored representation of a new workitem (defaults from its worktype)."""
    worktype = next(worktype for worktype in seeds.WORKTYPES if worktype["id"] == request.typeId.lower())
    queue_id = request.queueId or worktype["defaultQueueId"]
    workbin_id = request.workbinId or worktype["defaultWorkbinId"]
    status_id = request.statusId or worktype["defaultStatusId"]
    status = seeds.WORKTYPE_STATUSES[status_id.lower()]
    now = utc_now_iso()
    worktype_uri = f"/api/v2/taskmanagement/worktypes/{worktype['id']}"
    return {
        "id": workitem_id,
        "name": request.name,
        "division": {"id": "*", "name": "Home"},
        "type": {
            "id": worktype["id"],
            "name": worktype["name"],
            "selfUri": worktype_uri,
        },
        "typeId": worktype["id"],
        "description": request.description,
        "language": _ref(request.languageId, "routing/languages"),
        "priority": request.priority if request.priority is not None else 0,
        "dateCreated": now,
        "dateModified": now,
        "dateDue": request.dateDue.isoformat() if request.dateDue else None,
        "dateExpires": request.dateExpires.isoformat() if request.dateExpires else None,
        "durationSeconds": request.durationSeconds,
        "ttl": request.ttl,
        "status": {
            "id": status["id"],
            "name": status["name"],
            "selfUri": f"{worktype_uri}/statuses/{status['id']}",
        },
        "statusId": status["id"],
        "statusCategory": status["category"],
        "workbin": _ref(workbin_id, "taskmanagement/workbins"),
        "workbinId": workbin_id,
        "assignee": _ref(request.assigneeId, "users"),
        "externalContact": _ref(request.externalContactId, "externalcontacts/contacts"),
        "externalTag": request.externalTag,
        "queue": _ref(queue_id, "routing/queues"),
        "queueId": queue_id,
        "skills": [_ref(skill_id, "routing/skills") for skill_id in request.skillIds],
        "skillIds": list(request.skillIds),
        "preferredAgents": [_ref(agent_id, "users") for agent_id in request.preferredAgentIds],
        "autoStatusTransition": request.autoStatusTransition if request.autoStatusTransition is not None else True,
        "customFields": request.customFields,
        "scoredAgents": [agent.model_dump() for agent in request.scoredAgents],
        "selfUri": f"/api/v2/taskmanagement/workitems/{workitem_id}",
    }


def _workitem_view(record: StoredRecord, state: str) -> dict[str, Any]:
    body = dict(record.body)
    body["assignmentState"] = "Connected" if state == "assigned" else "AcdStarted"
    if state == "assigned" and body.get("assignee") is None:
        body["assignee"] = _ref(seeds.AGENT_USER_ID, "users")
    return {key: value for key, value in body.items() if value is not None}


def _validated_workitem(payload: Any, *, prefix: str = "") -> WorkitemCreate:
    request = validate_body(WorkitemCreate, payload, prefix=prefix)
    type_error = None
    if request.typeId.lower() not in seeds.WORKTYPE_IDS:
        type_error = _unknown(f"{prefix}.typeId" if prefix else "typeId", "worktype", request.typeId)
    elif request.statusId and request.statusId.lower() not in seeds.WORKTYPE_STATUSES:
        type_error = _unknown(f"{prefix}.statusId" if prefix else "statusId", "status", request.statusId)
    elif request.workbinId and request.workbinId.lower() not in seeds.WORKBIN_IDS:
        type_error = _unknown(f"{prefix}.workbinId" if prefix else "workbinId", "workbin", request.workbinId)
    dot = f"{prefix}." if prefix else ""
    _check_references(
        queue_ids={f"{dot}queueId": request.queueId}, skill_ids={f"{dot}skillIds": request.skillIds}, extra=type_error
    )
    return request


def _new_workitem(request: WorkitemCreate) -> StoredRecord:
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
        if query_filter.operator not in QUERY_OPERATORS:
            problems.append((f"filters[{index}].operator", f"unsupported operator {query_filter.operator!r}"))
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
        actual = workitem.get(query_filter.name)
        if query_filter.name == "assigneeId":
            actual = (workitem.get("assignee") or {}).get("id")
        elif query_filter.name == "languageId":
            actual = (workitem.get("language") or {}).get("id")
        elif query_filter.name == "externalContactId":
            actual = (workitem.get("externalContact") or {}).get("id")
        if actual is None or str(actual).lower() not in {str(value).lower() for value in query_filter.values}:
            return False
    return True


# -- bulk add jobs -------------------------------------------------------------------------------------------


@dataclass
class BulkJob:
    """A bulk add job: validated entities now, workitems created when it completes."""

    id: str
    created_at: float
    date_created: datetime
    start_after: float
    finish_after: float
    entities: list[WorkitemCreate | SandboxHTTPError]
    results: list[dict[str, Any]] | None = None
    record_ids: list[str] = field(default_factory=list)

    def current_state(self) -> str:
        """Return ``Created``, ``Processing`` or ``Complete`` by elapsed time."""
        elapsed = time.monotonic() - self.created_at
        if elapsed >= self.finish_after:
            return "Complete"
        if elapsed >= self.start_after:
            return "Processing"
        return "Created"

    def view(self) -> dict[str, Any]:
        """Return the ``BulkJob`` representation."""
        state = self.current_state()
        failed = sum(1 for entity in self.entities if isinstance(entity, SandboxHTTPError))
        done = state == "Complete"
        started = state != "Created"
        return {
            "id": self.id,
            "state": state,
            "totalCount": len(self.entities),
            "successfulCount": len(self.entities) - failed if done else 0,
            "failedCount": failed if done else 0,
            "dateCreated": _iso(self.date_created),
            "dateStarted": _iso(self.date_created + timedelta(seconds=self.start_after)) if started else None,
            "dateFinished": _iso(self.date_created + timedelta(seconds=self.finish_after)) if done else None,
            "selfUri": f"/api/v2/taskmanagement/workitems/bulk/add/jobs/{self.id}",
        }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _advance(state: SandboxState, job: BulkJob) -> None:
    """Create the workitems of a job that has completed (once)."""
    with state.lock:
        if job.results is not None or job.current_state() != "Complete":
            return
        results: list[dict[str, Any]] = []
        for index, entity in enumerate(job.entities):
            if isinstance(entity, SandboxHTTPError):
                error = error_body(entity.status, code=entity.code, message=entity.message, details=entity.details)
                results.append({"index": index, "error": error})
                continue
            record = state.store_record(_new_workitem(entity))
            job.record_ids.append(record.id)
            results.append({"index": index, "workitemId": record.id})
        job.results = results


def _jobs(state: SandboxState) -> dict[str, BulkJob]:
    with state.lock:
        jobs: dict[str, BulkJob] = state.extras.setdefault(BULK_JOBS_KEY, {})
        return jobs


def _advance_all(state: SandboxState) -> None:
    for job in list(_jobs(state).values()):
        _advance(state, job)


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


def _conversation_view(record: StoredRecord, state: str) -> dict[str, Any]:
    body = record.body
    media_list = "callbacks" if body["media"] == "callback" else "emails"
    assigned = state == "assigned"
    participants: list[dict[str, Any]] = [
        {
            "id": body["customerParticipantId"],
            "purpose": "customer",
            "attributes": dict(body["attributes"]),
            media_list: [{"state": "connected", **body.get("customerMedia", {})}],
        },
        {
            "id": body["acdParticipantId"],
            "purpose": "acd",
            "queueId": body["queueId"],
            media_list: [{"state": "disconnected" if assigned else "connected"}],
        },
    ]
    if assigned:
        participants.append(
            {
                "id": body["agentParticipantId"],
                "purpose": "agent",
                "userId": seeds.AGENT_USER_ID,
                "queueId": body["queueId"],
                media_list: [{"state": "alerting"}],
            }
        )
    return {
        "id": body["id"],
        "startTime": body["startTime"],
        "participants": participants,
        "divisions": [{"division": {"id": "*"}, "entities": []}],
        "selfUri": f"/api/v2/conversations/{body['id']}",
    }


def _conversation_matches(record: StoredRecord, attribute: str, value: str) -> bool:
    return record.body.get("attributes", {}).get(attribute) == value


# -- routers -------------------------------------------------------------------------------------------------


def build_platform_router(state: SandboxState) -> APIRouter:
    """Return the router of workitems, callbacks, emails and conversations (plus their admin search)."""
    router = APIRouter()
    config = state.config
    state.refreshers.append(lambda: _advance_all(state))

    @router.post("/api/v2/taskmanagement/workitems")
    async def create_workitem(request: Request) -> Response:
        workitem = _validated_workitem(await read_json(request))
        record = state.store_record(_new_workitem(workitem))
        return created_response(request, state, record, status=201)

    @router.post("/api/v2/taskmanagement/workitems/query")
    async def query_workitems(request: Request) -> dict[str, Any]:
        query = validate_body(WorkitemQuery, await read_json(request))
        _check_query(query)
        offset = _decode_cursor(query.after) if query.after else 0
        _advance_all(state)
        matching = [state.render(record) for record in state.iter_records("workitem") if _matches(record.body, query)]
        page = matching[offset : offset + query.pageSize]
        result: dict[str, Any] = {"entities": page}
        if offset + query.pageSize < len(matching):
            result["cursor"] = _encode_cursor(offset + query.pageSize)
        return result

    @router.post("/api/v2/taskmanagement/workitems/bulk/add/jobs")
    async def create_bulk_add_job(request: Request) -> Response:
        bulk = validate_body(BulkAddRequest, await read_json(request))
        if len(bulk.entities) > config.bulk_max_entities:
            raise SandboxHTTPError(
                400,
                code="constraint.validation",
                message=f"entities: at most {config.bulk_max_entities} entities per job.",
                details=[{"errorCode": "constraint.validation", "fieldName": "entities"}],
            )
        entities: list[WorkitemCreate | SandboxHTTPError] = []
        for payload in bulk.entities:
            try:
                entities.append(_validated_workitem(payload))
            except SandboxHTTPError as exc:
                entities.append(exc)
        job = BulkJob(
            id=str(uuid.uuid4()),
            created_at=time.monotonic(),
            date_created=datetime.now(timezone.utc),
            start_after=config.bulk_job_start_seconds,
            finish_after=config.bulk_job_start_seconds + config.bulk_job_process_seconds,
            entities=entities,
        )
        with state.lock:
            _jobs(state)[job.id] = job
        if state.faults.should_drop_after_commit(request.url.path):
            return DroppedResponse()
        return JSONResponse(job.view(), status_code=202)

    def _job(job_id: str) -> BulkJob:
        job = _jobs(state).get(job_id)
        if job is None:
            raise SandboxHTTPError(404, message=f"The bulk add job {job_id} was not found.")
        _advance(state, job)
        return job

    @router.get("/api/v2/taskmanagement/workitems/bulk/add/jobs/{job_id}")
    async def get_bulk_add_job(job_id: str) -> dict[str, Any]:
        return _job(job_id).view()

    @router.get("/api/v2/taskmanagement/workitems/bulk/add/jobs/{job_id}/results")
    async def get_bulk_add_job_results(job_id: str) -> dict[str, Any]:
        job = _job(job_id)
        entries: list[dict[str, Any]] = []
        for result in job.results or []:
            if "workitemId" in result:
                record = state.get_record(result["workitemId"], kind="workitem")
                workitem = state.render(record) if record is not None else {"id": result["workitemId"]}
                entries.append({"index": result["index"], "workitem": workitem})
            else:
                entries.append(result)
        return {"id": job.id, "state": job.current_state(), "entities": entries}

    @router.get("/api/v2/taskmanagement/workitems/{workitem_id}")
    async def get_workitem(workitem_id: str) -> dict[str, Any]:
        _advance_all(state)
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
                    "callbackScheduledTime": command.callbackScheduledTime.isoformat()
                    if command.callbackScheduledTime
                    else None,
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
        return created_response(request, state, record, status=200)

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
    "BulkJob",
    "CreateCallbackCommand",
    "CreateEmailRequest",
    "WorkitemCreate",
    "WorkitemQuery",
    "build_platform_router",
]
