"""The chaos matrix's fork server: import Airflow once, then fork one task process per job (see ForkServer).

Protocol (one JSON object per line on stdin, one answer per line on stdout):

* ``{"op": "fork", "job": {...}, "env": {...}, "log": path}`` → ``{"pid": n}``: the child sets ``env``, sends
  its stdout/stderr to ``log``, runs the bulk operator (``tests.chaos.harness.run_bulk``) and writes the result to
  ``job["result"]``; exit code 0 when the task succeeded, 1 when it failed.
* ``{"op": "wait", "pid": n, "timeout": s}`` → ``{"code": c}`` (``-9`` for SIGKILL); a child still running after
  ``timeout`` seconds is killed.
* ``{"op": "exit"}``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
import traceback
from typing import Any


def _answer(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _child(job: dict[str, Any], env: dict[str, str], log: str) -> None:
    from tests.chaos.harness import run_bulk

    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ.update(env)
    code = 1
    try:
        run = run_bulk(job)
        tmp = job["result"] + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(run.to_dict(), handle, default=str)
        os.replace(tmp, job["result"])
        code = 0 if run.error is None else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.005)


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # warm: everything a task process needs is imported before the first fork
    import tests.chaos.harness  # noqa: F401
    from airflow_provider_genesys.operators.interactions import GenesysBulkCreateInteractionsOperator  # noqa: F401

    _answer({"ready": True})
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        command = json.loads(line)
        if command["op"] == "fork":
            pid = os.fork()
            if pid == 0:
                _child(command["job"], command["env"], command["log"])
            _answer({"pid": pid})
        elif command["op"] == "wait":
            _answer({"code": _wait(int(command["pid"]), float(command["timeout"]))})
        elif command["op"] == "exit":
            return


if __name__ == "__main__":
    main()
