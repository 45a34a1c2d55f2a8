"""Bring the whole deployment up, keep an eye on it, break parts of it on purpose, and take it all down.

:meth:`Cluster.up` starts, in order: PostgreSQL, Redis and the Genesys sandbox; ``airflow db migrate``; the API
server, scheduler, DAG processor, triggerer and two Celery workers. It returns once the health endpoint reports
every component healthy, both workers have logged ``ready.`` and the DAGs are parsed. :meth:`Cluster.down` stops
everything, also after a failure (callers use ``try/finally``), and reports processes that outlived it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from tests.cluster.layout import ClusterLayout
from tests.cluster.processes import ManagedProcess, leftover_processes, stop_all, wait_for
from tests.cluster.rest import AirflowRest
from tests.cluster.services import Postgres, free_port, redis_server, sandbox
from tests.cluster.settings import RUN_MARKER, Deployment, Ports

WORKERS = ("worker-a", "worker-b")
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
NODES = [*COMPONENTS, *WORKERS, "db-migrate", "harness"]
#: Airflow's default Celery queue (``[operators] default_queue``).
DEFAULT_QUEUE = "default"


def airflow_command() -> str:
    """The ``airflow`` entry point of this interpreter's environment."""
    return str(Path(sys.executable).parent / "airflow")


class Cluster:
    """The distributed deployment.

    :param layout: where its files go.
    :param sandbox_args: extra command line flags of the sandbox.
    :param required_dags: DAG ids that must be parsed before :meth:`up` returns.
    """

    def __init__(self, layout: ClusterLayout, *, sandbox_args: list[str], required_dags: Iterable[str]) -> None:
        self.layout = layout
        self.sandbox_args = sandbox_args
        self.required_dags = list(required_dags)
        self.timings: dict[str, float] = {}
        self.processes: dict[str, ManagedProcess] = {}
        self.services: list[ManagedProcess] = []
        self.deployment: Deployment | None = None
        self.sandbox_url = ""
        self.leftovers: list[str] = []
        self.run_id = uuid.uuid4().hex
        self._rest: AirflowRest | None = None
        self._down = False

    # -- accessors ------------------------------------------------------------------------------------------------
    @property
    def settings(self) -> Deployment:
        if self.deployment is None:
            raise RuntimeError("the cluster is not up")
        return self.deployment

    @property
    def rest(self) -> AirflowRest:
        if self._rest is None:
            self._rest = AirflowRest(self.settings.api_url)
        return self._rest

    @staticmethod
    def celery_node(worker: str) -> str:
        """The Celery node name of a worker (``worker-a@<machine>``)."""
        return f"{worker}@{socket.gethostname()}"

    def check(self) -> None:
        """Raise if any process that should be running has exited."""
        for process in [*self.services, *self.processes.values()]:
            process.check()

    # -- bring-up -------------------------------------------------------------------------------------------------
    def up(self) -> None:
        started = time.monotonic()
        # every process started from here on inherits the marker (teardown looks for it)
        os.environ[RUN_MARKER] = self.run_id
        self.layout.prepare(NODES)
        logs = self.layout.logs
        ports = Ports(postgres=free_port(), redis=free_port(), api=free_port())

        step = time.monotonic()
        postgres = Postgres(folder=self.layout.postgres, port=ports.postgres, log_dir=logs)
        self.services.append(postgres.start())
        self.services.append(redis_server(folder=self.layout.redis, port=ports.redis, log_dir=logs))
        sandbox_process, self.sandbox_url = sandbox(args=self.sandbox_args, log_dir=logs)
        self.services.append(sandbox_process)
        self.deployment = Deployment(layout=self.layout, ports=ports, sandbox_url=self.sandbox_url)
        self.timings["up: postgres, redis, sandbox"] = time.monotonic() - step

        step = time.monotonic()
        self._migrate()
        self.timings["up: airflow db migrate"] = time.monotonic() - step

        step = time.monotonic()
        airflow = airflow_command()
        commands = {
            "api-server": [airflow, "api-server", "--host", "127.0.0.1", "--port", str(ports.api), "--workers", "1"],
            # the log servers of scheduler, triggerer and workers would listen on every interface (and two
            # workers on one machine on the same port); task logs are read from the shared log folder instead
            "scheduler": [airflow, "scheduler", "--skip-serve-logs"],
            "dag-processor": [airflow, "dag-processor"],
            "triggerer": [airflow, "triggerer", "--skip-serve-logs"],
        }
        for name, argv in commands.items():
            self.processes[name] = self._airflow_process(name, argv).start()
        for worker in WORKERS:
            self.processes[worker] = self._worker(worker).start()
        self._wait_ready(timeout=240)
        self.timings["up: airflow components ready"] = time.monotonic() - step
        self.timings["up: total"] = time.monotonic() - started

    def _airflow_process(self, name: str, argv: list[str]) -> ManagedProcess:
        return ManagedProcess(
            name=name,
            argv=argv,
            env=self.settings.node_environment(name),
            log_dir=self.layout.logs,
            cwd=self.layout.node_home(name),
        )

    def _worker(self, worker: str) -> ManagedProcess:
        argv = [
            airflow_command(),
            "celery",
            "worker",
            "--celery-hostname",
            self.celery_node(worker),
            "--concurrency",
            str(self.settings.worker_concurrency),
            "--skip-serve-logs",
            "--without-gossip",
            "--without-mingle",
        ]
        return self._airflow_process(worker, argv)

    def _migrate(self) -> None:
        log_path = self.layout.logs / "db-migrate.log"
        with log_path.open("wb") as log:
            result = subprocess.run(
                [airflow_command(), "db", "migrate"],
                env=self.settings.node_environment("db-migrate"),
                cwd=self.layout.node_home("db-migrate"),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=300,
                check=False,
            )
        if result.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed with status {result.returncode}; see {log_path}")

    def _wait_ready(self, timeout: float) -> None:
        rest = self.rest
        wait_for("the API server to answer", rest.health, timeout=timeout, interval=1, check=self.check)
        # the Execution API's first request is slow (seconds); a task's first call would otherwise time out
        step = time.monotonic()
        rest.execution_api_health()
        self.timings["up: first Execution API call"] = time.monotonic() - step

        def healthy() -> bool:
            health = rest.health()
            return all(
                (health.get(part) or {}).get("status") == "healthy"
                for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
            )

        wait_for("scheduler, triggerer and DAG processor to be healthy", healthy, timeout=timeout, check=self.check)
        for worker in WORKERS:
            self.wait_worker_ready(worker, timeout=timeout)
        for dag_id in self.required_dags:
            wait_for(f"DAG {dag_id} to be parsed", partial(rest.dag, dag_id), timeout=timeout, check=self.check)

    def wait_worker_ready(self, worker: str, timeout: float = 120.0) -> None:
        process = self.processes[worker]
        wait_for(
            f"{worker} to be ready",
            lambda: " ready." in process.log_since_last_start(),
            timeout=timeout,
            check=self.check,
        )

    # -- breaking parts on purpose --------------------------------------------------------------------------------
    def kill(self, name: str) -> None:
        """SIGKILL a component with all its processes (its task processes too), as losing its machine would."""
        self.processes[name].kill()

    def restart(self, name: str) -> None:
        """Start a stopped component again, with the same name and local directory."""
        self.processes[name].start()

    def set_consuming(self, worker: str, consuming: bool) -> None:
        """Stop or resume a worker's consumption of the default queue (Celery remote control)."""
        from celery import Celery

        app = Celery(broker=self.settings.broker_url)
        try:
            control = app.control
            node = self.celery_node(worker)
            if consuming:
                replies = control.add_consumer(DEFAULT_QUEUE, destination=[node], reply=True, timeout=10)
            else:
                replies = control.cancel_consumer(DEFAULT_QUEUE, destination=[node], reply=True, timeout=10)
        finally:
            app.close()
        answers: list[Any] = [reply.get(node) for reply in replies or [] if isinstance(reply, dict)]
        if not any(isinstance(answer, dict) and "ok" in answer for answer in answers):
            raise RuntimeError(f"{worker} did not confirm {'add' if consuming else 'cancel'}_consumer: {replies!r}")

    # -- teardown -------------------------------------------------------------------------------------------------
    def down(self) -> None:
        """Stop every process (Airflow first, then the services); remember what outlived the teardown."""
        if self._down:
            return
        self._down = True
        started = time.monotonic()
        known = [member for process in [*self.processes.values(), *self.services] for member in process.tree()]
        stop_all(list(self.processes.values()))
        stop_all(list(reversed(self.services)), grace=20)
        self.timings["down: total"] = time.monotonic() - started
        self.leftovers = leftover_processes(known, (RUN_MARKER, self.run_id))
