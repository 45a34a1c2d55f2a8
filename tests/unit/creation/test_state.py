"""A task instance's state: written ahead per batch, read once, kept in Airflow's task state store or opt-in files."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from airflow_provider_genesys.creation.state import (
    BATCH_SIZE,
    LocalStateStore,
    SendState,
    TaskState,
    local_state_directory,
    state_store_for,
)
from airflow_provider_genesys.creation.task import TaskIdentity
from airflow_provider_genesys.exceptions import GenesysConfigurationError
from tests.support.state_store import RecordingStateStore

TASK = TaskIdentity(dag_id="d", task_id="t", run_id="manual__2026-01-01T00:00:00+00:00", map_index=3, try_number=1)
#: A real key's length (sha256 hex) and a real record id's.
KEY_CHARS = 64
ID_CHARS = 36


def _key(index: int) -> str:
    return f"{index:0{KEY_CHARS}d}"


def test_every_state_survives_into_the_next_execution() -> None:
    store = RecordingStateStore()
    first = TaskState.load(store, kind="callback", try_number=1)
    assert not first.resumed
    first.announce(["a", "b", "c", "d", "e"])
    for key in ("a", "b", "c", "d"):
        first.sending(key)
    first.created("a", "conv-a")
    first.rejected("b", "HTTP 400 bad phone number")
    first.unknown("c", "timed out")
    first.not_sent("e", "the token endpoint failed")  # never left: not even "sending"
    first.flush()

    again = TaskState.load(store, kind="callback", try_number=2)

    assert again.resumed
    assert again.earlier("a").state is SendState.CREATED and again.earlier("a").record_id == "conv-a"
    assert again.earlier("b").state is SendState.REJECTED and not again.earlier("b").may_exist
    assert again.earlier("c").state is SendState.UNKNOWN and again.earlier("c").detail == "timed out"
    assert again.earlier("d").state is SendState.SENDING and again.earlier("d").try_number == 1
    assert again.earlier("c").may_exist and again.earlier("d").may_exist
    assert again.earlier("e").state is SendState.NEVER_SENT
    assert again.earlier("f").state is SendState.NEVER_SENT
    assert again.settled() == {"a": "conv-a"}


def test_a_batch_is_one_write_ahead_and_one_write_of_outcomes() -> None:
    store = RecordingStateStore()
    state = TaskState.load(store, kind="interaction", try_number=1)
    assert store.gets == 1  # nothing there: one read finds that out

    keys = [_key(index) for index in range(BATCH_SIZE)]
    state.announce(keys)
    assert store.sets == 1
    assert TaskState.load(RecordingStateStoreView(store), kind="interaction", try_number=2).earlier(keys[7]).may_exist
    for key in keys:
        state.sending(key)
        state.created(key, "0" * ID_CHARS)
    assert store.sets == 1  # outcomes are kept in memory until the batch settles
    state.flush()

    assert store.sets == 2
    assert TaskState.load(store, kind="interaction", try_number=2).settled() == dict.fromkeys(keys, "0" * ID_CHARS)


def test_a_crash_before_the_batch_settles_leaves_every_key_sending() -> None:
    store = RecordingStateStore()
    state = TaskState.load(store, kind="email", try_number=1)
    state.announce(["k1", "k2"])
    state.sending("k1")
    state.created("k1", "conv-1")
    # the worker is killed here: no flush

    again = TaskState.load(store, kind="email", try_number=2)
    assert again.earlier("k1").state is SendState.SENDING
    assert again.earlier("k2").state is SendState.SENDING


def test_keys_announced_but_not_sent_keep_their_earlier_entry() -> None:
    store = RecordingStateStore()
    first = TaskState.load(store, kind="callback", try_number=1)
    first.announce(["k"])
    first.sending("k")
    first.unknown("k", "dropped connection")
    first.flush()
    sent_at = TaskState.load(store, kind="callback", try_number=2).earlier("k").timestamp

    second = TaskState.load(store, kind="callback", try_number=2)
    second.announce(["k"])  # a batch holding the key; its create is then refused without sending
    second.flush()

    history = TaskState.load(store, kind="callback", try_number=3).earlier("k")
    assert history.state is SendState.UNKNOWN
    assert history.try_number == 1 and history.timestamp == sent_at


@pytest.mark.parametrize(
    "error",
    [
        "x" * 5000,
        "délai dépassé — 응답 없음 " * 300,  # JSON escapes each of these characters as six bytes
    ],
    ids=["long", "not-ascii"],
)
def test_a_full_batch_of_long_errors_stays_under_the_stores_64_kb_default(error: str) -> None:
    store = RecordingStateStore()
    state = TaskState.load(store, kind="callback", try_number=1)
    keys = [_key(index) for index in range(BATCH_SIZE)]
    state.announce(keys)
    for key in keys:
        state.sending(key)
        state.unknown(key, error)
    state.flush()

    assert store.size("genesys.callback.0") < 48 * 1024


def test_values_from_other_kinds_and_junk_values_are_ignored() -> None:
    store = RecordingStateStore()
    store.set("genesys.email.0", {"try": 1, "ts": "t", "sending": ["k"], "done": {}})
    store.set("genesys.callback.0", {"try": 1, "ts": "t", "sending": [3, None], "done": {"k": "not a dict"}})
    store.set("genesys.callback.1", {"try": 1, "ts": "t", "done": {"j": {"s": "created"}}})  # no id

    state = TaskState.load(store, kind="callback", try_number=2)

    assert state.earlier("k").state is SendState.NEVER_SENT
    assert state.earlier("j").state is SendState.UNKNOWN  # "created" without an id settles nothing
    assert state.settled() == {}


def test_local_files_are_replaced_atomically_and_read_back(tmp_path: Path) -> None:
    store = LocalStateStore(tmp_path / "state")
    assert store.get("genesys.callback.0") is None
    store.set("genesys.callback.0", {"sending": ["k"]})
    store.set("genesys.callback.0", {"sending": ["k", "j"]})

    assert store.get("genesys.callback.0") == {"sending": ["k", "j"]}
    assert [path.name for path in (tmp_path / "state").iterdir()] == ["genesys.callback.0.json"]
    assert json.loads((tmp_path / "state" / "genesys.callback.0.json").read_text()) == {"sending": ["k", "j"]}


def test_a_file_uri_state_dir_is_read_where_it_is_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GENESYS_PROVIDER_STATE_DIR", f"file://{tmp_path}")

    directory = local_state_directory(TASK)

    assert directory == tmp_path / "d" / "manual__2026-01-01T00%3A00%3A00+00%3A00" / "t@3" / "state"


@pytest.mark.parametrize("uri", ["s3://bucket/genesys", "memory://genesys"])
def test_an_object_store_state_dir_is_refused_before_anything_is_sent(
    monkeypatch: pytest.MonkeyPatch, uri: str
) -> None:
    monkeypatch.setenv("GENESYS_PROVIDER_STATE_DIR", uri)
    monkeypatch.setenv("AIRFLOW__GENESYS__STATE_STORE", "local_files")

    with pytest.raises(GenesysConfigurationError, match="object-store URI"):
        state_store_for({"task_state_store": RecordingStateStore()}, TASK)


def test_airflows_store_is_used_unless_local_files_are_chosen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    accessor = RecordingStateStore()
    monkeypatch.setenv("GENESYS_PROVIDER_STATE_DIR", str(tmp_path))
    assert state_store_for({"task_state_store": accessor}, TASK) is accessor
    assert isinstance(state_store_for({}, TASK), LocalStateStore)  # no task runner, no accessor

    monkeypatch.setenv("AIRFLOW__GENESYS__STATE_STORE", "local_files")
    assert isinstance(state_store_for({"task_state_store": accessor}, TASK), LocalStateStore)

    monkeypatch.setenv("AIRFLOW__GENESYS__STATE_STORE", "s3")
    with pytest.raises(GenesysConfigurationError, match=r"\[genesys\] state_store is 's3'"):
        state_store_for({"task_state_store": accessor}, TASK)


class SlowStateStore(RecordingStateStore):
    """Writes that take a millisecond (the real accessor's round trip lets other threads run meanwhile)."""

    def set(self, key: str, value: object) -> None:
        time.sleep(0.001)
        super().set(key, value)


class RecordingStateStoreView:
    """A second reader of the same values that does not count towards the first store's calls."""

    def __init__(self, store: RecordingStateStore) -> None:
        self._values = store.values

    def get(self, key: str, default: object = None) -> object:
        return json.loads(self._values[key]) if key in self._values else default

    def set(self, key: str, value: object) -> None:
        raise AssertionError("a reader only")


@pytest.mark.parametrize("trial", range(10))
def test_outcomes_recorded_from_many_threads_after_a_flush_leave_no_gap(trial: int) -> None:
    # what threads still running when a batch is written out do: send and settle keys the batch never held
    store = SlowStateStore()  # each write a round trip to the API server, as with Airflow's accessor
    state = TaskState.load(store, kind="callback", try_number=1)
    state.announce(["k-announced"])
    state.flush()
    keys = [f"k-{trial}-{index}" for index in range(64)]
    start = threading.Barrier(16)

    def work(chunk: list[str]) -> None:
        start.wait()
        for key in chunk:
            state.sending(key)
            time.sleep(0)  # let another thread in between the send and its outcome
            state.created(key, f"id-{key}")

    threads = [threading.Thread(target=work, args=(keys[index::16],)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state.flush()

    again = TaskState.load(store, kind="callback", try_number=2)
    assert {key: again.earlier(key).state for key in keys} == dict.fromkeys(keys, SendState.CREATED)


def test_a_created_key_announced_again_and_left_sending_keeps_its_record_id() -> None:
    store = RecordingStateStore()
    first = TaskState.load(store, kind="email", try_number=1)
    first.announce(["k"])
    first.sending("k")
    first.created("k", "conv-1")
    first.flush()
    second = TaskState.load(store, kind="email", try_number=2)
    second.announce(["k"])  # to confirm it by id; the worker dies before the batch settles

    history = TaskState.load(store, kind="email", try_number=3).earlier("k")
    assert (history.state, history.record_id) == (SendState.CREATED, "conv-1")


def test_an_outcome_knows_when_it_was_recorded_and_a_dead_batch_does_not() -> None:
    store = RecordingStateStore()
    first = TaskState.load(store, kind="callback", try_number=1)
    first.announce(["lost", "dead"])
    first.sending("lost")
    first.unknown("lost", "timed out")
    first.sending("dead")  # no answer before the batch was written out: still "sending"
    first.flush()
    second = TaskState.load(store, kind="callback", try_number=2)
    second.announce(["dead"])
    second.sending("dead")  # and the worker dies

    again = TaskState.load(store, kind="callback", try_number=3)
    lost, dead = again.earlier("lost"), again.earlier("dead")
    assert lost.sent_until is not None and lost.sent_until >= str(lost.timestamp)
    assert dead.state is SendState.SENDING and dead.sent_until is None  # it may have left until the worker died
    assert dead.first_timestamp == lost.timestamp  # the search starts at the first announcement
