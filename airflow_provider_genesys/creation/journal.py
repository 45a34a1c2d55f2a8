"""The send journal: a write-ahead record of creates that Genesys cannot look up afterwards.

Callbacks and inbound emails carry the provider's idempotency key as a participant attribute, but Genesys
offers no read-your-writes lookup by attribute, so once a create's answer is lost nobody can ask Genesys
whether it happened. The journal remembers instead. Before a create is sent, a ``sending`` line is written and
flushed to disk; its answer adds ``created`` (with the record id) or ``rejected`` (Genesys answered with an
error, so nothing was created). A later try of the same task instance reads the journal and knows, per key:

* nothing was ever sent → the create is safe;
* it was created → the record id, which Genesys can be asked about (``GET /api/v2/conversations/{id}``);
* it was rejected → nothing exists, the create is safe;
* it was sent and no answer came → the outcome is unknown, and the create is **not** sent again.

One journal file per task instance and kind: ``<state dir>/<dag_id>/<run_id>/<task_id>[.<map_index>]/
journal-<kind>.jsonl``. The state directory is ``GENESYS_PROVIDER_STATE_DIR`` (default
``$AIRFLOW_HOME/genesys``); it must be local or a shared mount (not an object store: each line is appended and
flushed before the request goes out). Every execution of the task also writes an ``open`` line when it opens
the journal, so an execution can tell that an earlier one ran (:attr:`SendJournal.resumed`) even when Airflow
restarted the try count (a DAG run re-created with the same run id), and a try > 1 that finds no earlier
execution can tell that the journal is not visible from this worker.
"""

from __future__ import annotations

import enum
import json
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.models.audit import utc_now_iso
from airflow_provider_genesys.utils.audit_files import default_state_dir, safe_segment

if TYPE_CHECKING:
    from airflow_provider_genesys.creation.task import TaskIdentity


class SendState(str, enum.Enum):
    """What the journal knows of one key."""

    NEVER_SENT = "never_sent"
    SENT_UNKNOWN = "sent_unknown"
    CREATED = "created"
    REJECTED = "rejected"


@dataclass(frozen=True)
class KeyHistory:
    """The journal's knowledge of one key.

    :param state: the last known state.
    :param record_id: the created record's id (``CREATED`` only).
    :param try_number: the try that wrote the last line.
    :param timestamp: when that line was written (UTC ISO-8601).
    :param detail: the error of an unknown outcome, or of a rejection.
    """

    state: SendState
    record_id: str | None = None
    try_number: int | None = None
    timestamp: str | None = None
    detail: str | None = None


_NEVER_SENT = KeyHistory(SendState.NEVER_SENT)
_EVENT_STATES = {"sending": SendState.SENT_UNKNOWN, "created": SendState.CREATED, "rejected": SendState.REJECTED}


def journal_path(task: TaskIdentity, kind: str, state_dir: str | None = None) -> Path:
    """Where the journal of ``task`` and ``kind`` lives."""
    base = Path((state_dir or default_state_dir()).removeprefix("file://"))
    return base / task.scope / f"journal-{safe_segment(kind)}.jsonl"


class SendJournal:
    """Thread-safe, append-only journal of one task instance's creates of one kind.

    :param path: the journal file (created with its directories when first written).
    :param try_number: the current Airflow try (written on every line).
    """

    def __init__(self, path: Path, *, try_number: int) -> None:
        self.path = path
        self.try_number = try_number
        self._lock = threading.Lock()
        self._history: dict[str, KeyHistory] = {}
        self._earlier_executions: set[str] = set()
        self.execution_id = uuid.uuid4().hex
        self._load()

    @classmethod
    def open(cls, task: TaskIdentity, kind: str, *, state_dir: str | None = None) -> SendJournal:
        """Open (and mark with this try) the journal of ``task`` and ``kind``."""
        journal = cls(journal_path(task, kind, state_dir), try_number=task.try_number)
        journal._append({"event": "open", "execution": journal.execution_id})
        return journal

    def _load(self) -> None:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line torn by a crash mid-write: the line before it still stands
                try_number = entry.get("try")
                if entry.get("event") == "open":
                    self._earlier_executions.add(str(entry.get("execution")))
                state = _EVENT_STATES.get(str(entry.get("event")))
                key = entry.get("key")
                if state is None or not isinstance(key, str):
                    continue
                self._history[key] = KeyHistory(
                    state=state,
                    record_id=entry.get("record_id"),
                    try_number=try_number if isinstance(try_number, int) else None,
                    timestamp=entry.get("ts"),
                    detail=entry.get("detail"),
                )

    @property
    def resumed(self) -> bool:
        """An earlier execution of this task instance opened this journal (whatever its try number)."""
        return bool(self._earlier_executions)

    def history(self, key: str) -> KeyHistory:
        """What is known of ``key`` (``NEVER_SENT`` when the journal has no line for it)."""
        with self._lock:
            return self._history.get(key, _NEVER_SENT)

    def sending(self, key: str) -> None:
        """Record, durably, that a create of ``key`` is about to be sent."""
        self._record(key, "sending", durable=True)

    def created(self, key: str, record_id: str | None) -> None:
        """Record that ``key`` was created as ``record_id``."""
        self._record(key, "created", record_id=record_id)

    def rejected(self, key: str, detail: str) -> None:
        """Record that Genesys answered the create of ``key`` with an error (nothing was created)."""
        self._record(key, "rejected", detail=detail)

    def unknown(self, key: str, detail: str) -> None:
        """Record why the outcome of the create of ``key`` is unknown (its state stays ``SENT_UNKNOWN``)."""
        self._record(key, "sending", detail=detail)

    def _record(
        self, key: str, event: str, *, record_id: str | None = None, detail: str | None = None, durable: bool = False
    ) -> None:
        entry: dict[str, Any] = {"event": event, "key": key}
        if record_id is not None:
            entry["record_id"] = record_id
        if detail is not None:
            entry["detail"] = detail[:300]
        ts = self._append(entry, durable=durable)
        with self._lock:
            self._history[key] = KeyHistory(
                state=_EVENT_STATES[event],
                record_id=record_id,
                try_number=self.try_number,
                timestamp=ts,
                detail=entry.get("detail"),
            )

    def _append(self, entry: dict[str, Any], *, durable: bool = False) -> str:
        ts = utc_now_iso()
        line = json.dumps({**entry, "try": self.try_number, "ts": ts}, sort_keys=True, separators=(",", ":"))
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # opened per line: nothing to close, and a killed task keeps every line it wrote
            with self.path.open("a", encoding="utf-8") as journal_file:
                journal_file.write(line + "\n")
                journal_file.flush()
                if durable:
                    os.fsync(journal_file.fileno())
        return ts
