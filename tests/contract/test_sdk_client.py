"""Genesys' own SDK as a client of the sandbox: it accepts the SDK's request shapes and answers what the SDK reads.

The SDK serialises its models to the real wire shapes (``scoredAgents`` as ``{id, score}`` on workitems and
``{agent: {id}, score}`` on callbacks, the bulk job's ``PATCH {state: Queued}``...) and fetches its token the
way it does against Genesys, so a sandbox that shared a misunderstanding with the provider would fail here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PureCloudPlatformClientV2 import ApiClient, ConversationsApi, TaskManagementApi, TokensApi
from PureCloudPlatformClientV2 import models as m

from genesys_sandbox import SandboxConfig, SandboxServer, seeds


@pytest.fixture(scope="module")
def sdk_client() -> Iterator[ApiClient]:
    config = SandboxConfig(acd_delay_seconds=0.2, bulk_job_start_seconds=0.05, bulk_job_process_seconds=0.1)
    with SandboxServer(config) as server:
        client = ApiClient(host=server.base_url)
        client.get_client_credentials_token(config.client_id, config.client_secret)
        yield client


def _workitem(tag: str) -> m.WorkitemCreate:
    body = m.WorkitemCreate()
    body.name = f"Refund {tag}"
    body.type_id = seeds.WORKTYPE_ID
    body.queue_id = seeds.QUEUE_SUPPORT_ID
    body.skill_ids = [seeds.SKILL_ENGLISH_ID]
    body.external_tag = tag
    agent = m.WorkitemScoredAgentRequest()
    agent.id = seeds.AGENT_USER_ID
    agent.score = 80
    body.scored_agents = [agent]
    return body


def test_the_sdk_fetches_a_token_and_reads_the_token_info(sdk_client: ApiClient) -> None:
    assert sdk_client.access_token
    info = TokensApi(sdk_client).get_tokens_me()
    assert info.organization.name == seeds.ORGANIZATION_NAME


def test_the_sdk_creates_reads_and_queries_workitems(sdk_client: ApiClient) -> None:
    api = TaskManagementApi(sdk_client)
    created = api.post_taskmanagement_workitems(_workitem("sdk-1"))
    assert created.id and created.type.id == seeds.WORKTYPE_ID and created.queue.id == seeds.QUEUE_SUPPORT_ID
    assert created.scored_agents[0].agent.id == seeds.AGENT_USER_ID and created.scored_agents[0].score == 80
    fetched = api.get_taskmanagement_workitem(created.id)
    assert (fetched.external_tag, fetched.skills[0].id) == ("sdk-1", seeds.SKILL_ENGLISH_ID)

    query = m.WorkitemQueryPostRequest()
    type_filter, tag_filter = m.WorkitemFilter(), m.WorkitemFilter()
    type_filter.name, type_filter.type, type_filter.operator, type_filter.values = (
        "typeId",
        "String",
        "EQ",
        [seeds.WORKTYPE_ID],
    )
    tag_filter.name, tag_filter.type, tag_filter.operator, tag_filter.values = "externalTag", "String", "EQ", ["sdk-1"]
    query.filters = [type_filter, tag_filter]
    query.page_size = 25
    page = api.post_taskmanagement_workitems_query(query)
    assert [entity.id for entity in page.entities] == [created.id] and page.after is None


def test_the_sdk_runs_a_bulk_add_job_through_its_states(sdk_client: ApiClient) -> None:
    api = TaskManagementApi(sdk_client)
    request = m.BulkJobAddRequest()
    common = m.WorkitemCommonCreate()
    common.name, common.type_id, common.external_tag = "Bulk SDK", seeds.WORKTYPE_ID, "sdk-bulk"
    request.entities = [common]
    job = api.post_taskmanagement_workitems_bulk_add_jobs(request)
    assert job.state == "Idle" and job.action == "AddWorkitems"
    update = m.BulkJobUpdate()
    update.state = "Queued"
    assert api.patch_taskmanagement_workitems_bulk_add_job(job.id, update).state == "Queued"
    deadline = time.monotonic() + 10
    while job.state not in ("Succeeded", "Failed", "Cancelled", "Terminated") and time.monotonic() < deadline:
        time.sleep(0.02)
        job = api.get_taskmanagement_workitems_bulk_add_job(job.id)
    assert (job.state, job.total_count, job.successful_count) == ("Succeeded", 1, 1)
    results = api.get_taskmanagement_workitems_bulk_add_job_results(job.id)
    assert results.error_count == 0 and results.results[0].entity.type.id == seeds.WORKTYPE_ID
    assert api.get_taskmanagement_workitem(results.results[0].entity.id).external_tag == "sdk-bulk"


def test_the_sdk_creates_a_callback_and_an_email(sdk_client: ApiClient) -> None:
    api = ConversationsApi(sdk_client)
    routing = m.RoutingData()
    routing.queue_id = seeds.QUEUE_SUPPORT_ID
    agent, reference = m.ScoredAgent(), m.DomainEntityRef()
    reference.id = seeds.AGENT_USER_ID
    agent.agent, agent.score = reference, 100
    routing.scored_agents = [agent]
    routing.routing_flags = ["AGENT_OWNED_CALLBACK"]
    callback = m.CreateCallbackCommand()
    callback.callback_numbers = ["+15551230001"]
    callback.routing_data = routing
    callback.customer_first_callback_delivery_mode = "UseAgentReservation"
    callback.data = {"genesysIdempotencyKey": "sdk-cb"}
    created = api.post_conversations_callbacks(callback)
    conversation = api.get_conversation(created.conversation.id)
    customer = next(p for p in conversation.participants if p.purpose == "customer")
    assert customer.attributes == {"genesysIdempotencyKey": "sdk-cb"}

    email = m.CreateEmailRequest()
    email.provider, email.queue_id, email.direction = "Acme CRM", seeds.QUEUE_BILLING_ID, "INBOUND"
    email.skill_expression, email.subject = "Billing", "Invoice"
    email.attributes = {"genesysIdempotencyKey": "sdk-em"}
    mail = api.post_conversations_emails(email)
    assert mail.id and any(p.purpose == "customer" and p.subject == "Invoice" for p in mail.participants)
