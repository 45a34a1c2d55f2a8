"""Scenario 9: webhooks: tampering, wrong secrets, stale timestamps, replays."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from tests.chaos.harness import (
    DAG_ID,
    Evidence,
    ScenarioResult,
    crm_connection_env,
    sandbox,
)
from tests.support.connections import environment
from tests.support.context import FakeTaskInstance, task_context

if TYPE_CHECKING:
    from tests.chaos.matrix import Matrix


def webhook_attacks(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """Signed deliveries to the CRM receiver, each attacked one way: rejected (401) or deduplicated (200).

    Attacks: a flipped byte in the body, an added field, a signature made with another secret, a signature of
    another webhook-id, a timestamp 6 minutes old or ahead, missing or malformed signature headers, and replays
    of a stored webhook-id (same body, or another body, freshly and validly signed). Then the CRM sync operator
    delivers with dropped answers and runs again (a retry): every webhook-id is stored exactly once.
    """
    import json

    from standardwebhooks import Webhook

    from airflow_provider_genesys.operators.crm import GenesysCrmSyncOperator

    canaries = matrix.canaries
    count = 20 if matrix.short else 150
    rng = random.Random(9)
    good = Webhook(canaries.crm_secret)
    other = Webhook("whsec_" + __import__("base64").b64encode(b"another-crm-secret-987654").decode())
    outcomes: dict[str, dict[str, int]] = {}
    with sandbox(matrix.canaries, evidence) as box:
        http = box.http
        url = f"{box.base_url}/crm/interactions"

        def post(attack: str, body: str, headers: dict[str, str], expect: set[int]) -> None:
            response = http.post(
                url, data=body.encode(), headers={"Content-Type": "application/json", **headers}, timeout=10
            )
            counts = outcomes.setdefault(attack, {})
            counts[str(response.status_code)] = counts.get(str(response.status_code), 0) + 1
            result.check(response.status_code in expect, f"{attack}: HTTP {response.status_code} {response.text[:120]}")
            evidence.add(f"crm answer {attack}", response.text)

        def signed(signer: Webhook, webhook_id: str, body: str, when: Any = None) -> dict[str, str]:
            from datetime import datetime, timezone

            moment = when or datetime.now(timezone.utc)
            return {
                "webhook-id": webhook_id,
                "webhook-timestamp": str(int(moment.timestamp())),
                "webhook-signature": signer.sign(webhook_id, moment, body),
            }

        from datetime import datetime, timedelta, timezone

        for number in range(count):
            webhook_id = f"msg_chaos_{number:05d}"
            body = json.dumps({"interaction_id": f"I-{number}", "external_id": f"CASE-{number}"}, sort_keys=True)
            tampered = body[: (cut := rng.randrange(1, len(body) - 1))] + chr(ord(body[cut]) ^ 1) + body[cut + 1 :]
            post("tampered body (one byte)", tampered, signed(good, webhook_id, body), {400, 401})
            post("tampered body (added field)", body[:-1] + ', "admin": true}', signed(good, webhook_id, body), {401})
            post("wrong secret", body, signed(other, webhook_id, body), {401})
            post(
                "signature of another webhook-id",
                body,
                {**signed(good, webhook_id + "x", body), "webhook-id": webhook_id},
                {401},
            )
            stale = datetime.now(timezone.utc) - timedelta(minutes=6)
            post("stale timestamp (6 min old)", body, signed(good, webhook_id, body, stale), {401})
            future = datetime.now(timezone.utc) + timedelta(minutes=6)
            post("timestamp 6 min ahead", body, signed(good, webhook_id, body, future), {401})
            headers = signed(good, webhook_id, body)
            missing = rng.choice(["webhook-id", "webhook-timestamp", "webhook-signature"])
            post("missing header", body, {k: v for k, v in headers.items() if k != missing}, {401})
            post(
                "malformed signature",
                body,
                {
                    **headers,
                    "webhook-signature": rng.choice(
                        ["v1,", "v1,@@@", "garbage", "v2," + headers["webhook-signature"].split(",", 1)[1]]
                    ),
                },
                {401},
            )
            post("valid delivery", body, signed(good, webhook_id, body), {200, 201})
            post("replay (same body, re-signed)", body, signed(good, webhook_id, body), {200})
            other_body = json.dumps({"interaction_id": "I-evil", "external_id": "CASE-evil"})
            post("replay (other body, validly signed)", other_body, signed(good, webhook_id, other_body), {200})
            post("replay (same signature again)", body, headers, {200})

        # the operator: dropped answers on the first try, then a retry of the task
        records = [
            {"interaction_id": f"OP-{n}", "key": f"op-key-{n:05d}", "outcome": "created", "position": n}
            for n in range(count)
        ]
        box.admin("PUT", "crm/mode", json={"drop_next": max(2, count // 10)})
        with environment(**crm_connection_env("chaos_crm9", box.base_url, canaries.crm_secret)):
            for try_number in (1, 2):
                ti = FakeTaskInstance(
                    dag_id=DAG_ID, task_id="crm_sync", run_id="manual__webhooks", try_number=try_number
                )
                try:
                    evidence.add(
                        "crm sync",
                        GenesysCrmSyncOperator(task_id="crm_sync", records=records, crm_conn_id="chaos_crm9").execute(
                            task_context(ti)
                        ),
                    )
                except Exception as error:
                    evidence.add_exception("crm sync", error)
                evidence.add("crm sync xcom", ti.xcom)
        crm = box.admin("GET", "crm")
        stored = {delivery["webhook_id"]: delivery for delivery in crm["stored"]}
        expected = {f"msg_chaos_{n:05d}" for n in range(count)} | {f"op-key-{n:05d}" for n in range(count)}
        result.lost += len(expected - set(stored))
        result.duplicates += len(set(stored) - expected)
        tampered_stored = [
            d for d in crm["stored"] if d["payload"].get("interaction_id") == "I-evil" or "admin" in d["payload"]
        ]
        result.duplicates += len(tampered_stored)
        result.check(not tampered_stored, f"{len(tampered_stored)} tampered or replayed bodies were stored")
        result.check(crm["totals"]["stored"] == len(expected), f"stored {crm['totals']['stored']} of {len(expected)}")
    result.trials = sum(sum(counts.values()) for counts in outcomes.values()) + 2
    result.items = len(expected)
    result.details["answers_by_attack"] = outcomes
    result.details["crm_totals"] = crm["totals"]
    result.notes.append("12 deliveries per webhook-id (8 attacks, 1 valid, 3 replays) + operator retry after drops")
