"""Scenario 14: hostile paths: ids that try to leave their folder, output locations that cannot be used."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.chaos.harness import (
    DAG_ID,
    Evidence,
    ScenarioResult,
    run_bulk,
    sandbox,
    scenario_environment,
    work_dir,
)
from tests.support.connections import environment
from tests.support.context import FakeTaskInstance, task_context
from tests.support.payloads import items_for, write_jsonl

if TYPE_CHECKING:
    from tests.chaos.matrix import Matrix

#: (dag_id, run_id, task_id) that would leave, or share, a folder if used as path segments as they are.
HOSTILE_IDS = [
    ("..", "..", ".."),
    ("../..", "a/../../escaped", ".."),
    (".", "%2E%2E", "x.."),
    ("dag/..", "manual__2026-01-01T00:00:00+00:00", "..."),
]


def hostile_paths(matrix: Matrix, evidence: Evidence, result: ScenarioResult) -> None:
    """Bulk runs whose dag, run and task ids are ``..``, ``../..``, ``a/../../escaped``...: every state file,
    checkpoint, audit and result file stays inside its folder, and a second try finds them again (everything is
    replayed, nothing created twice). Then output locations that cannot be used — an audit path under a file, a
    scheme nobody serves, an object store whose filesystem is not installed, an object-store state directory —
    each fails the run before its first request, naming the path and the fix.
    """
    from airflow_provider_genesys.operators.interactions import GenesysCreateInteractionOperator

    count = 6 if matrix.short else 40
    work = work_dir("paths")
    root = work / "inside"
    state_dir, audit_dir = root / "state", root / "audit"
    phases: dict[str, Any] = {}
    with (
        sandbox(matrix.canaries, evidence) as box,
        scenario_environment(matrix.canaries, evidence, box.base_url, chaos_paths={}) as _state,
        environment(GENESYS_PROVIDER_STATE_DIR=str(state_dir)),
    ):
        evidence.add_file(root)
        for number, (dag_id, run_id, task_id) in enumerate(HOSTILE_IDS):
            for kind in ("interaction", "callback"):
                items = items_for(kind, count, seed=1400 + number)
                source = write_jsonl(work / f"source-{number}-{kind}.jsonl", items)
                runs = []
                for try_number in (1, 2):
                    runs.append(
                        run_bulk(
                            {"conn_id": "chaos_paths", "kind": kind, "source": str(source), "run_id": run_id,
                             "dag_id": dag_id, "task_id": task_id, "try_number": try_number,
                             "audit_dir": str(audit_dir)},
                            evidence,
                        )
                    )  # fmt: skip
                key_run = f"{dag_id} / {run_id} / {task_id} ({kind})"
                duplicates, _lost = _settle_ids(result, box, kind, items, dag_id, run_id, task_id, runs[-1])
                phases[key_run] = {"try_1": runs[0].outcomes(), "try_2": runs[1].outcomes(), "duplicates": duplicates}
                result.check(runs[0].outcomes() == {"created": count}, f"{key_run}: try 1 {runs[0].outcomes()}")
                result.check(runs[1].outcomes() == {"replayed": count}, f"{key_run}: try 2 {runs[1].outcomes()}")
                result.items += count
                result.trials += 2
        escaped = [path for path in work.rglob("*") if path.is_file() and not _inside(path, work)]
        outside = [
            str(path.relative_to(work))
            for path in work.rglob("*")
            if path.is_file()
            and not path.name.startswith("source-")
            and path.name != "a-file"
            and not _inside(path, root)
        ]
        result.check(not escaped and not outside, f"files outside their folders: {outside[:10]}")
        result.check(
            sum(1 for path in state_dir.rglob("genesys.*.json")) >= len(HOSTILE_IDS),
            "the task state files are not in the state directory",
        )
        phases["files_outside_their_folders"] = len(outside)

        # output locations that cannot be used: refused before the first request, naming the path and the fix
        blocker = work / "a-file"
        blocker.write_text("")
        unusable = [
            ("audit_path under a file", {"audit_dir": str(blocker / "audit")}, None, "not writable"),
            ("a scheme nobody serves", {"audit_dir": "nosuch://bucket/audit"}, None, "use a supported scheme"),
            ("s3 without its filesystem", {"audit_dir": "s3://bucket/audit"}, None, "apache-airflow-providers-amazon"),
            ("gs without its filesystem", {"audit_dir": "gs://bucket/audit.jsonl"}, None, "providers-google"),
            ("an object-store state dir", {"kind": "callback"}, "s3://bucket/state", "local path"),
            ("an object-store state dir, checkpoint", {}, "s3://bucket/state", "local path"),
        ]
        for what, job, state, fix in unusable:
            before = box.api_requests()
            with environment(**({"GENESYS_PROVIDER_STATE_DIR": state} if state else {})):
                run = run_bulk(
                    {"conn_id": "chaos_paths", "kind": "interaction", "items": items_for("interaction", count),
                     "run_id": f"manual__unusable_{len(phases)}", **job},
                    evidence,
                )  # fmt: skip
            sent = box.api_requests() - before
            phases[what] = {"error_type": run.error_type, "requests": sent, "error": (run.error or "")[:160]}
            result.check(
                run.error_type == "GenesysConfigurationError" and fix in (run.error or ""),
                f"{what}: {run.error_type}: {(run.error or '')[:300]}",
            )
            result.check(sent == 0, f"{what}: {sent} request(s) before the failure")
            result.trials += 1
            result.items += count
        ti = FakeTaskInstance(dag_id=DAG_ID, task_id="single", run_id="manual__unusable_single")
        single = GenesysCreateInteractionOperator(
            task_id="single",
            interaction={k: v for k, v in items_for("interaction", 1)[0].items() if k != "external_id"},
            genesys_conn_id="chaos_paths",
            audit_path="s3://bucket/audit.jsonl",
        )
        before = box.api_requests()
        try:
            single.execute(task_context(ti))
            outcome = "created"
        except Exception as error:
            outcome = type(error).__name__
            evidence.add_exception("single operator, unusable audit path", error)
        result.check(outcome == "GenesysConfigurationError" and box.api_requests() == before, f"single: {outcome}")
        result.trials += 1
        result.items += 1
    result.details["phases"] = phases
    result.notes.append(
        f"{len(HOSTILE_IDS)} sets of hostile ids x 2 kinds x 2 tries, {len(unusable) + 1} unusable output "
        "locations: no file outside its folder, no request before a location failed"
    )


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def _settle_ids(
    result: ScenarioResult, box: Any, kind: str, items: list[dict[str, Any]], dag_id: str, run_id: str,
    task_id: str, final: Any,
) -> tuple[int, int]:  # fmt: skip
    from airflow_provider_genesys.creation.engine import prepare_item
    from airflow_provider_genesys.creation.kinds import get_kind
    from airflow_provider_genesys.creation.task import TaskIdentity

    task = TaskIdentity(dag_id=dag_id, task_id=task_id, run_id=run_id, map_index=-1, try_number=1)
    keys = []
    for position, item in enumerate(items):
        payload = dict(item)
        external_id = payload.pop("external_id", None)
        keys.append(prepare_item(get_kind(kind), payload, task, position=position, external_id=external_id).key)
    creates = box.creates_by_key(kind)
    duplicates = sum(max(0, creates.get(key, 0) - 1) for key in keys)
    lost = sum(1 for key in keys if creates.get(key, 0) == 0)
    result.duplicates += duplicates
    result.lost += lost
    return duplicates, lost
