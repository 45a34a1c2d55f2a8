"""The items of a bulk run: read (a list or a streamed file), split off their external ids, validated in order."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from airflow_provider_genesys.creation.engine import prepare_item
from airflow_provider_genesys.creation.items import KindSpec, PreparedItem
from airflow_provider_genesys.creation.task import TaskIdentity, describe_item
from airflow_provider_genesys.exceptions import FieldError, InteractionValidationError
from airflow_provider_genesys.utils.sources import Row, RowError, read_rows

#: Checks a prepared item beyond its model (``validate_routing``); raises InteractionValidationError.
ItemCheck = Callable[[KindSpec, PreparedItem, str], None]


def as_payload(value: Any) -> Any:
    """A pydantic model as its wire form; anything else as is."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return value


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
class BulkInput:
    """Where a bulk run's items come from and how each one is identified.

    :param interactions: a list of request bodies (or a JSON string of one), when the items are inline.
    :param source: a path or URI of a ``*.jsonl`` / ``*.csv`` file, when they are in a file.
    :param external_id_field: the field holding an item's own id; it is removed from the body.
    """

    interactions: Any = None
    source: str | None = None
    external_id_field: str = "external_id"

    def rows(self) -> Iterator[Row | RowError]:
        """The raw rows, streamed from the file or taken from the list."""
        if self.source is not None:
            yield from read_rows(str(self.source), text_columns=(self.external_id_field,))
            return
        items: Any = self.interactions
        if isinstance(items, str):
            items = json.loads(items)
        if isinstance(items, Mapping):
            items = [items]
        for position, item in enumerate(items or []):
            yield Row(line=position + 1, data=as_payload(item))

    def split(self, data: Any) -> tuple[str | None, Any]:
        """An item's external id and its body without it."""
        if not isinstance(data, Mapping) or self.external_id_field not in data:
            return None, data
        payload = dict(data)
        raw = payload.pop(self.external_id_field)
        return (None if raw in (None, "") else str(raw)), payload

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
            external_id, payload = self.split(row.data)
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
