"""Scenario 7: bad input: generated invalid payloads, malformed files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.chaos.harness import (
    DAG_ID,
    TASK_ID,
    Evidence,
    ScenarioResult,
    audits_of,
    run_bulk,
    sandbox,
    scenario_environment,
    work_dir,
)
from tests.support.context import FakeTaskInstance, task_context
from tests.support.payloads import items_for

if TYPE_CHECKING:
    from tests.chaos.matrix import Matrix


def bad_input(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """Hypothesis-generated invalid payloads over every rule of every kind, and malformed JSON-lines/CSV files.

    Each payload breaks one rule of its kind (the kinds table is read at run time, so a new kind is covered by
    generic rules until it gets its own). Every payload must be rejected by validation with an
    :class:`InteractionValidationError` naming the item (position and external id) and listing field-level
    problems; nothing may crash and no request may reach the sandbox: each payload also goes through the single
    operator, and all of them through the bulk operator. Malformed file rows are reported with their line number.
    """
    from hypothesis import HealthCheck, Phase, given, settings

    from airflow_provider_genesys.creation.engine import prepare_item
    from airflow_provider_genesys.creation.kinds import KINDS
    from airflow_provider_genesys.creation.task import TaskIdentity, describe_item
    from airflow_provider_genesys.exceptions import InteractionValidationError
    from airflow_provider_genesys.operators.interactions import GenesysCreateInteractionOperator
    from tests.chaos.bad_input_corpus import (
        CATALOG,
        malformed_csv,
        malformed_jsonl,
        rule_count,
        rule_strategies,
    )

    examples_wanted = 250 if matrix.short else 1200
    files_wanted = 16 if matrix.short else 60
    kinds = sorted(KINDS)
    models = {kind: KINDS[kind].model for kind in kinds}
    options = rule_strategies(kinds, models)
    work = work_dir("bad")
    task = TaskIdentity(dag_id=DAG_ID, task_id=TASK_ID, run_id="manual__bad_input", map_index=-1, try_number=1)
    seen: list[tuple[str, str, Any]] = []
    by_rule: dict[str, int] = {}
    problems: list[str] = []
    crashes: list[str] = []
    single_failures: list[str] = []

    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_bad={}) as _state,
    ):

        def check_one(kind: str, rule: str, payload: Any) -> None:
            position = len(seen)
            external_id = f"BAD-{position:05d}"
            seen.append((kind, rule, payload))
            by_rule[f"{kind}: {rule}"] = by_rule.get(f"{kind}: {rule}", 0) + 1
            label = describe_item(position, external_id)
            try:
                prepare_item(KINDS[kind], payload, task, position=position, external_id=external_id)
            except InteractionValidationError as error:
                text = str(error)
                if error.item != label or label not in text or not error.errors:
                    problems.append(f"{kind} / {rule}: the error does not name {label}: {text[:200]}")
                elif isinstance(payload, dict) and not all(problem.path for problem in error.errors):
                    problems.append(f"{kind} / {rule}: a problem without a field path: {text[:300]}")
            except Exception as error:
                crashes.append(f"{kind} / {rule}: {type(error).__name__}: {error} for {payload!r:.200}")
            else:
                problems.append(f"{kind} / {rule}: accepted {json_text(payload)[:300]}")
            # the same payload through the single operator: an AirflowFailException, an invalid audit, no request
            operator = GenesysCreateInteractionOperator(
                task_id="single", kind=kind, interaction=payload, external_id=external_id, genesys_conn_id="chaos_bad"
            )
            ti = FakeTaskInstance(dag_id=DAG_ID, task_id="single", run_id="manual__bad_input")
            try:
                operator.execute(task_context(ti))
            except Exception as error:
                audit = ti.xcom.get("genesys_audit") or {}
                if type(error).__name__ != "AirflowFailException" or audit.get("outcome") != "invalid":
                    single_failures.append(f"{kind} / {rule}: {type(error).__name__}: {str(error)[:200]}")
                if position % 50 == 0:
                    evidence.add_exception(f"single operator {kind}", error)
                    evidence.add(f"single operator xcom {kind}", ti.xcom)
            else:
                single_failures.append(f"{kind} / {rule}: the single operator created it")

        per_rule = -(-examples_wanted // len(options))
        for kind, rule, strategy in options:

            @settings(
                max_examples=per_rule,
                database=None,
                deadline=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(strategy.map(lambda payload, k=kind, r=rule: (k, r, payload)))
            def generated(example: tuple[str, str, Any]) -> None:
                check_one(*example)

            generated()

        # every payload through the bulk operator, one batch per kind: all invalid, no request
        bulk: dict[str, Any] = {}
        for kind in kinds:
            batch = []
            for index, (item_kind, _rule, payload) in enumerate(seen):
                if item_kind == kind:
                    batch.append(
                        {"external_id": f"BAD-{index:05d}", **payload} if isinstance(payload, dict) else payload
                    )
            if not batch:
                continue
            run = run_bulk(
                {
                    "conn_id": "chaos_bad",
                    "kind": kind,
                    "items": batch,
                    "run_id": f"manual__bad_{kind}",
                    "on_invalid": "skip",
                    "max_invalid": len(batch),
                    "audit_dir": str(work / "audit"),
                },
                evidence,
            )
            audits = audits_of(run)
            named = sum(
                1
                for audit in audits
                if audit.get("outcome") == "invalid"
                and audit.get("validation_errors")
                and audit.get("position") is not None
            )
            bulk[kind] = {
                "items": len(batch),
                "invalid": (run.summary or {}).get("invalid"),
                "audits_naming_item": named,
            }
            result.check(
                (run.summary or {}).get("invalid") == len(batch),
                f"bulk {kind}: {(run.summary or {}).get('invalid')} of {len(batch)} invalid ({run.error})",
            )
            result.check(named == len(batch), f"bulk {kind}: {named} of {len(batch)} audit records name the item")
        fail_fast = run_bulk(
            {
                "conn_id": "chaos_bad",
                "kind": "interaction",
                "run_id": "manual__bad_fail",
                "items": [payload for kind, _r, payload in seen if kind == "interaction"][:60],
                "on_invalid": "fail",
            },
            evidence,
        )
        result.check(
            fail_fast.error_type == "AirflowFailException" and "(on_invalid='fail')" in (fail_fast.error or ""),
            f"on_invalid='fail': {fail_fast.error_type}: {(fail_fast.error or '')[:200]}",
        )
        refused = [audit for audit in audits_of(fail_fast) if audit.get("outcome") == "invalid"]
        result.check(
            len(refused) == min(60, by_kind_count(seen, "interaction")),
            f"on_invalid='fail': {len(refused)} invalid audit records in XCom (the report lists 50)",
        )

        # malformed JSON-lines and CSV files: every bad row reported with its line number, nothing sent
        valid_line = json_text(items_for("interaction", 1, seed=70)[0] | {"external_id": None})
        file_checks = {"files": 0, "bad_rows": 0, "reported": 0}

        @settings(
            max_examples=files_wanted,
            database=None,
            deadline=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(malformed_jsonl(valid_line) | malformed_csv())
        def files(generated_file: tuple[str, set[int]]) -> None:
            text, bad_lines = generated_file
            suffix = "csv" if text.startswith("external_id,") else "jsonl"
            path = work / f"malformed-{file_checks['files']}.{suffix}"
            path.write_text(text, encoding="utf-8")
            file_checks["files"] += 1
            file_checks["bad_rows"] += len(bad_lines)
            run = run_bulk(
                {
                    "conn_id": "chaos_bad",
                    "kind": "interaction",
                    "source": str(path),
                    "run_id": f"manual__malformed_{file_checks['files']}",
                    "on_invalid": "fail",
                },
                evidence,
            )
            reported = {int(number) for number in _LINE_NUMBER.findall(run.error or "")}
            file_checks["reported"] += len(reported & bad_lines)
            if reported != bad_lines:
                problems.append(f"{suffix} file: reported lines {sorted(reported)}, bad lines {sorted(bad_lines)}")

        files()
        requests_seen = box.api_requests()
        result.details["routes"] = box.requests_by_route()

    result.crashes = len(crashes)  # type: ignore[attr-defined]
    distinct = len({json_text([kind, payload]) for kind, _rule, payload in seen})
    result.trials = len(seen) + file_checks["files"]
    result.items = len(seen) + file_checks["bad_rows"]
    result.details.update(
        {
            "payloads": len(seen),
            "distinct_payloads": distinct,
            "rules": rule_count(kinds, models),
            "kinds_without_catalog": [kind for kind in kinds if kind not in CATALOG],
            "per_rule": by_rule,
            "crashes": len(crashes),
            "requests_to_sandbox": requests_seen,
            "bulk": bulk,
            "files": file_checks,
        }
    )
    result.check(len(seen) >= examples_wanted * 0.95, f"only {len(seen)} payloads were generated")
    result.check(not crashes, f"{len(crashes)} crash(es): {crashes[:5]}")
    result.check(not problems, f"{len(problems)} problem(s): {problems[:8]}")
    result.check(not single_failures, f"single operator: {single_failures[:5]}")
    result.check(requests_seen == 0, f"{requests_seen} request(s) reached the sandbox")
    result.check(all(f"{kind}: " in " ".join(by_rule) for kind in kinds), "a kind got no payload")
    missing_rules = [
        f"{kind}: {rule}"
        for kind in kinds
        if kind in CATALOG
        for rule in CATALOG[kind][1]
        if f"{kind}: {rule}" not in by_rule
    ]
    result.check(not missing_rules, f"rules never exercised: {missing_rules}")
    result.notes.append(
        f"{len(seen)} payloads ({distinct} distinct) over {sum(rule_count(kinds, models).values())} rules of "
        f"{len(kinds)} kinds, each through validation, the single and the bulk operator; "
        f"{file_checks['files']} malformed JSONL/CSV files; 0 crashes, 0 requests"
    )


def by_kind_count(seen: list[tuple[str, str, Any]], kind: str) -> int:
    return sum(1 for item_kind, _rule, _payload in seen if item_kind == kind)


_LINE_NUMBER = __import__("re").compile(r"- line (\d+):")


def json_text(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)
