"""One XCom budget for every operator: per-item values stay in XCom while the run's XCom fits, else go to files.

XCom lives in Airflow's metadata database; a run that pushes a record per item would grow it without bound. So
every operator keeps its run's XCom — the return value and every key it pushes — within ``[genesys]
xcom_max_bytes`` (64 KB by default). Per-item values (results, audit records, delivery receipts) are kept in XCom
while they fit; once they would not, every stream of the run is written to its JSON-lines file (the operator's
``audit_path``, or the state directory; local or object storage) and XCom holds the files' paths instead.

Sizes are counted as the metadata database stores an XCom value: its JSON text (``json.dumps`` defaults).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from airflow.sdk import conf

from airflow_provider_genesys.exceptions import GenesysConfigurationError
from airflow_provider_genesys.utils.audit_files import JsonLinesWriter

#: The default budget of one run's XCom, in bytes.
DEFAULT_XCOM_MAX_BYTES = 65_536
#: The smallest budget accepted: a run's summary alone needs about 2 KB.
MIN_XCOM_MAX_BYTES = 4_096


def xcom_max_bytes() -> int:
    """The budget of one run's XCom: ``[genesys] xcom_max_bytes`` (``AIRFLOW__GENESYS__XCOM_MAX_BYTES``).

    :raises GenesysConfigurationError: when it is not an integer of at least :data:`MIN_XCOM_MAX_BYTES`.
    """
    raw = conf.get("genesys", "xcom_max_bytes", fallback="") or str(DEFAULT_XCOM_MAX_BYTES)
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = -1
    if value < MIN_XCOM_MAX_BYTES:
        raise GenesysConfigurationError(
            f"[genesys] xcom_max_bytes must be an integer of at least {MIN_XCOM_MAX_BYTES} (bytes of one run's "
            f"XCom; default {DEFAULT_XCOM_MAX_BYTES}), not {raw!r:.40}."
        )
    return value


def xcom_size(value: Any) -> int:
    """Bytes of ``value`` as XCom stores it (its JSON text)."""
    return len(json.dumps(value, default=str).encode("utf-8"))


def json_line(record: Mapping[str, Any]) -> str:
    """``record`` as one compact JSON line with sorted keys (what the files hold)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


class SpillingRecords:
    """A run's per-item records, in named streams, kept for XCom while the run's XCom stays within its budget.

    Once the kept records would exceed ``max_bytes``, every stream spills: what it kept goes to its file and
    every later record follows it there, line by line; :meth:`kept` is then ``None`` and :meth:`path` names the
    file. A ``durable`` stream (an ``audit_path``) is written to its file whatever the budget, and is never written
    twice.

    :param max_bytes: the budget of the run's XCom.
    :param files: stream name → the JSON-lines file (local path or ObjectStoragePath URI) it spills to.
    :param durable: the streams written to their file in any case.
    """

    def __init__(self, max_bytes: int, files: Mapping[str, str], *, durable: Collection[str] = ()) -> None:
        self.max_bytes = max_bytes
        self.durable = frozenset(durable)
        self._writers = {name: JsonLinesWriter(path) for name, path in files.items()}
        self._kept: dict[str, list[dict[str, Any]]] = {name: [] for name in files}
        self._size = 0
        self.spilled = False

    @property
    def kept_bytes(self) -> int:
        """Bytes the kept records take in XCom (each list's separators included)."""
        return self._size

    def add(self, name: str, record: dict[str, Any], line: str | None = None) -> None:
        """Keep or write one record of stream ``name`` (``line``: its JSON line, when the caller has it)."""
        writer = self._writers[name]
        if name in self.durable:
            writer.write(line or json_line(record))
        if self.spilled:
            if name not in self.durable:
                writer.write(line or json_line(record))
            return
        self._kept[name].append(record)
        self._size += xcom_size(record) + 2  # ", " between list items
        if self._size > self.max_bytes:
            self.spill()

    def fit(self, other_bytes: int) -> bool:
        """Spill unless the kept records and ``other_bytes`` (the run's other XCom) fit the budget together.

        :returns: whether the records stay in XCom.
        """
        if not self.spilled and self._size + other_bytes > self.max_bytes:
            self.spill()
        return not self.spilled

    def spill(self) -> None:
        """Write every kept record to its stream's file; later records go there directly."""
        if self.spilled:
            return
        self.spilled = True
        for name, kept in self._kept.items():
            if name not in self.durable:
                for record in kept:
                    self._writers[name].write(json_line(record))
            kept.clear()
        self._size = 0

    def kept(self, name: str) -> list[dict[str, Any]] | None:
        """The records of ``name`` kept for XCom (``None`` once the run spilled)."""
        return None if self.spilled else self._kept[name]

    def path(self, name: str) -> str | None:
        """The file of ``name`` when it holds the stream: a durable stream, or any stream once spilled.

        Read it after :meth:`close` (an object store's final name is only known then).
        """
        if name in self.durable or (self.spilled and self._writers[name].lines):
            return self._writers[name].path
        return None

    def close(self) -> None:
        """Close the files (an object-store object is written here, in one piece)."""
        for writer in self._writers.values():
            writer.close()
