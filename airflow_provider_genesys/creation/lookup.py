"""Exactly once by lookup (workitems): the key travels in ``externalTag`` and Genesys can be asked for it.

A clean first attempt creates directly (one request). When an earlier attempt's outcome is unknown — a lost
answer inside this call, or an earlier Airflow try — the key is looked up first
(``POST /api/v2/taskmanagement/workitems/query``, ``typeId`` EQ + ``externalTag`` EQ); a hit is the record (outcome
``replayed``). :func:`mark_existing` looks up many keys at once with the IN operator (bulk retries).

The query answers ``WorkitemPostQueryEntityListing {entities, after, ...}``. A page may hold fewer entities than
``pageSize`` while more exist (the SDK's ``pageSize`` documentation), so every lookup follows ``after`` until an
answer comes without it — the single-key lookup as well as the IN lookups.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.creation.items import CreateResult, KindSpec, PreparedItem, RequestCost
from airflow_provider_genesys.exceptions import GenesysApiError
from airflow_provider_genesys.models.platform import EXTERNAL_TAG_FIELD

if TYPE_CHECKING:
    from airflow_provider_genesys.creation.state import TaskState
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook, GenesysResponse

WORKITEMS_QUERY_PATH = "/api/v2/taskmanagement/workitems/query"
#: Genesys' page limit of the workitems query.
QUERY_MAX_PAGE_SIZE = 200
#: Keys per IN lookup (a page holds every hit of a batch; Genesys documents no limit on IN values).
LOOKUP_BATCH_SIZE = 100

log = logging.getLogger(__name__)


# -- workitems: look the key up when an earlier outcome is unknown -----------------------------------------


def workitem_query(type_id: str, external_tags: list[str], *, after: str | None = None) -> dict[str, Any]:
    """Body of a workitems query for ``external_tags`` of worktype ``type_id`` (EQ for one tag, IN for many)."""
    body: dict[str, Any] = {
        "filters": [
            {"name": "typeId", "type": "String", "operator": "EQ", "values": [type_id]},
            {
                "name": EXTERNAL_TAG_FIELD,
                "type": "String",
                "operator": "EQ" if len(external_tags) == 1 else "IN",
                "values": list(external_tags),
            },
        ],
        "pageSize": QUERY_MAX_PAGE_SIZE if len(external_tags) > 1 else 25,
    }
    if after:
        body["after"] = after
    return body


def find_workitems(hook: GenesysCloudHook, type_id: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Return the workitems of worktype ``type_id`` whose ``externalTag`` is one of ``keys``, by key.

    Keys are looked up :data:`LOOKUP_BATCH_SIZE` at a time with the IN operator (EQ for a single key),
    following ``after`` through every page. When several workitems carry one key (created by something else than this
    provider), the oldest wins.
    """
    wanted = list(dict.fromkeys(keys))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), LOOKUP_BATCH_SIZE):
        batch = wanted[start : start + LOOKUP_BATCH_SIZE]
        found.update(_query_tags(hook, type_id, batch, RequestCost()))
    return found


def _pages(hook: GenesysCloudHook, type_id: str, tags: list[str], cost: RequestCost) -> Iterator[GenesysResponse]:
    """Every answer of the query for ``tags``, following ``after`` until an answer comes without it."""
    after: str | None = None
    seen: set[str] = set()
    while True:
        response = cost.add(hook.request("POST", WORKITEMS_QUERY_PATH, json=workitem_query(type_id, tags, after=after)))
        yield response
        body = response.body if isinstance(response.body, Mapping) else {}
        next_after = body.get("after")
        if not next_after:
            return
        if not isinstance(next_after, str) or next_after in seen:
            raise GenesysApiError(
                status=response.status,
                code="query.paging",
                message=f"the workitems query answered the cursor {next_after!r} again: paging does not advance",
                correlation_id=response.correlation_id,
                method="POST",
                path=WORKITEMS_QUERY_PATH,
            )
        seen.add(next_after)
        after = next_after


def _entities(response: GenesysResponse) -> list[Mapping[str, Any]]:
    body = response.body if isinstance(response.body, Mapping) else {}
    return [entity for entity in body.get("entities") or [] if isinstance(entity, Mapping)]


def _query_tags(hook: GenesysCloudHook, type_id: str, tags: list[str], cost: RequestCost) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for response in _pages(hook, type_id, tags, cost):
        for entity in _entities(response):
            tag = entity.get(EXTERNAL_TAG_FIELD)
            if isinstance(tag, str) and tag in tags:
                current = found.get(tag)
                if current is None or str(entity.get("dateCreated", "")) < str(current.get("dateCreated", "")):
                    found[tag] = dict(entity)
    return found


def create_with_lookup(
    hook: GenesysCloudHook,
    spec: KindSpec,
    item: PreparedItem,
    *,
    outcome_unknown: bool,
    state: TaskState | None,
) -> CreateResult:
    """Create a workitem exactly once: look its ``externalTag`` up first whenever an earlier outcome is unknown.

    A record found by a bulk lookup before this call (``item.existing``) is replayed without a request.
    """
    cost = RequestCost()
    if item.existing is not None:
        return cost.result("replayed", spec, item.existing, None)
    type_id = str(item.body["typeId"])

    def lookup() -> GenesysResponse | None:
        for response in _pages(hook, type_id, [item.key], cost):
            for entity in _entities(response):
                if entity.get(EXTERNAL_TAG_FIELD) == item.key:
                    response.body = dict(entity)
                    return response
        return None

    if outcome_unknown:
        found = lookup()
        if found is not None:
            return cost.result("replayed", spec, found.body, found)
    response = hook.request(
        "POST",
        spec.path,
        json=item.body,
        before_retry=lambda error: lookup(),
        before_send=(lambda: state.sending(item.key)) if state is not None else None,
    )
    if response.recovered:
        # ``lookup`` already counted its own request; the create attempts are the rest
        cost.requests += response.attempts
        cost.latency_ms += response.latency_ms
        cost.pacing_wait_ms += response.pacing_wait_ms
        return cost.result("replayed", spec, response.body, response)
    cost.add(response)
    if not 200 <= response.status < 300:  # the SDK fixes no status: any 2xx is a create
        raise GenesysApiError.from_error_body(
            status=response.status,
            body=response.body,
            correlation_id=response.correlation_id,
            method="POST",
            path=spec.path,
        )
    return cost.result("created", spec, response.body if isinstance(response.body, Mapping) else {}, response)


def mark_existing(
    hook: GenesysCloudHook, items: Iterable[PreparedItem], *, batch_size: int = LOOKUP_BATCH_SIZE
) -> Iterator[PreparedItem]:
    """Yield ``items`` with ``existing`` and ``looked_up`` set from one IN lookup per ``batch_size`` workitems.

    For an Airflow try > 1 of a bulk create: the keys of many items are looked up in one request instead of
    one lookup per item. Items are pulled lazily, a batch at a time.
    """
    batch: list[PreparedItem] = []

    def flush() -> Iterator[PreparedItem]:
        by_type: dict[str, list[PreparedItem]] = {}
        for prepared in batch:
            by_type.setdefault(str(prepared.body["typeId"]), []).append(prepared)
        for type_id, group in by_type.items():
            try:
                found = _query_tags(hook, type_id, [prepared.key for prepared in group], RequestCost())
            except GenesysApiError as error:
                # each item is then looked up on its own before its create, and fails with its own error
                log.warning(
                    "The batch lookup of %d workitem key(s) failed (%s); looking each up alone.", len(group), error
                )
                continue
            for prepared in group:
                prepared.existing = found.get(prepared.key)
                prepared.looked_up = True
        yield from batch
        batch.clear()

    for prepared in items:
        batch.append(prepared)
        if len(batch) >= batch_size:
            yield from flush()
    if batch:
        yield from flush()
