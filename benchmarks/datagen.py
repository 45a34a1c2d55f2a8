"""Generate realistic interaction rows (JSON lines) for the example DAG, the tests and the benchmarks.

    python benchmarks/datagen.py --count 1000 --invalid 7 --out example_dags/data/interactions.jsonl

Rows are deterministic for a given seed. Valid rows target the sandbox's seeded queues and skills; invalid rows
break one documented rule each (and one line is not JSON at all), so a run shows how bad input is reported.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow_provider_genesys.sandbox.seeds import (
    QUEUE_BILLING_ID,
    QUEUE_SALES_ID,
    QUEUE_SUPPORT_ID,
    SKILL_BILLING_ID,
    SKILL_ENGLISH_ID,
    SKILL_SPANISH_ID,
)

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--invalid", type=int, default=0)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as handle:
        for line in rows(args.count, invalid=args.invalid, seed=args.seed):
            handle.write(line + "\n")
    print(f"wrote {args.count} rows ({args.invalid} invalid) to {args.out}")


if __name__ == "__main__":
    main()
