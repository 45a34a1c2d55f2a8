"""The bulk checkpoint: what an earlier execution settled, robust to a run killed mid-line."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_genesys.creation.checkpoint import Checkpoint
from airflow_provider_genesys.creation.task import TaskIdentity

TASK = TaskIdentity(dag_id="d", task_id="t", run_id="manual__2026-01-01T00:00:00+00:00", map_index=3, try_number=1)


def test_settled_items_survive_and_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    checkpoint = Checkpoint.for_task(TASK, "interaction", state_dir=str(tmp_path))
    checkpoint.settled("k1", "id-1")
    checkpoint.close()
    with open(checkpoint.path, "a", encoding="utf-8") as handle:
        handle.write('{"key": "k3", "id"')  # the process died while writing

    again = Checkpoint.for_task(
        TaskIdentity(**{**TASK.__dict__, "try_number": 2}), "interaction", state_dir=str(tmp_path)
    )
    assert again.path == checkpoint.path  # the try number is not part of where it lives
    assert again.load() == {"k1": "id-1"}
    assert again.path.endswith("/d/manual__2026-01-01T00%3A00%3A00+00%3A00/t@3/checkpoint-interaction.jsonl")


def test_an_entry_without_a_record_id_settles_nothing(tmp_path: Path) -> None:
    checkpoint = Checkpoint.for_task(TASK, "interaction", state_dir=str(tmp_path))
    checkpoint.settled("k1", "id-1")
    checkpoint.settled("k2", "")
    checkpoint.close()
    with open(checkpoint.path, "a", encoding="utf-8") as handle:
        handle.write('{"key": "k3", "id": null}\n{"key": "k4"}\n')  # written by an earlier version

    assert Checkpoint.for_task(TASK, "interaction", state_dir=str(tmp_path)).load() == {"k1": "id-1"}


def test_no_file_means_nothing_settled(tmp_path: Path) -> None:
    assert Checkpoint.for_task(TASK, "interaction", state_dir=str(tmp_path)).load() == {}
