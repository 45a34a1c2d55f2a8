"""Routing lookups: queues and skills, one by id and paged lists."""

from __future__ import annotations

from genesys_sandbox import (
    QUEUE_BILLING_ID,
    QUEUE_SALES_ID,
    QUEUE_SUPPORT_ID,
    SKILL_ENGLISH_ID,
    SKILL_LEGACY_ID,
)
from tests.support.sandbox_client import SandboxClient


def test_queue_by_id(sandbox: SandboxClient) -> None:
    queue = sandbox.get(f"/api/v2/routing/queues/{QUEUE_SALES_ID}").json()
    assert queue["id"] == QUEUE_SALES_ID
    assert queue["name"] == "Sales"
    assert queue["selfUri"] == f"/api/v2/routing/queues/{QUEUE_SALES_ID}"


def test_queue_list_paging(sandbox: SandboxClient) -> None:
    page = sandbox.get("/api/v2/routing/queues", params={"pageSize": 2}).json()
    assert [q["name"] for q in page["entities"]] == ["Support", "Sales"]
    assert (page["total"], page["pageCount"], page["pageNumber"], page["pageSize"]) == (3, 2, 1, 2)
    assert page["nextUri"] and page["previousUri"] is None
    assert set(page) == {
        "entities",
        "pageSize",
        "pageNumber",
        "total",
        "pageCount",
        "firstUri",
        "nextUri",
        "previousUri",
        "lastUri",
        "selfUri",
    }
    last = sandbox.get(page["nextUri"]).json()
    assert [q["id"] for q in last["entities"]] == [QUEUE_BILLING_ID]
    assert last["nextUri"] is None


def test_queue_list_id_filter(sandbox: SandboxClient) -> None:
    page = sandbox.get("/api/v2/routing/queues", params=[("id", QUEUE_SUPPORT_ID), ("id", QUEUE_BILLING_ID)]).json()
    assert {q["id"] for q in page["entities"]} == {QUEUE_SUPPORT_ID, QUEUE_BILLING_ID}
    assert page["total"] == 2


def test_skills(sandbox: SandboxClient) -> None:
    assert sandbox.get(f"/api/v2/routing/skills/{SKILL_ENGLISH_ID}").json()["state"] == "active"
    assert sandbox.get(f"/api/v2/routing/skills/{SKILL_LEGACY_ID}").json()["state"] == "inactive"
    page = sandbox.get("/api/v2/routing/skills").json()
    assert page["total"] == 4
    assert page["pageSize"] == 25
