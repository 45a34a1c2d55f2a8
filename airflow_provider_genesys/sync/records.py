"""The records a CRM sync reads, the payload and ``webhook-id`` of each delivery, and how failures are named.

Records come from an upstream create (its audit record, its returned record), a bulk run summary (``items``, or
``items_path`` / ``audit_path`` naming a JSON-lines file), a list, or a JSON-lines path — or a JSON (or Python
literal) string of any of these, as a Jinja-rendered XCom is.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Mapping, Sequence
from hashlib import sha256
from pathlib import Path
from typing import Any

from airflow_provider_genesys.utils.sources import open_text

#: Keys of a pending (accepted) delivery that are carried through a deferral (all plain JSON).
PENDING_KEYS = ("webhook_id", "status_url", "interaction_id", "external_id", "position")

#: Outcomes of an upstream create that mean "an interaction exists": only those are synchronised.
SYNCABLE_OUTCOMES = frozenset({"created", "replayed"})
#: Failed records named in an exception message (the rest are counted).
MAX_LISTED_FAILURES = 20


def describe_record(receipt: Mapping[str, Any]) -> str:
    """One-line identification of a record: position, external id, interaction id, webhook id."""
    parts = []
    for name in ("position", "external_id", "interaction_id", "webhook_id"):
        value = receipt.get(name)
        if value is not None:
            parts.append(f"{name}={value}")
    return " ".join(parts) or "record"


def render_failures(headline: str, failed: Sequence[Mapping[str, Any]]) -> str:
    """``headline`` followed by one line per failed record (at most :data:`MAX_LISTED_FAILURES`)."""
    lines = [headline]
    for receipt in failed[:MAX_LISTED_FAILURES]:
        reason = receipt.get("reason") or "failed"
        if "http_status" in receipt:
            status = receipt["http_status"]
            reason = f"{f'HTTP {status}' if status is not None else 'no response'}: {reason}"
        lines.append(f"  - {describe_record(receipt)}: {reason}")
    if len(failed) > MAX_LISTED_FAILURES:
        lines.append(f"  ... and {len(failed) - MAX_LISTED_FAILURES} more")
    return "\n".join(lines)


def _lookup(record: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted ``path`` in nested mappings (``routing.queue.id``); ``None`` when any step is missing."""
    current: Any = record
    for step in path.split("."):
        if isinstance(current, Mapping) and step in current:
            current = current[step]
        else:
            return None
    return current


def _first(record: Mapping[str, Any], *paths: str) -> Any:
    for path in paths:
        value = _lookup(record, path)
        if value is not None:
            return value
    return None


def interaction_id_of(record: Mapping[str, Any]) -> str | None:
    """``interaction_id`` (an audit record or bulk item), else ``id`` (a record returned by Genesys)."""
    value = record.get("interaction_id") or record.get("id")
    return None if value in (None, "") else str(value)


def _as_mapping(value: Any) -> Any:
    """Turn pydantic models (``AuditRecord``, ``RunSummary``...) into plain dicts; leave the rest."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return value


def _read_json_lines(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines file: a local path, ``file://`` path or ObjectStoragePath URI."""
    records: list[dict[str, Any]] = []
    with open_text(str(path)) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number} is not a JSON line: {error.msg}") from None
            if not isinstance(record, Mapping):
                raise ValueError(f"{path}:{number} is not a JSON object")
            records.append(dict(record))
    return records


def load_records(records: Any) -> list[dict[str, Any]]:
    """Normalise the operator's ``records`` argument into a list of per-item dicts.

    Accepted: a list of dicts (or of pydantic models); a single dict; a bulk run summary (a dict with an
    ``items`` list, or an ``items_path`` / ``audit_path`` naming a JSON-lines file); a path to a JSON-lines
    file; a JSON (or Python literal) string of any of these, as a Jinja-rendered XCom is.
    """
    records = _as_mapping(records)
    if records is None:
        return []
    if isinstance(records, (str, Path)):
        text = str(records).strip()
        if text.startswith(("[", "{")):
            return load_records(_parsed(text))
        if not text:
            return []
        return _read_json_lines(text)
    if isinstance(records, Mapping):
        if isinstance(records.get("items"), list) and records["items"]:
            return load_records(records["items"])
        for path_key in ("items_path", "audit_path"):
            if records.get(path_key):
                return _read_json_lines(str(records[path_key]))
        if "items" in records and "interaction_id" not in records:
            return []  # a summary of an empty (or fully invalid, item-less) run
        return [dict(records)]
    if isinstance(records, Iterable):
        flattened: list[dict[str, Any]] = []
        for element in records:
            element = _as_mapping(element)
            if isinstance(element, Mapping) and ("items" in element or "items_path" in element):
                flattened.extend(load_records(element))  # e.g. mapped bulk tasks: a list of summaries
            elif isinstance(element, Mapping):
                flattened.append(dict(element))
            elif element is not None:
                raise ValueError(f"records contains a {type(element).__name__}, expected dicts")
        return flattened
    raise ValueError(f"records must be a list, a dict or a path, not {type(records).__name__}")


def build_payload(record: Mapping[str, Any], *, fields: Mapping[str, str | None] | None, now: str) -> dict[str, Any]:
    """The JSON sent for one record: the standard fields, then ``fields`` applied.

    :param record: one per-item record.
    :param fields: extra payload fields, ``{output name: source}``; ``source`` is a dotted path looked up in the
        record first, then in the standard payload; a ``None`` source removes that output field.
    :param now: the sync's time, used when the record carries none.
    """
    key = _first(record, "key", "idempotency_key")
    payload: dict[str, Any] = {
        "interaction_id": interaction_id_of(record),
        "kind": record.get("kind") or "interaction",
        "type": _first(record, "type", "interaction_type", "request.type", "payload.type"),
        "queue_id": _first(
            record,
            "queue_id",
            "queueId",
            "queue.id",  # a Workitem record (Genesys' references, not flat ids)
            "routing.queue.id",
            "request.routing.queue.id",
            "payload.routing.queue.id",
        ),
        "external_id": record.get("external_id"),
        "idempotency_key": key,
        "outcome": record.get("outcome") or "created",
        "timestamp": _first(record, "timestamp", "createTime", "dateCreated") or now,
    }
    standard = dict(payload)
    for output, source in (fields or {}).items():
        if source is None:
            payload.pop(output, None)
            continue
        value = _lookup(record, source)
        payload[output] = value if value is not None else _lookup(standard, source)
    return payload


def webhook_id_for(record: Mapping[str, Any]) -> str:
    """The record's idempotency key, or one derived from its interaction id."""
    key = _first(record, "key", "idempotency_key")
    if key:
        return str(key)
    return sha256(f"crm-sync:v1:{interaction_id_of(record)}".encode()).hexdigest()


def accepted_deliveries(receipts: Any) -> list[dict[str, Any]]:
    """The ``accepted`` receipts (with a status URL) among ``receipts``.

    ``receipts`` is what the CRM sync operator returned (a summary with a ``receipts`` list, or with
    ``receipts_path`` naming their JSON-lines file when they exceeded the XCom budget), the list itself, the path
    of such a file, or any of these as a JSON / Python-literal string.
    """
    if isinstance(receipts, (str, Path)):
        text = str(receipts).strip()
        if not text:
            return []
        receipts = _parsed(text) if text.startswith(("[", "{")) else _read_json_lines(text)
    if isinstance(receipts, Mapping):
        if receipts.get("receipts") is None and receipts.get("receipts_path"):
            receipts = _read_json_lines(str(receipts["receipts_path"]))
        else:
            receipts = receipts.get("receipts", [receipts])
    accepted = []
    for receipt in receipts or []:
        if isinstance(receipt, Mapping) and receipt.get("state") == "accepted" and receipt.get("status_url"):
            accepted.append({key: receipt.get(key) for key in PENDING_KEYS})
    return accepted


def _parsed(text: str) -> Any:
    """A JSON (or Python literal) text, as a Jinja-rendered XCom is."""
    try:
        return json.loads(text)
    except ValueError:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise ValueError("the value is a string that is neither JSON nor a Python literal") from None
