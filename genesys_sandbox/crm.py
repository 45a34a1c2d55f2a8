"""The sandbox's CRM receiver: a Standard Webhooks endpoint that stores interaction ids once.

Routes (mounted on the sandbox app by :func:`build_crm_router`):

``POST /crm/interactions``
    Verifies ``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature`` with the ``standardwebhooks`` library
    (timestamp tolerance ±5 minutes). A missing, malformed or wrong signature, or a timestamp outside the
    tolerance, answers **401** ``{"status": 401, "code": ..., "message": ...}`` and stores nothing.
    Deliveries are deduplicated by ``webhook-id``: a redelivery stores nothing new and answers **200**
    ``{"status": "duplicate"}`` (or, while an asynchronous delivery is still pending, the same **202** again).
    In ``sync`` mode a new delivery answers **201** ``{"status": "stored"}``. In ``async`` mode it answers
    **202** with a ``Location`` header and a body ``status_url`` (both ``/crm/status/{webhook_id}``, relative).
``GET /crm/status/{webhook_id}``
    ``{"webhook_id", "status": "pending" | "done" | "failed", "detail"}``; ``done`` once
    ``crm_async_delay_seconds`` have passed since the delivery; 404 for an unknown id.
``GET /_sandbox/crm``
    Settings, every stored delivery, deliveries counted per ``webhook-id``, totals and the last rejections.
``PUT /_sandbox/crm/mode``
    ``{"mode"?: "sync" | "async", "async_delay_seconds"?: float, "failure_rate"?: 0..1, "drop_next"?: int}``;
    answers the settings. ``drop_next`` closes the connection, without an answer, right after storing each of
    the next *n* new deliveries (a response lost on its way back: the sender cannot know it was stored).
``POST /_sandbox/crm/reset``
    Forgets everything and restores the settings of the sandbox's configuration.

Failure injection (``crm_failure_rate``): in ``sync`` mode that fraction of *new* deliveries is answered
**500** and nothing is stored; in ``async`` mode that fraction is accepted (202) and its status turns ``failed``
after the delay, after which the delivery is forgotten so that a redelivery is processed afresh. Redeliveries of a
stored ``webhook-id`` never fail.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from standardwebhooks import Webhook
from starlette.responses import JSONResponse, Response

from genesys_sandbox.middleware import DroppedResponse

#: Used when the configuration has no ``crm_signing_secret`` (the sandbox's SandboxConfig normally provides it).
FALLBACK_CRM_SIGNING_SECRET = "whsec_Z2VuZXN5cy1zYW5kYm94LWNybS1rZXkh"
CRM_ENDPOINT = "/crm/interactions"
MAX_REJECTIONS_KEPT = 50

CrmMode = Literal["sync", "async"]


class CrmModeUpdate(BaseModel):
    """Body of ``PUT /_sandbox/crm/mode``; omitted fields keep their value."""

    model_config = ConfigDict(extra="forbid")

    mode: CrmMode | None = None
    async_delay_seconds: float | None = Field(default=None, ge=0, le=3600)
    failure_rate: float | None = Field(default=None, ge=0, le=1)
    drop_next: int | None = Field(default=None, ge=0, le=1000)


@dataclass
class _Delivery:
    webhook_id: str
    payload: Any
    received_at: str
    mode: CrmMode
    ready_at: float
    fails: bool
    deliveries: int = 1

    def state(self, now: float) -> str:
        if self.mode == "sync":
            return "done"
        if now < self.ready_at:
            return "pending"
        return "failed" if self.fails else "done"


@dataclass
class _CrmState:
    mode: CrmMode
    async_delay_seconds: float
    failure_rate: float
    drop_next: int = 0
    stored: dict[str, _Delivery] = field(default_factory=dict)
    #: stored asynchronous deliveries that will turn ``failed`` (the only ones :func:`settle` must look at)
    doomed: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    rejected_total: int = 0


def _status_path(webhook_id: str) -> str:
    return f"/crm/status/{quote(webhook_id, safe='')}"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"status": status, "code": code, "message": message}, status_code=status)


def _accepted(webhook_id: str) -> JSONResponse:
    location = _status_path(webhook_id)
    return JSONResponse(
        {"status": "accepted", "webhook_id": webhook_id, "status_url": location},
        status_code=202,
        headers={"Location": location},
    )


def build_crm_router(config: Any) -> APIRouter:
    """Return the CRM receiver's routes, with their state held in this closure (thread-safe).

    :param config: the sandbox's ``SandboxConfig``; read attributes (all optional): ``crm_signing_secret``,
        ``crm_mode``, ``crm_async_delay_seconds``, ``crm_failure_rate``, ``seed``.
    """
    secret = str(getattr(config, "crm_signing_secret", None) or FALLBACK_CRM_SIGNING_SECRET)
    webhook = Webhook(secret)
    rng = random.Random(getattr(config, "seed", None))
    lock = threading.Lock()

    def initial_state() -> _CrmState:
        mode = str(getattr(config, "crm_mode", "sync") or "sync").lower()
        return _CrmState(
            mode="async" if mode == "async" else "sync",
            async_delay_seconds=float(getattr(config, "crm_async_delay_seconds", 1.0) or 0.0),
            failure_rate=float(getattr(config, "crm_failure_rate", 0.0) or 0.0),
        )

    state = initial_state()
    router = APIRouter(tags=["crm"])

    def settings_json() -> dict[str, Any]:
        return {
            "mode": state.mode,
            "async_delay_seconds": state.async_delay_seconds,
            "failure_rate": state.failure_rate,
            "drop_next": state.drop_next,
        }

    def settle(now: float) -> None:
        """Forget asynchronous deliveries whose status turned ``failed`` (caller holds the lock).

        Only the deliveries drawn to fail are looked at, so a request costs the same after 10,000 deliveries.
        """
        for webhook_id in list(state.doomed):
            delivery = state.stored.get(webhook_id)
            if delivery is None or not delivery.fails:
                state.doomed.discard(webhook_id)
            elif delivery.state(now) == "failed":
                state.failed[webhook_id] = "CRM processing failed (sandbox failure injection)"
                del state.stored[webhook_id]
                state.doomed.discard(webhook_id)

    def reject(webhook_id: str | None, code: str, message: str) -> JSONResponse:
        with lock:
            state.rejected_total += 1
            state.rejections.append(
                {
                    "at": datetime.now(timezone.utc).isoformat(),
                    "webhook_id": webhook_id,
                    "code": code,
                    "message": message,
                }
            )
            del state.rejections[:-MAX_REJECTIONS_KEPT]
        return _error(401, code, message)

    @router.post(CRM_ENDPOINT)
    async def receive(request: Request) -> Response:
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        webhook_id = headers.get("webhook-id")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _error(400, "body.not.utf8", "The body is not UTF-8 JSON.")
        try:
            webhook.verify(text, headers, json_parse=False)
        except Exception as error:  # WebhookVerificationError, or a malformed header (ValueError, binascii)
            reason = str(error) or type(error).__name__
            if "Missing required headers" in reason:
                return reject(webhook_id, "webhook.signature.missing", "Missing webhook-id/timestamp/signature.")
            if "timestamp" in reason.lower():
                return reject(webhook_id, "webhook.timestamp.out.of.tolerance", f"{reason} (tolerance is 5 minutes).")
            return reject(webhook_id, "webhook.signature.invalid", "No matching signature found.")
        try:
            document = json.loads(text)
        except ValueError:
            return _error(400, "body.not.json", "The body is not valid JSON.")
        if webhook_id is None:  # pragma: no cover - verify() requires it
            return reject(None, "webhook.signature.missing", "Missing webhook-id.")
        now = time.monotonic()
        with lock:
            settle(now)
            state.counts[webhook_id] = state.counts.get(webhook_id, 0) + 1
            existing = state.stored.get(webhook_id)
            if existing is not None:
                existing.deliveries += 1
                if existing.state(now) == "pending":
                    return _accepted(webhook_id)
                return JSONResponse({"status": "duplicate", "webhook_id": webhook_id}, status_code=200)
            fails = state.failure_rate > 0 and rng.random() < state.failure_rate
            if state.mode == "sync" and fails:
                state.failed[webhook_id] = "CRM unavailable (sandbox failure injection)"
                return _error(500, "crm.unavailable", "The CRM could not store the delivery; try again.")
            state.failed.pop(webhook_id, None)
            state.stored[webhook_id] = _Delivery(
                webhook_id=webhook_id,
                payload=document,
                received_at=datetime.now(timezone.utc).isoformat(),
                mode=state.mode,
                ready_at=now + state.async_delay_seconds,
                fails=fails,
            )
            if fails:
                state.doomed.add(webhook_id)
            if state.drop_next > 0:
                state.drop_next -= 1
                return DroppedResponse()
            if state.mode == "sync":
                return JSONResponse({"status": "stored", "webhook_id": webhook_id}, status_code=201)
            return _accepted(webhook_id)

    @router.get("/crm/status/{webhook_id}")
    def status(webhook_id: str) -> JSONResponse:
        now = time.monotonic()
        with lock:
            delivery = state.stored.get(webhook_id)
            if delivery is not None:
                current = delivery.state(now)
                detail = "CRM processing failed (sandbox failure injection)" if current == "failed" else None
                return JSONResponse({"webhook_id": webhook_id, "status": current, "detail": detail})
            if webhook_id in state.failed:
                return JSONResponse({"webhook_id": webhook_id, "status": "failed", "detail": state.failed[webhook_id]})
        return _error(404, "not.found", f"No delivery with webhook-id {webhook_id!r}.")

    @router.get("/_sandbox/crm")
    def admin() -> dict[str, Any]:
        now = time.monotonic()
        with lock:
            stored = [
                {
                    "webhook_id": d.webhook_id,
                    "payload": d.payload,
                    "received_at": d.received_at,
                    "status": d.state(now),
                    "deliveries": d.deliveries,
                }
                for d in state.stored.values()
            ]
            counts = dict(state.counts)
            return {
                **settings_json(),
                "stored": stored,
                "counts": counts,
                "failed": [{"webhook_id": k, "detail": v} for k, v in state.failed.items()],
                "totals": {
                    "stored": len(stored),
                    "deliveries": sum(counts.values()),
                    "duplicates": sum(n - 1 for n in counts.values() if n > 1),
                    "rejected": state.rejected_total,
                    "failed": len(state.failed),
                },
                "rejections": list(state.rejections),
            }

    @router.put("/_sandbox/crm/mode")
    def set_mode(update: CrmModeUpdate) -> dict[str, Any]:
        with lock:
            if update.mode is not None:
                state.mode = update.mode
            if update.async_delay_seconds is not None:
                state.async_delay_seconds = update.async_delay_seconds
            if update.failure_rate is not None:
                state.failure_rate = update.failure_rate
            if update.drop_next is not None:
                state.drop_next = update.drop_next
            return settings_json()

    @router.post("/_sandbox/crm/reset")
    def reset() -> dict[str, Any]:
        nonlocal state
        with lock:
            state = initial_state()
            return {"status": "reset", **settings_json()}

    return router
