"""Child processes of the cluster: each in its own process group, logging to one file, stopped with its whole tree.

Killing a process group is not enough to take a Celery worker down: Airflow's task supervisor moves every task
process into a process group of its own, so a task would outlive ``killpg(worker)``. :meth:`ManagedProcess.kill`
therefore signals the group *and* every descendant found with psutil, the way a lost machine or pod takes all of
them at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psutil

T = TypeVar("T")


class ProcessDiedError(RuntimeError):
    """A process of the cluster exited while it should have been running."""


def wait_for(
    what: str,
    condition: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.5,
    check: Callable[[], None] | None = None,
) -> T:
    """Return the first truthy value of ``condition()``; raise ``TimeoutError`` naming ``what`` at the deadline.

    ``check`` runs before every attempt and may raise (e.g. when a process of the cluster died). An exception of
    ``condition`` counts as "not yet" and is named in the timeout message.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        if check is not None:
            check()
        try:
            value = condition()
        except (OSError, ValueError, KeyError, LookupError) as error:  # not answering yet
            last_error = error
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error is not None else ""
            raise TimeoutError(f"gave up after {timeout:g}s waiting for {what}{detail}")
        time.sleep(interval)


class ManagedProcess:
    """One long-running child process of the cluster.

    :param name: short name (``scheduler``, ``worker-a``...); the log file is ``<log_dir>/<name>.log``.
    :param argv: the command line.
    :param env: its complete environment.
    :param log_dir: folder of the log file (appended to on every start).
    :param cwd: working directory.
    :param stop_signal: the signal that asks it to shut down cleanly (PostgreSQL: SIGINT, a "fast" shutdown).
    :param run_as: ``(uid, gid)`` to run as (PostgreSQL refuses to run as root).
    """

    def __init__(
        self,
        *,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        log_dir: Path,
        cwd: Path | None = None,
        stop_signal: int = signal.SIGTERM,
        run_as: tuple[int, int] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.cwd = cwd
        self.stop_signal = stop_signal
        self.run_as = run_as
        self.log_path = log_dir / f"{name}.log"
        self.starts = 0
        self.expected_down = False
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the current start (``None`` before the first start)."""
        return self._process.pid if self._process is not None else None

    def start(self) -> ManagedProcess:
        """Start (or restart) the process in a new session; a marker line in the log separates the starts."""
        self.starts += 1
        self.expected_down = False
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts} at {time.strftime('%H:%M:%S')}: {' '.join(self.argv)}\n".encode())
            log.flush()
            identity: dict[str, Any] = {}
            if self.run_as is not None:
                identity = {"user": self.run_as[0], "group": self.run_as[1], "extra_groups": []}
            self._process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so a signal reaches its helpers too
                **identity,
            )
        return self

    def alive(self) -> bool:
        """Whether the current start is still running."""
        return self._process is not None and self._process.poll() is None

    def check(self) -> None:
        """Raise :class:`ProcessDiedError` if the process exited without being stopped on purpose."""
        if self.expected_down or self._process is None:
            return
        code = self._process.poll()
        if code is not None:
            raise ProcessDiedError(f"{self.name} exited with status {code}; see {self.log_path}")

    def log_since_last_start(self) -> str:
        """The log written since the last start."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return text.rsplit(f"===== start {self.starts} at ", 1)[-1]

    def tree(self) -> list[psutil.Process]:
        """The process and all its descendants (task processes included)."""
        if not self.alive() or self._process is None:
            return []
        try:
            root = psutil.Process(self._process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def _signal_group(self, signum: int) -> None:
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signum)

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL the whole tree at once (a lost machine) and wait until every member is gone."""
        self.expected_down = True
        members = self.tree()
        self._signal_group(signal.SIGKILL)
        for member in members:
            with contextlib.suppress(psutil.Error):
                member.kill()
        self.reap(members, timeout)

    def request_stop(self) -> list[psutil.Process]:
        """Ask the process to shut down (its ``stop_signal`` to its process group); return its tree as it was."""
        self.expected_down = True
        members = self.tree()
        self._signal_group(self.stop_signal)
        return members

    def reap(self, members: Iterable[psutil.Process], timeout: float) -> list[psutil.Process]:
        """Wait up to ``timeout`` seconds for ``members`` and the process itself; return the members still alive."""
        own = self.pid
        # psutil must not wait() for our direct child: Popen reaps it, or its exit status would be lost
        _, alive = psutil.wait_procs([m for m in members if m.pid != own], timeout=timeout)
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=timeout)
        return list(alive)


def stop_all(processes: Sequence[ManagedProcess], grace: float = 15.0) -> None:
    """Ask every process to stop, give them ``grace`` seconds together, then SIGKILL every tree that is left."""
    trees = [(process, process.request_stop()) for process in processes]
    deadline = time.monotonic() + grace
    for process, tree in trees:
        remaining = process.reap(tree, max(0.1, deadline - time.monotonic()))
        if remaining or process.alive():
            process.kill(timeout=5.0)
            for member in remaining:
                with contextlib.suppress(psutil.Error):
                    member.kill()


def leftover_processes(known: Iterable[psutil.Process], marker: tuple[str, str]) -> list[str]:
    """Processes that outlived the teardown: any of ``known`` still running, and any process whose environment
    carries ``marker`` (name, value) — every process of the cluster inherits it, whatever its title became."""
    survivors: dict[int, psutil.Process] = {}
    for process in known:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                survivors[process.pid] = process
        except psutil.Error:
            pass
    name, value = marker
    for candidate in psutil.process_iter():
        if candidate.pid == os.getpid() or candidate.pid in survivors:
            continue
        try:
            if candidate.environ().get(name) == value and candidate.status() != psutil.STATUS_ZOMBIE:
                survivors[candidate.pid] = candidate
        except psutil.Error:
            pass
    found = []
    for pid, process in sorted(survivors.items()):
        try:
            command = " ".join(process.cmdline())
        except psutil.Error:
            command = "?"
        found.append(f"{pid}: {command[:160]}")
    return found
