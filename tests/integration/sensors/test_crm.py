"""GenesysCrmSyncSensor and CrmDeliveryStatusTrigger against the sandbox's asynchronous CRM."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
import requests
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred
from airflow.sdk.module_loading import import_string
from airflow.triggers.base import TriggerEvent

from airflow_provider_genesys.operators.crm import GenesysCrmSyncOperator
from airflow_provider_genesys.sensors.crm import GenesysCrmSyncSensor
from airflow_provider_genesys.sync.records import accepted_deliveries
from airflow_provider_genesys.triggers import crm as trigger_module
from airflow_provider_genesys.triggers.crm import CrmDeliveryStatusTrigger
from genesys_sandbox import SandboxServer
from genesys_sandbox.faults import FaultConfig
from tests.support.canaries import CANARY_CRM_SECRET, assert_no_secret


def item(n: int) -> dict[str, Any]:
    return {
        "position": n,
        "external_id": f"CASE-{n}",
        "key": f"key-{n}",
        "outcome": "created",
        "interaction_id": f"i-{n}",
    }


def set_crm(server: SandboxServer, **settings: Any) -> None:
    requests.put(f"{server.base_url}/_sandbox/crm/mode", json=settings, timeout=5).raise_for_status()


def sync(server: SandboxServer, conn_id: str, context: dict[str, Any], n: int = 2) -> dict[str, Any]:
    op = GenesysCrmSyncOperator(task_id="crm_sync", records=[item(i) for i in range(n)], crm_conn_id=conn_id)
    return op.execute(context)


async def first_event(trigger: CrmDeliveryStatusTrigger, timeout: float = 10) -> TriggerEvent:
    async def run() -> TriggerEvent:
        async for event in trigger.run():
            return event
        raise AssertionError("the trigger ended without an event")

    return await asyncio.wait_for(run(), timeout)


def rebuild(trigger: CrmDeliveryStatusTrigger) -> CrmDeliveryStatusTrigger:
    """What the triggerer does: serialise, store as JSON, import the class path, construct."""
    classpath, kwargs = trigger.serialize()
    kwargs = json.loads(json.dumps(kwargs))
    return import_string(classpath)(**kwargs)


def test_accepted_deliveries_reads_summaries_lists_and_strings() -> None:
    receipts = [
        {"webhook_id": "a", "state": "accepted", "status_url": "http://x/a"},
        {"webhook_id": "b", "state": "delivered", "status_url": None},
        {"webhook_id": "c", "state": "failed"},
    ]
    expected = ["a"]
    assert [r["webhook_id"] for r in accepted_deliveries({"receipts": receipts})] == expected
    assert [r["webhook_id"] for r in accepted_deliveries(receipts)] == expected
    assert [r["webhook_id"] for r in accepted_deliveries(json.dumps({"receipts": receipts}))] == expected
    assert accepted_deliveries(None) == []


def test_sensor_waits_until_every_accepted_delivery_is_done(
    crm_sandbox: SandboxServer, make_conn, make_context
) -> None:
    set_crm(crm_sandbox, mode="async", async_delay_seconds=0.4)
    conn_id = make_conn(crm_sandbox.base_url)
    summary = sync(crm_sandbox, conn_id, make_context())
    assert summary["accepted"] == 2
    sensor = GenesysCrmSyncSensor(
        task_id="crm_wait", receipts=summary, crm_conn_id=conn_id, poke_interval=0.1, timeout=10
    )
    result = sensor.execute(make_context("crm_wait"))
    assert result == {"done": ["key-0", "key-1"], "count": 2}


def test_sensor_fails_naming_records_on_a_reported_failure(crm_sandbox: SandboxServer, make_conn, make_context) -> None:
    set_crm(crm_sandbox, mode="async", async_delay_seconds=0.1, failure_rate=1.0)
    conn_id = make_conn(crm_sandbox.base_url)
    summary = sync(crm_sandbox, conn_id, make_context())
    sensor = GenesysCrmSyncSensor(
        task_id="crm_wait", receipts=summary["receipts"], crm_conn_id=conn_id, poke_interval=0.1, timeout=10
    )
    with pytest.raises(AirflowFailException) as caught:
        sensor.execute(make_context("crm_wait"))
    message = str(caught.value)
    assert "2 delivery failure(s)" in message and "external_id=CASE-0" in message and "webhook_id=key-1" in message
    assert "failure injection" in message


def test_sensor_with_nothing_accepted_is_done_at_once(make_conn, make_context) -> None:
    receipts = [{"webhook_id": "a", "state": "delivered", "status_url": None}]
    for deferrable in (False, True):
        sensor = GenesysCrmSyncSensor(
            task_id="w", receipts=receipts, crm_conn_id=make_conn("http://127.0.0.1:9"), deferrable=deferrable
        )
        assert sensor.execute(make_context("w")) == {"done": [], "count": 0}


def test_deferrable_sensor_defers_and_the_trigger_round_trip_completes(
    crm_sandbox: SandboxServer, make_conn, make_context
) -> None:
    set_crm(crm_sandbox, mode="async", async_delay_seconds=0.8)
    conn_id = make_conn(crm_sandbox.base_url)
    summary = sync(crm_sandbox, conn_id, make_context(), n=3)
    sensor = GenesysCrmSyncSensor(
        task_id="crm_wait", receipts=summary, crm_conn_id=conn_id, poke_interval=0.2, timeout=30, deferrable=True
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(make_context("crm_wait"))
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout is not None and deferred.value.timeout.total_seconds() == 30
    trigger = deferred.value.trigger
    assert isinstance(trigger, CrmDeliveryStatusTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_genesys.triggers.crm.CrmDeliveryStatusTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs and len(kwargs["pending"]) == 3
    assert_no_secret(json.dumps(kwargs))

    event = asyncio.run(first_event(rebuild(trigger)))
    assert json.loads(json.dumps(event.payload)) == event.payload
    assert event.payload["status"] == "success"
    assert sorted(event.payload["done"]) == ["key-0", "key-1", "key-2"]
    # The task resumes in a fresh operator instance (as it would on a worker).
    resumed = GenesysCrmSyncSensor(task_id="crm_wait", receipts=summary, crm_conn_id=conn_id, deferrable=True)
    assert resumed.execute_complete(make_context("crm_wait"), event.payload) == {
        "done": ["key-0", "key-1", "key-2"],
        "count": 3,
    }


def test_trigger_reports_failures_and_the_sensor_names_them(
    crm_sandbox: SandboxServer, make_conn, make_context
) -> None:
    set_crm(crm_sandbox, mode="async", async_delay_seconds=0.2, failure_rate=1.0)
    conn_id = make_conn(crm_sandbox.base_url)
    summary = sync(crm_sandbox, conn_id, make_context(), n=1)
    pending = accepted_deliveries(summary)
    event = asyncio.run(first_event(CrmDeliveryStatusTrigger(crm_conn_id=conn_id, pending=pending, poke_interval=0.1)))
    assert event.payload["status"] == "failed"
    assert [f["webhook_id"] for f in event.payload["failed"]] == ["key-0"]
    sensor = GenesysCrmSyncSensor(task_id="crm_wait", receipts=summary, crm_conn_id=conn_id, deferrable=True)
    with pytest.raises(AirflowFailException, match="external_id=CASE-0"):
        sensor.execute_complete(make_context("crm_wait"), event.payload)


def test_trigger_rides_out_transient_errors(crm_sandbox: SandboxServer, make_conn, make_context) -> None:
    set_crm(crm_sandbox, mode="async", async_delay_seconds=0.0)
    conn_id = make_conn(crm_sandbox.base_url)
    summary = sync(crm_sandbox, conn_id, make_context(), n=1)
    crm_sandbox.state.faults.replace(FaultConfig(route_prefix="/crm/status/", fail_next=[503, 429]))
    trigger = CrmDeliveryStatusTrigger(crm_conn_id=conn_id, pending=accepted_deliveries(summary), poke_interval=0.05)
    event = asyncio.run(first_event(trigger))
    assert event.payload["status"] == "success"


def test_trigger_with_an_unusable_connection_yields_an_error_event(make_conn) -> None:
    conn_id = make_conn("http://127.0.0.1:9", secret=None)
    pending = [{"webhook_id": "a", "status_url": "/crm/status/a"}]
    event = asyncio.run(first_event(CrmDeliveryStatusTrigger(crm_conn_id=conn_id, pending=pending)))
    assert event.payload["status"] == "error" and "signing_secret" in event.payload["message"]
    sensor = GenesysCrmSyncSensor(task_id="w", receipts=[], crm_conn_id=conn_id)
    with pytest.raises(Exception, match="signing_secret"):
        sensor.execute_complete({}, event.payload)


def test_cancelled_trigger_closes_its_session(
    crm_sandbox: SandboxServer, make_conn, make_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_crm(crm_sandbox, mode="async", async_delay_seconds=60)
    conn_id = make_conn(crm_sandbox.base_url)
    summary = sync(crm_sandbox, conn_id, make_context(), n=1)
    sessions: list[aiohttp.ClientSession] = []

    class RecordingSession(aiohttp.ClientSession):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            sessions.append(self)

    monkeypatch.setattr(trigger_module.aiohttp, "ClientSession", RecordingSession)
    trigger = CrmDeliveryStatusTrigger(crm_conn_id=conn_id, pending=accepted_deliveries(summary), poke_interval=30)

    async def scenario() -> None:
        task = asyncio.ensure_future(first_event(trigger, timeout=60))
        for _ in range(250):  # wait for the session to open, then for the first poll round to end
            await asyncio.sleep(0.02)
            if sessions:
                break
        await asyncio.sleep(0.2)
        assert not task.done() and not sessions[0].closed
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await trigger.cleanup()

    asyncio.run(scenario())
    assert len(sessions) == 1 and sessions[0].closed


def test_canary_secret_never_reaches_trigger_payloads(make_conn) -> None:
    trigger = CrmDeliveryStatusTrigger(crm_conn_id=make_conn("http://x"), pending=[])
    assert CANARY_CRM_SECRET not in json.dumps(trigger.serialize())
