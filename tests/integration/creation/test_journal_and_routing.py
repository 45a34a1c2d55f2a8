"""The send journal (durable, per task instance and kind) and the cached pre-flight routing check."""

from __future__ import annotations

from typing import Any

from airflow_provider_genesys.creation.journal import SendJournal, SendState, journal_path
from airflow_provider_genesys.creation.routing import RoutingRefs, RoutingValidator
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from genesys_sandbox import seeds
from tests.support.context import task_identity

UNKNOWN_ID = "5f6a7b8c-1d2e-4f30-9a41-b2c3d4e5f6ff"


def test_the_journal_survives_a_reopen_and_knows_every_state(state_dir: str) -> None:
    first = SendJournal.open(task_identity(), "callback", state_dir=state_dir)
    assert not first.resumed
    for key in ("a", "b", "c", "d"):
        first.sending(key)
    first.created("a", "conv-a")
    first.rejected("b", "HTTP 400")
    first.unknown("c", "timed out")

    again = SendJournal.open(task_identity(try_number=2), "callback", state_dir=state_dir)

    assert again.resumed
    assert again.history("a").state is SendState.CREATED and again.history("a").record_id == "conv-a"
    assert again.history("b").state is SendState.REJECTED
    assert again.history("c").state is SendState.UNKNOWN and again.history("c").detail == "timed out"
    assert again.history("d").state is SendState.SENDING and again.history("d").try_number == 1
    assert again.history("c").may_exist and again.history("d").may_exist
    assert again.history("e").state is SendState.NEVER_SENT


def test_a_re_created_run_with_try_one_still_sees_the_earlier_execution(state_dir: str) -> None:
    SendJournal.open(task_identity(), "workitem", state_dir=state_dir)

    assert SendJournal.open(task_identity(), "workitem", state_dir=state_dir).resumed


def test_journals_are_per_task_instance_and_kind(state_dir: str) -> None:
    SendJournal.open(task_identity(), "callback", state_dir=state_dir).sending("k")

    assert SendJournal.open(task_identity(), "email", state_dir=state_dir).history("k").state is SendState.NEVER_SENT
    other_run = task_identity(run_id="manual__other")
    assert not SendJournal.open(other_run, "callback", state_dir=state_dir).resumed
    assert journal_path(task_identity(), "callback", state_dir).name == "journal-callback.jsonl"


def test_a_torn_last_line_is_ignored(state_dir: str) -> None:
    journal = SendJournal.open(task_identity(), "email", state_dir=state_dir)
    journal.sending("k")
    with journal.path.open("a", encoding="utf-8") as torn:
        torn.write('{"event":"created","key":"k","rec')

    assert SendJournal.open(task_identity(2), "email", state_dir=state_dir).history("k").state is SendState.SENDING


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
