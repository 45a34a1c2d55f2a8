"""Streaming readers for bulk input: JSON lines and CSV, from a local path or an ObjectStoragePath URI.

Rows are yielded one at a time, so a 100k-row file is never held in memory. A row that cannot be parsed is
yielded as a :class:`RowError` with its line number instead of being dropped, and nothing in a file can crash
the reader: bytes that are not UTF-8, a line longer than :data:`MAX_ROW_CHARS`, nesting that exhausts the JSON
parser, NaN/Infinity (not JSON), malformed CSV quoting — each is an error of its row. A UTF-8 byte-order mark
at the start of a file is accepted and dropped.

CSV layout: one column per field, nested fields by dotted names, list items by index, lists of plain values
``;``-separated. For the interaction contract::

    external_id,type,routing.priority,routing.queue.id,routing.skills.0.id,routing.skills.0.level,participants.0.id,participants.0.roles,participants.0.channel.id
    CASE-1,voice,5,<queue uuid>,<skill uuid>,3,<uuid>,initiator;customer,+15551230001

Cells that are empty are left out; cells that look like integers or decimals become numbers, except in the
columns named in ``text_columns`` (the external id column always stays text); ``true``/``false`` become booleans.
Columns whose name ends in ``roles``, ``Ids``, ``skillIds``, ``callbackNumbers`` or is listed in ``list_columns``
are split on ``;``. A column name nests at most :data:`MAX_COLUMN_DEPTH` levels and its list indexes stay below
:data:`MAX_LIST_INDEX` (``participants.20000000.id`` is an error, not 20 million list slots).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

_INT = re.compile(r"^-?\d{1,15}$")
_FLOAT = re.compile(r"^-?\d+\.\d+$")
LIST_COLUMN_SUFFIXES = ("roles", "Ids", "callbackNumbers", "routingFlags")
#: The longest row (a JSON line, a CSV record) read, in characters; a longer one is an error of its row.
MAX_ROW_CHARS = 1_048_576
#: List indexes in CSV column names run from 0 to this value minus one.
MAX_LIST_INDEX = 1000
#: The deepest nesting a CSV column name may spell (``a.b.c`` is 3 levels).
MAX_COLUMN_DEPTH = 16
#: Bytes that were not UTF-8 come back from the ``surrogateescape`` decoder as lone surrogates.
_NOT_UTF8 = re.compile("[\\udc80-\\udcff]")


@dataclass(frozen=True)
class RowError:
    """A row that could not be read: where and why."""

    line: int
    message: str


@dataclass(frozen=True)
class Row:
    """One parsed row and the line it came from (1-based; CSV lines count the header)."""

    line: int
    data: Any


@contextmanager
def open_binary(source: str) -> Iterator[IO[bytes]]:
    """Open a local path, ``file://`` path or ObjectStoragePath URI for streaming byte reads."""
    if "://" in source and not source.startswith("file://"):
        from airflow.sdk import ObjectStoragePath

        with ObjectStoragePath(source).open("rb") as raw:
            yield raw
        return
    with Path(source.removeprefix("file://")).open("rb") as handle:
        yield handle


def text_of(raw: IO[bytes]) -> io.TextIOWrapper:
    """``raw`` as text: UTF-8, a leading byte-order mark dropped, bytes that are not UTF-8 kept as surrogates
    (:func:`not_utf8` finds them) instead of failing the whole file."""
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")


@contextmanager
def open_text(source: str) -> Iterator[IO[str]]:
    """Open a local path, ``file://`` path or ObjectStoragePath URI for streaming text reads (see :func:`text_of`)."""
    with open_binary(source) as raw:
        yield text_of(raw)


def not_utf8(text: str) -> str | None:
    """Where ``text`` holds a byte that was not UTF-8 (``byte 0xff at column 12``), or ``None``."""
    found = _NOT_UTF8.search(text)
    if found is None:
        return None
    return f"byte 0x{ord(found.group(0)) - 0xDC00:02x} at column {found.start() + 1}"


def source_format(source: str) -> str:
    """``jsonl`` or ``csv`` from the file name (``.jsonl``, ``.ndjson``, ``.json``, ``.csv``)."""
    lowered = source.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise ValueError(f"Cannot tell the format of {source!r}: name it *.jsonl or *.csv")


def read_rows(
    source: str,
    *,
    text_columns: Collection[str] = (),
    list_columns: Collection[str] = (),
) -> Iterator[Row | RowError]:
    """Yield every row of ``source`` in order (see the module docstring for the formats)."""
    fmt = source_format(source)
    with open_text(source) as handle:
        yield from parse_rows(handle, fmt, text_columns=text_columns, list_columns=list_columns)


def parse_rows(
    handle: IO[str],
    fmt: str,
    *,
    text_columns: Collection[str] = (),
    list_columns: Collection[str] = (),
) -> Iterator[Row | RowError]:
    """Yield every row of the open text ``handle`` in format ``fmt`` (``jsonl`` or ``csv``)."""
    if fmt == "csv":
        yield from _read_csv(handle, text_columns=text_columns, list_columns=list_columns)
    else:
        yield from _read_jsonl(handle)


def _bounded_lines(handle: IO[str]) -> Iterator[tuple[str, bool]]:
    """Every line, and whether it was longer than :data:`MAX_ROW_CHARS` (then only its start is returned)."""
    while True:
        line = handle.readline(MAX_ROW_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_ROW_CHARS and not line.endswith("\n"):
            rest = line
            while rest and not rest.endswith("\n"):  # skip the rest of the line, a bounded piece at a time
                rest = handle.readline(MAX_ROW_CHARS)
            yield line[:100], True
            continue
        yield line, False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (JSON numbers are finite)")


def _read_jsonl(handle: IO[str]) -> Iterator[Row | RowError]:
    for number, (line, too_long) in enumerate(_bounded_lines(handle), start=1):
        if too_long:
            yield RowError(line=number, message=f"longer than {MAX_ROW_CHARS:,} characters")
            continue
        if not line.strip():
            continue
        where = not_utf8(line)
        if where is not None:
            yield RowError(line=number, message=f"not UTF-8 text ({where})")
            continue
        try:
            data = json.loads(line, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            yield RowError(line=number, message=f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except ValueError as exc:
            yield RowError(line=number, message=str(exc))
            continue
        except RecursionError:
            yield RowError(line=number, message="nested too deeply to read")
            continue
        if not isinstance(data, dict):
            yield RowError(line=number, message=f"expected a JSON object, got {type(data).__name__}")
            continue
        yield Row(line=number, data=data)


def _read_csv(
    handle: IO[str], *, text_columns: Collection[str], list_columns: Collection[str]
) -> Iterator[Row | RowError]:
    if csv.field_size_limit() < MAX_ROW_CHARS:
        csv.field_size_limit(MAX_ROW_CHARS)
    reader = csv.reader(handle, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        header_problem: str | None = f"the header line cannot be read ({exc})"
        header = []
    else:
        header = [name.strip() for name in header]
        header_problem = _header_problem(header)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(line=reader.line_num, message=f"not valid CSV ({exc})")
            continue
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header_problem is not None:
            yield RowError(line=number, message=header_problem)
            continue
        where = next((found for found in map(not_utf8, row) if found is not None), None)
        if where is not None:
            yield RowError(line=number, message=f"not UTF-8 text ({where})")
            continue
        if len(row) != len(header):
            yield RowError(line=number, message=f"has {len(row)} cells, the header has {len(header)}")
            continue
        try:
            data = unflatten(
                {name: cell for name, cell in zip(header, row, strict=True)},
                text_columns=text_columns,
                list_columns=list_columns,
            )
        except ValueError as exc:
            yield RowError(line=number, message=str(exc))
            continue
        yield Row(line=number, data=data)


def _header_problem(header: list[str]) -> str | None:
    """What makes the header unusable for every row (bytes that are not UTF-8, a column name out of bounds)."""
    for index, name in enumerate(header, start=1):
        where = not_utf8(name)
        if where is not None:
            return f"the header is not UTF-8 text (column {index}: {where})"
        problem = column_problem(name)
        if problem is not None:
            return problem
    return None


def column_problem(column: str) -> str | None:
    """Why the CSV column name ``column`` cannot be used (too deep, a list index out of bounds), or ``None``."""
    parts = column.split(".")
    if len(parts) > MAX_COLUMN_DEPTH:
        return f"column {column[:80]!r} nests {len(parts)} levels (at most {MAX_COLUMN_DEPTH})"
    for part in parts[1:]:
        if part.isdigit() and int(part) >= MAX_LIST_INDEX:
            return f"column {column[:80]!r}: list index {part} is above the limit ({MAX_LIST_INDEX - 1})"
    return None


def _convert(column: str, cell: str, *, text_columns: Collection[str], list_columns: Collection[str]) -> Any:
    value = cell.strip()
    if column in list_columns or column.split(".")[-1].endswith(LIST_COLUMN_SUFFIXES):
        return [part.strip() for part in value.split(";") if part.strip()]
    if column in text_columns:
        return value
    if _INT.match(value):
        return int(value)
    if _FLOAT.match(value):
        return float(value)
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def unflatten(
    flat: dict[str, str], *, text_columns: Collection[str] = (), list_columns: Collection[str] = ()
) -> dict[str, Any]:
    """Turn ``{"routing.skills.0.id": "x"}`` into ``{"routing": {"skills": [{"id": "x"}]}}``.

    :raises ValueError: when a column name clashes with another (``a`` and ``a.b``), an index is not numeric or
        is out of bounds, or the name nests too deeply (checked before anything is allocated).
    """
    root: dict[str, Any] = {}
    for column, cell in flat.items():
        if not cell.strip():
            continue
        problem = column_problem(column)
        if problem is not None:
            raise ValueError(problem)
        value = _convert(column, cell, text_columns=text_columns, list_columns=list_columns)
        parts = column.split(".")
        node: Any = root
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            following = None if last else parts[depth + 1]
            child_default: Any = [] if following is not None and following.isdigit() else {}
            if isinstance(node, list):
                if not part.isdigit():
                    raise ValueError(f"column {column!r}: {part!r} should be a list index")
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                if last:
                    node[index] = value
                else:
                    if node[index] is None:
                        node[index] = child_default
                    node = node[index]
            else:
                if last:
                    if part in node:
                        raise ValueError(f"column {column!r} clashes with another column")
                    node[part] = value
                else:
                    existing = node.setdefault(part, child_default)
                    if not isinstance(existing, (dict, list)):
                        raise ValueError(f"column {column!r} clashes with column {part!r}")
                    node = existing
    return _drop_holes(root)


def _drop_holes(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _drop_holes(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_drop_holes(child) for child in value if child is not None]
    return value
