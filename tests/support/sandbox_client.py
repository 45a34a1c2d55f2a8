"""Clients of a running sandbox: its API with a bearer token, its ``/_sandbox`` admin routes; ErrorBody checks."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from genesys_sandbox import SandboxServer


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


class SandboxAdmin:
    """Client of a sandbox's ``/_sandbox`` admin routes (ledger, request counts, faults)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def get(self, path: str) -> Any:
        response = requests.get(f"{self.base_url}/_sandbox/{path}", timeout=10)
        response.raise_for_status()
        return response.json()

    def faults(self, **faults: Any) -> None:
        requests.put(f"{self.base_url}/_sandbox/faults", json=faults, timeout=10).raise_for_status()

    def ledger(self) -> dict[str, Any]:
        return dict(self.get("ledger"))

    def records(self) -> list[dict[str, Any]]:
        return list(self.ledger()["records"])

    def requests_to(self, route: str) -> dict[str, int]:
        return dict(self.get("requests")["by_route"].get(route, {}))
