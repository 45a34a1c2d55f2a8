"""The scenarios of the cluster run, in the order they run.

a. the shipped bulk interaction DAG (``genesys_bulk_interactions``) runs on its schedule once unpaused;
d. "retry from the UI": its bulk task is cleared through the REST API (what the Clear button sends) and run
   again — on the *other* worker (the first one stops taking tasks meanwhile), whose disk never saw it; it must
   send no create request and report every valid item ``replayed``;
b. a bulk callback task and a bulk workitem task (``tests/cluster/dags``): the worker running try 1 is SIGKILLed,
   with all its processes, once the sandbox holds some of the task's records; try 2 runs on the other worker;
c. the shipped workitems DAG (``genesys_workitems``): its bulk add jobs task defers to the triggerer, which is
   SIGKILLed and restarted while the jobs run; the new triggerer must pick the trigger up and the task finish.

Each scenario adds :class:`~tests.cluster.verdict.Check` results, the tries of its creating tasks, and the
records it expects; a scenario that raises is recorded as a failed check and the next one still runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from airflow_provider_genesys.sync.records import load_records
from tests.cluster import workload
from tests.cluster.deployment import WORKERS, Cluster
from tests.cluster.expected import bulk_task, load_dags, single_task
from tests.cluster.processes import ProcessDiedError, wait_for
from tests.cluster.rest import AirflowApiError, Try
from tests.cluster.verdict import Check, ExpectedRecords
from tests.support.sandbox_client import SandboxAdmin

BULK_DAG = "genesys_bulk_interactions"
BULK_TASK = "create_interactions"
WORKITEMS_DAG = "genesys_workitems"
SINGLE_WORKITEM_TASK = "create_workitem"
BULK_JOBS_TASK = "add_backlog"
REQUIRED_DAGS = (BULK_DAG, WORKITEMS_DAG, workload.CALLBACKS_DAG, workload.WORKITEMS_DAG)

FINISHED = ("success", "failed")
#: Latency the sandbox adds to the killed tasks' create requests, so that a kill lands part-way.
KILL_LATENCY_MS = 250
#: Records of the task the sandbox must hold before its worker is killed.
KILL_AFTER_RECORDS = 8
ROUTES = {
    "interaction": "/api/v2/interactions",
    "callback": "/api/v2/conversations/callbacks",
    "workitem": "/api/v2/taskmanagement/workitems",
}
JOB_STATUS_ROUTE = "GET /api/v2/taskmanagement/workitems/bulk/add/jobs/{job_id}"


@dataclass
class Report:
    """What the scenarios found."""

    checks: list[Check] = field(default_factory=list)
    tries: list[Try] = field(default_factory=list)
    expected: list[ExpectedRecords] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def check(self, name: str, passed: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, bool(passed), detail))
        return bool(passed)


class Scenarios:
    """Runs the scenarios against an up cluster and fills a :class:`Report`.

    :param cluster: the running cluster.
    :param log: prints one progress line.
    :param report: where the findings go (kept by the caller, so an interrupted run still shows them).
    """

    def __init__(self, cluster: Cluster, log: Callable[[str], None], report: Report) -> None:
        self.cluster = cluster
        self.rest = cluster.rest
        self.sandbox = SandboxAdmin(cluster.sandbox_url)
        self.log = log
        self.report = report
        dags_folder = cluster.layout.dags
        self.dags = {
            **load_dags(dags_folder / "genesys_bulk_interactions.py"),
            **load_dags(dags_folder / "genesys_workitems.py"),
            **load_dags(dags_folder / "cluster_worker_loss.py"),
        }

    # -- the run --------------------------------------------------------------------------------------------------
    def run_all(self) -> Report:
        bulk_run = self._timed("a. bulk interaction DAG", self.bulk_interactions)
        if bulk_run is not None:
            self._timed("d. clear from the UI", partial(self.clear_from_ui, bulk_run))
        # no further scheduled run (the DAG is daily): one starting now could not finish before the tally
        self.rest.set_paused(BULK_DAG, True)
        for dag_id, task_id in (
            (workload.CALLBACKS_DAG, workload.CALLBACKS_TASK),
            (workload.WORKITEMS_DAG, workload.WORKITEMS_TASK),
        ):
            self._timed(f"b. worker killed during {task_id}", partial(self.worker_loss, dag_id, task_id))
        self._timed("c. bulk add jobs, triggerer restarted", self.deferred_jobs)
        self._expect_every_bulk_run()
        return self.report

    def _timed(self, name: str, scenario: Callable[[], Any]) -> Any:
        self.log(f"--- {name}")
        started = time.monotonic()
        try:
            return scenario()
        except ProcessDiedError:
            raise  # a component died: nothing later can be judged
        except Exception as error:  # recorded as a failed check; the next scenario still runs
            self.report.check(f"{name}: completed", False, f"{type(error).__name__}: {error}")
            return None
        finally:
            self.report.timings[name] = time.monotonic() - started
            self.log(f"    {name}: {self.report.timings[name]:.1f}s")

    # -- a. the bulk interaction DAG on its schedule -----------------------------------------------------------
    def bulk_interactions(self) -> str:
        self.rest.set_paused(BULK_DAG, False)
        runs = wait_for(
            f"the scheduler to create a run of {BULK_DAG}",
            lambda: self.rest.dag_runs(BULK_DAG),
            timeout=90,
            interval=1,
            check=self.cluster.check,
        )
        run_id = str(runs[0]["dag_run_id"])
        self.log(f"    run {run_id} ({runs[0].get('run_type')})")
        state = self._wait_run(BULK_DAG, run_id, timeout=360)
        self.report.check("a. bulk interaction run succeeded", state == "success", f"state={state}")
        expected = bulk_task(self.dags[BULK_DAG], BULK_TASK, run_id)
        summary = self.rest.xcom(BULK_DAG, run_id, BULK_TASK) or {}
        created = outcome_keys(summary, "created")
        self.report.check(
            "a. every valid item reported created",
            created == set(expected.keys()),
            f"{len(created)} created of {len(expected.external_ids)} valid, summary {counts_of(summary)}",
        )
        self.report.tries += self.rest.tries(BULK_DAG, run_id, BULK_TASK)
        return run_id

    # -- d. clear from the UI, re-run on the other worker ------------------------------------------------------
    def clear_from_ui(self, run_id: str) -> None:
        first = self.rest.tries(BULK_DAG, run_id, BULK_TASK)
        ran_on = first[-1].hostname
        if ran_on not in WORKERS:
            raise RuntimeError(f"try {first[-1].try_number} ran on {ran_on!r}, not a known worker")
        other = other_worker(ran_on)
        route = f"POST {ROUTES['interaction']}"
        creates_before = sum(self.sandbox.requests_to(route).values())
        self.cluster.set_consuming(ran_on, False)
        try:
            cleared = self.rest.clear(BULK_DAG, run_id, [BULK_TASK])
            self.report.check(
                "d. clearTaskInstances cleared the bulk task",
                [row["task_id"] for row in cleared] == [BULK_TASK],
                f"cleared {[row['task_id'] for row in cleared]}",
            )
            tries = wait_for(
                "the cleared task to run again and finish",
                lambda: self._finished_try(BULK_DAG, run_id, BULK_TASK, len(first) + 1),
                timeout=240,
                interval=1,
                check=self.cluster.check,
            )
        finally:
            self.cluster.set_consuming(ran_on, True)
        rerun = tries[-1]
        self.report.tries.append(rerun)
        self.report.check(
            "d. the re-run ran on the other worker", rerun.hostname == other, f"{ran_on} then {rerun.hostname}"
        )
        self.report.check("d. the re-run succeeded", rerun.state == "success", f"state={rerun.state}")
        state = self._wait_run(BULK_DAG, run_id, timeout=120)
        self.report.check("d. the DAG run is successful again", state == "success", f"state={state}")
        creates = sum(self.sandbox.requests_to(route).values()) - creates_before
        self.report.check("d. the re-run sent no create request", creates == 0, f"{creates} create requests")
        expected = set(bulk_task(self.dags[BULK_DAG], BULK_TASK, run_id).keys())
        summary = self.rest.xcom(BULK_DAG, run_id, BULK_TASK) or {}
        replayed = outcome_keys(summary, "replayed")
        self.report.check(
            "d. every valid item reported replayed",
            replayed == expected,
            f"{len(replayed & expected)} of {len(expected)} replayed, summary {counts_of(summary)}",
        )
        if rerun.state != "success":
            self.report.notes.append(self._failure_reason(BULK_DAG, run_id, BULK_TASK, rerun.try_number))

    # -- b. a worker killed part-way --------------------------------------------------------------------------
    def worker_loss(self, dag_id: str, task_id: str) -> None:
        dag = self.dags[dag_id]
        run_id = f"cluster__{task_id}"
        expected = bulk_task(dag, task_id, run_id)
        self.report.expected.append(expected)
        keys = set(expected.keys())
        total = len(keys)
        self.sandbox.faults(latency_ms=KILL_LATENCY_MS, route_prefix=ROUTES[expected.kind])
        try:
            self.rest.set_paused(dag_id, False)
            self.rest.trigger(dag_id, run_id)
            held = wait_for(
                f"{KILL_AFTER_RECORDS} records of {task_id} in the sandbox",
                partial(self._records_while_running, dag_id, run_id, keys),
                timeout=180,
                interval=0.2,
                check=self.cluster.check,
            )
            victim = self.rest.task_instance(dag_id, run_id, task_id).get("hostname")
            if victim not in WORKERS:
                raise RuntimeError(f"{task_id} runs on {victim!r}, not a known worker")
            self.cluster.kill(victim)
            killed_at = time.monotonic()
            self.log(f"    killed {victim} with {held} of {total} records of {task_id} in the sandbox")
            self.report.check(
                f"b. {task_id}: worker killed part-way", held < total, f"{held} of {total} records when killed"
            )
            retry = wait_for(
                f"try 2 of {task_id} to start",
                partial(self._started_try, dag_id, run_id, task_id, 2),
                timeout=120,
                interval=0.5,
                check=self.cluster.check,
            )
            recovery = time.monotonic() - killed_at
            self.report.timings[f"b. {task_id}: kill -> try 2 running on {retry.hostname}"] = recovery
            self.log(f"    try {retry.try_number} running on {retry.hostname} {recovery:.1f}s after the kill")
            self.cluster.restart(victim)
            state = self._wait_run(dag_id, run_id, timeout=240)
            self.cluster.wait_worker_ready(victim)
        finally:
            self.sandbox.faults()
        tries = self.rest.tries(dag_id, run_id, task_id)
        self.report.tries += tries
        hosts = [t.hostname for t in tries]
        self.report.check(
            f"b. {task_id}: try 2 ran on the other worker",
            len(tries) == 2 and hosts[0] == victim and hosts[1] == other_worker(victim),
            "tries " + ", ".join(f"{t.try_number}:{t.hostname}:{t.state}" for t in tries),
        )
        self.report.check(f"b. {task_id}: run succeeded after the retry", state == "success", f"state={state}")
        if state != "success":
            self.report.notes.append(self._failure_reason(dag_id, run_id, task_id, tries[-1].try_number))

    # -- c. deferred bulk add jobs, triggerer restarted -----------------------------------------------------------
    def deferred_jobs(self) -> None:
        dag = self.dags[WORKITEMS_DAG]
        run_id = "cluster__bulk_add_jobs"
        self.report.expected += [
            single_task(dag, SINGLE_WORKITEM_TASK, run_id),
            bulk_task(dag, BULK_JOBS_TASK, run_id),
        ]
        self.rest.set_paused(WORKITEMS_DAG, False)
        self.rest.trigger(WORKITEMS_DAG, run_id)
        trigger = wait_for(
            f"{BULK_JOBS_TASK} to defer and a triggerer to take its trigger",
            lambda: self._trigger_of(run_id),
            timeout=180,
            interval=0.5,
            check=self.cluster.check,
        )
        old_triggerer = trigger["triggerer_id"]
        polls = wait_for(
            "the trigger to poll the jobs",
            lambda: self._job_polls() or None,
            timeout=60,
            interval=0.5,
            check=self.cluster.check,
        )
        self.cluster.kill("triggerer")
        killed_at = time.monotonic()
        self.cluster.restart("triggerer")
        self.log(f"    triggerer (job {old_triggerer}) killed after {polls} job polls, and started again")
        state = self.rest.task_instance(WORKITEMS_DAG, run_id, BULK_JOBS_TASK)["state"]
        self.report.check("c. the task stays deferred while no triggerer runs", state == "deferred", f"state={state}")
        taken = wait_for(
            "another triggerer to take the trigger over",
            lambda: self._taken_over(run_id, old_triggerer),
            timeout=120,
            interval=0.5,
            check=self.cluster.check,
        )
        handover = time.monotonic() - killed_at
        self.report.timings["c. triggerer kill -> trigger taken by the new triggerer"] = handover
        self.log(f"    triggerer job {taken['triggerer_id']} took the trigger {handover:.1f}s after the kill")
        resumed_polls = wait_for(
            "the new triggerer to poll the jobs",
            lambda: (n := self._job_polls()) > polls and n,
            timeout=60,
            interval=0.5,
            check=self.cluster.check,
        )
        self.report.check(
            "c. the new triggerer picked the trigger up while the jobs ran",
            taken["state"] == "deferred" and resumed_polls > polls,
            f"triggerer job {old_triggerer} -> {taken['triggerer_id']}, polls {polls} -> {resumed_polls}",
        )
        state = self._wait_run(WORKITEMS_DAG, run_id, timeout=240)
        self.report.check("c. the workitems run succeeded", state == "success", f"state={state}")
        for task_id in (SINGLE_WORKITEM_TASK, BULK_JOBS_TASK):
            self.report.tries += self.rest.tries(WORKITEMS_DAG, run_id, task_id)
        tries = self.rest.tries(WORKITEMS_DAG, run_id, BULK_JOBS_TASK)
        self.report.check(
            f"c. {BULK_JOBS_TASK} finished in its first try",
            [t.try_number for t in tries] == [1] and tries[0].state == "success",
            ", ".join(f"{t.try_number}:{t.hostname}:{t.state}" for t in tries),
        )
        if state != "success":
            for task_id in (SINGLE_WORKITEM_TASK, BULK_JOBS_TASK):
                last = self.rest.tries(WORKITEMS_DAG, run_id, task_id)[-1]
                if last.state != "success":
                    self.report.notes.append(self._failure_reason(WORKITEMS_DAG, run_id, task_id, last.try_number))

    def _expect_every_bulk_run(self) -> None:
        """Every run of the scheduled bulk DAG must have created its items (normally the one run of a)."""
        try:
            runs = self.rest.dag_runs(BULK_DAG)
        except AirflowApiError as error:
            self.report.check("a. the bulk DAG's runs could be listed", False, str(error))
            return
        dag = self.dags[BULK_DAG]
        for run in runs:
            if run["state"] == "queued":  # created at midnight, never started: the DAG was paused again
                self.report.notes.append(f"{BULK_DAG} run {run['dag_run_id']} never started; nothing expected of it")
                continue
            self.report.expected.append(bulk_task(dag, BULK_TASK, str(run["dag_run_id"])))

    # -- helpers --------------------------------------------------------------------------------------------------
    def _wait_run(self, dag_id: str, run_id: str, *, timeout: float) -> str:
        def finished() -> str | None:
            state = str(self.rest.dag_run(dag_id, run_id)["state"])
            return state if state in FINISHED else None

        return wait_for(f"{dag_id} {run_id} to finish", finished, timeout=timeout, interval=1, check=self.cluster.check)

    def _finished_try(self, dag_id: str, run_id: str, task_id: str, number: int) -> list[Try] | None:
        tries = self.rest.tries(dag_id, run_id, task_id)
        done = [t for t in tries if t.try_number >= number and t.state in ("success", "failed", "up_for_retry")]
        return tries if done else None

    def _started_try(self, dag_id: str, run_id: str, task_id: str, number: int) -> Try | None:
        # a try's hostname is only its own once it runs (until then the row still shows the last try's)
        started = ("running", "success", "failed", "up_for_retry")
        tries = self.rest.tries(dag_id, run_id, task_id)
        return next((t for t in tries if t.try_number >= number and t.state in started), None)

    def _records_while_running(self, dag_id: str, run_id: str, keys: set[str]) -> int | None:
        """How many of ``keys`` the sandbox holds, once at least ``KILL_AFTER_RECORDS``; raise if the run ended."""
        held = sum(1 for record in self.sandbox.records() if record.get("idempotencyKey") in keys)
        if held >= KILL_AFTER_RECORDS:
            return held
        state = self.rest.dag_run(dag_id, run_id)["state"]
        if state in FINISHED:
            raise RuntimeError(f"{dag_id} {run_id} ended ({state}) with {held} records, before it could be killed")
        return None

    def _trigger_of(self, run_id: str) -> dict[str, Any] | None:
        ti = self.rest.task_instance(WORKITEMS_DAG, run_id, BULK_JOBS_TASK)
        if ti["state"] in FINISHED:
            raise RuntimeError(f"{BULK_JOBS_TASK} finished ({ti['state']}) before it could be watched deferred")
        trigger = ti.get("trigger") or {}
        if ti["state"] == "deferred" and trigger.get("triggerer_id"):
            return {"state": ti["state"], **trigger}
        return None

    def _taken_over(self, run_id: str, old_triggerer: int) -> dict[str, Any] | None:
        ti = self.rest.task_instance(WORKITEMS_DAG, run_id, BULK_JOBS_TASK)
        trigger = ti.get("trigger") or {}
        if ti["state"] != "deferred":
            return {"state": ti["state"], "triggerer_id": trigger.get("triggerer_id")}
        if trigger.get("triggerer_id") not in (None, old_triggerer):
            return {"state": ti["state"], **trigger}
        return None

    def _job_polls(self) -> int:
        return sum(self.sandbox.requests_to(JOB_STATUS_ROUTE).values())

    def _failure_reason(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """The last error event of a try's task log (the log folder is shared by the cluster)."""
        folder = self.cluster.layout.task_logs / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return f"{dag_id}.{task_id} try {try_number}: " + last_error(folder / f"attempt={try_number}.log")


def other_worker(worker: str | None) -> str:
    """The worker that is not ``worker``."""
    return next(name for name in WORKERS if name != worker)


def outcome_keys(summary: dict[str, Any], outcome: str) -> set[str]:
    """Keys of the items a bulk summary reports with ``outcome`` (inline, or in the file beyond the XCom budget).

    The file is on the disk of the worker that ran the task; every worker of this cluster is on this machine.
    """
    if not summary:
        return set()
    return {str(item["key"]) for item in load_records(summary) if item.get("outcome") == outcome}


def counts_of(summary: dict[str, Any]) -> str:
    """``created=… replayed=… invalid=… failed=… requests_sent=…`` of a bulk summary."""
    names = ("created", "replayed", "invalid", "failed", "requests_sent")
    return " ".join(f"{name}={summary.get(name)}" for name in names) if summary else "(no summary)"


def last_error(log_path: Path) -> str:
    """The last error-level event of a JSON-lines task log (its message and exception), or a note why not."""
    if not log_path.exists():
        return f"no task log at {log_path}"
    found = ""
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict) and str(event.get("level", "")).lower() in ("error", "critical"):
            text = str(event.get("event", ""))
            for error in event.get("error_detail") or []:
                if isinstance(error, dict):
                    text += f" {error.get('exc_type', '')}: {error.get('exc_value', '')}"
            found = " ".join(text.split())
    if len(found) > 500:
        found = found[:500] + " …"
    return (found or "no error event in the task log") + f" (log: {log_path})"
