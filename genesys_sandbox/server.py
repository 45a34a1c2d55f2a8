"""Run a sandbox: :class:`SandboxServer` (uvicorn in a background thread) and :class:`SandboxProcess`
(the command line in a child process)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import uvicorn

from genesys_sandbox.app import SandboxApp, create_app
from genesys_sandbox.config import SandboxConfig
from genesys_sandbox.state import SandboxState


def http_implementation() -> str:
    """Return ``httptools`` when it is installed (faster), else ``h11``."""
    return "httptools" if importlib.util.find_spec("httptools") is not None else "h11"


def bind_socket(host: str, port: int) -> socket.socket:
    """Return a listening TCP socket on ``host:port`` (``port=0`` picks a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: SandboxApp, host: str, port: int) -> uvicorn.Config:
    """Return the uvicorn settings the sandbox runs with (quiet, no access log, no lifespan)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http=http_implementation(),
        loop="auto",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=2,
    )


def base_url_of(host: str, port: int) -> str:
    """Return ``http://host:port`` (IPv6 hosts in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class SandboxServer:
    """A sandbox served by uvicorn in a background thread of this process.

    :param config: sandbox settings (defaults when ``None``).
    :param host: interface to bind (loopback by default).
    :param port: port to bind; 0 picks a free one.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or SandboxConfig()
        self.host = host
        self.port = port
        self.app = create_app(self.config)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def state(self) -> SandboxState:
        """The in-memory state of the running sandbox (for assertions in tests)."""
        return self.app.sandbox_state

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: both the login and the API base URL."""
        return base_url_of(self.host, self.port)

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Start serving; return once the server accepts connections."""
        if self._thread is not None:
            return self
        self._socket = bind_socket(self.host, self.port)
        self.port = self._socket.getsockname()[1]
        self._server = uvicorn.Server(uvicorn_config(self.app, self.host, self.port))
        server, sock = self._server, self._socket
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"genesys-sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"The sandbox did not start on {self.base_url}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class SandboxProcess:
    """A sandbox run by ``python -m genesys_sandbox`` in a child process.

    :param args: extra command line flags (``["--quota", "10"]``).
    :param host: interface to bind.
    :param port: port to bind; 0 picks a free one.
    :param env: extra environment variables for the child.
    """

    def __init__(
        self,
        args: list[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.args = list(args or [])
        self.host = host
        self.port = port
        self.env = env
        self.base_url = ""
        self.process: subprocess.Popen[str] | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._log: IO[str] | None = None

    def start(self, timeout: float = 30.0) -> SandboxProcess:
        """Start the child; return once it has written its ready file (it is then listening)."""
        if self.process is not None:
            return self
        self._tmpdir = tempfile.TemporaryDirectory(prefix="genesys-sandbox-")
        ready = Path(self._tmpdir.name) / "ready"
        command = [
            sys.executable,
            "-m",
            "genesys_sandbox",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--ready-file",
            str(ready),
            "--quiet",
            *self.args,
        ]
        env: dict[str, Any] = {**os.environ, **(self.env or {})}
        self._log = (Path(self._tmpdir.name) / "stderr.log").open("w")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self._log, text=True, env=env)
        deadline = time.monotonic() + timeout
        while True:
            if ready.exists() and (content := ready.read_text().strip()):
                self.base_url = content
                self.port = int(content.rsplit(":", 1)[1])
                return self
            if self.process.poll() is not None:
                stderr = (Path(self._tmpdir.name) / "stderr.log").read_text()
                self._cleanup()
                raise RuntimeError(f"The sandbox process exited early:\n{stderr}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("The sandbox process did not become ready in time")
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> int | None:
        """Terminate the child (SIGTERM, then kill); return its exit code."""
        if self.process is None:
            return None
        process = self.process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        self._cleanup()
        return process.returncode

    def _cleanup(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        self.process = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
