"""Where audit records and per-item results go besides XCom: JSON lines in a file that outlives the try.

XCom of a try is cleared when the next try starts, so the durable trail is a file:

* a local (or ``file://``) path ending in ``.jsonl`` is appended to, one line per record, flushed line by line
  (a killed task keeps what it wrote);
* any other value is a directory (or prefix): each try writes its own file
  ``<dir>/<dag_id>/<run_id>/<task_id>[@<map_index>]/try-<n>.jsonl``;
* on an object store (``s3://``, ``gs://``... any ObjectStoragePath URI) nothing can be appended to, so every
  try writes one object of its own, once, when the try ends — a URI ending in ``.jsonl`` is a prefix there too
  (``s3://b/audit.jsonl`` → ``s3://b/audit/<dag_id>/<run_id>/<task_id>/try-<n>.jsonl``); an object is never read
  back and rewritten.

Every identifier that becomes part of a path is percent-encoded into one segment (:func:`safe_segment`), so a
``dag_id``, ``run_id`` or ``task_id`` such as ``..`` or ``a/b`` cannot leave its folder or share another's.

:func:`probe_location` checks a location before a run sends anything: the scheme is supported, its filesystem
is installed, and a file can be written there.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from airflow.sdk import conf

from airflow_provider_genesys.exceptions import GenesysConfigurationError

#: Characters an identifier keeps in a path segment; everything else is percent-encoded (``:`` → ``%3A``).
_SAFE_CHARACTERS = "+="
#: Up to this many items, a run also writes each audit record to the task log (one JSON line each).
LOG_RECORDS_MAX_ITEMS = 1000
#: Which provider package supplies the filesystem of a URI scheme (for the error that says what to install).
_SCHEME_PROVIDERS = {
    "s3": "apache-airflow-providers-amazon",
    "s3a": "apache-airflow-providers-amazon",
    "gs": "apache-airflow-providers-google",
    "gcs": "apache-airflow-providers-google",
    "abfs": "apache-airflow-providers-microsoft-azure",
    "abfss": "apache-airflow-providers-microsoft-azure",
    "adl": "apache-airflow-providers-microsoft-azure",
    "wasb": "apache-airflow-providers-microsoft-azure",
    "hdfs": "apache-airflow-providers-apache-hdfs",
    "oci": "apache-airflow-providers-oracle",
}


def safe_segment(value: str) -> str:
    """``value`` as one path segment: percent-encoded (``/`` → ``%2F``), a leading dot encoded (``..`` → ``%2E.``).

    Distinct values give distinct segments, and no segment is empty, ``.`` or ``..``.
    """
    encoded = quote(str(value), safe=_SAFE_CHARACTERS)
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    return encoded or "%00"


def default_state_dir() -> str:
    """Where run-scoped files live: ``GENESYS_PROVIDER_STATE_DIR``, else ``[genesys] state_dir``, else
    ``$AIRFLOW_HOME/genesys``."""
    configured = os.environ.get("GENESYS_PROVIDER_STATE_DIR") or conf.get("genesys", "state_dir", fallback="")
    if configured:
        return configured
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return os.path.join(home, "genesys")


def is_uri(path: str) -> bool:
    """An ObjectStoragePath URI (``s3://...``), as opposed to a local or ``file://`` path."""
    return "://" in path and not path.startswith("file://")


def resolve_audit_file(audit_path: str, scope: str, try_number: int) -> str:
    """The file an audit record of this try goes to (see the module docstring).

    :param audit_path: the operator's ``audit_path``.
    :param scope: the task instance's folder, ``<dag_id>/<run_id>/<task_id>[@<map_index>]``.
    :param try_number: the current try.
    """
    if audit_path.endswith(".jsonl") and not is_uri(audit_path):
        return audit_path
    prefix = audit_path.removesuffix(".jsonl") if is_uri(audit_path) else audit_path
    return f"{prefix.rstrip('/')}/{scope}/try-{try_number}.jsonl"


def run_file(audit_path: str | None, scope: str, try_number: int, name: str) -> str:
    """A run's own JSON-lines file ``name`` (per-item results, receipts...): beside the audit records, else in the
    state directory — ``<folder>/<dag_id>/<run_id>/<task_id>[@<map_index>]/<name>-try-<n>.jsonl``.

    :param audit_path: the operator's ``audit_path``: its directory or prefix is the folder (not a ``.jsonl`` file).
    :param scope: the task instance's folder.
    :param try_number: the current try.
    :param name: what the file holds.
    """
    if audit_path and (is_uri(audit_path) or not audit_path.endswith(".jsonl")):
        folder = audit_path.removesuffix(".jsonl").rstrip("/")
    else:
        folder = default_state_dir()
    return f"{folder}/{scope}/{safe_segment(name)}-try-{try_number}.jsonl"


def probe_location(path: str, *, what: str, object_store: bool = True) -> None:
    """Check, before anything is sent, that files can be written at ``path`` (a file or a directory).

    A local path: its directory is created and a probe file written and removed there. A URI: its scheme has a
    filesystem installed, and a probe object is written and removed beside it.

    :param path: the file or directory the run will write.
    :param what: what the location is, for the error (``audit_path``, ``GENESYS_PROVIDER_STATE_DIR``...).
    :param object_store: whether an object-store URI is acceptable here.
    :raises GenesysConfigurationError: naming the location, what is wrong and how to fix it.
    """
    if is_uri(path):
        if not object_store:
            raise GenesysConfigurationError(
                f"{what} {path!r} is an object-store URI, but this location needs a local path or a shared mount "
                "(lines are appended and flushed one at a time)."
            )
        _probe_object_store(path, what)
        return
    local = Path(path.removeprefix("file://"))
    directory = local.parent if local.suffix == ".jsonl" else local
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".genesys-probe-", delete=True):
            pass
        if local.suffix == ".jsonl" and local.exists() and not os.access(local, os.W_OK):
            raise PermissionError(f"{local} is read-only")
    except OSError as error:
        raise GenesysConfigurationError(
            f"{what} {path!r} is not writable ({type(error).__name__}: {error.strerror or error}). Give a directory "
            "this worker can write to, or fix its permissions."
        ) from None


def _probe_object_store(uri: str, what: str) -> None:
    scheme = uri.split("://", 1)[0].lower()
    from airflow.sdk import ObjectStoragePath

    try:
        target = ObjectStoragePath(uri)
        target.fs  # noqa: B018 - resolving the filesystem is the check
    except (ValueError, ImportError) as error:
        package = _SCHEME_PROVIDERS.get(scheme)
        fix = f"install {package} (or the fsspec package for {scheme!r})" if package else "use a supported scheme"
        raise GenesysConfigurationError(
            f"{what} {uri!r}: no filesystem for the scheme {scheme!r} is available here ({error}); {fix}, or give "
            "a local path."
        ) from None
    folder = target.parent if uri.endswith(".jsonl") else target
    probe = folder / f".genesys-probe-{uuid.uuid4().hex}"
    try:
        probe.write_text("")
        probe.unlink()
    except Exception as error:
        raise GenesysConfigurationError(
            f"{what} {uri!r} is not writable ({type(error).__name__}): check the connection/credentials of the "
            "object store and the bucket's permissions."
        ) from None


class JsonLinesWriter:
    """Appends JSON lines to a local file (flushed per line), or writes one object to an object-store URI.

    For a URI the lines are spooled to a local temporary file and uploaded once, at :meth:`close`; an existing
    object is never read back or overwritten (a second writer to the same URI writes a sibling object).

    :param path: a local path, ``file://`` path, or an ObjectStoragePath URI.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._local: IO[str] | None = None
        self._spool: IO[str] | None = None
        self.lines = 0

    def _open(self) -> None:
        if is_uri(self.path):
            self._spool = tempfile.TemporaryFile(mode="w+", encoding="utf-8", prefix="genesys-audit-")  # noqa: SIM115
            return
        local = Path(self.path.removeprefix("file://"))
        local.parent.mkdir(parents=True, exist_ok=True)
        self._local = local.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any] | str) -> None:
        """Append one record (a dict, or an already-serialised JSON line)."""
        if self._local is None and self._spool is None:
            self._open()
        line = record if isinstance(record, str) else json.dumps(record, sort_keys=True, separators=(",", ":"))
        if self._local is not None:
            self._local.write(line + "\n")
            self._local.flush()
        elif self._spool is not None:
            self._spool.write(line + "\n")
        self.lines += 1

    def close(self) -> None:
        """Flush and close; an object-store object is written here, in one piece."""
        if self._local is not None:
            self._local.close()
            self._local = None
        if self._spool is not None:
            spool, self._spool = self._spool, None
            try:
                self._upload(spool)
            finally:
                spool.close()

    def _upload(self, spool: IO[str]) -> None:
        from airflow.sdk import ObjectStoragePath

        target = ObjectStoragePath(self.path)
        if target.exists():
            # never read-modify-write: this writer's lines become an object of their own next to it
            target = ObjectStoragePath(f"{self.path.removesuffix('.jsonl')}.{uuid.uuid4().hex[:8]}.jsonl")
            self.path = str(target)
        spool.seek(0)
        with target.open("w", encoding="utf-8") as remote:
            shutil.copyfileobj(spool, remote)

    def __enter__(self) -> JsonLinesWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
