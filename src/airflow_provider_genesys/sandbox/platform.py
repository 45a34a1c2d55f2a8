"""Real Genesys Cloud create endpoints (placeholder)."""

from __future__ import annotations

from fastapi import APIRouter

from airflow_provider_genesys.sandbox.state import SandboxState


def build_platform_router(state: SandboxState) -> APIRouter:
    """Return the router of workitems, callbacks and emails."""
    del state
    return APIRouter()
