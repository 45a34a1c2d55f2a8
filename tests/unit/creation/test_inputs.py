"""The items of a bulk run: bad input becomes an item error with its position, and the source is read once."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_genesys.creation.inputs import BulkInput, ValidatedItem, checked_external_id
from airflow_provider_genesys.creation.kinds import get_kind
from airflow_provider_genesys.exceptions import InteractionValidationError
from airflow_provider_genesys.models.platform import WorkitemRequest
from tests.support.context import task_identity
from tests.support.payloads import PAYLOADS, write_jsonl


def _validated(source: BulkInput, kind: str = "interaction") -> list[ValidatedItem]:
    source.load()
    return list(source.validated(get_kind(kind), task_identity()))


def _problems(item: ValidatedItem) -> list[str]:
    assert item.error is not None, item
    return [str(problem) for problem in item.error.errors]


def _payload(kind: str = "interaction", **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(PAYLOADS[kind]), **changes}


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("   ", "external_id: is blank: give the item's own id, or leave the field out"),
        ("\t\n", "external_id: is blank: give the item's own id, or leave the field out"),
        ({"id": 1}, "external_id: must be a string (or an integer), not dict"),
        ([1, 2], "external_id: must be a string (or an integer), not list"),
        (True, "external_id: must be a string (or an integer), not bool"),
        (1.5, "external_id: must be a string (or an integer), not float"),
        ("CASE-\udcff", "external_id: is not valid Unicode text (bytes that are not UTF-8)"),
    ],
)
def test_a_bad_external_id_is_an_error_of_its_item(raw: Any, problem: str) -> None:
    items = [_payload(external_id="CASE-0"), _payload(external_id=raw), _payload(external_id="CASE-2")]

    first, bad, last = _validated(BulkInput(interactions=items))

    assert first.error is None and last.error is None
    assert bad.position == 1 and _problems(bad) == [problem]
    assert bad.error is not None and bad.error.item == "item 1"


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("", None), ("CASE-9", "CASE-9"), (1042, "1042")])
def test_good_external_ids(raw: Any, expected: str | None) -> None:
    assert checked_external_id(raw) == expected


@pytest.mark.parametrize(
    ("interactions", "problem"),
    [
        ("[{", "interactions: is a string but not JSON text of a list of objects (Expecting property name"),
        ("{{ ti.xcom_pull('x') }}", "interactions: is a string but not JSON text of a list of objects (Expecting"),
        ("[" * 100_000, "interactions: is a string but not JSON text of a list of objects ("),
        ('[{"routing": {"priority": NaN}}]', "interactions: is a string but not JSON text of a list of objects (NaN"),
        (42, "interactions: must be a list of objects (or a JSON text of one), not int"),
        ("42", "interactions: must be a list of objects (or a JSON text of one), not int"),
    ],
)
def test_a_malformed_interactions_value_fails_fast_with_one_clear_message(interactions: Any, problem: str) -> None:
    with pytest.raises(InteractionValidationError) as raised:
        BulkInput(interactions=interactions).load()

    (only,) = raised.value.errors
    assert str(only).startswith(problem)


def test_nan_and_infinity_are_rejected_in_workitem_custom_fields() -> None:
    items = [
        _payload("workitem", customFields={"score": float("nan")}, external_id="W-0"),
        _payload("workitem", customFields={"limits": [1.0, float("inf")]}, external_id="W-1"),
        _payload("workitem", customFields={"score": 0.5}, external_id="W-2"),
    ]

    nan, infinity, fine = _validated(BulkInput(interactions=items), "workitem")

    assert _problems(nan) == ["customFields.score: NaN and Infinity are not valid JSON numbers"]
    assert _problems(infinity) == ["customFields.limits[1]: NaN and Infinity are not valid JSON numbers"]
    assert fine.prepared.body["customFields"] == {"score": 0.5}  # type: ignore[union-attr]


def test_nan_in_a_model_instance_is_rejected_before_it_becomes_null() -> None:
    model = WorkitemRequest.model_validate(_payload("workitem", customFields={"score": float("nan")}))

    (item,) = _validated(BulkInput(interactions=[model]), "workitem")

    assert _problems(item) == ["customFields.score: NaN and Infinity are not valid JSON numbers"]


def test_deep_nesting_is_a_field_error_not_a_recursion_error() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    items = [_payload("workitem", customFields=deep), _payload("workitem")]

    deep_item, fine = _validated(BulkInput(interactions=items), "workitem")

    (problem,) = _problems(deep_item)
    assert problem.startswith("customFields.a.a.") and problem.endswith(": nested deeper than 32 levels")
    assert fine.error is None


def test_a_file_is_read_once_and_both_passes_see_the_same_bytes(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    original = [_payload(external_id=f"CASE-{n}") for n in range(3)]
    path.write_text("".join(json.dumps(item) + "\n" for item in original), encoding="utf-8")
    source = BulkInput(source=str(path))

    read = source.load()
    first_pass = [item.prepared.key for item in source.validated(get_kind("interaction"), task_identity())]  # type: ignore[union-attr]
    # the file changes between the passes: one row goes, an invalid one comes in
    path.write_text(json.dumps(original[0]) + "\n" + json.dumps({"type": "fax"}) + "\n", encoding="utf-8")
    second_pass = [item.prepared.key for item in source.validated(get_kind("interaction"), task_identity())]  # type: ignore[union-attr]

    assert second_pass == first_pass and len(first_pass) == 3
    assert read is not None and read.size == len(b"".join(json.dumps(i).encode() + b"\n" for i in original))
    source.close()


# -- identity of items ------------------------------------------------------------------------------------------

WORKITEM = get_kind("workitem")


def _item(external_id: str | None, **changes: object) -> dict[str, object]:
    body = {**copy.deepcopy(PAYLOADS["workitem"]), **changes}
    return body if external_id is None else {"external_id": external_id, **body}


def test_a_repeated_external_id_is_an_invalid_item_naming_the_first() -> None:
    items = [_item("A"), _item("B"), _item("A", name="Another name"), _item("B")]

    validated = list(BulkInput(interactions=items).validated(WORKITEM, task_identity()))

    assert [item.position for item in validated] == [0, 1, 2, 3]
    assert [item.error is None for item in validated] == [True, True, False, False]
    assert [str(item.error.errors[0]) for item in validated[2:] if item.error] == [
        "external_id: duplicate external id: item 0 has the same one",
        "external_id: duplicate external id: item 1 has the same one",
    ]


def test_the_external_id_is_the_identity_and_leaves_the_body() -> None:
    [item] = BulkInput(interactions=[_item("CASE-7")]).validated(WORKITEM, task_identity())
    assert item.external_id == "CASE-7"
    assert "external_id" not in item.prepared.body  # type: ignore[union-attr]
    assert item.prepared.key == task_identity().key_for("workitem", {"external_id": "CASE-7"})  # type: ignore[union-attr]


def test_items_without_an_external_id_stay_distinct_by_position() -> None:
    validated = list(BulkInput(interactions=[_item(None), _item(None)]).validated(WORKITEM, task_identity()))
    assert validated[0].prepared.key != validated[1].prepared.key  # type: ignore[union-attr]


def test_a_file_and_a_json_string_give_the_same_items(tmp_path: Path) -> None:
    items = [_item("A"), _item("B")]
    from_file = BulkInput(source=str(write_jsonl(tmp_path / "items.jsonl", items)))
    from_string = BulkInput(interactions=json.dumps(items))
    keys = [
        [item.prepared.key for item in source.validated(WORKITEM, task_identity())]
        for source in (from_file, from_string)
    ]  # type: ignore[union-attr]
    assert keys[0] == keys[1] and len(set(keys[0])) == 2
