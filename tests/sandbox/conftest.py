"""Fixtures of the sandbox tests: real servers on loopback, and a small client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from genesys_sandbox import SandboxConfig, SandboxServer
from tests.support.sandbox_client import SandboxClient


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., SandboxClient]]:
    """Start sandboxes with the given :class:`SandboxConfig` fields; stop them after the test."""
    servers: list[SandboxServer] = []

    def start(**config: Any) -> SandboxClient:
        server = SandboxServer(SandboxConfig(**config)).start()
        servers.append(server)
        return SandboxClient(server)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def shared_server() -> Iterator[SandboxServer]:
    """One sandbox with default settings, shared by the tests (reset before each)."""
    with SandboxServer(SandboxConfig()) as server:
        yield server


@pytest.fixture
def sandbox(shared_server: SandboxServer) -> Iterator[SandboxClient]:
    """The shared sandbox, freshly reset, and a client holding a token."""
    shared_server.state.reset()
    client = SandboxClient(shared_server)
    client.fetch_token()
    yield client
    client.session.close()
