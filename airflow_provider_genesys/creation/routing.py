"""Pre-flight routing check: the queue and the skills a record names exist (and the skills are active).

Genesys rejects a create naming an unknown queue or skill, but only once the create is sent, record by
record. With ``validate_routing=True`` the operators ask first, through
``GET /api/v2/routing/queues/{id}`` and ``GET /api/v2/routing/skills/{id}`` (``state`` must be ``active``),
and report the problems as validation errors before anything is created. Answers are cached for the task run,
so a thousand items routed to one queue with two skills cost three lookups.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_genesys.exceptions import FieldError

if TYPE_CHECKING:
    from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook

QUEUE_PATH = "/api/v2/routing/queues/{id}"
SKILL_PATH = "/api/v2/routing/skills/{id}"


@dataclass(frozen=True)
class RoutingRefs:
    """The routing references of one wire body: ``(field path, id)`` pairs."""

    queues: tuple[tuple[str, str], ...] = ()
    skills: tuple[tuple[str, str], ...] = ()


def _get(body: Mapping[str, Any], *path: str) -> Any:
    value: Any = body
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _ids(
    body: Mapping[str, Any], path: tuple[str, ...], label: str, id_field: str | None = None
) -> list[tuple[str, str]]:
    values = _get(body, *path)
    refs: list[tuple[str, str]] = []
    for index, value in enumerate(values if isinstance(values, list) else []):
        ref = value.get(id_field) if id_field and isinstance(value, Mapping) else value
        if ref:
            refs.append((f"{label}[{index}]" + (f".{id_field}" if id_field else ""), str(ref)))
    return refs


def _one(body: Mapping[str, Any], path: tuple[str, ...], label: str) -> list[tuple[str, str]]:
    value = _get(body, *path)
    return [(label, str(value))] if value else []


def flat_refs(
    queue_field: str = "queueId", skills_field: str = "skillIds"
) -> Callable[[Mapping[str, Any]], RoutingRefs]:
    """References of a body with top-level ``queueId`` and ``skillIds`` (workitems, inbound emails)."""

    def refs(body: Mapping[str, Any]) -> RoutingRefs:
        return RoutingRefs(
            queues=tuple(_one(body, (queue_field,), queue_field)),
            skills=tuple(_ids(body, (skills_field,), skills_field)),
        )

    return refs


def callback_refs(body: Mapping[str, Any]) -> RoutingRefs:
    """References of a ``CreateCallbackCommand``: ``queueId`` or ``routingData.queueId``, ``routingData.skillIds``."""
    return RoutingRefs(
        queues=tuple(
            _one(body, ("queueId",), "queueId") + _one(body, ("routingData", "queueId"), "routingData.queueId")
        ),
        skills=tuple(_ids(body, ("routingData", "skillIds"), "routingData.skillIds")),
    )


def interaction_refs(body: Mapping[str, Any]) -> RoutingRefs:
    """References of the ``/api/v2/interactions`` contract: ``routing.queue.id``, ``routing.skills[].id``."""
    return RoutingRefs(
        queues=tuple(_one(body, ("routing", "queue", "id"), "routing.queue.id")),
        skills=tuple(_ids(body, ("routing", "skills"), "routing.skills", id_field="id")),
    )


def no_refs(body: Mapping[str, Any]) -> RoutingRefs:
    """A kind without routing references."""
    return RoutingRefs()


@dataclass
class RoutingValidator:
    """Checks routing references against Genesys, caching every answer for its lifetime (one task run).

    :param hook: the Genesys hook.
    """

    hook: GenesysCloudHook
    _queues: dict[str, str | None] = field(default_factory=dict)
    _skills: dict[str, str | None] = field(default_factory=dict)
    lookups: int = 0

    def problems(self, refs: RoutingRefs) -> list[FieldError]:
        """Every routing problem of one record (empty when its queue and skills are fine)."""
        errors: list[FieldError] = []
        for path, queue_id in refs.queues:
            problem = self._queue_problem(queue_id)
            if problem:
                errors.append(FieldError(path=path, message=problem))
        for path, skill_id in refs.skills:
            problem = self._skill_problem(skill_id)
            if problem:
                errors.append(FieldError(path=path, message=problem))
        return errors

    def check_all(self, refs: Iterable[RoutingRefs]) -> list[FieldError]:
        """The problems of several records, in order."""
        return [problem for one in refs for problem in self.problems(one)]

    def _lookup(self, path: str) -> tuple[int, Any]:
        self.lookups += 1
        response = self.hook.request("GET", path, accept_statuses=frozenset({400, 404}))
        return response.status, response.body

    def _queue_problem(self, queue_id: str) -> str | None:
        key = queue_id.lower()
        if key not in self._queues:
            status, _ = self._lookup(QUEUE_PATH.format(id=queue_id))
            self._queues[key] = None if status == 200 else f"queue {queue_id} does not exist in Genesys (HTTP {status})"
        return self._queues[key]

    def _skill_problem(self, skill_id: str) -> str | None:
        key = skill_id.lower()
        if key not in self._skills:
            status, body = self._lookup(SKILL_PATH.format(id=skill_id))
            state = body.get("state") if isinstance(body, Mapping) else None
            if status != 200:
                self._skills[key] = f"skill {skill_id} does not exist in Genesys (HTTP {status})"
            elif state != "active":
                self._skills[key] = f"skill {skill_id} is {state or 'not active'}, not active"
            else:
                self._skills[key] = None
        return self._skills[key]
