"""The cached pre-flight routing check."""

from __future__ import annotations

from typing import Any

from airflow_provider_genesys.creation.routing import RoutingRefs, RoutingValidator
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from genesys_sandbox import seeds

UNKNOWN_ID = "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f6ff"


def test_routing_lookups_are_cached_for_the_run(sandbox: Any, admin: Any) -> None:
    validator = RoutingValidator(GenesysCloudHook())
    good = RoutingRefs(
        queues=(("queueId", seeds.QUEUE_SUPPORT_ID),),
        skills=(("skillIds[0]", seeds.SKILL_ENGLISH_ID), ("skillIds[1]", seeds.SKILL_SPANISH_ID)),
    )

    problems = validator.check_all([good] * 1000)

    assert problems == []
    assert validator.lookups == 3
    assert admin.requests_to("GET /api/v2/routing/queues/{queue_id}") == {"200": 1}
    assert admin.requests_to("GET /api/v2/routing/skills/{skill_id}") == {"200": 2}


def test_routing_problems_name_the_field_and_the_reason(sandbox: Any) -> None:
    validator = RoutingValidator(GenesysCloudHook())
    bad = RoutingRefs(
        queues=(("routingData.queueId", UNKNOWN_ID),),
        skills=(("routingData.skillIds[0]", seeds.SKILL_LEGACY_ID), ("routingData.skillIds[1]", UNKNOWN_ID)),
    )

    problems = [str(problem) for problem in validator.problems(bad)]

    assert problems == [
        f"routingData.queueId: queue {UNKNOWN_ID} does not exist in Genesys (HTTP 404)",
        f"routingData.skillIds[0]: skill {seeds.SKILL_LEGACY_ID} is inactive, not active",
        f"routingData.skillIds[1]: skill {UNKNOWN_ID} does not exist in Genesys (HTTP 404)",
    ]
