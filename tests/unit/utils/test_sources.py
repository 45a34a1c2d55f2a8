"""Streaming sources: nothing in a file crashes the reader; every bad row is an error with its line number."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from airflow_provider_genesys.utils.sources import (
    MAX_LIST_INDEX,
    MAX_ROW_CHARS,
    Row,
    RowError,
    read_rows,
    unflatten,
)

VALID = {"type": "chat", "routing": {"priority": 5}}


def _rows(path: Path, **kwargs: object) -> list[Row | RowError]:
    return list(read_rows(str(path), **kwargs))  # type: ignore[arg-type]


def _errors(rows: list[Row | RowError]) -> dict[int, str]:
    return {row.line: row.message for row in rows if isinstance(row, RowError)}


def test_a_jsonl_line_that_is_not_utf8_is_an_error_of_that_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(json.dumps(VALID).encode() + b"\n" + b'{"type": "caf\xe9"}\n' + json.dumps(VALID).encode() + b"\n")

    rows = _rows(path)

    assert [type(row).__name__ for row in rows] == ["Row", "RowError", "Row"]
    assert _errors(rows) == {2: "not UTF-8 text (byte 0xe9 at column 14)"}


def test_a_csv_cell_that_is_not_utf8_is_an_error_of_that_row(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"external_id,type\nA,chat\nB,caf\xe9\nC,voice\n")

    rows = _rows(path, text_columns=("external_id",))

    assert _errors(rows) == {3: "not UTF-8 text (byte 0xe9 at column 4)"}
    assert [row.data for row in rows if isinstance(row, Row)] == [
        {"external_id": "A", "type": "chat"},
        {"external_id": "C", "type": "voice"},
    ]


def test_a_csv_header_that_is_not_utf8_makes_every_row_an_error(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"external_id,typ\xff\nA,chat\nB,voice\n")

    assert _errors(_rows(path)) == {
        2: "the header is not UTF-8 text (column 2: byte 0xff at column 4)",
        3: "the header is not UTF-8 text (column 2: byte 0xff at column 4)",
    }


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_a_byte_order_mark_is_accepted_and_dropped(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"in.{suffix}"
    text = "external_id,type\nCASE-1,chat\n" if suffix == "csv" else '{"external_id": "CASE-1", "type": "chat"}\n'
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())

    (row,) = _rows(path, text_columns=("external_id",))

    assert isinstance(row, Row) and row.data == {"external_id": "CASE-1", "type": "chat"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[" * 200_000 + "]" * 200_000, "nested too deeply to read"),
        ('{"priority": NaN}', "NaN is not valid JSON (JSON numbers are finite)"),
        ('{"priority": Infinity}', "Infinity is not valid JSON (JSON numbers are finite)"),
        ('{"priority": -Infinity}', "-Infinity is not valid JSON (JSON numbers are finite)"),
    ],
)
def test_json_that_would_crash_or_is_not_json_is_an_error_of_its_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(line + "\n" + json.dumps(VALID) + "\n", encoding="utf-8")

    rows = _rows(path)

    assert _errors(rows) == {1: message}
    assert isinstance(rows[1], Row)


def test_a_line_longer_than_the_limit_is_an_error_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    huge = json.dumps({"description": "x" * (MAX_ROW_CHARS + 10)})
    path.write_text(huge + "\n" + json.dumps(VALID) + "\n", encoding="utf-8")

    rows = _rows(path)

    assert _errors(rows) == {1: f"longer than {MAX_ROW_CHARS:,} characters"}
    assert isinstance(rows[1], Row) and rows[1].line == 2


def test_malformed_csv_quoting_is_an_error_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('external_id,type\nA,"chat"x\nB,voice\n', encoding="utf-8")

    rows = _rows(path)

    assert _errors(rows) == {2: "not valid CSV (',' expected after '\"')"}
    assert [row.data["external_id"] for row in rows if isinstance(row, Row)] == ["B"]


def test_a_huge_list_index_in_a_csv_header_is_refused_before_anything_is_allocated(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("external_id,participants.20000000.id\nA,x\nB,y\n", encoding="utf-8")

    tracemalloc.start()
    try:
        rows = _rows(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    message = f"column 'participants.20000000.id': list index 20000000 is above the limit ({MAX_LIST_INDEX - 1})"
    assert _errors(rows) == {2: message, 3: message}
    assert peak < 5_000_000  # one row used to allocate ~160 MB


def test_list_indexes_below_the_limit_still_work() -> None:
    flat = {f"participants.{MAX_LIST_INDEX - 1}.id": "x", "participants.0.id": "y"}
    assert unflatten(flat) == {"participants": [{"id": "y"}, {"id": "x"}]}


def test_a_column_name_nesting_too_deeply_is_an_error() -> None:
    with pytest.raises(ValueError, match="nests 40 levels"):
        unflatten({".".join(["a"] * 40): "x"})
