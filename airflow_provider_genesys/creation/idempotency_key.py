"""Exactly once enforced by the server: the ``Idempotency-Key`` header of the ``/api/v2/interactions`` contract.

201 created; the same key again answers 409 with the existing record (``replayed``); 422 means the key was used
with another payload; a 409 ``idempotency.in.flight`` (the first request still being processed) is re-sent after
a short wait. Re-sending is always safe here, so an unknown earlier outcome needs no lookup.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from airflow_provider_genesys.creation.items import CreateResult, KindSpec, PreparedItem, RequestCost
from airflow_provider_genesys.exceptions import GenesysApiError, PayloadChangedError

if TYPE_CHECKING:
    from airflow_provider_genesys.creation.state import TaskState
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook

#: How often a create is re-sent while Genesys reports the same key still in flight.
IN_FLIGHT_RETRIES = 20
IN_FLIGHT_WAIT_SECONDS = 0.25


def create_with_idempotency_key(
    hook: GenesysCloudHook,
    spec: KindSpec,
    item: PreparedItem,
    *,
    outcome_unknown: bool,
    state: TaskState | None,
) -> CreateResult:
    """POST with an ``Idempotency-Key`` header: 201 created, 409 + record replayed, 422 payload changed."""
    del outcome_unknown  # the server deduplicates by the key: a re-send is answered with the record
    cost = RequestCost()
    before_send = (lambda: state.sending(item.key)) if state is not None else None
    for in_flight_round in range(IN_FLIGHT_RETRIES + 1):
        response = cost.add(
            hook.request(
                "POST",
                spec.path,
                json=item.body,
                headers={"Idempotency-Key": item.key},
                accept_statuses=frozenset({409, 422}),
                before_send=before_send,
            )
        )
        body = response.body if isinstance(response.body, Mapping) else {}
        if response.status in (200, 201):
            return cost.result("created", spec, body, response)
        if response.status == 409 and spec.read_id(body):
            return cost.result("replayed", spec, body, response)
        if (
            response.status == 409
            and body.get("code") == "idempotency.in.flight"
            and in_flight_round < IN_FLIGHT_RETRIES
        ):
            time.sleep(IN_FLIGHT_WAIT_SECONDS * min(4, in_flight_round + 1))
            continue
        if response.status == 422:
            changed = PayloadChangedError.from_error_body(
                status=422, body=body, correlation_id=response.correlation_id, method="POST", path=spec.path
            )
            changed.message = (
                "the idempotency key of this item was already used with a different payload: the item changed "
                "since the first attempt of this task in this DAG run. Restore the original payload, give the "
                "item a new external_id, or create it from a new DAG run. "
                + (f"Genesys said: {changed.message}" if changed.message else "")
            ).strip()
            changed.attempts = cost.requests
            raise changed
        error = GenesysApiError.from_error_body(
            status=response.status, body=body, correlation_id=response.correlation_id, method="POST", path=spec.path
        )
        error.attempts = cost.requests
        raise error
    raise AssertionError("unreachable")  # pragma: no cover
