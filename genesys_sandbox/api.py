"""Login and API routes: ``/oauth/token``, ``/api/v2/tokens/me`` (``TokenInfo``), routing lookups, the seed
contract ``/api/v2/interactions``."""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from genesys_sandbox import seeds
from genesys_sandbox.common import created_response, fingerprint, paged, read_json, validate_body
from genesys_sandbox.contract import InteractionRequest
from genesys_sandbox.errors import SandboxHTTPError
from genesys_sandbox.state import ReservationOutcome, SandboxState, StoredRecord, utc_now_iso

MAX_IDEMPOTENCY_KEY_LENGTH = 255


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    body = {"error": error, "description": description, "error_description": description}
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, separator, secret = decoded.partition(":")
    return (client_id, secret) if separator else None


def build_auth_router(state: SandboxState) -> APIRouter:
    """Return the router of ``POST /oauth/token`` and ``GET /api/v2/tokens/me``."""
    router = APIRouter()
    config = state.config

    @router.post("/oauth/token")
    async def oauth_token(request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        raw = await request.body()
        if content_type != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request", "The body must be application/x-www-form-urlencoded.")
        try:
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            form = {}
        grant_type = form.get("grant_type", [""])[0]
        if not grant_type:
            return _oauth_error(400, "invalid_request", "Missing grant_type (expected client_credentials).")
        if grant_type != "client_credentials":
            return _oauth_error(400, "invalid_request", f"Unsupported grant_type {grant_type!r}.")
        credentials = _basic_credentials(request.headers.get("authorization", ""))
        if credentials is None:
            return _oauth_error(401, "invalid_client", "Missing or malformed Basic client credentials.")
        if credentials != (config.client_id, config.client_secret):
            return _oauth_error(401, "invalid_client", "client not found or bad client secret")
        if state.token_rate_exceeded():
            return _oauth_error(400, "invalid_request", "Token creation rate limit exceeded. Retry the request later.")
        token = state.issue_token()
        return JSONResponse(
            {"access_token": token, "token_type": "bearer", "expires_in": config.token_ttl_seconds},
            headers={"Cache-Control": "no-store"},
        )

    @router.get("/api/v2/tokens/me")
    async def tokens_me() -> dict[str, Any]:
        organization = {"id": seeds.ORGANIZATION_ID, "name": seeds.ORGANIZATION_NAME}
        return {
            "organization": organization,
            "homeOrganization": organization,
            "authorizedScope": ["interaction:create", "routing:readonly", "workitems", "conversations"],
            "OAuthClient": {
                "id": config.client_id,
                "name": seeds.OAUTH_CLIENT_NAME,
                "authorizedGrantType": "CLIENT-CREDENTIALS",
                "state": "active",
                "organization": organization,
            },
        }

    return router


def _queue_view(queue: dict[str, Any]) -> dict[str, Any]:
    return {**queue, "memberCount": 0, "selfUri": f"/api/v2/routing/queues/{queue['id']}"}


def _skill_view(skill: dict[str, Any]) -> dict[str, Any]:
    return {**skill, "selfUri": f"/api/v2/routing/skills/{skill['id']}"}


def build_routing_router() -> APIRouter:
    """Return the router of the routing lookups (queues and skills)."""
    router = APIRouter()
    queues = {queue["id"]: _queue_view(queue) for queue in seeds.QUEUES}
    skills = {skill["id"]: _skill_view(skill) for skill in seeds.SKILLS}

    def one(table: dict[str, dict[str, Any]], entity_id: str, what: str) -> dict[str, Any]:
        entity = table.get(entity_id.lower())
        if entity is None:
            raise SandboxHTTPError(404, message=f"The {what} {entity_id} was not found.")
        return entity

    def listing(
        request: Request, table: dict[str, dict[str, Any]], ids: list[str], page_number: int, page_size: int
    ) -> dict[str, Any]:
        wanted = {entity_id.lower() for entity_id in ids}
        entities = [entity for entity in table.values() if not wanted or entity["id"] in wanted]
        return paged(request, entities, page_number, page_size)

    @router.get("/api/v2/routing/queues")
    async def list_queues(
        request: Request,
        page_number: int = Query(1, alias="pageNumber", ge=1),
        page_size: int = Query(25, alias="pageSize", ge=1, le=500),
        ids: list[str] = Query(default_factory=list, alias="id"),
    ) -> dict[str, Any]:
        return listing(request, queues, ids, page_number, page_size)

    @router.get("/api/v2/routing/queues/{queue_id}")
    async def get_queue(queue_id: str) -> dict[str, Any]:
        return one(queues, queue_id, "queue")

    @router.get("/api/v2/routing/skills")
    async def list_skills(
        request: Request,
        page_number: int = Query(1, alias="pageNumber", ge=1),
        page_size: int = Query(25, alias="pageSize", ge=1, le=500),
        ids: list[str] = Query(default_factory=list, alias="id"),
    ) -> dict[str, Any]:
        return listing(request, skills, ids, page_number, page_size)

    @router.get("/api/v2/routing/skills/{skill_id}")
    async def get_skill(skill_id: str) -> dict[str, Any]:
        return one(skills, skill_id, "skill")

    return router


def build_interactions_router(state: SandboxState) -> APIRouter:
    """Return the router of the ``/api/v2/interactions`` contract (docs/genesys-api.md, "The seed contract")."""
    router = APIRouter()

    @router.post("/api/v2/interactions")
    async def create_interaction(request: Request) -> Response:
        key = request.headers.get("idempotency-key", "").strip()
        if not key:
            raise SandboxHTTPError(
                400,
                code="bad.request",
                message="The Idempotency-Key header is required.",
                details=[{"errorCode": "missing.header", "fieldName": "Idempotency-Key"}],
            )
        if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise SandboxHTTPError(
                400,
                code="invalid.value",
                message=f"The Idempotency-Key header is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
                details=[{"errorCode": "invalid.value", "fieldName": "Idempotency-Key"}],
            )
        model = validate_body(InteractionRequest, await read_json(request))
        canonical = model.model_dump(mode="json", exclude_none=True)
        outcome, existing = state.reserve_key(key, fingerprint(canonical))
        if outcome is ReservationOutcome.REPLAY and existing is not None:
            return JSONResponse(state.render(existing), status_code=409)
        if outcome is ReservationOutcome.MISMATCH:
            raise SandboxHTTPError(
                422,
                code="idempotency.key.reused",
                message="This Idempotency-Key was already used with a different request body.",
                details=[{"errorCode": "idempotency.key.reused", "fieldName": "Idempotency-Key"}],
            )
        if outcome is ReservationOutcome.IN_FLIGHT or (existing is None and outcome is ReservationOutcome.REPLAY):
            raise SandboxHTTPError(
                409,
                code="idempotency.in.flight",
                message="A request with this Idempotency-Key is still being processed. Retry later.",
            )
        try:
            if state.config.processing_ms > 0:
                await asyncio.sleep(state.config.processing_ms / 1000)
            record_id = str(uuid.uuid4())
            record = StoredRecord(
                kind="interaction",
                id=record_id,
                key=key,
                body={
                    "id": record_id,
                    "type": canonical["type"],
                    "externalId": key,
                    "createTime": utc_now_iso(),
                    "routing": canonical["routing"],
                    "participants": canonical["participants"],
                    "selfUri": f"/api/v2/interactions/{record_id}",
                },
                created_at=time.monotonic(),
            )
            state.commit_key(key, record)
        except BaseException:
            state.release_key(key)
            raise
        return created_response(request, state, record)

    @router.get("/api/v2/interactions/{interaction_id}")
    async def get_interaction(interaction_id: str) -> dict[str, Any]:
        record = state.get_record(interaction_id, kind="interaction")
        if record is None:
            raise SandboxHTTPError(404, message=f"The interaction {interaction_id} was not found.")
        return state.render(record)

    return router
