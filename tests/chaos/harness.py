"""What every scenario of the chaos matrix shares: a sandbox with a token recorder, connections, a fork server for
task processes that get SIGKILLed, bulk runs with a fake-but-complete task context, exactly-once tallies, and the
evidence (logs, XCom values, audit records and files, exception texts) that the secret-hygiene scan reads.

Imported by the scenarios (``tests/chaos/scenarios/``), the matrix (``tests/chaos/matrix.py``), the fork server
(``tests/chaos/worker.py``), the short form in ``tests/chaos`` and ``benchmarks/chaos.py`` (the full matrix).
Everything talks to a real sandbox over loopback; every loop is bounded.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from genesys_sandbox import SandboxConfig, SandboxServer  # noqa: E402
from tests.support.connections import conn_env_var, crm_connection, environment, genesys_connection  # noqa: E402
from tests.support.context import FakeTaskInstance, task_context  # noqa: E402
from tests.support.payloads import write_jsonl  # noqa: E402

DAG_ID = "chaos"
TASK_ID = "bulk"
INTERACTIONS = "POST /api/v2/interactions"


def work_dir(prefix: str) -> Path:
    """A fresh directory of the run (under the run's private temporary directory)."""
    return Path(tempfile.mkdtemp(prefix=f"genesys-chaos-{prefix}-"))


# -- canaries -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Canaries:
    """Credentials that must never show up in any log, XCom value, audit record, exception or audit file."""

    client_id: str = "canary-chaos-client-41c2"
    client_secret: str = "canary-chaos-secret-Hq72ZpXw9Lr"
    crm_secret: str = "whsec_" + base64.b64encode(b"canary-chaos-crm-secret-0451").decode("ascii")

    def secrets(self) -> dict[str, str]:
        """Label → value of every fixed canary (the CRM secret also without its ``whsec_`` prefix)."""
        return {
            "client_secret": self.client_secret,
            "crm_signing_secret": self.crm_secret,
            "crm_signing_secret_base64": self.crm_secret.removeprefix("whsec_"),
        }


# -- evidence and the secret scan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """A secret found where it must not be."""

    source: str
    secret: str

    def __str__(self) -> str:
        return f"{self.secret} in {self.source}"


class Evidence:
    """Everything a scenario produced that a person (or a log shipper) could read, plus the tokens issued to it."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.files: list[Path] = []
        self.tokens: set[str] = set()
        self._lock = threading.Lock()

    def add(self, source: str, value: Any) -> None:
        """Keep a text, or a JSON-serialisable value (an XCom value, an audit record...)."""
        text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
        with self._lock:
            self.texts.append((source, text))

    def add_exception(self, source: str, error: BaseException) -> None:
        """Keep an exception's text and its full traceback (as a task log would show them)."""
        self.add(source, str(error))
        self.add(source + " (traceback)", "".join(traceback.format_exception(error)))

    def add_file(self, path: str | Path) -> None:
        """Scan this file (or every file under this directory) at scan time."""
        with self._lock:
            self.files.append(Path(path))

    def extend(self, other: Evidence) -> None:
        """Take over another collection (the matrix-wide scan of scenario 8)."""
        with self._lock:
            self.texts.extend(other.texts)
            self.files.extend(other.files)
            self.tokens |= other.tokens

    def _file_texts(self) -> Iterator[tuple[str, str]]:
        for root in self.files:
            paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
            for path in paths:
                yield f"file {path.name}", path.read_text(encoding="utf-8", errors="replace")

    def volume(self) -> dict[str, int]:
        """How much was scanned: texts, files and characters."""
        files = list(self._file_texts())
        return {
            "texts": len(self.texts),
            "files": len(files),
            "chars": sum(len(text) for _, text in self.texts) + sum(len(text) for _, text in files),
            "tokens": len(self.tokens),
        }

    def scan(self, canaries: Canaries) -> list[Hit]:
        """Every place a canary secret or an issued token appears (an empty list is the goal)."""
        secrets = dict(canaries.secrets())
        for index, token in enumerate(sorted(self.tokens)):
            secrets[f"token#{index}"] = token
        if not secrets:
            return []
        label_of = {value: label for label, value in secrets.items()}
        pattern = re.compile("|".join(re.escape(value) for value in sorted(label_of, key=len, reverse=True)))
        hits: list[Hit] = []
        for source, text in [*self.texts, *self._file_texts()]:
            for match in pattern.finditer(text):
                hits.append(Hit(source, label_of[match.group(0)]))
        return hits


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.sink = sink
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # a record that cannot be formatted is not evidence
            self.sink.append(self.format(record))


@contextmanager
def captured_output(evidence: Evidence, label: str) -> Iterator[None]:
    """Capture every log record (root logger, DEBUG) and everything written to fds 1 and 2 into ``evidence``."""
    lines: list[str] = []
    handler = _ListHandler(lines)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.TemporaryFile(mode="w+b") as sink:
        for fd in (1, 2):
            os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            root.removeHandler(handler)
            root.setLevel(old_level)
            sink.seek(0)
            evidence.add(f"{label}: fd 1/2", sink.read().decode("utf-8", errors="replace"))
            evidence.add(f"{label}: log records", "\n".join(lines))


# -- results --------------------------------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    """One row of the table, with what was checked and what failed."""

    number: int
    name: str
    trials: int = 0
    items: int = 0
    duplicates: int = 0
    lost: int = 0
    leaks: int = 0
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    checks: int = 0

    def check(self, condition: bool, message: str) -> bool:
        """Record one check; a false one becomes a failure (the run goes on, so every problem is reported)."""
        self.checks += 1
        if not condition:
            self.failures.append(message)
        return condition

    @property
    def ok(self) -> bool:
        """Every check held, and nothing was duplicated, lost or leaked."""
        return not self.failures and self.duplicates == 0 and self.lost == 0 and self.leaks == 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``benchmarks/results/chaos.json``)."""
        return {
            "scenario": self.number,
            "name": self.name,
            "trials": self.trials,
            "items": self.items,
            "duplicates": self.duplicates,
            "lost": self.lost,
            "leaks": self.leaks,
            "wall_s": round(self.wall_s, 2),
            "ok": self.ok,
            "checks": self.checks,
            "failures": self.failures,
            "notes": self.notes,
            "details": self.details,
        }

    def explain(self) -> str:
        """What went wrong, for an assertion message."""
        head = f"scenario {self.number} ({self.name}): duplicates={self.duplicates} lost={self.lost} leaks={self.leaks}"
        return "\n".join([head, *(f"  - {failure}" for failure in self.failures[:40])])


# -- the sandbox ----------------------------------------------------------------------------------------------


class Box:
    """A sandbox on loopback (uvicorn in a thread of this process) and direct access to its state."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.base_url = server.base_url
        self.state = server.state
        self.http = requests.Session()

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.base_url}/_sandbox/{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def faults(self, **faults: Any) -> None:
        """Replace the fault settings (over HTTP, as a user would)."""
        self.admin("PUT", "faults", json=faults)

    def reset(self) -> None:
        self.admin("POST", "reset")

    def creates_by_key(self, kind: str | None = None) -> dict[str, int]:
        """Records created per idempotency key (of one kind, or of every kind)."""
        ledger = self.state.ledger()
        if kind is None:
            return dict(ledger["creates_by_key"])
        return dict(ledger["by_kind"].get(kind, {}).get("creates_by_key", {}))

    def record_count(self) -> int:
        with self.state.lock:
            return sum(1 for _ in self.state.iter_records())

    def requests_by_route(self) -> dict[str, dict[str, int]]:
        return dict(self.state.requests_summary()["by_route"])

    def route(self, route: str) -> dict[str, int]:
        return dict(self.requests_by_route().get(route, {}))

    def api_requests(self) -> int:
        """Requests answered on ``/api/`` routes (and the token endpoint)."""
        total = 0
        for route, counts in self.requests_by_route().items():
            if " /api/" in route or route.endswith(" /oauth/token"):
                total += sum(counts.values())
        return total

    @property
    def tokens_issued(self) -> int:
        return int(self.state.tokens_issued)


@contextmanager
def sandbox(canaries: Canaries, evidence: Evidence, **config: Any) -> Iterator[Box]:
    """A fresh sandbox with the canary credentials; every token it issues is added to ``evidence``."""
    settings: dict[str, Any] = {
        "client_id": canaries.client_id,
        "client_secret": canaries.client_secret,
        "crm_signing_secret": canaries.crm_secret,
        "quota_per_minute": 1_000_000,
        "token_rate_per_minute": 100_000,
    }
    settings.update(config)
    server = SandboxServer(SandboxConfig(**settings)).start()
    state = server.state
    issue = state.issue_token

    def recording_issue_token() -> str:
        token = issue()
        with evidence._lock:
            evidence.tokens.add(token)
        return token

    state.issue_token = recording_issue_token  # type: ignore[method-assign]
    try:
        yield Box(server)
    finally:
        server.stop()


# -- connections and environment ------------------------------------------------------------------------------


def connection_env(conn_id: str, base_url: str, canaries: Canaries, **extra: Any) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` for a Genesys connection to the sandbox with the canary client (fast retries)."""
    extra.setdefault("requests_per_minute", 1_000_000)
    value = genesys_connection(base_url, client_id=canaries.client_id, client_secret=canaries.client_secret, **extra)
    return conn_env_var(conn_id, value)


def crm_connection_env(conn_id: str, base_url: str, secret: str) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` for the sandbox's CRM receiver."""
    return conn_env_var(conn_id, crm_connection(base_url, secret=secret))


@contextmanager
def scenario_environment(canaries: Canaries, evidence: Evidence, base_url: str, **connections: Any) -> Iterator[Path]:
    """Connections (``name=extra dict``), a private state dir (journals, audit files) and a clean token cache.

    Yields the state dir; its files are added to ``evidence`` at the end.
    """
    from airflow_provider_genesys.hooks.genesys_cloud import clear_token_cache

    state_dir = Path(tempfile.mkdtemp(prefix="genesys-chaos-"))
    variables = {"GENESYS_PROVIDER_STATE_DIR": str(state_dir)}
    for conn_id, extra in connections.items():
        variables.update(connection_env(conn_id, base_url, canaries, **(extra or {})))
    clear_token_cache()
    try:
        with environment(**variables):
            yield state_dir
    finally:
        clear_token_cache()
        evidence.add_file(state_dir)


# -- items ----------------------------------------------------------------------------------------------------


def expected_keys(kind: str, items: list[dict[str, Any]], run_id: str, *, task_id: str = TASK_ID) -> list[str]:
    """The idempotency key of every item, derived exactly as the bulk operator derives it."""
    from airflow_provider_genesys.creation.engine import prepare_item
    from airflow_provider_genesys.creation.kinds import get_kind
    from airflow_provider_genesys.creation.task import TaskIdentity

    spec = get_kind(kind)
    task = TaskIdentity(dag_id=DAG_ID, task_id=task_id, run_id=run_id, map_index=-1, try_number=1)
    keys = []
    for position, item in enumerate(items):
        payload = dict(item)
        external_id = payload.pop("external_id", None)
        keys.append(prepare_item(spec, payload, task, position=position, external_id=external_id).key)
    return keys


def tally(creates_by_key: Mapping[str, int], keys: list[str]) -> tuple[int, int]:
    """(duplicates, lost) of one run's items: records beyond one per key, keys without any record."""
    wanted = set(keys)
    duplicates = sum(max(0, creates_by_key.get(key, 0) - 1) for key in wanted)
    lost = sum(1 for key in wanted if creates_by_key.get(key, 0) == 0)
    return duplicates, lost


# -- a task context and bulk runs -----------------------------------------------------------------------------


@dataclass
class BulkRun:
    """What one execution of the bulk operator left: its summary, XCom values and error."""

    summary: dict[str, Any] | None
    xcom: dict[str, Any]
    error: str | None
    error_type: str | None
    wall_s: float
    hook_stats: dict[str, int] = field(default_factory=dict)

    def items(self) -> list[dict[str, Any]]:
        """The per-item results: in the summary, or in the file it names (beyond the XCom budget)."""
        summary = self.summary or {}
        if summary.get("items") is not None:
            return list(summary["items"])
        return read_json_lines(summary["items_path"]) if summary.get("items_path") else []

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.items():
            counts[item["outcome"]] = counts.get(item["outcome"], 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "xcom": self.xcom,
            "error": self.error,
            "error_type": self.error_type,
            "wall_s": self.wall_s,
            "hook_stats": self.hook_stats,
        }


def run_bulk(
    job: Mapping[str, Any], evidence: Evidence | None = None, prepare: Callable[[Any], None] | None = None
) -> BulkRun:
    """Execute the bulk operator once, as a task process would, with a fake-but-complete context.

    ``job``: ``conn_id``, ``kind``, ``source`` (a JSON-lines file) or ``items``, ``run_id``, ``try_number``,
    optional ``task_id``, ``map_index``, ``max_concurrency``, ``audit_dir``, ``on_invalid``, ``max_invalid``.
    ``prepare`` sees the operator before it runs (to wrap its hook's session, for instance).
    """
    from airflow_provider_genesys.operators.interactions import GenesysBulkCreateInteractionsOperator

    operator = GenesysBulkCreateInteractionsOperator(
        task_id=job.get("task_id", TASK_ID),
        genesys_conn_id=job["conn_id"],
        kind=job.get("kind", "interaction"),
        source=job.get("source"),
        interactions=job.get("items"),
        max_concurrency=int(job.get("max_concurrency", 4)),
        on_invalid=job.get("on_invalid", "skip"),
        max_invalid=job.get("max_invalid", 0),
        audit_path=job.get("audit_dir"),
        progress_interval=float(job.get("progress_interval", 1.0)),
    )
    ti = FakeTaskInstance(
        dag_id=job.get("dag_id", DAG_ID),
        task_id=job.get("task_id", TASK_ID),
        run_id=job["run_id"],
        map_index=int(job.get("map_index", -1)),
        try_number=int(job.get("try_number", 1)),
    )
    if prepare is not None:
        prepare(operator)
    started = time.monotonic()
    summary: dict[str, Any] | None = None
    error: BaseException | None = None
    try:
        summary = operator.execute(task_context(ti))
    except Exception as exc:  # a failed task: its summary rides on the exception (bulk errors) or in XCom
        error = exc
        summary = getattr(exc, "summary", None)
    if summary is None and "genesys_audit_summary" in ti.xcom:
        summary = dict(ti.xcom["genesys_audit_summary"])
    if summary is not None and not summary.get("items") and isinstance(ti.xcom.get("genesys_audit"), list):
        # a task failed without its summary (AirflowFailException): the per-item view comes from the audit records
        summary["items"] = [_item_of(audit) for audit in ti.xcom["genesys_audit"]]
    hook = operator.__dict__.get("hook")
    stats = {}
    if hook is not None:
        stats = {"requests_sent": hook.requests_sent, "throttled": hook.throttled, "token_fetches": hook.token_fetches}
    run = BulkRun(
        summary=summary,
        xcom=dict(ti.xcom),
        error=None if error is None else str(error),
        error_type=None if error is None else type(error).__name__,
        wall_s=time.monotonic() - started,
        hook_stats=stats,
    )
    if evidence is not None:
        evidence.add(f"xcom {ti.run_id} try {ti.try_number}", ti.xcom)
        evidence.add(f"return value {ti.run_id} try {ti.try_number}", summary)
        if error is not None:
            evidence.add_exception(f"exception {ti.run_id} try {ti.try_number}", error)
    return run


def _item_of(audit: Mapping[str, Any]) -> dict[str, Any]:
    error = audit.get("error") or ""
    return {
        "position": audit.get("position"),
        "outcome": audit.get("outcome"),
        "external_id": audit.get("external_id"),
        "key": audit.get("idempotency_key"),
        "interaction_id": audit.get("interaction_id"),
        "http_status": audit.get("http_status"),
        "error": error,
        "error_code": "outcome.unknown" if error.startswith("Outcome unknown") else None,
    }


# -- the fork server ------------------------------------------------------------------------------------------


class ForkServer:
    """A child process that imports Airflow and the operators once and forks one task process per job.

    A job's process is what Airflow's supervisor would run: it executes the bulk operator with a complete task
    context, writes its summary to a result file, and can be killed with SIGKILL at any point. Forking from a
    warm parent costs milliseconds instead of the seconds it takes to import Airflow.
    """

    def __init__(self, work_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.work_dir = work_dir
        self.env = dict(env or {})
        self.process: subprocess.Popen[str] | None = None
        self._jobs = 0

    def __enter__(self) -> ForkServer:
        self._stderr = (self.work_dir / "fork-server.log").open("w")
        env = {**os.environ, **self.env, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.chaos.worker"],
            cwd=str(ROOT),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(self.work_dir / "fork-server.log", "w"),
            text=True,
            env=env,
        )
        ready = self._reply(timeout=120)
        if not ready.get("ready"):
            raise RuntimeError(f"the fork server did not start: {ready}")
        return self

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def _reply(self, timeout: float) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError("the fork server did not answer in time")
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the fork server exited")
        return dict(json.loads(line))

    def start(self, job: Mapping[str, Any], env: Mapping[str, str]) -> tuple[int, Path]:
        """Fork a task process for ``job``; return its pid and the file its result will be written to."""
        self._jobs += 1
        result = self.work_dir / f"job-{self._jobs}.json"
        log = self.work_dir / f"job-{self._jobs}.log"
        self._send({"op": "fork", "job": {**job, "result": str(result)}, "env": dict(env), "log": str(log)})
        reply = self._reply(timeout=30)
        return int(reply["pid"]), result

    def wait(self, pid: int, timeout: float) -> int:
        """Wait for a task process (killing it after ``timeout``); return its exit code (-9 when SIGKILLed)."""
        self._send({"op": "wait", "pid": pid, "timeout": timeout})
        return int(self._reply(timeout=timeout + 30)["code"])

    def logs(self) -> list[Path]:
        return sorted(self.work_dir.glob("job-*.log"))

    def __exit__(self, *exc_info: object) -> None:
        if self.process is None:
            return
        try:
            self._send({"op": "exit"})
            self.process.wait(timeout=30)
        except Exception:
            self.process.kill()
            self.process.wait(timeout=30)
        self._stderr.close()
        self.process = None


def read_result(path: Path) -> dict[str, Any] | None:
    """The result file a task process wrote (``None`` when it was killed before writing it)."""
    if not path.exists():
        return None
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except ValueError:
        return None


# -- what several scenarios share ------------------------------------------------------------------------------


def bulk_run(
    evidence: Evidence,
    work: Path,
    *,
    conn_id: str,
    kind: str,
    items: list[dict[str, Any]],
    run_id: str,
    try_number: int = 1,
    prepare: Callable[[Any], None] | None = None,
    **job: Any,
) -> Any:
    source = write_jsonl(work / f"{run_id}-{kind}-try{try_number}.jsonl", items)
    return run_bulk(
        {
            "conn_id": conn_id,
            "kind": kind,
            "source": str(source),
            "run_id": run_id,
            "try_number": try_number,
            "audit_dir": str(work / "audit"),
            "max_concurrency": job.pop("max_concurrency", 8),
            **job,
        },
        evidence,
        prepare,
    )


def account(result: ScenarioResult, box: Any, kind: str, items: list[dict[str, Any]], run_id: str) -> tuple[int, int]:
    duplicates, lost = tally(box.creates_by_key(kind), expected_keys(kind, items, run_id))
    result.duplicates += duplicates
    result.lost += lost
    return duplicates, lost


def audits_of(run: Any) -> list[dict[str, Any]]:
    """The run's audit records: in XCom, or in the file XCom names (beyond the XCom budget)."""
    audits = run.xcom.get("genesys_audit")
    if isinstance(audits, str):
        audits = read_json_lines(audits)
    return [audit for audit in audits if isinstance(audit, dict)] if isinstance(audits, list) else []


def read_json_lines(path: str) -> list[dict[str, Any]]:
    """The records of a JSON-lines file."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


#: The create route of every kind, as the sandbox's request log names it.
CREATE_ROUTES = {
    "interaction": INTERACTIONS,
    "workitem": "POST /api/v2/taskmanagement/workitems",
    "callback": "POST /api/v2/conversations/callbacks",
    "email": "POST /api/v2/conversations/emails",
}
#: The create path of every kind (a fault's ``route_prefix``).
CREATE_PATHS = {kind: route.split(" ", 1)[1] for kind, route in CREATE_ROUTES.items()}


def settle(
    result: ScenarioResult, box: Box, kind: str, items: list[dict[str, Any]], run_id: str, final: BulkRun
) -> tuple[int, int]:
    """(duplicates, lost) of one run's items: records beyond one per key; keys without a record that the final
    run's per-item report does not name as failed (an item reported failed is not lost: the report says so)."""
    creates = box.creates_by_key(kind)
    keys = expected_keys(kind, items, run_id)
    reported = {
        item.get("key")
        for item in (final.summary or {}).get("items") or []
        if item.get("outcome") == "failed" and item.get("key")
    }
    duplicates = sum(max(0, creates.get(key, 0) - 1) for key in set(keys))
    lost = sum(1 for key in set(keys) if creates.get(key, 0) == 0 and key not in reported)
    result.duplicates += duplicates
    result.lost += lost
    return duplicates, lost


def items_without_id(run: BulkRun) -> list[dict[str, Any]]:
    """Items a run reported created or replayed without a record id (there must be none)."""
    return [
        item
        for item in (run.summary or {}).get("items") or []
        if item.get("outcome") in ("created", "replayed") and not item.get("interaction_id")
    ]
