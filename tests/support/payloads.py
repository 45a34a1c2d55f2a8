"""Valid payloads of every kind, generated interaction rows (deterministic per seed), and JSON-lines files."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from genesys_sandbox.seeds import (
    QUEUE_BILLING_ID,
    QUEUE_SALES_ID,
    QUEUE_SUPPORT_ID,
    SKILL_BILLING_ID,
    SKILL_ENGLISH_ID,
    SKILL_SPANISH_ID,
    WORKTYPE_ID,
)

PAYLOADS: dict[str, dict[str, Any]] = {
    "workitem": {
        "name": "Refund CASE-1",
        "typeId": WORKTYPE_ID,
        "queueId": QUEUE_SUPPORT_ID,
        "skillIds": [SKILL_ENGLISH_ID],
        "priority": 5,
    },
    "callback": {
        "callbackNumbers": ["+15551230001"],
        "routingData": {"queueId": QUEUE_SUPPORT_ID, "skillIds": [SKILL_ENGLISH_ID]},
        "data": {"caseId": "CASE-1"},
    },
    "email": {
        "provider": "Acme CRM",
        "queueId": QUEUE_SUPPORT_ID,
        "skillIds": [SKILL_ENGLISH_ID],
        "fromAddress": "ada@example.com",
        "toAddress": "support@example.com",
        "subject": "Refund",
        "textBody": "Please refund.",
        "attributes": {"caseId": "CASE-1"},
    },
    "interaction": {
        "type": "chat",
        "routing": {
            "priority": 5,
            "queue": {"id": QUEUE_SUPPORT_ID},
            "skills": [{"id": SKILL_ENGLISH_ID, "level": 2}],
        },
        "participants": [{"id": "0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c7d", "roles": ["initiator"]}],
    },
}


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


QUEUES = (QUEUE_SUPPORT_ID, QUEUE_SALES_ID, QUEUE_BILLING_ID)
SKILLS = (SKILL_ENGLISH_ID, SKILL_SPANISH_ID, SKILL_BILLING_ID)
TYPES = ("voice", "voice", "chat", "chat", "email", "sms", "video")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def valid_row(rng: random.Random, number: int) -> dict[str, Any]:
    """One valid row with an external id ``CASE-<number>``."""
    kind = rng.choice(TYPES)
    channel = f"+1555{rng.randrange(10**7):07d}" if kind in ("voice", "sms") else f"customer{number}@example.com"
    participants: list[dict[str, Any]] = [
        {"id": _uuid(rng), "roles": ["initiator", "customer"], "channel": {"id": channel}}
    ]
    if rng.random() < 0.2:
        participants.append({"id": _uuid(rng), "roles": ["agent"]})
    skills = [{"id": skill, "level": rng.choice((1, 2, 3, 4, 5))} for skill in rng.sample(SKILLS, rng.randint(0, 2))]
    return {
        "external_id": f"CASE-{number:06d}",
        "type": kind,
        "routing": {"priority": rng.randint(1, 100), "queue": {"id": rng.choice(QUEUES)}, "skills": skills},
        "participants": participants,
    }


def _break(row: dict[str, Any], how: int) -> dict[str, Any]:
    broken = json.loads(json.dumps(row))
    if how == 0:
        broken["participants"][0]["id"] = "not-a-uuid"
    elif how == 1:
        broken["routing"]["priority"] = 0
    elif how == 2:
        broken["participants"][0]["roles"] = ["customer"]  # nobody is the initiator
    elif how == 3:
        broken["type"] = "fax"
    elif how == 4:
        broken["routing"]["skills"] = [{"id": SKILL_ENGLISH_ID, "level": 9}]
    elif how == 5:
        broken["channelHint"] = "phone"  # not part of the contract
    else:
        broken["participants"][0]["roles"] = ["initiator", "initiator"]
    return broken


def rows(count: int, *, invalid: int = 0, seed: int = 20261128) -> Iterator[str]:
    """``count`` JSON lines; ``invalid`` of them spread through the file are broken (one is not JSON)."""
    rng = random.Random(seed)
    broken_at = set(random.Random(seed + 1).sample(range(count), invalid)) if invalid else set()
    for number, index in enumerate(range(count), start=1):
        row = valid_row(rng, number)
        if index in broken_at:
            how = len([b for b in broken_at if b < index])
            if how == invalid - 1 and invalid >= 8:
                yield '{"external_id": "CASE-TRUNCATED", "type": "voice", "routing": {'
                continue
            row = _break(row, how)
        yield json.dumps(row, separators=(",", ":"))


def interaction_items(count: int, *, seed: int = 20261128) -> list[tuple[str, dict[str, Any]]]:
    """``count`` valid generated rows as ``(external_id, body)`` (the body without ``external_id``)."""
    items = []
    for line in rows(count, seed=seed):
        data = json.loads(line)
        items.append((str(data.pop("external_id")), data))
    return items


def items_for(kind: str, count: int, *, seed: int = 7, prefix: str = "CASE") -> list[dict[str, Any]]:
    """``count`` valid items of ``kind``, each with its own ``external_id``."""
    if kind == "interaction":
        items = [json.loads(line) for line in rows(count, seed=seed)]
        for number, item in enumerate(items):
            item["external_id"] = f"{prefix}-{seed}-{number:06d}"
        return items
    rng = random.Random(seed)
    result = []
    for number in range(count):
        external_id = f"{prefix}-{kind[:2].upper()}-{seed}-{number:06d}"
        queue = rng.choice(QUEUES)
        if kind == "workitem":
            item: dict[str, Any] = {
                "name": f"Case {external_id}",
                "typeId": WORKTYPE_ID,
                "queueId": queue,
                "skillIds": [SKILL_ENGLISH_ID],
                "priority": rng.randint(1, 10),
                "description": "chaos matrix",
            }
        elif kind == "callback":
            item = {
                "callbackNumbers": [f"+1555{rng.randrange(10**7):07d}"],
                "routingData": {"queueId": queue, "skillIds": [SKILL_BILLING_ID], "priority": 3},
                "callbackUserName": "Ada Lovelace",
                "data": {"caseId": external_id},
            }
        elif kind == "email":
            item = {
                "provider": "Acme CRM",
                "queueId": queue,
                "toAddress": "support@example.com",
                "fromAddress": f"customer{number}@example.com",
                "subject": f"About {external_id}",
                "textBody": "Please call me back.",
                "attributes": {"caseId": external_id},
            }
        else:
            raise ValueError(f"no item generator for kind {kind!r}")
        result.append({"external_id": external_id, **item})
    return result


def write_jsonl(path: Path, lines: Iterable[Mapping[str, Any] | str]) -> Path:
    """Write JSON lines (dicts, or lines already serialised) to ``path``, streaming; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write((line if isinstance(line, str) else json.dumps(line, separators=(",", ":"))) + "\n")
    return path
