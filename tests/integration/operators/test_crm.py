"""GenesysCrmSyncOperator: record inputs, payloads, and real deliveries to the sandbox's CRM receiver."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import requests
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_genesys.exceptions import CrmSyncError
from airflow_provider_genesys.operators.crm import CRM_AUDIT_XCOM_KEY, GenesysCrmSyncOperator
from airflow_provider_genesys.sync.records import build_payload, load_records, webhook_id_for
from genesys_sandbox import SandboxServer
from genesys_sandbox.faults import FaultConfig
from tests.support.canaries import CANARY_CRM_SECRET, assert_no_secret

QUEUE = "7b4c8a52-6f0e-4c53-9d55-0f3e1f2a9b10"


def item(n: int, outcome: str = "created", **extra: Any) -> dict[str, Any]:
    return {
        "position": n,
        "external_id": f"CASE-{n}",
        "key": f"{n:064x}",
        "outcome": outcome,
        "interaction_id": f"00000000-0000-4000-8000-{n:012d}" if outcome in ("created", "replayed") else None,
        **extra,
    }


def crm_admin(server: SandboxServer) -> dict[str, Any]:
    return requests.get(f"{server.base_url}/_sandbox/crm", timeout=5).json()


def set_crm(server: SandboxServer, **settings: Any) -> None:
    requests.put(f"{server.base_url}/_sandbox/crm/mode", json=settings, timeout=5).raise_for_status()


# -- inputs and payloads (no I/O) -----------------------------------------------------------------------------


def test_record_inputs(tmp_path: Path) -> None:
    items = [item(0), item(1, "invalid")]
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(i) for i in items) + "\n\n")
    assert load_records(items) == items
    assert load_records(items[0]) == [items[0]]
    assert load_records({"total": 2, "items": items}) == items
    assert load_records({"total": 2, "items": None, "items_path": str(path)}) == items
    assert load_records(str(path)) == items
    assert load_records(json.dumps({"items": items})) == items
    assert load_records(repr(items)) == items  # a Jinja-rendered XCom without native rendering
    assert load_records([{"total": 1, "items": [items[0]]}, {"total": 1, "items": [items[1]]}]) == items
    assert load_records({"total": 0, "items": []}) == []
    assert load_records(None) == []
    with pytest.raises(ValueError, match="not a JSON line"):
        path.write_text("{nope\n")
        load_records(str(path))


def test_record_inputs_from_the_bulk_operators_models(tmp_path: Path) -> None:
    from airflow_provider_genesys.models.audit import ItemResult, RunSummary

    results = [ItemResult(**item(0)), ItemResult(**item(1, "invalid"))]
    summary = RunSummary(
        total=2, valid=1, invalid=1, created=1, replayed=0, failed=0, validation_pass_rate=0.5, items=results
    )
    loaded = load_records(summary)
    assert [r["outcome"] for r in loaded] == ["created", "invalid"] and loaded[0]["key"] == item(0)["key"]
    path = tmp_path / "items.jsonl"
    path.write_text("".join(r.to_json_line() + "\n" for r in results))
    on_disk = summary.model_copy(update={"items": None, "items_path": str(path)})
    assert load_records(on_disk.to_xcom()) == loaded


def test_payload_without_queue_and_with_nested_queue_and_fields() -> None:
    fields = {"case_id": "external_id", "external_id": None, "priority": "routing.priority", "x": "missing.path"}
    bare = build_payload(item(1), fields=fields, now="NOW")
    assert bare["queue_id"] is None and bare["type"] is None and bare["kind"] == "interaction"
    assert bare["timestamp"] == "NOW" and bare["outcome"] == "created" and bare["idempotency_key"] == f"{1:064x}"
    assert bare["case_id"] == "CASE-1" and "external_id" not in bare and bare["x"] is None
    routed = build_payload(
        item(2, interaction_type="chat", routing={"priority": 5, "queue": {"id": QUEUE}}, timestamp="T"),
        fields=fields,
        now="NOW",
    )
    assert (routed["queue_id"], routed["type"], routed["priority"], routed["timestamp"]) == (QUEUE, "chat", 5, "T")


def test_a_record_as_genesys_returned_it() -> None:
    record = {"id": "i-9", "type": "voice", "routing": {"priority": 1, "queue": {"id": QUEUE}}, "createTime": "T"}
    [loaded] = load_records(record)
    payload = build_payload(loaded, fields=None, now="NOW")
    assert payload["interaction_id"] == "i-9" and payload["queue_id"] == QUEUE and payload["timestamp"] == "T"
    assert payload["idempotency_key"] is None  # no key in a bare record: webhook-id derives from the id


def test_webhook_id_is_the_idempotency_key_or_derived_from_the_interaction() -> None:
    assert webhook_id_for({"idempotency_key": "abc"}) == "abc"
    derived = webhook_id_for({"interaction_id": "i-1"})
    assert derived == webhook_id_for({"interaction_id": "i-1"}) and len(derived) == 64


def test_templated_fields() -> None:
    assert set(GenesysCrmSyncOperator.template_fields) >= {"records", "crm_conn_id", "fields"}


# -- real deliveries ------------------------------------------------------------------------------------------


def test_sync_delivers_each_created_record_once_and_skips_the_rest(
    crm_sandbox: SandboxServer, make_conn, make_context, caplog, capsys
) -> None:
    caplog.set_level(logging.DEBUG)
    records = {
        "total": 5,
        "items": [item(0), item(1, "replayed"), item(2, "invalid"), item(3, "failed"), item(0)],
    }
    context = make_context()
    op = GenesysCrmSyncOperator(task_id="crm_sync", records=records, crm_conn_id=make_conn(crm_sandbox.base_url))
    summary = op.execute(context)

    assert {k: summary[k] for k in ("total", "deliverable", "delivered", "accepted", "failed", "skipped")} == {
        "total": 5,
        "deliverable": 2,
        "delivered": 2,
        "accepted": 0,
        "failed": 0,
        "skipped": 2,
    }
    assert summary["skipped_by_outcome"] == {"invalid": 1, "failed": 1}
    assert summary["duplicates_in_input"] == 1
    assert [r["state"] for r in summary["receipts"]] == ["delivered", "delivered"]

    admin = crm_admin(crm_sandbox)
    assert admin["totals"]["stored"] == 2 and admin["totals"]["rejected"] == 0
    stored = {s["webhook_id"]: s["payload"] for s in admin["stored"]}
    assert stored[f"{1:064x}"]["outcome"] == "replayed"
    assert stored[f"{0:064x}"]["queue_id"] is None  # no queue: synced all the same

    audits = context["ti"].xcom[CRM_AUDIT_XCOM_KEY]
    assert [a["outcome"] for a in audits] == ["delivered", "delivered"]
    assert audits[0]["dag_id"] == "crm_dag" and audits[0]["webhook_id"] == audits[0]["idempotency_key"]
    out = capsys.readouterr().out
    decoder = json.JSONDecoder()
    logged = [decoder.raw_decode(line[line.index("{") :])[0] for line in out.splitlines() if '"kind":"crm' in line]
    assert [entry["webhook_id"] for entry in logged] == [a["webhook_id"] for a in audits]
    assert len(logged) == 2
    assert_no_secret(out, caplog.text, json.dumps(context["ti"].xcom), json.dumps(summary))


def test_wrong_secret_is_rejected_and_reported_clearly(
    crm_sandbox: SandboxServer, make_conn, make_context, caplog, capsys
) -> None:
    caplog.set_level(logging.DEBUG)
    conn_id = make_conn(crm_sandbox.base_url, secret=CANARY_CRM_SECRET.replace("Y2Fu", "ZG9n"))
    context = make_context()
    op = GenesysCrmSyncOperator(task_id="crm_sync", records=[item(1), item(2)], crm_conn_id=conn_id)
    with pytest.raises(AirflowFailException) as caught:
        op.execute(context)
    message = str(caught.value)
    assert "2 of 2 CRM deliveries failed" in message
    assert "external_id=CASE-1" in message and "external_id=CASE-2" in message
    assert "HTTP 401" in message and "signature" in message
    assert crm_admin(crm_sandbox)["totals"] == {
        "stored": 0,
        "deliveries": 0,
        "duplicates": 0,
        "rejected": 2,
        "failed": 0,
    }
    audits = context["ti"].xcom[CRM_AUDIT_XCOM_KEY]
    assert [a["http_status"] for a in audits] == [401, 401]
    wrong = CANARY_CRM_SECRET.replace("Y2Fu", "ZG9n")
    for text in (message, capsys.readouterr().out, caplog.text, json.dumps(context["ti"].xcom)):
        assert wrong not in text and wrong.removeprefix("whsec_") not in text


def test_tampered_body_missing_signature_and_stale_timestamp_are_rejected(
    crm_sandbox: SandboxServer, make_conn
) -> None:
    from datetime import datetime, timedelta, timezone

    from airflow_provider_genesys.hooks.crm import CrmWebhookHook

    hook = CrmWebhookHook(make_conn(crm_sandbox.base_url))
    url = hook.settings.url
    body = json.dumps({"interaction_id": "i-1"})

    def post(data: str, headers: dict[str, str]) -> requests.Response:
        return requests.post(url, data=data, headers={"Content-Type": "application/json", **headers}, timeout=5)

    tampered = post(body.replace("i-1", "i-2"), hook.sign(body, webhook_id="w-1"))
    assert (tampered.status_code, tampered.json()["code"]) == (401, "webhook.signature.invalid")
    missing = post(body, {})
    assert (missing.status_code, missing.json()["code"]) == (401, "webhook.signature.missing")
    stale = post(body, hook.sign(body, webhook_id="w-1", timestamp=datetime.now(timezone.utc) - timedelta(minutes=6)))
    assert (stale.status_code, stale.json()["code"]) == (401, "webhook.timestamp.out.of.tolerance")
    future = post(body, hook.sign(body, webhook_id="w-1", timestamp=datetime.now(timezone.utc) + timedelta(minutes=6)))
    assert future.status_code == 401
    garbled = post(body, {**hook.sign(body, webhook_id="w-1"), "webhook-signature": "v1"})
    assert garbled.status_code == 401
    fresh = post(body, hook.sign(body, webhook_id="w-1", timestamp=datetime.now(timezone.utc) - timedelta(minutes=4)))
    assert fresh.status_code == 201
    admin = crm_admin(crm_sandbox)
    assert admin["totals"]["stored"] == 1 and admin["totals"]["rejected"] == 5


def test_redelivery_after_a_dropped_response_stores_nothing_new(
    crm_sandbox: SandboxServer, make_conn, make_context
) -> None:
    set_crm(crm_sandbox, drop_next=1)
    conn_id = make_conn(crm_sandbox.base_url)
    op = GenesysCrmSyncOperator(task_id="crm_sync", records=[item(1)], crm_conn_id=conn_id)
    op.hook._sleep = lambda _: None
    receipt = op.execute(make_context())["receipts"][0]
    assert (receipt["state"], receipt["attempts"], receipt["duplicate"]) == ("delivered", 2, True)
    admin = crm_admin(crm_sandbox)
    assert admin["totals"]["stored"] == 1 and admin["counts"] == {f"{1:064x}": 2}

    # A retry of the task (XCom cleared, nothing remembered) resends; the CRM's dedupe makes it harmless.
    retry = GenesysCrmSyncOperator(task_id="crm_sync", records=[item(1), item(2)], crm_conn_id=conn_id)
    summary = retry.execute(make_context(try_number=2))
    assert [r["duplicate"] for r in summary["receipts"]] == [True, False]
    admin = crm_admin(crm_sandbox)
    assert admin["totals"]["stored"] == 2 and admin["counts"][f"{1:064x}"] == 3


def test_gateway_errors_on_the_crm_are_retried(crm_sandbox: SandboxServer, make_conn, make_context) -> None:
    crm_sandbox.state.faults.replace(FaultConfig(route_prefix="/crm/", fail_next=[503, 502]))
    op = GenesysCrmSyncOperator(task_id="crm_sync", records=item(1), crm_conn_id=make_conn(crm_sandbox.base_url))
    op.hook._sleep = lambda _: None
    receipt = op.execute(make_context())["receipts"][0]
    assert (receipt["state"], receipt["attempts"]) == ("delivered", 3)


def test_crm_500s_fail_the_task_retryably_listing_records(crm_sandbox: SandboxServer, make_conn, make_context) -> None:
    set_crm(crm_sandbox, failure_rate=1.0)
    op = GenesysCrmSyncOperator(
        task_id="crm_sync", records=[item(1), item(2)], crm_conn_id=make_conn(crm_sandbox.base_url)
    )
    with pytest.raises(CrmSyncError) as caught:
        op.execute(make_context())
    assert not caught.value.permanent and len(caught.value.failed) == 2
    assert "HTTP 500" in str(caught.value) and "CASE-2" in str(caught.value)
    set_crm(crm_sandbox, failure_rate=0.0)
    assert op.execute(make_context(try_number=2))["delivered"] == 2  # the retry of the task succeeds


def test_async_mode_returns_accepted_receipts_with_absolute_status_urls(
    crm_sandbox: SandboxServer, make_conn, make_context
) -> None:
    set_crm(crm_sandbox, mode="async", async_delay_seconds=5)
    op = GenesysCrmSyncOperator(
        task_id="crm_sync", records=[item(1), item(2)], crm_conn_id=make_conn(crm_sandbox.base_url)
    )
    receipts = op.execute(make_context())["receipts"]
    assert {r["state"] for r in receipts} == {"accepted"}
    assert receipts[0]["status_url"] == f"{crm_sandbox.base_url}/crm/status/{1:064x}"
    status = requests.get(receipts[0]["status_url"], timeout=5).json()
    assert status["status"] == "pending"
    # A redelivery while pending answers the same 202 and stores nothing new.
    again = op.execute(make_context(try_number=2))["receipts"]
    assert [r["status_url"] for r in again] == [r["status_url"] for r in receipts]
    assert crm_admin(crm_sandbox)["totals"]["stored"] == 2


def test_bad_connection_fails_before_sending(make_conn, make_context) -> None:
    from airflow_provider_genesys.exceptions import GenesysConfigurationError

    op = GenesysCrmSyncOperator(
        task_id="t", records=[item(1)], crm_conn_id=make_conn("http://127.0.0.1:9", secret=None)
    )
    with pytest.raises(GenesysConfigurationError):
        op.execute(make_context())
