"""Helpers shared by the sandbox tests: a small client, valid bodies, ErrorBody assertions."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from airflow_provider_genesys.sandbox import QUEUE_SUPPORT_ID, SKILL_ENGLISH_ID, SandboxServer


class SandboxClient:
    """A minimal client of a running sandbox (a ``requests.Session`` with a bearer token)."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.base_url = server.base_url
        self.session = requests.Session()
        self.token = ""

    def fetch_token(self) -> str:
        response = requests.post(
            f"{self.base_url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(self.server.config.client_id, self.server.config.client_secret),
            timeout=5,
        )
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        return self.token

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def create(self, body: dict[str, Any], key: str | None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.post("/api/v2/interactions", json=body, headers=headers, **kwargs)

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.base_url}/_sandbox{path}", timeout=10, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()


def interaction_body(**overrides: Any) -> dict[str, Any]:
    """Return a valid ``InteractionRequest`` body."""
    body: dict[str, Any] = {
        "type": "voice",
        "routing": {
            "priority": 10,
            "skills": [{"id": SKILL_ENGLISH_ID, "level": 3}],
            "queue": {"id": QUEUE_SUPPORT_ID},
        },
        "participants": [
            {"id": str(uuid.uuid4()), "roles": ["initiator", "customer"], "channel": {"id": "+15551234567"}}
        ],
    }
    body.update(overrides)
    return body


def assert_error_body(response: requests.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert that ``response`` is a Genesys ErrorBody with ``status`` (and ``code``); return the body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"message", "code", "status", "contextId", "details", "errors"}, body
    assert body["status"] == status
    assert body["contextId"] == response.headers["ININ-Correlation-Id"]
    uuid.UUID(body["contextId"])
    if code is not None:
        assert body["code"] == code, body
    return body
