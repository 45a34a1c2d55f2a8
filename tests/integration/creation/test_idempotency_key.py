"""The server-key strategy (/api/v2/interactions) against the sandbox: created, replayed, payload changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_genesys.creation.idempotency_key import create_with_idempotency_key
from airflow_provider_genesys.creation.items import PreparedItem
from airflow_provider_genesys.creation.kinds import get_kind
from airflow_provider_genesys.exceptions import PayloadChangedError
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook

CREATE = "POST /api/v2/interactions"
SPEC = get_kind("interaction")


def _create(hook: GenesysCloudHook, item: PreparedItem) -> Any:
    return create_with_idempotency_key(hook, SPEC, item, outcome_unknown=False, state=None)


def test_a_repeat_of_the_same_key_is_replayed_not_created(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    first = _create(hook, item_of("interaction"))
    again = _create(hook, item_of("interaction"))

    assert (first.outcome, again.outcome) == ("created", "replayed")
    assert again.record_id == first.record_id and again.requests_sent == 1
    assert admin.requests_to(CREATE) == {"201": 1, "409": 1}
    assert len(admin.records()) == 1


def test_the_same_key_with_another_payload_fails_at_once_without_a_retry(
    hook: GenesysCloudHook, item_of: Callable[..., PreparedItem], admin: Any
) -> None:
    _create(hook, item_of("interaction"))
    changed = item_of("interaction", type="voice")
    assert changed.key == item_of("interaction").key  # the external id makes the key, not the payload

    with pytest.raises(PayloadChangedError) as raised:
        _create(hook, changed)

    assert raised.value.status == 422 and raised.value.attempts == 1
    assert "already used with a different payload" in str(raised.value)
    assert admin.requests_to(CREATE) == {"201": 1, "422": 1}
    assert len(admin.records()) == 1
