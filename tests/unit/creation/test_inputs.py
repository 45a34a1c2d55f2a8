"""BulkInput: every item in order, each prepared or with its problems; no item dropped or merged."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from airflow_provider_genesys.creation.inputs import BulkInput
from airflow_provider_genesys.creation.kinds import get_kind
from tests.support.context import task_identity
from tests.support.payloads import PAYLOADS, write_jsonl

SPEC = get_kind("workitem")


def _item(external_id: str | None, **changes: object) -> dict[str, object]:
    body = {**copy.deepcopy(PAYLOADS["workitem"]), **changes}
    return body if external_id is None else {"external_id": external_id, **body}


def test_a_repeated_external_id_is_an_invalid_item_naming_the_first() -> None:
    items = [_item("A"), _item("B"), _item("A", name="Another name"), _item("B")]

    validated = list(BulkInput(interactions=items).validated(SPEC, task_identity()))

    assert [item.position for item in validated] == [0, 1, 2, 3]
    assert [item.error is None for item in validated] == [True, True, False, False]
    assert [str(item.error.errors[0]) for item in validated[2:] if item.error] == [
        "external_id: duplicate external id: item 0 has the same one",
        "external_id: duplicate external id: item 1 has the same one",
    ]


def test_the_external_id_is_the_identity_and_leaves_the_body() -> None:
    [item] = BulkInput(interactions=[_item("CASE-7")]).validated(SPEC, task_identity())
    assert item.external_id == "CASE-7"
    assert "external_id" not in item.prepared.body  # type: ignore[union-attr]
    assert item.prepared.key == task_identity().key_for("workitem", {"external_id": "CASE-7"})  # type: ignore[union-attr]


def test_items_without_an_external_id_stay_distinct_by_position() -> None:
    validated = list(BulkInput(interactions=[_item(None), _item(None)]).validated(SPEC, task_identity()))
    assert validated[0].prepared.key != validated[1].prepared.key  # type: ignore[union-attr]


def test_a_file_and_a_json_string_give_the_same_items(tmp_path: Path) -> None:
    items = [_item("A"), _item("B")]
    from_file = BulkInput(source=str(write_jsonl(tmp_path / "items.jsonl", items)))
    from_string = BulkInput(interactions=json.dumps(items))
    keys = [
        [item.prepared.key for item in source.validated(SPEC, task_identity())] for source in (from_file, from_string)
    ]  # type: ignore[union-attr]
    assert keys[0] == keys[1] and len(set(keys[0])) == 2
