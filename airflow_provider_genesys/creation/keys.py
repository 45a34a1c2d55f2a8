"""Deterministic idempotency keys (pure functions, no I/O).

A key names one record a task *means* to create: the same DAG, task, run, map index, kind and item always
give the same key, however often Airflow retries the task or a person clears it. A new DAG run gives new keys.
The try number, the clock and random values never enter a key.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping, Set
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel

#: Version of the key recipe; it is hashed with the rest, so a future recipe cannot collide with this one.
IDEMPOTENCY_KEY_VERSION = 1


def _json_native(value: Any) -> Any:
    """Turn ``value`` into plain JSON types (dict with str keys, list, str, int, float, bool, None)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, BaseModel):
        return _json_native(value.model_dump(mode="json", by_alias=True, exclude_none=True))
    if isinstance(value, Mapping):
        return {_json_key(key): _json_native(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_native(item) for item in value]
    if isinstance(value, Set):
        items = [_json_native(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, ensure_ascii=False))
    return _json_scalar(value)


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    scalar = _json_native(key)
    return scalar if isinstance(scalar, str) else json.dumps(scalar, sort_keys=True, ensure_ascii=False)


def _json_scalar(value: Any) -> Any:
    """The ``default=`` hook of :func:`canonical_json`: one stable text form per non-JSON type."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        # aware datetimes are normalised to UTC, so 12:00+02:00 and 10:00Z give the same key
        return (value.astimezone(timezone.utc) if value.tzinfo is not None else value).isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return _json_native(value.value)
    if isinstance(value, BaseModel):
        return _json_native(value)
    raise TypeError(f"cannot derive a stable JSON form for {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """Serialise ``value`` to canonical JSON: sorted keys, no whitespace, UTF-8 text kept as is.

    Besides JSON types it accepts UUIDs (their canonical string), datetimes (ISO-8601; aware ones converted
    to UTC first), dates, times, Decimals (``str``), enums (their value), sets (sorted) and pydantic models
    (their wire form: ``model_dump(mode="json", by_alias=True, exclude_none=True)``).

    :param value: the value to serialise.
    :raises TypeError: for a type without a stable text form.
    """
    return json.dumps(
        _json_native(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=_json_scalar,
    )


def derive_idempotency_key(*, dag_id: str, task_id: str, run_id: str, map_index: int, kind: str, item: Any) -> str:
    """Return the idempotency key of one record: hex SHA-256 of a canonical JSON body.

    The hashed body is ``{"v": 1, "dag_id", "task_id", "run_id", "map_index", "kind", "item"}`` where ``item`` is
    the item's identity, normally :func:`item_identity`'s result (plain JSON). ``map_index`` is ``-1`` for a task
    that is not mapped (Airflow's own value). To recompute a key by hand (e.g. for an audit record whose item is
    ``{"external_id": "CASE-9"}``), fill in the six values and run::

        import hashlib, json
        body = {"v": 1, "dag_id": dag_id, "task_id": task_id, "run_id": run_id, "map_index": map_index, "kind": kind, "item": item}
        key = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")).hexdigest()

    :param dag_id: the DAG id.
    :param task_id: the task id.
    :param run_id: the DAG run id (a cleared task keeps it, so it keeps its keys).
    :param map_index: the task's map index, ``-1`` when the task is not mapped.
    :param kind: the kind of record (``interaction``, ``workitem``, ``callback``, ``email``...).
    :param item: the item's identity (see :func:`item_identity`).
    :raises TypeError: when ``map_index`` is not an integer.
    :raises ValueError: when an id or the kind is empty.
    """  # noqa: E501
    if isinstance(map_index, bool) or not isinstance(map_index, int):
        raise TypeError(f"map_index must be an int (-1 when unmapped), got {type(map_index).__name__}")
    for name, text in (("dag_id", dag_id), ("task_id", task_id), ("run_id", run_id), ("kind", kind)):
        if not isinstance(text, str) or not text:
            raise ValueError(f"{name} must be a non-empty string")
    body = {
        "v": IDEMPOTENCY_KEY_VERSION,
        "dag_id": dag_id,
        "task_id": task_id,
        "run_id": run_id,
        "map_index": map_index,
        "kind": kind,
        "item": item,
    }
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def item_identity(
    *, external_id: str | None, payload: Mapping[str, Any] | None, position: int | None = None
) -> dict[str, Any]:
    """Return what identifies one item inside a task: its own id when it has one, otherwise its content.

    * with an ``external_id`` (a CRM case id...): ``{"external_id": external_id}`` — the payload may change
      between runs of the same task without producing a second record;
    * without one: ``{"payload": <canonical payload>}``, plus ``"position"`` when a position is given (bulk
      items without an id, so two identical rows of one batch stay two records).

    :param external_id: the item's stable id, when it has one.
    :param payload: the item's request body (used only without an ``external_id``).
    :param position: the item's position in its batch (used only without an ``external_id``).
    :raises ValueError: if neither ``external_id`` nor ``payload`` is given, or ``external_id`` is blank.
    """
    if external_id is not None:
        if not isinstance(external_id, str) or not external_id.strip():
            raise ValueError("external_id must be a non-empty string when given")
        return {"external_id": external_id}
    if payload is None:
        raise ValueError("an item needs an external_id or a payload to be identified")
    identity: dict[str, Any] = {"payload": json.loads(canonical_json(payload))}
    if position is not None:
        if isinstance(position, bool) or not isinstance(position, int):
            raise TypeError(f"position must be an int, got {type(position).__name__}")
        identity["position"] = position
    return identity
