"""Idempotency keys: deterministic, sensitive to what names a record, and recomputable by hand."""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from airflow_provider_genesys.creation import keys as idempotency
from airflow_provider_genesys.creation.keys import (
    IDEMPOTENCY_KEY_VERSION,
    canonical_json,
    derive_idempotency_key,
    item_identity,
)

BASE: dict[str, Any] = {
    "dag_id": "crm_cases",
    "task_id": "create_workitems",
    "run_id": "scheduled__2025-01-01T00:00:00+00:00",
    "map_index": -1,
    "kind": "workitem",
    "item": {"external_id": "CASE-9"},
}

# Items covering every type canonical_json special-cases, plus non-ASCII text.
_SUBPROCESS_SCRIPT = textwrap.dedent(
    """
    import json
    from datetime import datetime, timezone
    from uuid import UUID
    from airflow_provider_genesys.creation.keys import derive_idempotency_key, item_identity

    items = [
        item_identity(external_id="CASE-9", payload=None),
        item_identity(external_id=None, payload={"b": [1, 2.5, None], "a": "Zoë ✓"}, position=3),
        {"id": UUID("6f1c1d7e-3b1a-4a53-9a65-8e7f3a2b1c0d"),
         "when": datetime(2025, 1, 1, 12, tzinfo=timezone.utc), "tags": {"x", "y"}},
    ]
    keys = [
        derive_idempotency_key(dag_id="d", task_id="t", run_id="r", map_index=i - 1, kind="workitem", item=item)
        for i, item in enumerate(items)
    ]
    print(json.dumps(keys))
    """
)


def _key(**overrides: Any) -> str:
    return derive_idempotency_key(**{**BASE, **overrides})


def test_key_is_hex_sha256_of_canonical_body() -> None:
    body = {"v": IDEMPOTENCY_KEY_VERSION, **BASE}
    expected = hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()
    assert _key() == expected
    assert re.fullmatch(r"[0-9a-f]{64}", expected)
    assert IDEMPOTENCY_KEY_VERSION == 1


def test_key_is_stable_across_processes() -> None:
    local = json.loads(
        subprocess.run([sys.executable, "-c", _SUBPROCESS_SCRIPT], capture_output=True, text=True, check=True).stdout
    )
    # A different hash seed in the child: nothing may depend on Python's randomised hashing (set order...).
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    child = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS_SCRIPT], capture_output=True, text=True, check=True, env=env
    )
    assert json.loads(child.stdout) == local
    namespace: dict[str, Any] = {}
    exec(compile(_SUBPROCESS_SCRIPT.replace("print(json.dumps(keys))", ""), "<script>", "exec"), namespace)
    assert namespace["keys"] == local


def test_key_takes_no_try_number_clock_or_randomness() -> None:
    parameters = set(inspect.signature(derive_idempotency_key).parameters)
    assert parameters == {"dag_id", "task_id", "run_id", "map_index", "kind", "item"}
    assert len({_key() for _ in range(5)}) == 1  # nothing random or clock-based inside either


@pytest.mark.parametrize(
    ("field", "other_value"),
    [
        ("dag_id", "other_dag"),
        ("task_id", "other_task"),
        ("run_id", "manual__2025-01-02T00:00:00+00:00"),
        ("map_index", 0),
        ("kind", "callback"),
        ("item", {"external_id": "CASE-10"}),
    ],
)
def test_key_changes_with_each_input(field: str, other_value: Any) -> None:
    assert _key(**{field: other_value}) != _key()


def test_map_index_minus_one_differs_from_zero_and_one() -> None:
    assert len({_key(map_index=-1), _key(map_index=0), _key(map_index=1)}) == 3


def test_recomputation_by_hand_with_the_documented_snippet() -> None:
    docstring = inspect.getdoc(derive_idempotency_key) or ""
    snippet = textwrap.dedent(docstring.split("::", 1)[1].split("\n\n")[1])
    assert len(snippet.strip().splitlines()) == 3
    assert "map_index" in docstring and "-1" in docstring
    for item in (
        {"external_id": "CASE-9"},
        item_identity(external_id=None, payload={"name": "Zoë", "n": [1, 2]}, position=4),
    ):
        namespace: dict[str, Any] = {**BASE, "item": item}
        exec(snippet, namespace)
        assert namespace["key"] == derive_idempotency_key(**{**BASE, "item": item})


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(TypeError):
        _key(map_index=True)
    with pytest.raises(TypeError):
        _key(map_index="0")
    for field in ("dag_id", "task_id", "run_id", "kind"):
        with pytest.raises(ValueError, match=field):
            _key(**{field: ""})


class _Colour(Enum):
    RED = "red"


class _Model(BaseModel):
    queue_id: UUID = Field(alias="queueId")
    note: str | None = None


def test_canonical_json_is_compact_sorted_and_keeps_unicode() -> None:
    assert canonical_json({"b": 1, "a": [1, {"d": None, "c": "é"}]}) == '{"a":[1,{"c":"é","d":null}],"b":1}'
    assert canonical_json({"a": 1, "b": 2}) == canonical_json({"b": 2, "a": 1})


def test_canonical_json_handles_special_types_deterministically() -> None:
    uuid = UUID("6f1c1d7e-3b1a-4a53-9a65-8e7f3a2b1c0d")
    noon_utc = datetime(2025, 1, 1, 12, tzinfo=timezone.utc)
    noon_utc_in_paris = noon_utc.astimezone(timezone(timedelta(hours=1)))
    assert canonical_json(uuid) == f'"{uuid}"'
    assert canonical_json(noon_utc) == canonical_json(noon_utc_in_paris) == '"2025-01-01T12:00:00+00:00"'
    assert canonical_json(datetime(2025, 1, 1, 12)) == '"2025-01-01T12:00:00"'
    assert canonical_json(date(2025, 1, 2)) == '"2025-01-02"'
    assert canonical_json(Decimal("1.10")) == '"1.10"'
    assert canonical_json(_Colour.RED) == '"red"'
    assert canonical_json({"b", "a", "c"}) == '["a","b","c"]'
    assert canonical_json((1, 2)) == "[1,2]"
    assert canonical_json({uuid: 1}) == f'{{"{uuid}":1}}'
    assert canonical_json(_Model(queueId=uuid)) == f'{{"queueId":"{uuid}"}}'


def test_canonical_json_rejects_types_without_a_stable_form() -> None:
    with pytest.raises(TypeError):
        canonical_json({"x": object()})


def test_item_identity_prefers_external_id() -> None:
    assert item_identity(external_id="CASE-9", payload={"a": 1}, position=3) == {"external_id": "CASE-9"}
    # With an external id the payload may change between runs without minting a second key.
    assert item_identity(external_id="CASE-9", payload={"a": 1}) == item_identity(
        external_id="CASE-9", payload={"a": 2}
    )


def test_item_identity_falls_back_to_canonical_payload_and_position() -> None:
    uuid = UUID("6f1c1d7e-3b1a-4a53-9a65-8e7f3a2b1c0d")
    identity = item_identity(external_id=None, payload={"b": uuid, "a": (1, 2)})
    assert identity == {"payload": {"a": [1, 2], "b": str(uuid)}}
    assert item_identity(external_id=None, payload={"a": 1}, position=0) == {"payload": {"a": 1}, "position": 0}
    first = item_identity(external_id=None, payload={"a": 1}, position=0)
    second = item_identity(external_id=None, payload={"a": 1}, position=1)
    assert _key(item=first) != _key(item=second)


def test_item_identity_rejects_unidentifiable_items() -> None:
    with pytest.raises(ValueError):
        item_identity(external_id=None, payload=None)
    with pytest.raises(ValueError):
        item_identity(external_id="  ", payload={"a": 1})
    with pytest.raises(TypeError):
        item_identity(external_id=None, payload={"a": 1}, position=True)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=6), _json_values, max_size=5))
def test_key_ignores_key_order_and_matches_plain_json(payload: dict[str, Any]) -> None:
    reordered = dict(reversed(list(payload.items())))
    item = item_identity(external_id=None, payload=payload)
    assert _key(item=item) == _key(item=item_identity(external_id=None, payload=reordered))
    plain = json.dumps({"v": 1, **BASE, "item": item}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert _key(item=item) == hashlib.sha256(plain.encode("utf-8")).hexdigest()


def test_module_imports_nothing_that_does_io_or_draws_randomness() -> None:
    tree = ast.parse(inspect.getsource(idempotency))
    imported = {
        name.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for name in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    assert imported <= {
        "__future__",
        "enum",
        "hashlib",
        "json",
        "collections",
        "datetime",
        "decimal",
        "typing",
        "uuid",
        "pydantic",
    }
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert "open" not in called
