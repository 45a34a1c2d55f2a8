"""The cluster run's verdict without a cluster: which records are expected, the ledger tally, the summary line."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.cluster.layout import EXAMPLE_DAGS
from tests.cluster.verdict import (
    Check,
    ExpectedRecords,
    LedgerTally,
    ledger_checks,
    passed,
    summary_line,
    tally_ledger,
    valid_external_ids,
)
from tests.cluster.workload import callbacks, workitems
from tests.support.payloads import PAYLOADS

EXPECTED = ExpectedRecords(dag_id="d", run_id="r", task_id="t", kind="callback", external_ids=("CB-1", "CB-2", "CB-3"))


def _ledger(keys: list[str], duplicates: int = 0) -> dict[str, Any]:
    return {"records": [{"idempotencyKey": key, "kind": "callback"} for key in keys], "duplicates": duplicates}


def test_valid_ids_are_those_the_sandbox_accepts_once_each() -> None:
    body = PAYLOADS["interaction"]
    rows: list[Any] = [
        json.dumps({**body, "external_id": "OK-1"}),
        "{not json",
        json.dumps({**body, "external_id": "BAD-1", "type": "fax"}),
        json.dumps({**body, "external_id": "DUP"}),
        json.dumps({**body, "external_id": "DUP"}),
        json.dumps(body),  # no id
        "",
        {**body, "external_id": "OK-2"},
    ]
    assert valid_external_ids("interaction", rows, "external_id") == ["OK-1", "OK-2"]


def test_the_shipped_bulk_file_has_992_valid_rows() -> None:
    lines = (EXAMPLE_DAGS / "data" / "interactions.jsonl").read_text(encoding="utf-8").splitlines()
    valid = valid_external_ids("interaction", lines, "external_id")
    assert len(lines) == 1000 and len(valid) == 992 and len(set(valid)) == 992


def test_the_cluster_workload_is_valid_for_the_sandbox() -> None:
    assert len(valid_external_ids("callback", callbacks(), "external_id")) == len(callbacks()) == 40
    assert len(valid_external_ids("workitem", workitems(), "external_id")) == len(workitems()) == 40


def test_expected_keys_follow_the_documented_recipe() -> None:
    body = {"v": 1, "dag_id": "d", "task_id": "t", "run_id": "r", "map_index": -1, "kind": "callback"}
    by_hand = {
        hashlib.sha256(
            json.dumps({**body, "item": {"external_id": external_id}}, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest(): external_id
        for external_id in ("CB-1", "CB-2", "CB-3")
    }
    assert EXPECTED.keys() == by_hand


def test_a_complete_ledger_has_nothing_duplicated_or_lost() -> None:
    tally = tally_ledger(_ledger(list(EXPECTED.keys())), [EXPECTED])
    assert tally == LedgerTally(created=3, duplicates=0, lost=(), unexpected=(), repeated_keys=(), lost_by_task={})


def test_a_second_record_of_one_item_is_a_duplicate() -> None:
    keys = list(EXPECTED.keys())
    tally = tally_ledger(_ledger([*keys, keys[1]]), [EXPECTED])
    assert (tally.created, tally.duplicates, tally.lost, tally.repeated_keys) == (4, 1, (), (keys[1],))


def test_a_record_no_item_has_counts_as_a_duplicate() -> None:
    tally = tally_ledger(_ledger([*EXPECTED.keys(), "f" * 64]), [EXPECTED])
    assert (tally.duplicates, tally.unexpected) == (1, ("f" * 64,))


def test_the_sandbox_count_of_repeated_creates_is_not_ignored() -> None:
    assert tally_ledger(_ledger(list(EXPECTED.keys()), duplicates=2), [EXPECTED]).duplicates == 2


def test_missing_records_are_lost_and_named() -> None:
    keys = list(EXPECTED.keys())
    tally = tally_ledger(_ledger(keys[:1]), [EXPECTED])
    assert tally.lost == ("d.t:CB-2", "d.t:CB-3")
    assert tally.lost_by_task == {"d.t": 2} and tally.duplicates == 0


def test_the_ledger_checks_name_what_is_wrong() -> None:
    keys = list(EXPECTED.keys())
    clean = ledger_checks(tally_ledger(_ledger(keys), [EXPECTED]))
    assert [check.passed for check in clean] == [True, True]
    broken = ledger_checks(tally_ledger(_ledger([keys[0], keys[0], "f" * 64]), [EXPECTED]))
    assert [(check.passed, check.detail) for check in broken] == [
        (False, "2 beyond one"),
        (False, "2 lost d.t: 2"),
        (False, "1 such"),
    ]
    assert [check.passed for check in ledger_checks(None)] == [False]


def test_the_summary_line() -> None:
    tally = LedgerTally(created=1091, duplicates=0, lost=("d.t:CB-2",))
    line = summary_line(
        executor="CeleryExecutor",
        workers=["worker-a", "worker-b"],
        tries=[("create_callbacks", "worker-b"), ("create_callbacks", "worker-a")],
        tally=tally,
    )
    assert line == (
        "cluster: executor=CeleryExecutor workers=worker-a,worker-b "
        "tries=create_callbacks:worker-b,create_callbacks:worker-a created=1091 duplicates=0 lost=1"
    )


def test_the_summary_line_without_a_ledger() -> None:
    line = summary_line(executor="CeleryExecutor", workers=["worker-a", "worker-b"], tries=[], tally=None)
    assert line.endswith("tries=- created=? duplicates=? lost=?")


def test_the_run_passes_only_when_everything_held() -> None:
    clean = LedgerTally(created=3, duplicates=0, lost=())
    assert passed([Check("a", True)], clean)
    assert not passed([Check("a", True), Check("b", False)], clean)
    assert not passed([Check("a", True)], LedgerTally(created=4, duplicates=1, lost=()))
    assert not passed([Check("a", True)], LedgerTally(created=2, duplicates=0, lost=("d.t:CB-3",)))
    assert not passed([Check("a", True)], None)
