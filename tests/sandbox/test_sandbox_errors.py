"""Every error is a Genesys ErrorBody with a correlation id, and the sandbox survives malformed requests."""

from __future__ import annotations

import contextlib
import socket
from urllib.parse import urlsplit

import requests

from tests.support.payloads import interaction_body
from tests.support.sandbox_client import SandboxClient, assert_error_body


def test_not_found_and_method_not_allowed(sandbox: SandboxClient) -> None:
    assert_error_body(sandbox.get("/api/v2/nothing/here"), 404, "not.found")
    assert_error_body(sandbox.get("/not-api"), 404, "not.found")
    assert_error_body(sandbox.get("/api/v2/routing/queues/00000000-0000-4000-8000-000000000000"), 404, "not.found")
    assert_error_body(sandbox.get("/api/v2/interactions/unknown"), 404, "not.found")
    assert_error_body(sandbox.request("DELETE", "/api/v2/routing/queues"), 405)


def test_payload_too_large(sandbox: SandboxClient) -> None:
    big = b'{"type": "' + b"x" * 512_001 + b'"}'
    response = sandbox.post(
        "/api/v2/interactions",
        data=big,
        headers={"Content-Type": "application/json", "Idempotency-Key": "big"},
    )
    assert_error_body(response, 413)


def test_payload_too_large_when_chunked(sandbox: SandboxClient) -> None:
    def chunks() -> object:
        for _ in range(100):
            yield b"x" * 10_000

    response = sandbox.post(
        "/api/v2/interactions",
        data=chunks(),
        headers={"Content-Type": "application/json", "Idempotency-Key": "big"},
    )
    assert_error_body(response, 413)


def test_unsupported_media_type(sandbox: SandboxClient) -> None:
    response = sandbox.post(
        "/api/v2/interactions",
        data="type=voice",
        headers={"Content-Type": "text/plain", "Idempotency-Key": "k"},
    )
    assert_error_body(response, 415, "unsupported.media.type")


def test_malformed_json(sandbox: SandboxClient) -> None:
    response = sandbox.post(
        "/api/v2/interactions",
        data='{"type": "voice",',
        headers={"Content-Type": "application/json", "Idempotency-Key": "k"},
    )
    assert_error_body(response, 400, "bad.request")
    not_an_object = sandbox.post("/api/v2/interactions", json=[1, 2], headers={"Idempotency-Key": "k"})
    assert_error_body(not_an_object, 400, "invalid.value")


def test_bad_query_parameter(sandbox: SandboxClient) -> None:
    body = assert_error_body(sandbox.get("/api/v2/routing/queues", params={"pageSize": "many"}), 400)
    assert body["details"][0]["fieldName"] == "pageSize"


def test_every_response_has_a_correlation_id(sandbox: SandboxClient) -> None:
    ids = {sandbox.get("/api/v2/routing/queues").headers["ININ-Correlation-Id"] for _ in range(3)}
    assert len(ids) == 3
    assert requests.get(f"{sandbox.base_url}/_sandbox/health", timeout=5).headers["ININ-Correlation-Id"]


def test_keeps_serving_after_malformed_requests(sandbox: SandboxClient) -> None:
    url = urlsplit(sandbox.base_url)
    for garbage in (
        b"GARBAGE\r\n\r\n",
        b"POST /api/v2/interactions HTTP/1.1\r\nContent-Length: 99\r\n\r\n{",
        b"\x00\xff",
    ):
        with socket.create_connection((url.hostname, url.port), timeout=5) as conn:
            conn.sendall(garbage)
            conn.shutdown(socket.SHUT_WR)
            with contextlib.suppress(OSError):
                conn.recv(4096)
    response = sandbox.create(interaction_body(), "after-garbage")
    assert response.status_code == 201
    assert sandbox.get("/api/v2/tokens/me").status_code == 200
