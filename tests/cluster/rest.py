"""A small client of Airflow's public REST API (``/api/v2``): what the UI does, as calls.

Authentication: with ``[core] simple_auth_manager_all_admins`` the simple auth manager hands out an admin token
at ``GET /auth/token``; it is sent as a bearer token like any API client would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests


class AirflowApiError(RuntimeError):
    """An unexpected answer of the REST API."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Try:
    """One try of a task instance: number, state and the hostname of the worker that ran it."""

    task_id: str
    try_number: int
    state: str | None
    hostname: str | None


class AirflowRest:
    """Calls of the public REST API of the API server at ``base_url``."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self._token: str | None = None

    def request(self, method: str, path: str, *, json: Any = None, expect: tuple[int, ...] = (200,)) -> Any:
        """Send one request; return the decoded JSON answer (``None`` when empty)."""
        headers = {"Accept": "application/json"}
        if not path.startswith(("/auth/", "/execution/")):
            headers["Authorization"] = f"Bearer {self.token()}"
        response = self.session.request(method, self.base_url + path, json=json, headers=headers, timeout=self.timeout)
        if response.status_code not in expect:
            raise AirflowApiError(
                response.status_code, f"{method} {path} answered {response.status_code}: {response.text[:400]}"
            )
        return response.json() if response.content else None

    def token(self) -> str:
        if self._token is None:
            answer = self.request("GET", "/auth/token", expect=(200, 201))
            self._token = str(answer["access_token"])
        return self._token

    # -- health ---------------------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return dict(self.request("GET", "/api/v2/monitor/health"))

    def execution_api_health(self) -> Any:
        return self.request("GET", "/execution/health")

    # -- DAGs and runs --------------------------------------------------------------------------------------------
    def dag(self, dag_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/api/v2/dags/{dag_id}"))

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": paused})

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any] | None = None) -> dict[str, Any]:
        """Trigger a run now (``logical_date`` is required by the schema, and may be null)."""
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf or {}}
        return dict(self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body))

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        answer = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100")
        return list(answer["dag_runs"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.request("GET", self._run_path(dag_id, run_id)))

    # -- task instances -------------------------------------------------------------------------------------------
    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        return dict(self.request("GET", self._ti_path(dag_id, run_id, task_id)))

    def tries(self, dag_id: str, run_id: str, task_id: str) -> list[Try]:
        """Every try of the task instance, the current one included, in order."""
        answer = self.request("GET", self._ti_path(dag_id, run_id, task_id) + "/tries")
        rows = sorted(answer["task_instances"], key=lambda row: int(row["try_number"]))
        return [Try(task_id, int(row["try_number"]), row.get("state"), row.get("hostname")) for row in rows]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """The XCom value a task instance pushed under ``key`` (``None`` when there is none)."""
        path = self._ti_path(dag_id, run_id, task_id) + f"/xcomEntries/{quote(key, safe='')}"
        try:
            return self.request("GET", path)["value"]
        except AirflowApiError as error:
            if error.status == 404:
                return None
            raise

    def clear(self, dag_id: str, run_id: str, task_ids: list[str]) -> list[dict[str, Any]]:
        """Clear task instances of one run, as the UI's Clear button does; return the cleared instances."""
        body = {
            "dry_run": False,
            "only_failed": False,
            "dag_run_id": run_id,
            "task_ids": task_ids,
            "include_upstream": False,
            "include_downstream": False,
            "include_future": False,
            "include_past": False,
            "reset_dag_runs": True,
        }
        return list(self.request("POST", f"/api/v2/dags/{dag_id}/clearTaskInstances", json=body)["task_instances"])

    # -- jobs ---------------------------------------------------------------------------------------------------
    def running_jobs(self, job_type: str) -> list[dict[str, Any]]:
        answer = self.request("GET", f"/api/v2/jobs?job_type={job_type}&state=running&limit=100")
        return list(answer["jobs"])

    @staticmethod
    def _run_path(dag_id: str, run_id: str) -> str:
        return f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"

    def _ti_path(self, dag_id: str, run_id: str, task_id: str) -> str:
        return f"{self._run_path(dag_id, run_id)}/taskInstances/{task_id}"
