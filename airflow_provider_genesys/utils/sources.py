"""Streaming readers for bulk input: JSON lines and CSV, from a local path or an ObjectStoragePath URI.

Rows are yielded one at a time, so a 100k-row file is never held in memory. A row that cannot be parsed is
yielded as a :class:`RowError` with its line number instead of being dropped.

CSV layout: one column per field, nested fields by dotted names, list items by index, lists of plain values
``;``-separated. For the interaction contract::

    external_id,type,routing.priority,routing.queue.id,routing.skills.0.id,routing.skills.0.level,participants.0.id,participants.0.roles,participants.0.channel.id
    CASE-1,voice,5,<queue uuid>,<skill uuid>,3,<uuid>,initiator;customer,+15551230001

Cells that are empty are left out; cells that look like integers or decimals become numbers, except in the
columns named in ``text_columns`` (the external id column always stays text); ``true``/``false`` become booleans.
Columns whose name ends in ``roles``, ``Ids``, ``skillIds``, ``callbackNumbers`` or is listed in ``list_columns``
are split on ``;``.
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
def open_text(source: str) -> Iterator[IO[str]]:
    """Open a local path, ``file://`` path or ObjectStoragePath URI for streaming text reads."""
    if "://" in source and not source.startswith("file://"):
        from airflow.sdk import ObjectStoragePath

        with ObjectStoragePath(source).open("rb") as raw:
            yield io.TextIOWrapper(raw, encoding="utf-8", newline="")
        return
    with Path(source.removeprefix("file://")).open(encoding="utf-8", newline="") as handle:
        yield handle


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
    if source_format(source) == "csv":
        yield from _read_csv(source, text_columns=text_columns, list_columns=list_columns)
    else:
        yield from _read_jsonl(source)


def _read_jsonl(source: str) -> Iterator[Row | RowError]:
    with open_text(source) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                yield RowError(line=number, message=f"not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(data, dict):
                yield RowError(line=number, message=f"expected a JSON object, got {type(data).__name__}")
                continue
            yield Row(line=number, data=data)


def _read_csv(source: str, *, text_columns: Collection[str], list_columns: Collection[str]) -> Iterator[Row | RowError]:
    with open_text(source) as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return
        header = [name.strip() for name in header]
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
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

    :raises ValueError: when a column name clashes with another (``a`` and ``a.b``) or an index is not numeric.
    """
    root: dict[str, Any] = {}
    for column, cell in flat.items():
        if not cell.strip():
            continue
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
