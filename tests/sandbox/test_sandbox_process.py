"""The command line and :class:`SandboxProcess`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from genesys_sandbox import SandboxProcess, SandboxServer
from genesys_sandbox.__main__ import banner, build_parser, config_from_args


def test_process_start_and_stop() -> None:
    process = SandboxProcess(["--quota", "7", "--acd-delay", "0.5"])
    with process:
        assert process.base_url.startswith("http://127.0.0.1:")
        token = requests.post(
            f"{process.base_url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("sandbox-client", "sandbox-secret"),
            timeout=5,
        )
        assert token.status_code == 200
        assert requests.get(f"{process.base_url}/_sandbox/health", timeout=5).json()["status"] == "ok"
        running = process.process
    assert running is not None and running.returncode == 0
    assert process.process is None


def test_cli_flags_and_banner() -> None:
    flags = ["--port", "0", "--quota", "50", "--error-rate", "0.1", "--seed", "4", "--processing-ms", "20"]
    args = build_parser().parse_args([*flags, "--bulk-job-seconds", "30"])
    config = config_from_args(args)
    assert (config.quota_per_minute, config.processing_ms, config.bulk_job_process_seconds) == (50, 20, 30.0)
    assert (config.faults.error_rate, config.faults.seed) == (0.1, 4)
    text = banner("http://127.0.0.1:8765", config)
    line = next(line for line in text.splitlines() if "AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT" in line)
    connection = json.loads(line.split("=", 1)[1].strip("'"))
    assert connection == {
        "conn_type": "genesys_cloud",
        "login": "sandbox-client",
        "password": "sandbox-secret",
        "host": "http://127.0.0.1:8765",
        "extra": {"requests_per_minute": 50},
    }


def test_server_restart_is_clean() -> None:
    server = SandboxServer()
    with server:
        first_url = server.base_url
        assert requests.get(f"{first_url}/_sandbox/health", timeout=5).status_code == 200
    with server:
        assert requests.get(f"{server.base_url}/_sandbox/health", timeout=5).status_code == 200


def test_a_public_address_warns_and_prints_no_secret(tmp_path: Path) -> None:
    secret = "sandbox-canary-secret-9f2c71"
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [sys.executable, "-m", "genesys_sandbox", "--host", "0.0.0.0", "--port", "0", "--client-secret", secret,
         "--ready-file", str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (ready.exists() and ready.read_text().strip()) and process.poll() is None:
            assert time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)

    assert "WARNING" in stderr and "beyond loopback" in stderr and "unauthenticated admin routes" in stderr
    assert "Genesys Cloud sandbox listening" in stdout
    assert secret not in stdout and secret not in stderr


def test_on_loopback_the_banner_shows_the_secret_and_says_admin_routes_are_unauthenticated() -> None:
    config = config_from_args(build_parser().parse_args(["--client-secret", "loopback-secret-1"]))
    assert "loopback-secret-1" in banner("http://127.0.0.1:1", config)
    assert "loopback-secret-1" not in banner("http://0.0.0.0:1", config, show_secret=False)
    assert "Admin (no authentication)" in banner("http://127.0.0.1:1", config)
