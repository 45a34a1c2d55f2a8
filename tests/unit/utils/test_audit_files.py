"""Audit files and state locations: ids never escape their folder, locations are probed, objects are written once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_genesys.creation.state import TaskState, local_state_directory, state_store_for
from airflow_provider_genesys.creation.task import TaskIdentity
from airflow_provider_genesys.exceptions import GenesysConfigurationError
from airflow_provider_genesys.utils.audit_files import JsonLinesWriter, probe_location, resolve_audit_file, safe_segment

HOSTILE_IDS = ["..", ".", "../../etc", "a/b", "a\\b", "", ".hidden", "x/../../y", "%2E%2E", "run:1+00:00"]


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_an_identifier_becomes_one_safe_segment(value: str) -> None:
    segment = safe_segment(value)
    assert segment not in ("", ".", "..") and "/" not in segment and "\\" not in segment
    assert not segment.startswith(".")


def test_distinct_identifiers_never_share_a_segment() -> None:
    values = ["a/b", "a_b", "a%2Fb", "a:b", "a_b ", "..", "%2E.", ".", "%2E"]
    assert len({safe_segment(value) for value in values}) == len(values)


@pytest.mark.parametrize("dag_id", ["..", "../..", "a/../../b"])
def test_a_task_of_hostile_ids_keeps_its_files_inside_the_state_dir(
    tmp_path: Path, dag_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = TaskIdentity(dag_id=dag_id, task_id="../..", run_id="..", map_index=-1, try_number=1)
    base = tmp_path / "state"
    monkeypatch.setenv("GENESYS_PROVIDER_STATE_DIR", str(base))

    state = TaskState.load(state_store_for({}, task), kind="../x", try_number=1)
    state.announce(["k"])

    assert local_state_directory(task).resolve().is_relative_to(base.resolve())
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert written and all(path.resolve().is_relative_to(base.resolve()) for path in written)


def test_a_mapped_task_and_a_dotted_task_id_have_different_folders() -> None:
    mapped = TaskIdentity(dag_id="d", task_id="group", run_id="r", map_index=3, try_number=1)
    dotted = TaskIdentity(dag_id="d", task_id="group.3", run_id="r", map_index=-1, try_number=1)
    assert mapped.scope != dotted.scope
    assert mapped.scope == "d/r/group@3"


def test_an_unwritable_location_is_refused_with_its_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")

    with pytest.raises(GenesysConfigurationError) as raised:
        probe_location(str(blocker / "audit"), what="audit_path")

    assert str(blocker / "audit") in str(raised.value) and "not writable" in str(raised.value)


def test_a_writable_location_is_probed_without_leaving_a_file(tmp_path: Path) -> None:
    probe_location(str(tmp_path / "audit" / "x.jsonl"), what="audit_path")
    probe_location(str(tmp_path / "dir"), what="audit_path")
    assert sorted(os.listdir(tmp_path)) == ["audit", "dir"]
    assert os.listdir(tmp_path / "audit") == [] and os.listdir(tmp_path / "dir") == []


@pytest.mark.parametrize(
    ("uri", "fix"),
    [
        ("s3://bucket/audit", "apache-airflow-providers-amazon"),
        ("gs://bucket/audit", "apache-airflow-providers-google"),
        ("nosuch://bucket/audit", "use a supported scheme"),
    ],
)
def test_a_scheme_without_a_filesystem_is_refused_with_the_fix(uri: str, fix: str) -> None:
    with pytest.raises(GenesysConfigurationError) as raised:
        probe_location(uri, what="audit_path")
    assert uri in str(raised.value) and fix in str(raised.value)


def test_the_state_dir_must_not_be_an_object_store() -> None:
    with pytest.raises(GenesysConfigurationError, match="local path"):
        probe_location("s3://bucket/state", what="GENESYS_PROVIDER_STATE_DIR", object_store=False)


# -- object stores: one object per try, never read back and rewritten ----------------------------------------


@pytest.fixture
def memory_store() -> Iterator[str]:
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    attach("memory", fs=MemoryFileSystem())
    MemoryFileSystem.store.clear()
    yield "memory://audit-bucket"
    MemoryFileSystem.store.clear()


def test_an_object_store_jsonl_path_gives_every_try_its_own_object() -> None:
    first = resolve_audit_file("s3://b/audit.jsonl", "d/r/t", 1)
    second = resolve_audit_file("s3://b/audit.jsonl", "d/r/t", 2)
    assert (first, second) == ("s3://b/audit/d/r/t/try-1.jsonl", "s3://b/audit/d/r/t/try-2.jsonl")
    assert resolve_audit_file("/local/audit.jsonl", "d/r/t", 2) == "/local/audit.jsonl"


def test_an_object_is_written_once_and_never_rewritten(memory_store: str) -> None:
    from airflow.sdk import ObjectStoragePath

    target = f"{memory_store}/d/r/t/try-1.jsonl"
    probe_location(target, what="audit_path")
    with JsonLinesWriter(target) as writer:
        writer.write({"n": 1})
        writer.write({"n": 2})
    original = ObjectStoragePath(target).read_text()

    with JsonLinesWriter(target) as again:  # the same try written twice: a sibling object, the first untouched
        again.write({"n": 3})

    assert ObjectStoragePath(target).read_text() == original == '{"n":1}\n{"n":2}\n'
    assert again.path != target and ObjectStoragePath(again.path).read_text() == '{"n":3}\n'
