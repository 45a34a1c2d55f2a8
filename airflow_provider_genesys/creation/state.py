"""A task instance's own state: what it sent, what Genesys made of it, and where that is kept.

Every create of a task instance is recorded in its state, so that a retry, a clear or a re-run of the same task
instance — on whatever worker or pod it runs — knows what earlier executions did:

* ``sending`` — the create was about to go on the wire and nothing more is known (the process died mid-send):
  the record may exist; a later execution resolves the key with Genesys before sending it again;
* ``created`` — Genesys answered with a record, whose id is kept (an entry without an id is never written);
* ``rejected`` — Genesys answered with an error: nothing was created;
* ``unknown`` — the request left and no usable answer came back (timeout, dropped connection, 5xx, a 2xx that
  is not a record): the record may exist;
* ``never_sent`` — no entry, or the request never left this process.

**Where it lives.** By default in Airflow's task state store (``context["task_state_store"]``, Airflow 3.3): the
API server keeps it in the metadata database, scoped to the DAG run, task and map index, so it survives retries
and clears and is visible from every worker. A deployment may instead opt in to local files
(``[genesys] state_store = local_files``: one JSON file per value under ``[genesys] state_dir``); they must then be
on storage every worker shares. Outside a task runner (a context without a task state store, as in direct calls of
``execute``) the files are used too, and the log says so.

**What it costs.** One value is written per batch before its creates leave (the keys about to be sent) and once
after they settle (their outcomes); the state is read once when a run starts. A batch holds at most
:data:`BATCH_SIZE` items, so every value stays well under the store's 64 KB default.

**Why it stays safe when it is lost.** Nothing here is required for correctness: with ``[state_store]
clear_on_success`` a cleared task finds no state, and every key is then resolved with Genesys itself (the
interactions contract's ``Idempotency-Key``, the workitem query by ``externalTag``, the participant-attribute
search of callbacks and emails) before anything is sent again.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from airflow.sdk import conf

from airflow_provider_genesys.exceptions import GenesysConfigurationError
from airflow_provider_genesys.models.audit import utc_now_iso
from airflow_provider_genesys.utils.audit_files import default_state_dir, is_uri, safe_segment
from airflow_provider_genesys.utils.redaction import redact

if TYPE_CHECKING:
    from airflow_provider_genesys.creation.task import TaskIdentity

log = logging.getLogger(__name__)

#: Items per write-ahead value: 200 entries of a 71-character key, a 36-character id and an 80-character detail
#: stay under 48 KB, below the task state store's 64 KB default.
BATCH_SIZE = 200
#: How much of an error a state entry keeps (the audit record keeps the whole, redacted).
DETAIL_CHARS = 80
#: ``[genesys] state_store`` values.
TASK_STATE_STORE = "task_state_store"
LOCAL_FILES = "local_files"
#: Prefix of every key this provider writes in a task's state.
KEY_PREFIX = "genesys"


class StateStore(Protocol):
    """The two calls the provider makes of a task's state (Airflow's ``TaskStateStoreAccessor`` has both)."""

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""

    def set(self, key: str, value: Any) -> None:
        """Write ``value`` (JSON) under ``key``."""


class LocalStateStore:
    """Opt-in: one JSON file per key in ``directory``, each replaced atomically and synced to disk.

    :param directory: the task instance's folder (``<state dir>/<dag_id>/<run_id>/<task_id>[@<map_index>]``).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / f"{safe_segment(key)}.json"

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` (``default`` when there is no file)."""
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return default

    def set(self, key: str, value: Any) -> None:
        """Write ``value`` under ``key``: a temporary file, synced, then renamed over the old one."""
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".state-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(value, out, separators=(",", ":"))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self._path(key))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def local_state_directory(task: TaskIdentity) -> Path:
    """The task instance's folder under the state directory.

    :raises GenesysConfigurationError: when the state directory is an object-store URI (values are replaced in
        place and synced before creates leave, which object stores cannot do).
    """
    base = default_state_dir()
    if is_uri(base):
        raise GenesysConfigurationError(
            f"The provider's state directory {base!r} is an object-store URI; local state files need a local path "
            "or a mount every worker shares. Leave [genesys] state_store at 'task_state_store' (Airflow's task "
            "state store) instead."
        )
    return Path(base.removeprefix("file://")) / task.scope / "state"


def configured_store() -> str:
    """``[genesys] state_store`` (``task_state_store`` or ``local_files``).

    :raises GenesysConfigurationError: for any other value.
    """
    choice = conf.get("genesys", "state_store", fallback=TASK_STATE_STORE) or TASK_STATE_STORE
    choice = choice.strip().lower()
    if choice not in (TASK_STATE_STORE, LOCAL_FILES):
        raise GenesysConfigurationError(
            f"[genesys] state_store is {choice!r}; it must be {TASK_STATE_STORE!r} (Airflow's task state store, "
            f"the default) or {LOCAL_FILES!r} (files under [genesys] state_dir, shared by every worker)."
        )
    return choice


def state_store_for(context: Mapping[str, Any], task: TaskIdentity) -> StateStore:
    """Where ``task`` keeps its state: Airflow's task state store unless local files are chosen or it has none.

    :raises GenesysConfigurationError: naming the setting, before anything is sent.
    """
    accessor = context.get("task_state_store")
    if configured_store() == TASK_STATE_STORE and accessor is not None:
        return accessor
    directory = local_state_directory(task)
    if accessor is None:
        log.info("This context has no task state store (not run by a task runner): state is kept in %s.", directory)
    return LocalStateStore(directory)


def numbered_values(store: StateStore, prefix: str) -> list[Mapping[str, Any]]:
    """The values ``<prefix>.0``, ``<prefix>.1``, … up to the first missing one (one ``get`` each, and one more)."""
    values: list[Mapping[str, Any]] = []
    while isinstance(value := store.get(f"{prefix}.{len(values)}"), Mapping):
        values.append(value)
    return values


class SendState(str, enum.Enum):
    """What the state knows of one key."""

    NEVER_SENT = "never_sent"
    SENDING = "sending"
    CREATED = "created"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class KeyHistory:
    """What earlier executions of this task instance recorded of one key.

    :param state: the last known state.
    :param record_id: the created record's id (``CREATED`` only, never empty there).
    :param try_number: the try that wrote the last entry.
    :param timestamp: when that entry's batch was announced (UTC ISO-8601).
    :param first_timestamp: when the key was first announced (the earliest moment a create of it may have left).
    :param sent_until: when the last entry's outcome was recorded (the latest moment that create may have left);
        ``None`` for a key left ``sending`` by an execution that died: its create may have left until it died.
    :param detail: the error of an unknown outcome, or of a rejection.
    """

    state: SendState
    record_id: str | None = None
    try_number: int | None = None
    timestamp: str | None = None
    first_timestamp: str | None = None
    sent_until: str | None = None
    detail: str | None = None

    @property
    def may_exist(self) -> bool:
        """A request for this key may have reached Genesys and nobody knows what became of it."""
        return self.state in (SendState.SENDING, SendState.UNKNOWN)


NEVER_SENT = KeyHistory(SendState.NEVER_SENT)
_STATES = {state.value: state for state in SendState}


class TaskState:
    """The state of one task instance's creates of one kind, read once and written ahead per batch.

    Values are ``genesys.<kind>.<n>`` for ``n = 0, 1, …``: one per batch, in the order they were written,
    ``{"try", "ts", "sending": [key, …], "done": {key: {"s": state, "id"?, "d"?}}}``. A batch is written when it
    is announced (every key ``sending``) and again when it settles (each key's outcome); a later value's entry for
    a key supersedes an earlier one.

    :param store: where the values live.
    :param kind: the kind of record (part of every key).
    :param try_number: the current Airflow try (written in every value).
    """

    def __init__(self, store: StateStore, *, kind: str, try_number: int) -> None:
        self.store = store
        self.kind = kind
        self.try_number = try_number
        self._lock = threading.Lock()
        self._earlier: dict[str, KeyHistory] = {}
        self._next_segment = 0
        self._loaded_segments = 0
        #: when this execution read its state: every earlier try's create left before this
        self.loaded_at: str | None = None
        self._batch: _Batch | None = None
        #: calls made of the store, and the time they took (what the state costs a run)
        self.writes = 0
        self.reads = 0
        self.store_seconds = 0.0

    @classmethod
    def load(cls, store: StateStore, *, kind: str, try_number: int) -> TaskState:
        """Read every value earlier executions wrote (one ``get`` per value, and one more)."""
        state = cls(store, kind=kind, try_number=try_number)
        state.loaded_at = utc_now_iso()
        state._read()
        state._loaded_segments = state._next_segment
        return state

    def _key(self, segment: int) -> str:
        return f"{KEY_PREFIX}.{self.kind}.{segment}"

    def _read(self) -> None:
        first_seen: dict[str, str] = {}
        started = time.perf_counter()
        values = numbered_values(self.store, f"{KEY_PREFIX}.{self.kind}")
        self.store_seconds += time.perf_counter() - started
        self.reads += len(values) + 1
        self._next_segment = len(values)
        for value in values:
            try_number = value.get("try") if isinstance(value.get("try"), int) else None
            ts = value.get("ts") if isinstance(value.get("ts"), str) else None
            sending = value.get("sending")
            done = value.get("done")
            sending = sending if isinstance(sending, list) else []
            done = done if isinstance(done, Mapping) else {}
            for key in sending:
                if not isinstance(key, str):
                    continue
                first_seen.setdefault(key, ts or "")
                known = self._earlier.get(key)
                if known is not None and known.state is SendState.CREATED:
                    continue  # a created key is only re-announced to be confirmed; no create of it is ever sent
                self._earlier[key] = KeyHistory(
                    SendState.SENDING, try_number=try_number, timestamp=ts, first_timestamp=first_seen[key]
                )
            for key, entry in done.items():
                if not isinstance(key, str) or not isinstance(entry, Mapping):
                    continue
                state = _STATES.get(str(entry.get("s")), SendState.UNKNOWN)
                record_id = entry.get("id")
                if state is SendState.CREATED and not (isinstance(record_id, str) and record_id):
                    state, record_id = SendState.UNKNOWN, None  # "created" without an id settles nothing
                first_seen.setdefault(key, ts or "")
                self._earlier[key] = KeyHistory(
                    state,
                    record_id=record_id if state is SendState.CREATED else None,
                    try_number=try_number,
                    timestamp=ts,
                    first_timestamp=first_seen[key],
                    sent_until=entry.get("t") if isinstance(entry.get("t"), str) else ts,
                    detail=entry.get("d") if isinstance(entry.get("d"), str) else None,
                )

    # -- what earlier executions did ------------------------------------------------------------------

    @property
    def resumed(self) -> bool:
        """An earlier execution of this task instance wrote state (whatever its try number)."""
        return self._loaded_segments > 0

    def earlier(self, key: str) -> KeyHistory:
        """What earlier executions recorded of ``key`` (``NEVER_SENT`` when nothing)."""
        return self._earlier.get(key, NEVER_SENT)

    def settled(self) -> dict[str, str]:
        """Key → record id of every key an earlier execution saw created."""
        return {
            key: history.record_id
            for key, history in self._earlier.items()
            if history.state is SendState.CREATED and history.record_id
        }

    # -- this execution -------------------------------------------------------------------------------

    def announce(self, keys: Iterable[str]) -> None:
        """Write, before any of them is sent, that the creates of ``keys`` are about to leave (one ``set``).

        The batch announced before is written out first (its outcomes).
        """
        announced = list(dict.fromkeys(keys))
        if not announced:
            self.flush()
            return
        previous, batch = self._open(announced)
        self._settle_batch(previous)
        self._write(batch)

    def _open(
        self, keys: list[str], *, sent: str | None = None, done: tuple[str, dict[str, Any]] | None = None
    ) -> tuple[_Batch | None, _Batch]:
        """Make a new batch the open one: its value number and the switch are one step, so no number is lost."""
        with self._lock:
            batch = _Batch(segment=self._next_segment, ts=utc_now_iso(), sending=keys)
            self._next_segment += 1
            if sent is not None:
                batch.sent.add(sent)
            if done is not None:
                batch.done[done[0]] = done[1]
            previous, self._batch = self._batch, batch
        return previous, batch

    def sending(self, key: str) -> None:
        """The create of ``key`` goes on the wire now: announce it unless its batch already did."""
        with self._lock:
            if self._batch is not None and key in self._batch.announced:
                self._batch.sent.add(key)
                return
        previous, batch = self._open([key], sent=key)  # a batch of its own, written before the create leaves
        self._settle_batch(previous)
        self._write(batch)

    def was_sent(self, key: str) -> bool:
        """Whether a create of ``key`` went on the wire in this execution's open batch."""
        with self._lock:
            return self._batch is not None and key in self._batch.sent

    def created(self, key: str, record_id: str) -> None:
        """``key`` exists as ``record_id`` (created now, or found created).

        :raises ValueError: when ``record_id`` is empty (a create without a record id is :meth:`unknown`).
        """
        if not isinstance(record_id, str) or not record_id:
            raise ValueError("a created entry needs the record id; an answer without one is an unknown outcome")
        self._settle(key, {"s": SendState.CREATED.value, "id": record_id})

    def rejected(self, key: str, detail: str) -> None:
        """Genesys answered the create of ``key`` with an error (nothing was created)."""
        self._settle(key, {"s": SendState.REJECTED.value, "d": _detail(detail)})

    def unknown(self, key: str, detail: str) -> None:
        """The create of ``key`` left and no usable answer came back (it may exist)."""
        self._settle(key, {"s": SendState.UNKNOWN.value, "d": _detail(detail)})

    def not_sent(self, key: str, detail: str) -> None:
        """The create of ``key`` never left this process after all (it is safe to send)."""
        self._settle(key, {"s": SendState.NEVER_SENT.value, "d": _detail(detail)})

    def _settle(self, key: str, entry: dict[str, Any]) -> None:
        entry["t"] = utc_now_iso()  # the create, if it left, left before this
        with self._lock:
            if self._batch is not None and key in self._batch.announced:
                self._batch.done[key] = entry
                return
        # an outcome outside any batch (a key found created before anything was announced)
        previous, _ = self._open([], done=(key, entry))
        self._settle_batch(previous)

    def flush(self) -> None:
        """Write the open batch's outcomes (one ``set``); keys this execution never sent keep their earlier entry."""
        with self._lock:
            batch, self._batch = self._batch, None
        self._settle_batch(batch)

    def _settle_batch(self, batch: _Batch | None) -> None:
        if batch is not None and (batch.sending or batch.done):
            self._write(batch, settled=True)

    def cost_line(self, records: int) -> str:
        """``genesys_state reads=2 writes=10 store_ms=131.2 per_record_ms=0.131``: what keeping the state cost."""
        store_ms = self.store_seconds * 1000
        return (
            f"genesys_state kind={self.kind} reads={self.reads} writes={self.writes} store_ms={store_ms:.1f} "
            f"per_record_ms={store_ms / max(records, 1):.3f}"
        )

    def _write(self, batch: _Batch, *, settled: bool = False) -> None:
        if settled:
            # a key neither sent nor given an outcome here was only announced: its earlier entry stands
            sending = [key for key in batch.sending if key in batch.sent and key not in batch.done]
        else:
            sending = batch.sending
        with self._lock:  # a copy taken while no thread records an outcome
            value = {"try": self.try_number, "ts": batch.ts, "sending": sending, "done": dict(batch.done)}
        started = time.perf_counter()
        self.store.set(self._key(batch.segment), value)
        self.store_seconds += time.perf_counter() - started
        self.writes += 1


def _detail(text: str) -> str:
    """An error as a state entry keeps it: redacted, at most :data:`DETAIL_CHARS` ASCII characters (JSON escapes
    other characters six bytes each, which would break the value's size bound)."""
    return redact(text, limit=DETAIL_CHARS).encode("ascii", "replace").decode("ascii")


@dataclass
class _Batch:
    """One value of the state: keys announced together, what this execution sent and learnt of them."""

    segment: int
    ts: str
    sending: list[str]
    done: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.announced = frozenset(self.sending)
