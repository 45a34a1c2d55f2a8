"""What the benchmarks share: the sandbox in a child process, its admin routes, connections, results files.

Everything runs on loopback against the bundled sandbox (``genesys_sandbox``); nothing here
talks to a real Genesys org.
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from genesys_sandbox import SandboxProcess  # noqa: E402
from tests.support.connections import genesys_connection as support_connection  # noqa: E402
from tests.support.payloads import interaction_items, rows, write_jsonl  # noqa: E402, F401 -- re-exported

RESULTS_DIR = ROOT / "benchmarks" / "results"
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"
INTERACTIONS_ROUTE = "POST /api/v2/interactions"
#: Quota / pacing high enough that neither is what a figure measures (requests per minute).
UNPACED = 1_000_000


@contextmanager
def sandbox_process(*, quota: int = UNPACED, latency_ms: int = 0, extra: Sequence[str] = ()) -> Iterator[Sandbox]:
    """The sandbox in a child process (its CPU does not share this process's GIL), stopped on exit."""
    process = SandboxProcess(
        [
            "--quota",
            str(quota),
            "--token-rate",
            "100000",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--latency-ms",
            str(latency_ms),
            *extra,
        ]
    ).start()
    try:
        assert process.process is not None
        yield Sandbox(process.base_url, pid=process.process.pid)
    finally:
        process.stop()


class Sandbox:
    """Client of the sandbox's ``/_sandbox`` admin routes."""

    def __init__(self, base_url: str, pid: int | None = None) -> None:
        self.base_url = base_url
        self.pid = pid
        self.http = requests.Session()

    def _admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.base_url}/_sandbox/{path}", timeout=120, **kwargs)
        response.raise_for_status()
        return response.json()

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the sandbox process has used so far."""
        import psutil

        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    def reset(self) -> None:
        """Forget records, keys, request counts and tokens (the configured faults come back)."""
        self._admin("POST", "reset")

    def faults(self, **faults: Any) -> None:
        """Replace the fault settings (``latency_ms=20``...)."""
        self._admin("PUT", "faults", json=faults)

    def requests_summary(self) -> dict[str, Any]:
        return dict(self._admin("GET", "requests"))

    def posts(self) -> dict[str, int]:
        """Answers to ``POST /api/v2/interactions`` by status (``{"201": 990, "409": 10}``)."""
        return dict(self.requests_summary()["by_route"].get(INTERACTIONS_ROUTE, {}))

    def ledger(self) -> dict[str, Any]:
        return dict(self._admin("GET", "ledger"))

    def token(self) -> str:
        """A bearer token issued by the sandbox (for clients that are not the Genesys hook)."""
        response = self.http.post(
            f"{self.base_url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(CLIENT_ID, CLIENT_SECRET),
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def created_summary(self) -> dict[str, int]:
        """Stored records and duplicates (records beyond the first per key), from the ledger."""
        ledger = self.ledger()
        return {"records": len(ledger["records"]), "duplicates": int(ledger["duplicates"])}


def genesys_connection(base_url: str, *, requests_per_minute: int = UNPACED, **extra: Any) -> str:
    """Airflow connection (JSON form) of type ``genesys_cloud`` pointing at the sandbox, with the bench client."""
    extra.setdefault("timeout", 30)
    return support_connection(
        base_url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        requests_per_minute=requests_per_minute,
        **extra,
    )


def use_connection(base_url: str, *, requests_per_minute: int = UNPACED, **extra: Any) -> None:
    """Point ``genesys_cloud_default`` of this process at the sandbox and forget cached tokens."""
    from airflow_provider_genesys.hooks.genesys_cloud import clear_token_cache

    os.environ["AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"] = genesys_connection(
        base_url, requests_per_minute=requests_per_minute, **extra
    )
    clear_token_cache()


def spread(values: Sequence[float]) -> dict[str, float]:
    """Best (min), worst (max), median and relative spread ((max - min) / min) of repeated measurements."""
    best, worst = min(values), max(values)
    return {
        "best": best,
        "worst": worst,
        "median": statistics.median(values),
        "spread_pct": 100.0 * (worst - best) / best if best else 0.0,
    }


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<name>.json`` (git-ignored) and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {"benchmark": name, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine()}
    document.update(payload)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def print_figure(number: int | str, title: str, measured: str, goal: str, met: bool | None) -> None:
    """One figure, clearly: ``Figure 2 — ...: measured ... (goal ...) MET``."""
    verdict = "" if met is None else ("  [goal met]" if met else "  [goal MISSED]")
    print(f"\nFigure {number} — {title}\n  measured: {measured}\n  goal:     {goal}{verdict}", flush=True)


class AirflowHome:
    """A throw-away AIRFLOW_HOME with a migrated SQLite metadata DB (``airflow db migrate``, as a user would).

    :param prefix: prefix of the temporary directory.
    """

    def __init__(self, prefix: str = "genesys-bench-airflow-") -> None:
        import tempfile

        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        self.state_dir = self.path / "genesys-state"

    def env(self, dags_folder: Path, **extra: str) -> dict[str, str]:
        """Environment of an ``airflow`` command (or a ``dag.test()`` script) using this home."""
        env = os.environ.copy()
        env.update(
            {
                "AIRFLOW_HOME": str(self.path),
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.path / 'airflow.db'}",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "GENESYS_PROVIDER_STATE_DIR": str(self.state_dir),
                "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
            }
        )
        env.update(extra)
        return env

    def migrate(self) -> float:
        """``airflow db migrate``; return its wall time."""
        import subprocess

        dags = self.path / "dags"
        dags.mkdir(exist_ok=True)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=self.env(dags),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        return time.perf_counter() - started

    def cleanup(self) -> None:
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> AirflowHome:
        self.migrate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def run_timed(command: list[str], env: dict[str, str], log_path: Path, timeout: float) -> tuple[int, float, str]:
    """Run ``command`` with its output in ``log_path``; return (exit code, wall seconds, output).

    A run that exceeds ``timeout`` is killed (its process group) and reported with exit code -9.
    """
    import signal
    import subprocess

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
            code = -9
        wall = time.perf_counter() - started
    return code, wall, log_path.read_text(encoding="utf-8", errors="replace")


def private_tmp(prefix: str) -> Path:
    """Send every temporary file of this run (and of its child processes) to one directory, removed at exit.

    Forked or spawned helpers inherit ``TMPDIR``; only the process that made the directory removes it.
    """
    if os.environ.get("GENESYS_PRIVATE_TMP"):
        return Path(os.environ["GENESYS_PRIVATE_TMP"])  # a child of a run that already has one
    root = Path(tempfile.mkdtemp(prefix=prefix))
    owner = os.getpid()
    tempfile.tempdir = str(root)
    os.environ["TMPDIR"] = str(root)
    os.environ["GENESYS_PRIVATE_TMP"] = str(root)

    def remove() -> None:
        if os.getpid() == owner:
            shutil.rmtree(root, ignore_errors=True)

    atexit.register(remove)
    return root
