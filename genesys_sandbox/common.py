"""Helpers shared by the route modules: JSON bodies, model validation, paging envelopes, drop-after-commit."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.responses import JSONResponse, Response

from genesys_sandbox.errors import SandboxHTTPError, validation_error
from genesys_sandbox.middleware import DroppedResponse
from genesys_sandbox.state import SandboxState, StoredRecord

ModelT = TypeVar("ModelT", bound=BaseModel)


async def read_json(request: Request) -> Any:
    """Return the parsed JSON body; 415 when it is not declared as JSON, 400 when it does not parse."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise SandboxHTTPError(415)
    raw = await request.body()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SandboxHTTPError(400, code="bad.request", message=f"The request body is not valid JSON: {exc}") from None


def validate_body(model: type[ModelT], payload: Any, *, prefix: str = "") -> ModelT:
    """Validate ``payload`` against ``model``; 400 with one ``details`` entry per problem otherwise."""
    if not isinstance(payload, dict):
        raise SandboxHTTPError(
            400,
            code="invalid.value",
            message=f"The request body must be a JSON object, not {type(payload).__name__}.",
            details=[{"errorCode": "invalid.value", "fieldName": prefix or "body"}],
        )
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise validation_error(exc, prefix=prefix) from None


def fingerprint(payload: Any) -> str:
    """Return the SHA-256 of the canonical JSON of ``payload``."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def created_response(request: Request, state: SandboxState, record: StoredRecord, status: int = 201) -> Response:
    """Answer a committed create, unless a drop-after-commit fault closes the connection instead."""
    if state.faults.should_drop_after_commit(request.url.path):
        return DroppedResponse()
    return JSONResponse(state.render(record), status_code=status)


def paged(request: Request, entities: Sequence[dict[str, Any]], page_number: int, page_size: int) -> dict[str, Any]:
    """Return Genesys' paging envelope for one page of ``entities``."""
    total = len(entities)
    page_count = math.ceil(total / page_size) if total else 0
    start = (page_number - 1) * page_size
    path = request.url.path
    extra = [(k, v) for k, v in request.query_params.multi_items() if k not in ("pageNumber", "pageSize")]

    def uri(number: int) -> str:
        return f"{path}?{urlencode([('pageSize', page_size), ('pageNumber', number), *extra])}"

    return {
        "entities": list(entities[start : start + page_size]),
        "pageSize": page_size,
        "pageNumber": page_number,
        "total": total,
        "pageCount": page_count,
        "firstUri": uri(1),
        "nextUri": uri(page_number + 1) if page_number < page_count else None,
        "previousUri": uri(page_number - 1) if page_number > 1 else None,
        "lastUri": uri(max(page_count, 1)),
        "selfUri": uri(page_number),
    }
