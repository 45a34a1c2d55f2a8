"""The cluster's process handling without a cluster: kills reach every descendant, stops are bounded."""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tests.cluster.processes import ManagedProcess, ProcessDiedError, leftover_processes, stop_all, wait_for

# A parent that starts a child in a process group of its own (as Airflow's task supervisor does for a task),
# writes the child's pid, then sleeps. Both ignore SIGTERM when asked to.
PARENT = """
import os, signal, subprocess, sys, time
if sys.argv[2] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
code = "import signal, sys, time\\n"
code += "if sys.argv[1] == 'stubborn': signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
code += "time.sleep(120)"
child = subprocess.Popen([sys.executable, "-c", code, sys.argv[2]], start_new_session=True)
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(120)
"""


def _start(tmp_path: Path, mode: str = "polite", **env: str) -> tuple[ManagedProcess, psutil.Process]:
    pid_file = tmp_path / "child.pid"
    process = ManagedProcess(
        name="family",
        argv=[sys.executable, "-c", PARENT, str(pid_file), mode],
        env={**os.environ, **env},
        log_dir=tmp_path,
    ).start()
    pid = wait_for("the child's pid", lambda: _read(pid_file), timeout=20, interval=0.05)
    child = psutil.Process(int(pid))
    assert os.getpgid(child.pid) != os.getpgid(process.pid or 0)
    return process, child


def _read(path: Path) -> str | None:
    return path.read_text().strip() or None if path.exists() else None


def _gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def test_kill_takes_down_a_descendant_in_its_own_process_group(tmp_path: Path) -> None:
    process, child = _start(tmp_path)
    process.kill()
    assert not process.alive()
    assert wait_for("the child to be gone", lambda: _gone(child), timeout=10, interval=0.05)
    process.check()  # killed on purpose: not a failure


def test_stop_all_escalates_when_sigterm_is_ignored(tmp_path: Path) -> None:
    process, child = _start(tmp_path, "stubborn")
    started = time.monotonic()
    stop_all([process], grace=1.0)
    assert time.monotonic() - started < 15
    assert not process.alive()
    assert wait_for("the child to be gone", lambda: _gone(child), timeout=10, interval=0.05)


def test_an_unexpected_exit_is_reported(tmp_path: Path) -> None:
    process = ManagedProcess(
        name="short", argv=[sys.executable, "-c", "raise SystemExit(3)"], env=dict(os.environ), log_dir=tmp_path
    ).start()
    with pytest.raises(ProcessDiedError, match="short exited with status 3"):
        wait_for("never", lambda: None, timeout=30, interval=0.05, check=process.check)


def test_wait_for_names_what_it_waited_for() -> None:
    with pytest.raises(TimeoutError, match="waiting for the impossible"):
        wait_for("the impossible", lambda: None, timeout=0.1, interval=0.02)


def test_leftovers_are_found_by_their_marker(tmp_path: Path) -> None:
    marker = ("GENESYS_CLUSTER_RUN", uuid.uuid4().hex)
    process, child = _start(tmp_path, **{marker[0]: marker[1]})
    try:
        found = leftover_processes([], marker)
        assert {int(line.split(":")[0]) for line in found} == {process.pid, child.pid}
    finally:
        process.kill()
    wait_for("the child to be gone", lambda: _gone(child), timeout=10, interval=0.05)
    assert leftover_processes([], marker) == []
