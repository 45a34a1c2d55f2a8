"""Admin routes under ``/_sandbox/`` (no authentication): faults, ledger, request log, reset, record pages."""

from __future__ import annotations

import html
import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse

from genesys_sandbox import seeds
from genesys_sandbox.common import read_json, validate_body
from genesys_sandbox.errors import SandboxHTTPError, validation_error
from genesys_sandbox.faults import FaultConfig
from genesys_sandbox.state import SandboxState

_RECORD_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em}}pre{{background:#f4f4f4;padding:1em}}</style></head>
<body><h1>{title}</h1><p>Kind: <b>{kind}</b> &middot; State: <b>{state}</b></p>
<pre>{body}</pre></body></html>
"""


def build_admin_router(state: SandboxState) -> APIRouter:
    """Return the router of the ``/_sandbox/`` admin routes."""
    router = APIRouter(prefix="/_sandbox")

    @router.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "seeds": seeds.seed_summary()}

    @router.get("/faults")
    async def get_faults() -> dict[str, Any]:
        return state.faults.snapshot().model_dump()

    @router.put("/faults")
    async def put_faults(request: Request) -> dict[str, Any]:
        config = validate_body(FaultConfig, await read_json(request))
        state.faults.replace(config)
        return state.faults.snapshot().model_dump()

    @router.patch("/faults")
    async def patch_faults(request: Request) -> dict[str, Any]:
        changes = await read_json(request)
        if not isinstance(changes, dict):
            raise SandboxHTTPError(400, code="invalid.value", message="The body must be a JSON object.")
        try:
            config = FaultConfig.model_validate({**state.faults.snapshot().model_dump(), **changes})
        except ValidationError as exc:
            raise validation_error(exc) from None
        state.faults.replace(config)
        return state.faults.snapshot().model_dump()

    @router.post("/tokens/expire")
    async def expire_tokens() -> dict[str, Any]:
        return {"expired": state.expire_tokens()}

    @router.get("/ledger")
    async def ledger() -> dict[str, Any]:
        return state.ledger()

    @router.get("/requests")
    async def requests_summary() -> dict[str, Any]:
        return state.requests_summary()

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        return {"status": "reset"}

    @router.get("/records/{record_id}", response_class=HTMLResponse)
    async def record_page(record_id: str) -> HTMLResponse:
        record = state.get_record(record_id)
        if record is None:
            raise SandboxHTTPError(404, message=f"No record {record_id} in this sandbox.")
        rendered = state.render(record)
        return HTMLResponse(
            _RECORD_PAGE.format(
                title=html.escape(f"Sandbox {record.kind} {record.id}"),
                kind=html.escape(record.kind),
                state=html.escape(record.acd_state(state.config.acd_delay_seconds)),
                body=html.escape(json.dumps(rendered, indent=2, sort_keys=True)),
            )
        )

    return router
