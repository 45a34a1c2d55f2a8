"""Scenario 11: hostile answers: a proxy's HTML page, empty 2xx, 2xx without an id, redirects, echoed secrets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.chaos.harness import (
    CREATE_PATHS,
    CREATE_ROUTES,
    DAG_ID,
    Evidence,
    ScenarioResult,
    bulk_run,
    crm_connection_env,
    items_without_id,
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
#: (hostile answer, answered after the record was stored): a proxy that never forwarded, a gateway that mangled.
MODES = [
    ("html_200", False),
    ("html_200", True),
    ("empty_201", False),
    ("empty_201", True),
    ("json_without_id", True),
    ("redirect_307", False),
    ("redirect_302", False),
    ("echo_secrets", False),
]


def hostile_answers(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """Every kind's creates meet each hostile answer at a 30% rate; then the task's second try runs clean.

    The first try's connection makes one attempt per request, so every hostile answer it meets is the item's
    outcome. Checked: no try reports an item created or replayed without a record id; a redirect is never followed (the
    other host sees no request at all); after the second try every item exists exactly once — except callbacks
    and emails whose first answer was unusable, which Genesys cannot look up: those are reported as an unknown
    outcome naming the key, and never sent twice. Echoed credentials (in every field of an error answer, in an
    HTML page, in a redirect's Location) appear nowhere: the matrix-wide scan reads every log, XCom value,
    exception, audit file and journal. Then CRM deliveries to a receiver that redirects (307 to another host,
    302 to a page answering 200): every delivery fails naming the Location, the other host stores nothing, and
    the next sync delivers each record once.
    """
    from airflow_provider_genesys.operators.crm import GenesysCrmSyncOperator

    count = 10 if matrix.short else 60
    work = work_dir("hostile")
    phases: dict[str, Any] = {}
    with (
        sandbox(matrix.canaries, evidence) as box,
        sandbox(matrix.canaries, evidence) as elsewhere,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_hostile={"max_attempts": 1}) as _state,
    ):
        for kind in KINDS:
            for number, (hostile, after_commit) in enumerate(MODES):
                items = items_for(kind, count, seed=1100 + number)
                run_id = f"manual__hostile_{kind}_{hostile}_{int(after_commit)}"
                box.faults(
                    hostile_answer=hostile,
                    hostile_rate=0.3,
                    hostile_after_commit=after_commit,
                    route_prefix=CREATE_PATHS[kind],
                    redirect_location=f"{elsewhere.base_url}{CREATE_PATHS[kind]}",
                    seed=11 + number,
                )
                first = bulk_run(evidence, work, conn_id="chaos_hostile", kind=kind, items=items, run_id=run_id)
                box.faults()
                second = bulk_run(
                    evidence, work, conn_id="chaos_hostile", kind=kind, items=items, run_id=run_id, try_number=2
                )
                duplicates, lost = settle(result, box, kind, items, run_id, second)
                phase = f"{kind} {hostile}{' after commit' if after_commit else ''}"
                unknown = [item for item in second.items() if item.get("outcome") == "failed"]
                phases[phase] = {
                    "items": count,
                    "first_try": first.outcomes(),
                    "second_try": second.outcomes(),
                    "create_answers": box.route(CREATE_ROUTES[kind]),
                    "duplicates": duplicates,
                    "lost": lost,
                }
                result.check(first.outcomes().get("failed", 0) > 0, f"{phase}: no hostile answer was met")
                for run in (first, second):
                    without = items_without_id(run)
                    result.check(not without, f"{phase}: {len(without)} item(s) counted without a record id")
                if kind in ("interaction", "workitem") or hostile in ("redirect_307", "redirect_302", "echo_secrets"):
                    # a record id is found by its key, or nothing was created (a redirect, a rejection)
                    result.check(
                        second.outcomes().get("failed", 0) == 0 and second.error is None,
                        f"{phase}: try 2 {second.outcomes()} {(second.error or '')[:300]}",
                    )
                else:
                    result.check(
                        all(item.get("error_code") == "outcome.unknown" for item in unknown),
                        f"{phase}: try 2 failures that are not unknown outcomes: {unknown[:3]}",
                    )
                result.items += count
                result.trials += 2
                box.reset()
        other_side = elsewhere.requests_by_route()
        result.check(
            not any(" /api/" in route for route in other_side), f"a redirect was followed: {sorted(other_side)}"
        )
        result.check(elsewhere.record_count() == 0, f"the other host stored {elsewhere.record_count()} record(s)")

        # CRM deliveries to a receiver that redirects: never followed, nothing stored elsewhere, redelivered later
        records = [
            {"interaction_id": f"crm-hostile-{n}", "key": f"crm-hostile-key-{n}", "outcome": "created"}
            for n in range(count)
        ]
        with environment(**crm_connection_env("chaos_crm_hostile", box.base_url, matrix.canaries.crm_secret)):
            for try_number, (hostile, target) in enumerate(
                [("redirect_307", "/crm/interactions"), ("redirect_302", "/_sandbox/health"), (None, "")], start=1
            ):
                box.faults(
                    **(
                        {"hostile_answer": hostile, "hostile_rate": 1.0, "route_prefix": "/crm/"}
                        | {"redirect_location": elsewhere.base_url + target}
                        if hostile
                        else {}
                    )
                )
                ti = FakeTaskInstance(dag_id=DAG_ID, task_id="crm_hostile", run_id="manual__crm", try_number=try_number)
                operator = GenesysCrmSyncOperator(
                    task_id="crm_hostile", records=records, crm_conn_id="chaos_crm_hostile"
                )
                error: BaseException | None = None
                try:
                    evidence.add(f"crm hostile return {try_number}", operator.execute(task_context(ti)))
                except Exception as failure:
                    error = failure
                    evidence.add_exception(f"crm hostile {try_number}", failure)
                evidence.add(f"crm hostile xcom {try_number}", ti.xcom)
                if hostile:
                    result.check(
                        error is not None and elsewhere.base_url in str(error),
                        f"CRM {hostile}: {type(error).__name__}: {str(error)[:300]}",
                    )
                else:
                    result.check(error is None, f"CRM after the redirects: {error}")
                result.trials += 1
            crm = box.admin("GET", "crm")
            other_crm = elsewhere.admin("GET", "crm")
            result.check(crm["totals"]["stored"] == count, f"CRM stored {crm['totals']['stored']} of {count}")
            result.check(other_crm["totals"]["stored"] == 0, f"the other CRM stored {other_crm['totals']['stored']}")
            result.lost += max(0, count - crm["totals"]["stored"])
            result.items += count
    result.details["phases"] = phases
    result.notes.append(
        "html_200 / empty_201 / json_without_id / redirect_302 / redirect_307 / echo_secrets at 30% of every kind's "
        "creates, before or after the record was stored; callbacks/emails whose answer was unusable are reported "
        "'outcome unknown' and never re-sent within the try, then found by the participant-attribute search (or "
        "created, when the request never reached the sandbox) by the next; CRM redirects (307, 302) never followed"
    )
