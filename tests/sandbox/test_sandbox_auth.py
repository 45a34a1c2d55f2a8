"""Token endpoint, bearer check, token expiry and the per-token quota."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import requests

from genesys_sandbox import ORGANIZATION_ID
from tests.support.sandbox_client import SandboxClient, assert_error_body
from tests.support.waiting import wait_until


def _token(client: SandboxClient, **kwargs: object) -> requests.Response:
    kwargs.setdefault("auth", ("sandbox-client", "sandbox-secret"))
    return requests.post(f"{client.base_url}/oauth/token", timeout=5, **kwargs)  # type: ignore[arg-type]


def test_token_with_form_body_and_basic_auth(make_sandbox: Callable[..., SandboxClient]) -> None:
    client = make_sandbox(token_ttl_seconds=3600)
    response = _token(client, data={"grant_type": "client_credentials"})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert len(body["access_token"]) >= 32
    assert response.headers["ININ-Correlation-Id"]
    assert client.admin("GET", "/requests")["tokens_issued"] == 1


def test_token_rejects_json_body_and_wrong_grant(sandbox: SandboxClient) -> None:
    as_json = _token(sandbox, json={"grant_type": "client_credentials"})
    assert as_json.status_code == 400
    assert as_json.json()["error"] == "invalid_request"
    # the classic mistake: a form content type with a JSON body
    mislabelled = _token(
        sandbox,
        data=json.dumps({"grant_type": "client_credentials"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert mislabelled.status_code == 400
    assert set(mislabelled.json()) == {"error", "description", "error_description"}
    wrong_grant = _token(sandbox, data={"grant_type": "password"})
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["error"] == "invalid_request"


def test_token_rejects_wrong_or_missing_credentials(sandbox: SandboxClient) -> None:
    wrong = _token(sandbox, data={"grant_type": "client_credentials"}, auth=("sandbox-client", "nope"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    missing = requests.post(f"{sandbox.base_url}/oauth/token", data={"grant_type": "client_credentials"}, timeout=5)
    assert missing.status_code == 401
    assert missing.json()["error"] == "invalid_client"


def test_token_rate_limit_answers_400(make_sandbox: Callable[..., SandboxClient]) -> None:
    client = make_sandbox(token_rate_per_minute=2)
    statuses = [_token(client, data={"grant_type": "client_credentials"}) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 400]
    assert statuses[2].json()["error"] == "invalid_request"
    assert "rate limit exceeded" in statuses[2].json()["description"].lower()


def test_bearer_token_is_required(sandbox: SandboxClient) -> None:
    missing = requests.get(f"{sandbox.base_url}/api/v2/tokens/me", timeout=5)
    assert_error_body(missing, 401, "authentication.required")
    unknown = sandbox.get("/api/v2/tokens/me", headers={"Authorization": "Bearer not-a-token"})
    assert_error_body(unknown, 401, "authentication.required")
    basic = sandbox.get("/api/v2/routing/queues", headers={"Authorization": "Basic abc"})
    assert_error_body(basic, 401)


def test_tokens_me(sandbox: SandboxClient) -> None:
    body = sandbox.get("/api/v2/tokens/me").json()
    assert body["organization"] == {"id": ORGANIZATION_ID, "name": "Sandbox Org"}
    assert body["OAuthClient"]["id"] == "sandbox-client" and body["OAuthClient"]["name"]
    assert "id" not in body and "name" not in body  # TokenInfo has neither (the client's are under OAuthClient)


def test_expire_tokens_then_refresh(sandbox: SandboxClient) -> None:
    assert sandbox.get("/api/v2/tokens/me").status_code == 200
    assert sandbox.admin("POST", "/tokens/expire") == {"expired": 1}
    assert_error_body(sandbox.get("/api/v2/tokens/me"), 401)
    sandbox.fetch_token()
    assert sandbox.get("/api/v2/tokens/me").status_code == 200


def test_token_lifetime(make_sandbox: Callable[..., SandboxClient]) -> None:
    client = make_sandbox(token_ttl_seconds=2)
    client.fetch_token()
    assert client.get("/api/v2/tokens/me").status_code == 200
    answers = []
    wait_until(lambda: answers.append(client.get("/api/v2/tokens/me")) or answers[-1].status_code == 401, what="expiry")
    assert_error_body(answers[-1], 401, "bad.credentials")


def test_quota_per_token_answers_429_with_retry_after(make_sandbox: Callable[..., SandboxClient]) -> None:
    client = make_sandbox(quota_per_minute=3)
    client.fetch_token()
    statuses = [client.get("/api/v2/routing/queues").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = client.get("/api/v2/routing/queues")
    body = assert_error_body(limited, 429, "too.many.requests.retry.after")
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert re.fullmatch(r"Rate limit exceeded the maximum\. Retry the request in \[(\d+)\] seconds", body["message"])
    assert body["message"].endswith(f"[{retry_after}] seconds")
    # the quota is per token: a new token has its own window
    client.fetch_token()
    assert client.get("/api/v2/routing/queues").status_code == 200
    # the oauth endpoint is not subject to the API quota
    assert client.fetch_token()
