"""CrmWebhookHook: signing, delivery outcomes, retry and backoff edges (HTTP mocked with ``responses``)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
import responses
from standardwebhooks import Webhook

from airflow_provider_genesys.exceptions import CrmDeliveryError, GenesysConfigurationError
from airflow_provider_genesys.hooks.crm import MAX_RETRY_AFTER_SECONDS, CrmWebhookHook, parse_status_body
from tests.support.canaries import CANARY_CRM_SECRET, assert_no_secret

BASE = "http://crm.test"
URL = f"{BASE}/crm/interactions"
PAYLOAD = {"interaction_id": "i-1", "queue_id": None, "type": "chat"}


@pytest.fixture
def hook(make_conn) -> CrmWebhookHook:
    hook = CrmWebhookHook(make_conn(BASE), max_attempts=4, backoff_initial=0.5, backoff_max=2.0)
    hook.sleeps = []  # type: ignore[attr-defined]
    hook._sleep = hook.sleeps.append  # type: ignore[attr-defined]
    return hook


@responses.activate
def test_delivery_is_signed_per_standard_webhooks(hook: CrmWebhookHook) -> None:
    responses.post(URL, json={"status": "stored"}, status=201)
    receipt = hook.deliver(PAYLOAD, webhook_id="key-1")
    assert (receipt.state, receipt.http_status, receipt.attempts) == ("delivered", 201, 1)
    sent = responses.calls[0].request
    assert sent.headers["webhook-id"] == "key-1"
    assert sent.headers["Content-Type"] == "application/json"
    # The receiver's side of the library accepts it, and the body is exactly the payload.
    assert Webhook(CANARY_CRM_SECRET).verify(sent.body, dict(sent.headers)) == PAYLOAD
    assert_no_secret(json.dumps(dict(sent.headers)), sent.body.decode())


@responses.activate
def test_429_waits_retry_after_then_5xx_backs_off(hook: CrmWebhookHook) -> None:
    responses.post(URL, status=429, headers={"Retry-After": "7"})
    responses.post(URL, status=503)
    responses.post(URL, status=201, json={})
    receipt = hook.deliver(PAYLOAD, webhook_id="key-1")
    assert (receipt.state, receipt.attempts) == ("delivered", 3)
    assert 7 <= hook.sleeps[0] <= 7.25  # type: ignore[attr-defined]  # Retry-After, a little jitter on top
    assert 0.5 <= hook.sleeps[1] <= 1.0  # type: ignore[attr-defined]  # 2nd retry: ceiling 1 s, jittered
    # Every attempt is signed afresh with the same webhook-id.
    assert {call.request.headers["webhook-id"] for call in responses.calls} == {"key-1"}


@responses.activate
def test_retry_after_beyond_180_s_gives_up_at_once(hook: CrmWebhookHook) -> None:
    responses.post(URL, status=429, headers={"Retry-After": str(int(MAX_RETRY_AFTER_SECONDS) + 1)})
    with pytest.raises(CrmDeliveryError) as caught:
        hook.deliver(PAYLOAD, webhook_id="key-1")
    assert (caught.value.status, caught.value.attempts, caught.value.retry_after) == (429, 1, 181)
    assert "giving up" in str(caught.value)
    assert hook.sleeps == []  # type: ignore[attr-defined]


@responses.activate
def test_retry_after_of_exactly_180_s_is_waited(hook: CrmWebhookHook) -> None:
    responses.post(URL, status=429, headers={"Retry-After": "180"})
    responses.post(URL, status=200, json={})
    assert hook.deliver(PAYLOAD, webhook_id="k").attempts == 2
    assert len(hook.sleeps) == 1 and 180 <= hook.sleeps[0] <= 180.25  # type: ignore[attr-defined]


@responses.activate
@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_a_bounded_number_of_times_with_capped_backoff(
    hook: CrmWebhookHook, status: int
) -> None:
    responses.post(URL, status=status)
    with pytest.raises(CrmDeliveryError) as caught:
        hook.deliver(PAYLOAD, webhook_id="key-1")
    assert (caught.value.status, caught.value.attempts, caught.value.retryable) == (status, 4, True)
    assert len(responses.calls) == 4
    sleeps = hook.sleeps  # type: ignore[attr-defined]
    assert len(sleeps) == 3 and all(0 < s <= 2.0 for s in sleeps)
    assert 1.0 <= sleeps[2] <= 2.0  # the third wait hit the 2 s cap (ceiling 0.5 * 2**2 = 2)


@responses.activate
@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 500])
def test_other_errors_are_not_retried(hook: CrmWebhookHook, status: int) -> None:
    responses.post(URL, status=status, json={"code": "nope", "message": "refused"})
    with pytest.raises(CrmDeliveryError) as caught:
        hook.deliver(PAYLOAD, webhook_id="key-1")
    assert (caught.value.status, caught.value.attempts) == (status, 1)
    assert "refused" in str(caught.value)
    assert caught.value.retryable is (status in (409, 500))


@responses.activate
def test_connection_errors_are_retried(hook: CrmWebhookHook) -> None:
    responses.post(URL, body=requests.ConnectionError("connection reset"))
    responses.post(URL, body=requests.Timeout("read timed out"))
    responses.post(URL, status=200, json={"status": "duplicate"})
    receipt = hook.deliver(PAYLOAD, webhook_id="key-1")
    assert (receipt.state, receipt.attempts, receipt.duplicate) == ("delivered", 3, True)


@responses.activate
def test_network_errors_exhausted_raise_without_status(hook: CrmWebhookHook) -> None:
    responses.post(URL, body=requests.ConnectionError("refused"))
    with pytest.raises(CrmDeliveryError) as caught:
        hook.deliver(PAYLOAD, webhook_id="key-1")
    assert (caught.value.status, caught.value.attempts, caught.value.retryable) == (None, 4, True)
    assert "no response" in str(caught.value)


@responses.activate
def test_202_location_is_resolved_against_the_host(hook: CrmWebhookHook) -> None:
    responses.post(URL, status=202, headers={"Location": "/crm/status/key-1"}, json={})
    receipt = hook.deliver(PAYLOAD, webhook_id="key-1")
    assert (receipt.state, receipt.status_url) == ("accepted", f"{BASE}/crm/status/key-1")


@responses.activate
def test_202_body_status_url_and_202_without_any_url(hook: CrmWebhookHook) -> None:
    responses.post(URL, status=202, json={"status_url": "https://elsewhere.test/s/1"})
    responses.post(URL, status=202, json={"status": "queued"})
    assert hook.deliver(PAYLOAD, webhook_id="a").status_url == "https://elsewhere.test/s/1"
    nothing_to_poll = hook.deliver(PAYLOAD, webhook_id="b")
    assert (nothing_to_poll.state, nothing_to_poll.status_url) == ("delivered", None)


@responses.activate
def test_status_checks(hook: CrmWebhookHook) -> None:
    responses.get(f"{BASE}/crm/status/a", json={"status": "pending"})
    responses.get(f"{BASE}/crm/status/a", json={"status": "done"})
    responses.get(f"{BASE}/crm/status/b", json={"status": "failed", "detail": "case locked"})
    responses.get(f"{BASE}/crm/status/c", status=404)
    responses.get(f"{BASE}/crm/status/d", status=503)
    assert hook.get_status("/crm/status/a") == "pending"
    assert hook.get_status(f"{BASE}/crm/status/a") == "done"
    assert hook.check_status("/crm/status/b").detail == "case locked"
    assert hook.get_status("/crm/status/c") == "failed"
    with pytest.raises(CrmDeliveryError):
        hook.check_status("/crm/status/d")
    assert len([c for c in responses.calls if c.request.url.endswith("/d")]) == 4


def test_status_words() -> None:
    assert parse_status_body({"state": "Completed"}).state == "done"
    assert parse_status_body({"status": "error", "message": "x"}).state == "failed"
    assert parse_status_body({"status": "queued"}).state == "pending"
    assert parse_status_body(["not a document"]).state == "pending"


@responses.activate
def test_secret_echoed_by_the_crm_is_redacted(hook: CrmWebhookHook) -> None:
    secret_b64 = CANARY_CRM_SECRET.removeprefix("whsec_")
    responses.post(URL, status=400, json={"message": f"bad key {CANARY_CRM_SECRET} / {secret_b64}"})
    with pytest.raises(CrmDeliveryError) as caught:
        hook.deliver(PAYLOAD, webhook_id="key-1")
    assert_no_secret(str(caught.value), repr(caught.value), repr(hook.settings))


def test_http_connection_with_bare_host_schema_port_and_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CRM_HTTP",
        json.dumps(
            {
                "conn_type": "http",
                "host": "crm.internal",
                "schema": "http",
                "port": 8081,
                "password": CANARY_CRM_SECRET,
                "extra": {"endpoint": "hooks/genesys", "timeout": "12.5"},
            }
        ),
    )
    settings = CrmWebhookHook("crm_http").settings
    assert settings.url == "http://crm.internal:8081/hooks/genesys"
    assert settings.timeout == 12.5
    assert settings.signing_secret == CANARY_CRM_SECRET


def test_missing_or_invalid_secret_is_a_configuration_error(make_conn) -> None:
    with pytest.raises(GenesysConfigurationError, match="no signing_secret"):
        _ = CrmWebhookHook(make_conn(BASE, secret=None)).settings
    bad = "whsec_" + "!" * 30
    with pytest.raises(GenesysConfigurationError, match="not a valid") as caught:
        _ = CrmWebhookHook(make_conn(BASE, secret=bad)).settings
    assert bad not in str(caught.value)


@responses.activate
def test_test_connection(hook: CrmWebhookHook) -> None:
    responses.get(URL, status=405)
    ok, message = hook.test_connection()
    assert ok and "405" in message
    responses.replace(responses.GET, URL, body=requests.ConnectionError("down"))
    assert hook.test_connection()[0] is False


def test_signature_covers_timestamp(hook: CrmWebhookHook) -> None:
    from standardwebhooks import Webhook
    from standardwebhooks.webhooks import WebhookVerificationError

    now = datetime.now(timezone.utc)
    earlier = hook.sign("{}", webhook_id="k", timestamp=now - timedelta(seconds=60))
    later = hook.sign("{}", webhook_id="k", timestamp=now)
    assert earlier["webhook-timestamp"] == str(int((now - timedelta(seconds=60)).replace(microsecond=0).timestamp()))
    assert base64.b64decode(later["webhook-signature"].split(",", 1)[1])
    assert earlier["webhook-signature"] != later["webhook-signature"]  # same body and id, another timestamp
    receiver = Webhook(CANARY_CRM_SECRET)
    receiver.verify("{}", earlier)  # a receiver accepts the signed timestamp...
    with pytest.raises(WebhookVerificationError):  # ...and rejects the same signature under another one
        receiver.verify("{}", {**earlier, "webhook-timestamp": later["webhook-timestamp"]})
