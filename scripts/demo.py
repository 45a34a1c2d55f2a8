"""``make demo``: run the example DAGs against the local Genesys sandbox and print what happened.

1. starts the sandbox on a free loopback port (CRM receiver in asynchronous mode);
2. points ``genesys_cloud_default`` and ``crm_default`` at it (env vars, JSON form);
3. uses a project-local AIRFLOW_HOME (``.demo/airflow``) with a migrated SQLite DB;
4. runs ``genesys_bulk_interactions`` (1,000 rows → bulk create → CRM sync → deferrable sensor) with
   ``airflow dags test``, then clears that DAG run's tasks and runs them again, as the UI's Clear does;
5. runs ``genesys_create_interaction`` once;
6. prints a summary, stops the sandbox, exits 0 only if every run succeeded and nothing was created twice.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from genesys_sandbox import DEFAULT_CRM_SIGNING_SECRET, SandboxProcess

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / ".demo"
AIRFLOW_HOME = DEMO_DIR / "airflow"
LOGICAL_DATE = "2026-11-27T00:00:00+00:00"
QUOTA = 3000  # requests per minute, for sandbox and connection alike: 1,000 items take about 20 s


def airflow_env(base_url: str) -> dict[str, str]:
    env = os.environ.copy()
    env.update(
        {
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
            "GENESYS_PROVIDER_STATE_DIR": str(DEMO_DIR / "state"),
            "AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT": json.dumps(
                {
                    "conn_type": "genesys_cloud",
                    "login": "sandbox-client",
                    "password": "sandbox-secret",
                    "host": base_url,
                    "extra": {"requests_per_minute": QUOTA},
                }
            ),
            "AIRFLOW_CONN_CRM_DEFAULT": json.dumps(
                {
                    "conn_type": "crm_webhook",
                    "host": base_url,
                    "extra": {"endpoint": "/crm/interactions", "signing_secret": DEFAULT_CRM_SIGNING_SECRET},
                }
            ),
        }
    )
    return env


def run(command: list[str], env: dict[str, str], log_name: str) -> tuple[int, str, Path]:
    log_path = DEMO_DIR / "logs" / log_name
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    log_path.write_text(output, encoding="utf-8")
    shown = command[2:5] if command[1] == "-m" else [Path(command[1]).name, *command[2:4]]
    print(f"  {' '.join(shown)}: exit {result.returncode} in {time.monotonic() - started:.1f}s (log: {log_path})")
    return result.returncode, output, log_path


def last_json_after(marker: str, output: str) -> dict[str, Any] | None:
    matches = re.findall(re.escape(marker) + r" (\{.*?\})(?: \[|$)", output, flags=re.MULTILINE)
    return json.loads(matches[-1]) if matches else None


def describe_bulk(title: str, summary: dict[str, Any] | None) -> None:
    if summary is None:
        print(f"  {title}: no summary found in the log")
        return
    print(
        f"  {title}: {summary['total']} rows → created {summary['created']}, replayed {summary['replayed']}, "
        f"invalid {summary['invalid']}, failed {summary['failed']} "
        f"({summary['requests_sent']} requests, {summary['throttled_429']} throttled, {summary['wall_seconds']} s)"
    )
    if summary.get("audit_path"):
        print(f"    audit records: {summary['audit_path']}")
    if summary.get("items_path"):
        print(f"    per-item results: {summary['items_path']}")


def main() -> int:
    DEMO_DIR.mkdir(exist_ok=True)
    airflow = [sys.executable, "-m", "airflow"]
    print("Starting the Genesys sandbox on loopback...")
    sandbox = SandboxProcess(
        ["--quota", str(QUOTA), "--crm-mode", "async", "--crm-async-delay", "1", "--quiet"]
    ).start()
    failures = 0
    try:
        base = sandbox.base_url
        print(f"  sandbox at {base}")
        env = airflow_env(base)
        print(f"Preparing Airflow (AIRFLOW_HOME={AIRFLOW_HOME})...")
        code, _, _ = run([*airflow, "db", "migrate"], env, "db-migrate.log")
        failures += code != 0

        print("Running genesys_bulk_interactions (bulk create → CRM sync → deferrable sensor)...")
        code, output, _ = run([*airflow, "dags", "test", "genesys_bulk_interactions", LOGICAL_DATE], env, "bulk-1.log")
        failures += code != 0 or "state=success" not in output
        describe_bulk("first run", last_json_after("genesys_audit_summary", output))

        run_ids = re.findall(r"run_id=manual__(\S+?)(?:\s|,|$)", output)
        run_after = run_ids[0] if run_ids else LOGICAL_DATE
        print(f"Running the same DAG run (manual__{run_after}) again, as a clear in the UI does...")
        rerun = [sys.executable, str(ROOT / "scripts" / "run_dag_run.py"), "genesys_bulk_interactions"]
        code, output, _ = run([*rerun, LOGICAL_DATE, run_after, "--clear"], env, "bulk-2.log")
        failures += code != 0 or "state=success" not in output
        describe_bulk("second run", last_json_after("genesys_audit_summary", output))

        print("Running genesys_create_interaction (one interaction from DAG params)...")
        code, output, _ = run([*airflow, "dags", "test", "genesys_create_interaction", LOGICAL_DATE], env, "create.log")
        failures += code != 0 or "state=success" not in output
        audit = last_json_after("genesys_audit", output)
        if audit:
            print(
                f"  outcome {audit['outcome']}: interaction {audit['interaction_id']} (key {audit['idempotency_key']})"
            )

        ledger = requests.get(f"{base}/_sandbox/ledger", timeout=30).json()
        crm = requests.get(f"{base}/_sandbox/crm", timeout=30).json()
        print("What the sandbox holds:")
        print(f"  interactions stored: {len(ledger['records'])}, duplicates: {ledger['duplicates']}")
        totals = crm.get("totals", {})
        print(
            f"  CRM deliveries stored: {totals.get('stored')}, redeliveries deduplicated: {totals.get('duplicates')}, "
            f"rejected: {totals.get('rejected')}"
        )
        failures += ledger["duplicates"] != 0
        print(f"Logs of every run: {DEMO_DIR / 'logs'}")
    finally:
        sandbox.stop()
    print("Demo finished: OK" if not failures else f"Demo finished with {failures} problem(s)")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
