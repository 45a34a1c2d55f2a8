"""The verdict of a cluster run, computed from data only (no process, no HTTP): unit-tested on its own.

* which records a task instance must leave behind: one per *valid* input item, judged by the sandbox's own
  request models (written apart from the provider's, so a rule the provider gets wrong does not decide what is
  expected), keyed by the documented idempotency-key recipe;
* the tally of the sandbox's ledger against them: records, duplicates, lost items;
* the checks of the scenarios and the one-line summary.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from airflow_provider_genesys.creation.keys import derive_idempotency_key, item_identity
from genesys_sandbox.contract import InteractionRequest
from genesys_sandbox.platform import CreateCallbackCommand, CreateEmailRequest, WorkitemCreate

#: The request model the sandbox checks each kind's body with.
SANDBOX_MODELS: dict[str, type[BaseModel]] = {
    "interaction": InteractionRequest,
    "workitem": WorkitemCreate,
    "callback": CreateCallbackCommand,
    "email": CreateEmailRequest,
}


@dataclass(frozen=True)
class Check:
    """One thing the run must show: ``passed`` or not, and what was seen."""

    name: str
    passed: bool
    detail: str = ""

    def render(self) -> str:
        return f"{'ok  ' if self.passed else 'FAIL'} {self.name}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class ExpectedRecords:
    """The records one task instance must have created: one per external id, under its idempotency key."""

    dag_id: str
    run_id: str
    task_id: str
    kind: str
    external_ids: tuple[str, ...]
    map_index: int = -1

    def keys(self) -> dict[str, str]:
        """``{idempotency key: external id}``."""
        return {
            derive_idempotency_key(
                dag_id=self.dag_id,
                task_id=self.task_id,
                run_id=self.run_id,
                map_index=self.map_index,
                kind=self.kind,
                item=item_identity(external_id=external_id, payload=None),
            ): external_id
            for external_id in self.external_ids
        }


def valid_external_ids(kind: str, rows: Iterable[str | Mapping[str, Any]], external_id_field: str) -> list[str]:
    """The external ids of the rows the sandbox accepts as ``kind`` bodies, in input order.

    A row is a dict or one line of JSON. Malformed lines, rows without an id, rows whose body (without the id
    field) breaks the sandbox's model, and every row of an id that occurs more than once are left out.
    """
    model = SANDBOX_MODELS[kind]
    parsed: list[Mapping[str, Any] | None] = []
    for row in rows:
        value: Any = row
        if isinstance(row, str):
            if not row.strip():
                continue
            try:
                value = json.loads(row)
            except json.JSONDecodeError:
                value = None
        parsed.append(value if isinstance(value, Mapping) else None)
    counts = Counter(str(entry.get(external_id_field)) for entry in parsed if entry is not None)
    valid = []
    for entry in parsed:
        if entry is None or not entry.get(external_id_field):
            continue
        external_id = str(entry[external_id_field])
        body = {name: value for name, value in entry.items() if name != external_id_field}
        try:
            model.model_validate(body)
        except ValidationError:
            continue
        if counts[external_id] == 1:
            valid.append(external_id)
    return valid


@dataclass(frozen=True)
class LedgerTally:
    """The sandbox's records against the expected ones.

    ``duplicates`` counts every record beyond one per expected item: a second record under an expected key, and
    any record whose key no expected item has. ``lost`` lists the expected items with no record.
    """

    created: int
    duplicates: int
    lost: tuple[str, ...]
    unexpected: tuple[str, ...] = ()
    repeated_keys: tuple[str, ...] = ()
    lost_by_task: Mapping[str, int] = field(default_factory=dict)


def tally_ledger(ledger: Mapping[str, Any], expected: Sequence[ExpectedRecords]) -> LedgerTally:
    """Compare ``GET /_sandbox/ledger`` with the expected records of every task instance of the run."""
    wanted: dict[str, tuple[str, str]] = {}
    for records in expected:
        for key, external_id in records.keys().items():
            wanted[key] = (f"{records.dag_id}.{records.task_id}", external_id)
    per_key = Counter(str(record.get("idempotencyKey")) for record in ledger.get("records", []))
    created = sum(per_key.values())
    found = [key for key in wanted if per_key.get(key, 0) >= 1]
    lost = [key for key in wanted if per_key.get(key, 0) == 0]
    lost_by_task = Counter(wanted[key][0] for key in lost)
    # the sandbox also counts creates per key itself; a second create of a key shows there even if only one
    # record was kept, so the larger of the two counts is taken
    sandbox_extra = int(ledger.get("duplicates", 0) or 0)
    duplicates = max(created - len(found), sandbox_extra)
    return LedgerTally(
        created=created,
        duplicates=duplicates,
        lost=tuple(f"{wanted[key][0]}:{wanted[key][1]}" for key in lost),
        unexpected=tuple(sorted(key for key in per_key if key not in wanted)),
        repeated_keys=tuple(sorted(key for key, count in per_key.items() if count > 1)),
        lost_by_task=dict(lost_by_task),
    )


def ledger_checks(tally: LedgerTally | None) -> list[Check]:
    """The ledger's verdict as checks: read at all, nothing beyond one record per item, nothing lost."""
    if tally is None:
        return [Check("ledger: read", False, "the run ended before the ledger was read")]
    lost = ", ".join(f"{task}: {count}" for task, count in sorted(tally.lost_by_task.items()))
    checks = [
        Check("ledger: one record per expected item", tally.duplicates == 0, f"{tally.duplicates} beyond one"),
        Check("ledger: no expected item without a record", not tally.lost, f"{len(tally.lost)} lost {lost}".strip()),
    ]
    if tally.unexpected:
        checks.append(Check("ledger: no record under a key no item has", False, f"{len(tally.unexpected)} such"))
    return checks


def summary_line(
    *, executor: str, workers: Sequence[str], tries: Sequence[tuple[str, str]], tally: LedgerTally | None
) -> str:
    """``cluster: executor=… workers=… tries=<task>:<worker>,… created=… duplicates=… lost=…``.

    Without a tally (the run ended before the ledger was read) the three counts are ``?``.
    """
    tries_text = ",".join(f"{task}:{worker}" for task, worker in tries) or "-"
    counts = (
        f"created={tally.created} duplicates={tally.duplicates} lost={len(tally.lost)}"
        if tally is not None
        else "created=? duplicates=? lost=?"
    )
    return f"cluster: executor={executor} workers={','.join(workers)} tries={tries_text} {counts}"


def passed(checks: Sequence[Check], tally: LedgerTally | None) -> bool:
    """The run passed: the ledger was read, every check held, nothing was created twice, nothing was lost."""
    return tally is not None and all(check.passed for check in checks) and tally.duplicates == 0 and not tally.lost
