"""Where audit records and per-item results go besides XCom: JSON lines in a file that outlives the try.

XCom of a try is cleared when the next try starts, so the durable trail is a file:

* a path ending in ``.jsonl`` (local, ``file://`` or any ObjectStoragePath URI) is appended to, one line per
  record (local files are flushed line by line, so a killed task keeps what it wrote);
* any other value is a directory (or prefix): each try writes its own file
  ``<dir>/<dag_id>/<run_id>/<task_id>[.<map_index>]/try-<n>.jsonl`` — that works on object stores too, where
  files cannot be appended to.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import IO, Any

from airflow.sdk import conf

_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]")


def safe_segment(value: str) -> str:
    """A path segment made of safe characters (run ids contain ``:`` and ``+``)."""
    return _UNSAFE.sub("_", value)


def default_state_dir() -> str:
    """Where run-scoped files live: ``GENESYS_PROVIDER_STATE_DIR``, else ``[genesys] state_dir``, else
    ``$AIRFLOW_HOME/genesys``."""
    configured = os.environ.get("GENESYS_PROVIDER_STATE_DIR") or conf.get("genesys", "state_dir", fallback="")
    if configured:
        return configured
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return os.path.join(home, "genesys")


def resolve_audit_file(audit_path: str, scope: str, try_number: int) -> str:
    """The file an audit record of this try goes to (see the module docstring).

    :param audit_path: the operator's ``audit_path``.
    :param scope: the task instance's folder, ``<dag_id>/<run_id>/<task_id>[.<map_index>]``.
    :param try_number: the current try.
    """
    if audit_path.endswith(".jsonl"):
        return audit_path
    return f"{audit_path.rstrip('/')}/{scope}/try-{try_number}.jsonl"


def _is_uri(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


class JsonLinesWriter:
    """Appends JSON lines to a local file (flushed per line) or buffers them for an object-store URI.

    :param path: a local path, ``file://`` path, or an ObjectStoragePath URI.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._local: IO[str] | None = None
        self._buffer: io.StringIO | None = None
        self.lines = 0

    def _open(self) -> None:
        if _is_uri(self.path):
            self._buffer = io.StringIO()
            return
        local = Path(self.path.removeprefix("file://"))
        local.parent.mkdir(parents=True, exist_ok=True)
        self._local = local.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any] | str) -> None:
        """Append one record (a dict, or an already-serialised JSON line)."""
        if self._local is None and self._buffer is None:
            self._open()
        line = record if isinstance(record, str) else json.dumps(record, sort_keys=True, separators=(",", ":"))
        if self._local is not None:
            self._local.write(line + "\n")
            self._local.flush()
        elif self._buffer is not None:
            self._buffer.write(line + "\n")
        self.lines += 1

    def close(self) -> None:
        """Flush and close; an object-store file is written here in one piece."""
        if self._local is not None:
            self._local.close()
            self._local = None
        if self._buffer is not None:
            from airflow.sdk import ObjectStoragePath

            target = ObjectStoragePath(self.path)
            existing = target.read_text() if target.exists() else ""
            target.write_text(existing + self._buffer.getvalue())
            self._buffer = None

    def __enter__(self) -> JsonLinesWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
