"""Scenario 10: sandbox robustness."""

from __future__ import annotations

import contextlib
import random
from typing import TYPE_CHECKING, Any

from tests.chaos.harness import (
    Evidence,
    ScenarioResult,
    sandbox,
)
from tests.support.payloads import items_for

if TYPE_CHECKING:
    from tests.chaos.matrix import Matrix


def sandbox_robustness(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """Malformed JSON, wrong content types, bodies over 512,000 bytes, missing or bad auth, garbage on the socket.

    Every answer on an API route is a Genesys ErrorBody (``status`` = the HTTP status, ``code``, ``message``,
    ``contextId``) with an ``ININ-Correlation-Id`` header; the token endpoint answers OAuth errors; nothing is
    stored; and the sandbox keeps serving (a valid create succeeds after every round).
    """
    import json
    import socket

    rounds = 3 if matrix.short else 15
    rng = random.Random(10)
    routes = [
        "/api/v2/interactions",
        "/api/v2/taskmanagement/workitems",
        "/api/v2/conversations/callbacks",
        "/api/v2/conversations/emails",
        "/api/v2/taskmanagement/workitems/query",
    ]
    statuses: dict[str, dict[str, int]] = {}
    with sandbox(matrix.canaries, evidence) as box:
        http = box.http
        token = http.post(
            f"{box.base_url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(matrix.canaries.client_id, matrix.canaries.client_secret),
            timeout=10,
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        valid = items_for("interaction", 1, seed=100)[0]
        valid.pop("external_id")

        def expect_error(case: str, response: Any, allowed: set[int], *, oauth: bool = False) -> None:
            counts = statuses.setdefault(case, {})
            counts[str(response.status_code)] = counts.get(str(response.status_code), 0) + 1
            result.check(response.status_code in allowed, f"{case}: HTTP {response.status_code} {response.text[:150]}")
            try:
                body = response.json()
            except ValueError:
                result.check(False, f"{case}: the error body is not JSON: {response.text[:100]!r}")
                return
            if oauth:
                result.check("error" in body and "description" in body, f"{case}: not an OAuth error: {body}")
            else:
                result.check(
                    body.get("status") == response.status_code
                    and body.get("code")
                    and body.get("message")
                    and body.get("contextId"),
                    f"{case}: not a Genesys ErrorBody: {body}",
                )
            result.check(bool(response.headers.get("ININ-Correlation-Id")), f"{case}: no correlation id")

        for round_number in range(rounds):
            for route in routes:
                target = f"{box.base_url}{route}"
                headers = {**auth, "Idempotency-Key": f"robust-{round_number}"}
                garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
                broken = json.dumps(valid)[: rng.randrange(1, 40)]
                expect_error(
                    "malformed JSON",
                    http.post(target, data=broken, timeout=10, headers={**headers, "Content-Type": "application/json"}),
                    {400},
                )
                expect_error(
                    "binary body",
                    http.post(
                        target, data=garbage, timeout=10, headers={**headers, "Content-Type": "application/json"}
                    ),
                    {400},
                )
                not_object = json.dumps(rng.choice([[], [valid], 1, "x", None, True]))
                expect_error(
                    "JSON that is not an object",
                    http.post(
                        target, data=not_object, timeout=10, headers={**headers, "Content-Type": "application/json"}
                    ),
                    {400},
                )
                content_type = rng.choice(
                    ["text/plain", "application/xml", "multipart/form-data", "application/x-www-form-urlencoded", ""]
                )
                expect_error(
                    "wrong content type",
                    http.post(
                        target, data=json.dumps(valid), timeout=10, headers={**headers, "Content-Type": content_type}
                    ),
                    {415},
                )
                oversized = b'{"type": "voice", "pad": "' + b"x" * (512_000 + rng.randrange(1, 50_000)) + b'"}'
                expect_error(
                    "oversized body",
                    http.post(
                        target, data=oversized, timeout=30, headers={**headers, "Content-Type": "application/json"}
                    ),
                    {413},
                )
                chunks = (oversized[i : i + 65_536] for i in range(0, len(oversized), 65_536))
                expect_error(
                    "oversized body (chunked)",
                    http.post(target, data=chunks, timeout=30, headers={**headers, "Content-Type": "application/json"}),
                    {413},
                )
                expect_error(
                    "missing auth",
                    http.post(target, json=valid, timeout=10, headers={"Idempotency-Key": "robust-x"}),
                    {401},
                )
                bad_token = rng.choice(["Bearer ", "Bearer not-a-token", "Basic Zm9vOmJhcg==", "bearer" + "x" * 40])
                expect_error(
                    "bad auth",
                    http.post(
                        target,
                        json=valid,
                        timeout=10,
                        headers={"Authorization": bad_token, "Idempotency-Key": "robust-y"},
                    ),
                    {401},
                )
            expect_error(
                "token: JSON body",
                http.post(f"{box.base_url}/oauth/token", json={"grant_type": "x"}, timeout=10),
                {400},
                oauth=True,
            )
            expect_error(
                "token: wrong secret",
                http.post(
                    f"{box.base_url}/oauth/token",
                    data={"grant_type": "client_credentials"},
                    timeout=10,
                    auth=(matrix.canaries.client_id, "wrong"),
                ),
                {401},
                oauth=True,
            )
            # garbage and half-requests straight on the socket; the server must shrug them off
            for payload in (
                b"\x00\xff\x13garbage\r\n\r\n",
                b"POST /api/v2/interactions HTTP/1.1\r\nContent-Length: 99",
                b"GET / HTTP/9.9\r\n\r\n",
                bytes(rng.randrange(256) for _ in range(300)),
            ):
                with socket.create_connection((box.server.host, box.server.port), timeout=5) as raw:
                    raw.sendall(payload)
                    raw.shutdown(socket.SHUT_WR)
                    with contextlib.suppress(OSError):
                        raw.recv(4096)
            # and it keeps serving
            alive = http.post(
                f"{box.base_url}/api/v2/interactions",
                json=valid,
                timeout=10,
                headers={**auth, "Idempotency-Key": f"alive-{round_number}"},
            )
            result.check(alive.status_code == 201, f"round {round_number}: a valid create answered {alive.status_code}")
            health = http.get(f"{box.base_url}/_sandbox/health", timeout=10)
            result.check(health.status_code == 200, f"round {round_number}: health answered {health.status_code}")
        stored = box.record_count()
        result.duplicates += max(0, stored - rounds)
        result.lost += max(0, rounds - stored)
        server_errors = {
            route: counts
            for route, counts in box.requests_by_route().items()
            if any(code.startswith("5") for code in counts)
        }
        result.check(not server_errors, f"5xx answers: {server_errors}")
    result.trials = rounds
    result.items = sum(sum(counts.values()) for counts in statuses.values())
    result.details["answers"] = statuses
    result.notes.append("each round: 8 kinds of bad request on 5 create/query routes, token errors, raw-socket garbage")


#: The matrix, in order (scenario 8 scans what the others produced, so it runs after them).
