"""The sandbox application: :func:`create_app` assembles the routers behind :class:`SandboxMiddleware`."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from genesys_sandbox.admin import build_admin_router
from genesys_sandbox.api import (
    build_auth_router,
    build_interactions_router,
    build_routing_router,
)
from genesys_sandbox.bulk_jobs import build_bulk_jobs_router
from genesys_sandbox.config import SandboxConfig
from genesys_sandbox.crm import build_crm_router
from genesys_sandbox.errors import install_error_handlers
from genesys_sandbox.middleware import SandboxMiddleware
from genesys_sandbox.platform import build_platform_router
from genesys_sandbox.search import build_search_router
from genesys_sandbox.state import SandboxState


class SandboxApp(FastAPI):
    """A FastAPI application whose outermost layer is :class:`SandboxMiddleware`.

    The middleware sits outside Starlette's own error middleware so that it sees the server's ``send`` callable
    (needed to drop a connection) and stamps ``ININ-Correlation-Id`` on every response, errors included.
    """

    sandbox_state: SandboxState

    def build_middleware_stack(self) -> ASGIApp:
        """Wrap Starlette's middleware stack in :class:`SandboxMiddleware`."""
        return SandboxMiddleware(super().build_middleware_stack(), self.sandbox_state, lambda: self.router.routes)


def create_app(config: SandboxConfig | None = None) -> SandboxApp:
    """Return a new sandbox application with fresh in-memory state.

    :param config: settings; the defaults mirror Genesys Cloud.
    """
    config = config or SandboxConfig()
    state = SandboxState(config)
    app = SandboxApp(
        title="Genesys Cloud sandbox",
        docs_url="/_sandbox/docs",
        redoc_url=None,
        openapi_url="/_sandbox/openapi.json",
    )
    app.sandbox_state = state
    app.state.sandbox = state
    install_error_handlers(app)
    app.include_router(build_auth_router(state))
    app.include_router(build_routing_router())
    app.include_router(build_interactions_router(state))
    app.include_router(build_search_router(state))
    app.include_router(build_platform_router(state))
    app.include_router(build_bulk_jobs_router(state))
    app.include_router(build_admin_router(state))
    app.include_router(build_crm_router(config))
    return app
