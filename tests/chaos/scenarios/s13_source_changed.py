"""Scenario 13: the source file changes between the validation pass and the create pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.chaos.harness import (
    Evidence,
    ScenarioResult,
    run_bulk,
    sandbox,
    scenario_environment,
    settle,
    work_dir,
)
from tests.support.payloads import items_for, write_jsonl

if TYPE_CHECKING:
    from tests.chaos.matrix import Matrix


def _changes(items: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """What the file turns into after pass 1, each a way to slip a row past validation or lose one."""
    invalid = {"type": "fax", "external_id": "SNEAKED-INVALID"}
    unvalidated = {**items[0], "external_id": "SNEAKED-VALID"}
    return {
        "rows removed": items[: len(items) // 2],
        "an invalid row added (on_invalid='fail')": [*items, invalid],
        "an unvalidated valid row added": [unvalidated, *items],
        "rows reordered": list(reversed(items)),
        "emptied": [],
        "replaced by another file": items_for("interaction", len(items), seed=1399),
    }


def source_changed(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """A bulk run reads a JSON-lines file; right after pass 1 validated it, the file is rewritten (rows removed,
    an invalid row added under ``on_invalid='fail'``, an unvalidated row added, rows reordered, emptied, replaced).

    The run reads its source once: every item pass 1 validated is created exactly once, nothing pass 1 did not
    see is sent, and the summary accounts for every row of the file as it was read (its size and SHA-256 are in
    the task log).
    """
    from airflow_provider_genesys.creation.bulk_run import BulkRun

    count = 12 if matrix.short else 80
    work = work_dir("changed")
    outcomes: dict[str, Any] = {}
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_changed={}) as _state,
    ):
        for number, (change, rows) in enumerate(_changes(items_for("interaction", count, seed=1300)).items()):
            items = items_for("interaction", count, seed=1300)
            path = write_jsonl(work / f"source-{number}.jsonl", items)
            run_id = f"manual__changed_{number}"

            def prepare(operator: Any, path: Path = path, rows: list[Any] = rows) -> None:
                real = operator._bulk_run

                def with_a_change(context: Any, task: Any) -> BulkRun:
                    run = real(context, task)
                    validate = run.validate

                    def validate_then_change() -> Any:
                        report = validate()
                        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
                        return report

                    run.validate = validate_then_change  # type: ignore[method-assign]
                    return run

                operator._bulk_run = with_a_change

            run = run_bulk(
                {"conn_id": "chaos_changed", "kind": "interaction", "source": str(path), "run_id": run_id,
                 "on_invalid": "fail", "audit_dir": str(work / "audit")},
                evidence,
                prepare,
            )  # fmt: skip
            settle(result, box, "interaction", items, run_id, run)
            summary = run.summary or {}
            created = set(box.creates_by_key("interaction"))
            stray = [key for key in created if key not in _keys(run)]
            outcomes[change] = {
                "summary": {k: summary.get(k) for k in ("total", "valid", "invalid", "created", "failed")},
                "error": (run.error or "")[:200],
                "records": len(created),
                "records_of_rows_pass_1_never_saw": len(stray),
            }
            result.check(
                (summary.get("total"), summary.get("created"), summary.get("invalid")) == (count, count, 0),
                f"{change}: summary {outcomes[change]['summary']} {(run.error or '')[:300]}",
            )
            result.check(not stray and len(created) == count, f"{change}: {len(created)} records, {len(stray)} stray")
            result.check(run.error is None, f"{change}: {run.error_type}: {(run.error or '')[:300]}")
            result.items += count
            result.trials += 1
            box.reset()
    result.details["changes"] = outcomes
    result.notes.append("six rewrites of the file right after pass 1: every run created exactly what pass 1 validated")


def _keys(run: Any) -> set[str]:
    return {item["key"] for item in run.items() if item.get("key")}
