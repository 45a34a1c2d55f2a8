"""The CRM sync reads the queue of a record as Genesys returns it (a ``Workitem`` holds ``queue {id}``)."""

from __future__ import annotations

from airflow_provider_genesys.sync.records import build_payload

QUEUE = "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f601"


def test_a_workitem_record_gives_its_queue_reference_as_queue_id() -> None:
    workitem = {
        "id": "w-1",
        "type": {"id": "t-1", "name": "Case"},
        "queue": {"id": QUEUE, "selfUri": f"/api/v2/routing/queues/{QUEUE}"},
        "externalTag": "key-1",
        "dateCreated": "2026-05-01T00:00:00.000Z",
    }

    payload = build_payload(workitem, fields=None, now="2026-05-01T00:00:01.000Z")

    assert (payload["interaction_id"], payload["queue_id"]) == ("w-1", QUEUE)
