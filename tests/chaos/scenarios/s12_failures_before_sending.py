"""Scenario 12: failures before anything was sent: the token endpoint down or echoing secrets, a refused connection."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.chaos.harness import (
    CREATE_ROUTES,
    DAG_ID,
    TASK_ID,
    Evidence,
    ScenarioResult,
    bulk_run,
    connection_env,
    expected_keys,
    sandbox,
    scenario_environment,
    settle,
    work_dir,
)
from tests.support.connections import environment
from tests.support.context import FakeTaskInstance, task_context
from tests.support.payloads import items_for

if TYPE_CHECKING:
    from tests.chaos.matrix import Matrix

KINDS = ("interaction", "workitem", "callback", "email")


def failures_before_sending(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """For every kind: the token endpoint answers 503, or echoes the credentials in a 400, or the host refuses
    connections — so no create ever leaves the worker. Every item fails, and its key stays "never sent" in the
    task state (callbacks, emails, workitems); the task's next try, once the fault is gone, creates every item
    exactly once (no "outcome unknown", no replay). The single operator fails retryably in the same way and its
    retry creates the record.
    """
    from airflow_provider_genesys.creation.kinds import get_kind
    from airflow_provider_genesys.creation.state import LocalStateStore, SendState, TaskState
    from airflow_provider_genesys.creation.task import TaskIdentity
    from airflow_provider_genesys.hooks.genesys_cloud import clear_token_cache
    from airflow_provider_genesys.operators.interactions import GenesysCreateInteractionOperator

    count = 10 if matrix.short else 50
    work = work_dir("before")
    phases: dict[str, Any] = {}
    with sandbox(matrix.canaries, evidence) as gone:
        closed_url = gone.base_url  # stopped when this block ends: connections to it are refused
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(
            matrix.canaries, evidence, box.base_url, chaos_before={"token_retry_seconds": 0.2, "max_attempts": 2}
        ) as state_dir,
    ):
        faults = {
            "token 503": {"route_prefix": "/oauth/token", "error_rate": 1.0, "error_status": 503},
            "token echoes secrets": {
                "route_prefix": "/oauth/token",
                "hostile_answer": "echo_secrets",
                "hostile_rate": 1,
            },
            "connection refused": None,
        }
        for kind in KINDS:
            for number, (fault, settings) in enumerate(faults.items()):
                items = items_for(kind, count, seed=1200 + number)
                run_id = f"manual__before_{kind}_{number}"
                refused = connection_env("chaos_before", closed_url, matrix.canaries, token_retry_seconds=0.2)
                clear_token_cache()  # a worker that holds no token yet: every create needs the token endpoint
                with environment(**(refused if settings is None else {})):
                    box.faults(**(settings or {}))
                    first = bulk_run(evidence, work, conn_id="chaos_before", kind=kind, items=items, run_id=run_id)
                box.faults()
                creates_before = sum(box.route(CREATE_ROUTES[kind]).values())
                journal_states: dict[str, int] = {}
                if get_kind(kind).journaled:
                    task = TaskIdentity(dag_id=DAG_ID, task_id=TASK_ID, run_id=run_id, map_index=-1, try_number=2)
                    # the operator ran without a task runner: its state is in the local files
                    store = LocalStateStore(Path(state_dir) / task.scope / "state")
                    earlier = TaskState.load(store, kind=kind, try_number=2)
                    for key in expected_keys(kind, items, run_id):
                        state = earlier.earlier(key).state.value
                        journal_states[state] = journal_states.get(state, 0) + 1
                second = bulk_run(
                    evidence, work, conn_id="chaos_before", kind=kind, items=items, run_id=run_id, try_number=2
                )
                duplicates, lost = settle(result, box, kind, items, run_id, second)
                phase = f"{kind}: {fault}"
                phases[phase] = {
                    "first_try": first.outcomes(),
                    "first_error": first.error_type,
                    "creates_sent_by_try_1": creates_before,
                    "journal_after_try_1": journal_states,
                    "second_try": second.outcomes(),
                    "duplicates": duplicates,
                    "lost": lost,
                }
                result.check(first.outcomes().get("failed", 0) == count, f"{phase}: try 1 outcomes {first.outcomes()}")
                result.check(creates_before == 0, f"{phase}: {creates_before} create(s) reached the sandbox")
                if journal_states:
                    result.check(
                        journal_states == {SendState.NEVER_SENT.value: count},
                        f"{phase}: journal after try 1 {journal_states}",
                    )
                result.check(
                    second.outcomes() == {"created": count} and second.error is None,
                    f"{phase}: try 2 {second.outcomes()} {(second.error or '')[:300]}",
                )
                result.items += count
                result.trials += 2
                box.reset()

            # the single operator: a retryable failure, then its retry creates the record once
            clear_token_cache()
            box.faults(**faults["token 503"])  # type: ignore[arg-type]
            payload = {k: v for k, v in items_for(kind, 1, seed=1299)[0].items() if k != "external_id"}
            outcomes = []
            for try_number in (1, 2):
                ti = FakeTaskInstance(dag_id=DAG_ID, task_id="single", run_id=f"manual__before_single_{kind}",
                                      try_number=try_number)  # fmt: skip
                operator = GenesysCreateInteractionOperator(
                    task_id="single", kind=kind, interaction=payload, genesys_conn_id="chaos_before"
                )
                try:
                    operator.execute(task_context(ti))
                    outcomes.append("created")
                except Exception as error:
                    outcomes.append(type(error).__name__)
                    evidence.add_exception(f"single {kind} try {try_number}", error)
                evidence.add(f"single {kind} xcom {try_number}", ti.xcom)
                box.faults()
            result.check(
                outcomes[0] not in ("created", "AirflowFailException") and outcomes[1] == "created",
                f"single {kind}: {outcomes}",
            )
            result.check(len(box.state.ledger()["records"]) == 1, f"single {kind}: not exactly one record")
            phases[f"{kind}: single operator, token 503"] = outcomes
            result.items += 1
            result.trials += 2
            box.reset()
    result.details["phases"] = phases
    result.notes.append(
        "token endpoint 503, token endpoint echoing the credentials (400), connection refused: for every kind, no "
        "create leaves the worker, each key stays 'never sent', and the next try creates every item once"
    )
