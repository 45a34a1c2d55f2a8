"""The send journal: a write-ahead record of creates that Genesys cannot look up afterwards.

Callbacks and inbound emails carry the provider's idempotency key as a participant attribute, but Genesys
offers no read-your-writes lookup by attribute, so once a create's answer is lost nobody can ask Genesys
whether it happened. The journal remembers instead. Each key is in exactly one of five states:

* ``never_sent`` — no line for it, or the request never left this process (a token or settings failure, a
  connection that could not be opened): the create is safe;
* ``sending`` — the request was about to leave (this line is written and synced right before it goes on the
  wire) and nothing more is known: the process died mid-send; it may exist;
* ``created`` — Genesys answered with a record, whose id is kept (an entry without an id is never written, and
  an old one read back counts as ``unknown``): a later try confirms it with ``GET /api/v2/conversations/{id}``;
* ``rejected`` — Genesys answered with an error, so nothing was created: the create is safe;
* ``unknown`` — the request left and no usable answer came back (a timeout, a dropped connection, a 5xx, a
  2xx without a record id): the create is **not** sent again.

The interface is these five transitions (:meth:`SendJournal.sending`, :meth:`~SendJournal.created`,
:meth:`~SendJournal.rejected`, :meth:`~SendJournal.unknown`, :meth:`~SendJournal.not_sent`) and one read
(:meth:`SendJournal.history`); the store behind it is one JSON-lines file per task instance and kind:
``<state dir>/<dag_id>/<run_id>/<task_id>[@<map_index>]/journal-<kind>.jsonl`` (each identifier encoded so that
it stays one path segment). The state directory is ``GENESYS_PROVIDER_STATE_DIR`` (default
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

from airflow_provider_genesys.exceptions import GenesysConfigurationError
from airflow_provider_genesys.models.audit import utc_now_iso
from airflow_provider_genesys.utils.audit_files import default_state_dir, is_uri, safe_segment
from airflow_provider_genesys.utils.redaction import redact

if TYPE_CHECKING:
    from airflow_provider_genesys.creation.task import TaskIdentity


class SendState(str, enum.Enum):
    """What the journal knows of one key."""

    NEVER_SENT = "never_sent"
    SENDING = "sending"
    CREATED = "created"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class KeyHistory:
    """The journal's knowledge of one key.

    :param state: the last known state.
    :param record_id: the created record's id (``CREATED`` only, never empty there).
    :param try_number: the try that wrote the last line.
    :param timestamp: when that line was written (UTC ISO-8601).
    :param detail: the error of an unknown outcome, or of a rejection.
    """

    state: SendState
    record_id: str | None = None
    try_number: int | None = None
    timestamp: str | None = None
    detail: str | None = None

    @property
    def may_exist(self) -> bool:
        """A request for this key may have reached Genesys and nobody knows what became of it."""
        return self.state in (SendState.SENDING, SendState.UNKNOWN)


_NEVER_SENT = KeyHistory(SendState.NEVER_SENT)
_EVENT_STATES = {
    "sending": SendState.SENDING,
    "created": SendState.CREATED,
    "rejected": SendState.REJECTED,
    "unknown": SendState.UNKNOWN,
    "not_sent": SendState.NEVER_SENT,
}
#: How much of an error a journal line keeps.
DETAIL_CHARS = 300


def journal_path(task: TaskIdentity, kind: str, state_dir: str | None = None) -> Path:
    """Where the journal of ``task`` and ``kind`` lives.

    :raises GenesysConfigurationError: when the state directory is an object-store URI (lines are appended).
    """
    base = state_dir or default_state_dir()
    if is_uri(base):
        raise GenesysConfigurationError(
            f"GENESYS_PROVIDER_STATE_DIR {base!r} is an object-store URI; the send journal needs a local path or a "
            "mount every worker of the task shares (each line is appended and synced before a request goes out)."
        )
    return Path(base.removeprefix("file://")) / task.scope / f"journal-{safe_segment(kind)}.jsonl"


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
        """Open (and mark with this try) the journal of ``task`` and ``kind``, before anything is sent.

        :raises GenesysConfigurationError: naming the file and the fix, when it cannot be written.
        """
        path = journal_path(task, kind, state_dir)
        try:
            journal = cls(path, try_number=task.try_number)
            journal._append({"event": "open", "execution": journal.execution_id})
        except OSError as error:
            raise GenesysConfigurationError(
                f"The send journal {str(path)!r} cannot be written ({type(error).__name__}: "
                f"{error.strerror or error}). Point GENESYS_PROVIDER_STATE_DIR at a directory this worker can "
                "write to (shared by every worker of the task)."
            ) from None
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
                record_id = entry.get("record_id")
                if state is SendState.CREATED and not (isinstance(record_id, str) and record_id):
                    state, record_id = SendState.UNKNOWN, None  # "created" without an id: resolved, never re-sent
                self._history[key] = KeyHistory(
                    state=state,
                    record_id=record_id,
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
        """Record, durably, that a create of ``key`` is about to go on the wire."""
        self._record(key, "sending", durable=True)

    def created(self, key: str, record_id: str) -> None:
        """Record that ``key`` was created as ``record_id``.

        :raises ValueError: when ``record_id`` is empty (a create without a record id is :meth:`unknown`).
        """
        if not isinstance(record_id, str) or not record_id:
            raise ValueError("a created entry needs the record id; an answer without one is an unknown outcome")
        self._record(key, "created", record_id=record_id)

    def rejected(self, key: str, detail: str) -> None:
        """Record that Genesys answered the create of ``key`` with an error (nothing was created)."""
        self._record(key, "rejected", detail=detail)

    def unknown(self, key: str, detail: str) -> None:
        """Record that the create of ``key`` left and no usable answer came back (it may exist)."""
        self._record(key, "unknown", detail=detail)

    def not_sent(self, key: str, detail: str) -> None:
        """Record that the create of ``key`` never left this process after all (it is safe to send)."""
        self._record(key, "not_sent", detail=detail)

    def _record(
        self, key: str, event: str, *, record_id: str | None = None, detail: str | None = None, durable: bool = False
    ) -> None:
        entry: dict[str, Any] = {"event": event, "key": key}
        if record_id is not None:
            entry["record_id"] = record_id
        if detail is not None:
            entry["detail"] = redact(detail, limit=DETAIL_CHARS)
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
