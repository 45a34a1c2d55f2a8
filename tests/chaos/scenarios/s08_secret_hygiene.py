"""Scenario 8: secret hygiene."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from tests.chaos.harness import (
    DAG_ID,
    Canaries,
    Evidence,
    ScenarioResult,
    account,
    bulk_run,
    connection_env,
    crm_connection_env,
    sandbox,
    scenario_environment,
    work_dir,
)
from tests.support.connections import environment
from tests.support.context import FakeTaskInstance, task_context
from tests.support.payloads import items_for

if TYPE_CHECKING:
    from tests.chaos.matrix import Matrix


def secret_hygiene(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """The canary client secret, every issued token and the canary CRM signing secret appear nowhere.

    A workload built to tempt leaks (faults of every kind, revoked tokens, a token endpoint that fails, a wrong
    client secret, CRM deliveries with a wrong signing secret and dropped answers, DEBUG logging of every
    library) feeds the scan, together with everything the other scenarios of the matrix produced: captured
    log records and fd 1/2 output, XCom values, return values, audit records (XCom and files), journals,
    exception texts with tracebacks, and the task processes' logs.
    """
    from airflow_provider_genesys.hooks.crm import CrmWebhookHook
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
    from airflow_provider_genesys.operators.crm import GenesysCrmSyncOperator
    from airflow_provider_genesys.operators.interactions import GenesysCreateInteractionOperator

    canaries = matrix.canaries
    work = work_dir("secrets")
    count = 40 if matrix.short else 200
    operations = 0
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(
            canaries, evidence, box.base_url, chaos_secret={}, chaos_token_down={"token_retry_seconds": 0.5}
        ) as _state,
        environment(
            **connection_env(
                "chaos_wrong", box.base_url, Canaries(canaries.client_id, canaries.client_secret + "-old")
            ),
            **crm_connection_env("chaos_crm", box.base_url, canaries.crm_secret),
            **crm_connection_env("chaos_crm_wrong", box.base_url, "whsec_" + "d3Jvbmctc2VjcmV0LWtleS0xMjM0NTY3OA=="),
        ),
    ):
        # a single create with an audit file, then the bulk operator through every fault at once
        ti = FakeTaskInstance(dag_id=DAG_ID, task_id="single", run_id="manual__secrets")
        single = GenesysCreateInteractionOperator(
            task_id="single",
            interaction={k: v for k, v in items_for("interaction", 1, seed=80)[0].items() if k != "external_id"},
            genesys_conn_id="chaos_secret",
            audit_path=str(work / "single-audit.jsonl"),
        )
        record = single.execute(task_context(ti))
        evidence.add("single xcom", ti.xcom)
        evidence.add("single return value", record)
        evidence.add("hook settings repr", repr(single.hook.settings))
        operations += 1
        items = items_for("interaction", count, seed=81)
        box.faults(error_rate=0.05, rate_429=0.05, retry_after=1, drop_after_commit_rate=0.05, seed=8, fail_next=[401])
        timer = threading.Timer(0.3, lambda: box.admin("POST", "tokens/expire"))
        timer.start()
        run = bulk_run(
            evidence, work, conn_id="chaos_secret", kind="interaction", items=items, run_id="manual__secrets"
        )
        timer.join()
        box.faults()
        account(result, box, "interaction", items, "manual__secrets")
        result.check(run.outcomes().get("failed", 0) == 0, f"bulk under faults: {run.outcomes()}")
        operations += 1
        for kind in ("workitem", "callback"):
            box.faults(drop_after_commit_rate=0.2, error_rate=0.1, seed=9)
            kind_items = items_for(kind, 20, seed=82)
            bulk_run(
                evidence, work, conn_id="chaos_secret", kind=kind, items=kind_items, run_id=f"manual__secrets_{kind}"
            )
            box.faults()
            operations += 1

        # a wrong client secret, a failing token endpoint: the errors say what is wrong, never the secret
        ok, message = GenesysCloudHook("chaos_wrong").test_connection()
        evidence.add("test_connection (wrong secret)", message)
        result.check(not ok, "test_connection with a wrong secret succeeded")
        box.faults(route_prefix="/oauth/token", error_rate=1.0, error_status=503)
        try:
            GenesysCloudHook("chaos_token_down").request("GET", "/api/v2/tokens/me")
        except Exception as error:
            evidence.add_exception("token endpoint down", error)
        box.faults()
        operations += 2

        # CRM: deliveries with the right secret (some answers dropped), then with a wrong one
        records = run.items()
        box.admin("PUT", "crm/mode", json={"drop_next": 3})
        for conn_id, try_number in (("chaos_crm", 1), ("chaos_crm", 2), ("chaos_crm_wrong", 1)):
            crm_ti = FakeTaskInstance(
                dag_id=DAG_ID, task_id="crm_sync", run_id="manual__secrets", try_number=try_number
            )
            operator = GenesysCrmSyncOperator(task_id="crm_sync", records=records, crm_conn_id=conn_id)
            try:
                evidence.add(f"crm return value {conn_id}", operator.execute(task_context(crm_ti)))
            except Exception as error:
                evidence.add_exception(f"crm sync {conn_id}", error)
            evidence.add(f"crm xcom {conn_id}", crm_ti.xcom)
            operations += 1
        crm = box.admin("GET", "crm")
        evidence.add("crm hook settings repr", repr(CrmWebhookHook("chaos_crm").settings))
        result.check(crm["totals"]["stored"] == len(records), f"CRM stored {crm['totals']['stored']} of {len(records)}")
        result.check(crm["totals"]["rejected"] >= 1, "the wrong CRM secret was not rejected")
        result.duplicates += sum(1 for delivery in crm["stored"] if delivery["deliveries"] < 1)

    # a control: the scanner must find a planted canary and a planted token
    control = Evidence()
    control.tokens = set(list(evidence.tokens)[:1])
    control.add("planted", f"a {canaries.client_secret} b {next(iter(control.tokens), '')} c {canaries.crm_secret}")
    planted = control.scan(canaries)
    result.check(len(planted) == 3 and bool(control.tokens), f"the scanner missed planted secrets: {planted}")

    # the scan: this scenario's evidence and everything the other scenarios of this matrix produced
    everything = Evidence()
    everything.extend(matrix.evidence)
    everything.extend(evidence)
    hits = everything.scan(canaries)
    volume = everything.volume()
    result.leaks += len(hits)
    result.trials = operations
    result.items = volume["texts"] + volume["files"]
    result.details["matrix_scan"] = volume
    result.details["secrets"] = [*sorted(canaries.secrets()), f"{volume['tokens']} issued tokens"]
    if hits:
        result.details["matrix_leak_sources"] = sorted({str(hit) for hit in hits})[:20]
    result.notes.append(
        f"scanned {volume['texts']} captured texts and {volume['files']} files ({volume['chars']:,} characters) "
        f"for 3 canaries and {volume['tokens']} issued tokens"
    )
