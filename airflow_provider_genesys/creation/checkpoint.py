"""Resuming a bulk run: the items an earlier execution of the same task instance already settled.

Each item whose record is confirmed (created, or found already created) is appended to
``<state dir>/<dag_id>/<run_id>/<task_id>[@<map_index>]/checkpoint-<kind>.jsonl`` as ``{"key", "id"}``. A later
execution of the same task instance (a retry, a clear, a re-run after the worker died) skips those items: they are
reported ``replayed`` without a request. The checkpoint is an optimisation only — an item missing from it (a lost
line, another worker without the file) is simply sent again, and the kind's own exactly-once strategy answers
with the existing record — so lines are flushed, not synced to disk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_genesys.utils.audit_files import JsonLinesWriter, default_state_dir, safe_segment

if TYPE_CHECKING:
    from airflow_provider_genesys.creation.task import TaskIdentity


class Checkpoint:
    """The settled items of one task instance and kind.

    :param path: the checkpoint file (local or a shared mount).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._writer: JsonLinesWriter | None = None

    @classmethod
    def for_task(cls, task: TaskIdentity, kind: str, *, state_dir: str | None = None) -> Checkpoint:
        """The checkpoint of ``task`` for records of ``kind``."""
        return cls(f"{state_dir or default_state_dir()}/{task.scope}/checkpoint-{safe_segment(kind)}.jsonl")

    def load(self) -> dict[str, str]:
        """Key → record id of every settled item (a torn last line of a killed run is ignored)."""
        settled: dict[str, str] = {}
        path = Path(self.path)
        if not path.exists():
            return settled
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                record_id = entry.get("id") if isinstance(entry, dict) else None
                if isinstance(entry.get("key"), str) and isinstance(record_id, str) and record_id:
                    # an entry without a record id settles nothing: the item is sent again (and replayed by key)
                    settled[entry["key"]] = record_id
        return settled

    def settled(self, key: str, record_id: str) -> None:
        """Record that ``key``'s record exists as ``record_id`` (flushed at once, so a killed run keeps it)."""
        if not record_id:
            return  # nothing is settled without a record id
        if self._writer is None:
            self._writer = JsonLinesWriter(self.path)
        self._writer.write({"key": key, "id": record_id})

    def close(self) -> None:
        """Close the file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
