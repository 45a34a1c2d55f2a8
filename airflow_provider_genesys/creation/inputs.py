"""The items of a bulk run: read once (a list, or a file copied as it is streamed), split off their external ids,
validated in order.

A bulk run makes two passes over its items (validate everything, then create), but reads its source only once:
:meth:`BulkInput.load` streams the file into a private spool (a temporary file of this process) and both passes
parse that copy, so a file that changes while the run goes on cannot slip an unvalidated row into pass 2 or make
a row vanish from the report.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from pydantic import BaseModel

from airflow_provider_genesys.creation.engine import prepare_item
from airflow_provider_genesys.creation.items import KindSpec, PreparedItem
from airflow_provider_genesys.creation.task import TaskIdentity, describe_item
from airflow_provider_genesys.exceptions import FieldError, InteractionValidationError
from airflow_provider_genesys.utils.sources import Row, RowError, open_binary, parse_rows, source_format, text_of

#: Checks a prepared item beyond its model (``validate_routing``); raises InteractionValidationError.
ItemCheck = Callable[[KindSpec, PreparedItem, str], None]
_LONE_SURROGATE = re.compile("[\\ud800-\\udfff]")
#: Bytes copied at a time while the source is spooled.
_COPY_CHUNK = 1 << 20


def as_payload(value: Any) -> Any:
    """A pydantic model as its Python form (NaN stays NaN, to be rejected); anything else as is."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python", by_alias=True, exclude_none=True)
    return value


def checked_external_id(raw: Any, *, field: str = "external_id") -> str | None:
    """An item's external id as text: ``None`` when absent (``None`` or ``""``), else a non-blank string.

    :param raw: the value as given (a string, or an integer such as a CRM's numeric case id).
    :param field: the field's name, for the error.
    :raises InteractionValidationError: for a blank id or one that is neither a string nor an integer.
    """
    if raw is None or raw == "":
        return None
    problem = None
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        problem = f"must be a string (or an integer), not {type(raw).__name__}"
    elif not str(raw).strip():
        problem = "is blank: give the item's own id, or leave the field out"
    elif isinstance(raw, str) and _LONE_SURROGATE.search(raw):
        problem = "is not valid Unicode text (bytes that are not UTF-8)"
    if problem is not None:
        raise InteractionValidationError(errors=[FieldError(path=field, message=problem)])
    return str(raw)


@dataclass(frozen=True)
class ValidatedItem:
    """One item of the input, in order: its position, its external id, and the prepared item or its problems."""

    position: int
    external_id: str | None
    prepared: PreparedItem | InteractionValidationError

    @property
    def error(self) -> InteractionValidationError | None:
        """The validation error, when the item is invalid."""
        return self.prepared if isinstance(self.prepared, InteractionValidationError) else None


@dataclass(frozen=True)
class SourceRead:
    """What :meth:`BulkInput.load` read: how many bytes, and their SHA-256 (both passes parse exactly these)."""

    size: int
    sha256: str


class BulkInput:
    """Where a bulk run's items come from and how each one is identified.

    :param interactions: a list of request bodies (or a JSON string of one), when the items are inline.
    :param source: a path or URI of a ``*.jsonl`` / ``*.csv`` file, when they are in a file.
    :param external_id_field: the field holding an item's own id; it is removed from the body.
    """

    def __init__(self, *, interactions: Any = None, source: str | None = None, external_id_field: str = "external_id"):
        self.interactions = interactions
        self.source = source
        self.external_id_field = external_id_field
        self._spool: IO[bytes] | None = None
        self._items: list[Any] | None = None
        self.read: SourceRead | None = None

    def load(self) -> SourceRead | None:
        """Read the input once: copy a file source into a private spool, parse an inline JSON string.

        Both passes then read that copy. Safe to call again (it reads nothing more).

        :returns: the size and SHA-256 of a file source as read; ``None`` for inline items.
        :raises InteractionValidationError: when ``interactions`` is not a list of objects (or a JSON text of one).
        """
        if self.source is None:
            if self._items is None:
                self._items = self._inline_items()
            return None
        if self._spool is None:
            source = str(self.source)
            source_format(source)  # an unknown format fails here, before anything is copied
            digest = hashlib.sha256()
            size = 0
            spool = tempfile.TemporaryFile(prefix="genesys-source-")  # noqa: SIM115 - lives until close()
            try:
                with open_binary(source) as raw:
                    while chunk := raw.read(_COPY_CHUNK):
                        digest.update(chunk)
                        spool.write(chunk)
                        size += len(chunk)
            except BaseException:
                spool.close()
                raise
            self._spool = spool
            self.read = SourceRead(size=size, sha256=digest.hexdigest())
        return self.read

    def close(self) -> None:
        """Drop the spool (the temporary copy of a file source)."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def _inline_items(self) -> list[Any]:
        items: Any = self.interactions
        if isinstance(items, str):
            try:
                items = json.loads(items, parse_constant=_reject_constant)
            except (ValueError, RecursionError) as exc:
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc) or type(exc).__name__
                raise _unreadable(f"is a string but not JSON text of a list of objects ({reason})") from None
        if isinstance(items, Mapping):
            items = [items]
        if items is None:
            return []
        if isinstance(items, (list, tuple)):
            return list(items)
        raise _unreadable(f"must be a list of objects (or a JSON text of one), not {type(items).__name__}")

    def rows(self) -> Iterator[Row | RowError]:
        """The raw rows: parsed from the spool (a file source) or taken from the list."""
        if self.source is not None:
            self.load()
            assert self._spool is not None
            spool = self._spool
            spool.seek(0)
            text = text_of(spool)
            try:
                yield from parse_rows(text, source_format(str(self.source)), text_columns=(self.external_id_field,))
            finally:
                text.detach()  # the spool stays open for the other pass
            return
        if self._items is None:
            self._items = self._inline_items()
        for position, item in enumerate(self._items):
            yield Row(line=position + 1, data=as_payload(item))

    def split(self, data: Any) -> tuple[str | None, Any]:
        """An item's external id and its body without it.

        :raises InteractionValidationError: for a blank external id or one of the wrong type.
        """
        if not isinstance(data, Mapping) or self.external_id_field not in data:
            return None, data
        payload = dict(data)
        raw = payload.pop(self.external_id_field)
        return checked_external_id(raw, field=self.external_id_field), payload

    def validated(self, spec: KindSpec, task: TaskIdentity, check: ItemCheck | None = None) -> Iterator[ValidatedItem]:
        """Every item in order, prepared or with its validation error (duplicate external ids are errors)."""
        seen: dict[str, int] = {}
        for position, row in enumerate(self.rows()):
            if isinstance(row, RowError):
                error = InteractionValidationError(
                    errors=[FieldError(path=f"line {row.line}", message=row.message)],
                    item=describe_item(position, None),
                    kind=spec.name,
                )
                yield ValidatedItem(position, None, error)
                continue
            try:
                external_id, payload = self.split(row.data)
            except InteractionValidationError as bad_id:
                labelled = InteractionValidationError(
                    errors=bad_id.errors, item=describe_item(position, None), kind=spec.name
                )
                yield ValidatedItem(position, None, labelled)
                continue
            if external_id is not None and external_id in seen:
                duplicate = FieldError(
                    path=self.external_id_field,
                    message=f"duplicate external id: item {seen[external_id]} has the same one",
                )
                error = InteractionValidationError(
                    errors=[duplicate], item=describe_item(position, external_id), kind=spec.name
                )
                yield ValidatedItem(position, external_id, error)
                continue
            if external_id is not None:
                seen[external_id] = position
            try:
                prepared = prepare_item(spec, payload, task, position=position, external_id=external_id)
                if check is not None:
                    check(spec, prepared, describe_item(position, external_id))
                yield ValidatedItem(position, external_id, prepared)
            except InteractionValidationError as error:
                yield ValidatedItem(position, external_id, error)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unreadable(why: str) -> InteractionValidationError:
    return InteractionValidationError(errors=[FieldError(path="interactions", message=why)])
