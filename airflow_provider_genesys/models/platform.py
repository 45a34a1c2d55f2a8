"""Request bodies of the real Genesys Cloud create endpoints (the official SDK's models), camelCase on the wire.

* :class:`WorkitemRequest` — ``POST /api/v2/taskmanagement/workitems`` (``WorkitemCreate``);
* :class:`WorkitemCommonRequest` — an entity of ``POST /api/v2/taskmanagement/workitems/bulk/add/jobs``
  (``WorkitemCommonCreate``: a workitem without scored agents, preferred agents, wrap-up code or utilization
  label);
* :class:`CallbackRequest` — ``POST /api/v2/conversations/callbacks`` (``CreateCallbackCommand``);
* :class:`InboundEmailRequest` — ``POST /api/v2/conversations/emails`` (``CreateEmailRequest``).

Every field of those SDK models is offered (the contract tests hold the models to the SDK), except where a
class docstring says why not.

Fields accept the wire name (``typeId``) or the Python name (``type_id``); error paths use the wire names
(``routingData.skillIds[0]: not a UUID``). Validate through
:func:`~airflow_provider_genesys.models.validation.validate_model` to get every problem at once; pass
``context={"now": <aware datetime>}`` to judge the 365-day window of workitem dates against a fixed clock.

None of these endpoints accepts an ``Idempotency-Key``, so the provider carries its key in the body: in the
workitem's ``externalTag``, in the callback's ``data`` and in the email's ``attributes`` under
:data:`IDEMPOTENCY_ATTRIBUTE`. Those places belong to the provider; a user value there is an error. Build the
body to send with ``with_idempotency_key(key)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_serializer,
    field_validator,
)
from pydantic.alias_generators import to_camel

from airflow_provider_genesys.models.validation import CrossFieldProblem, CrossFieldValidatedModel, raw_value

#: Attribute (callback ``data``, email ``attributes``) that carries the provider's idempotency key.
IDEMPOTENCY_ATTRIBUTE = "genesysIdempotencyKey"
#: Workitem field that carries the provider's idempotency key.
EXTERNAL_TAG_FIELD = "externalTag"

WORKITEM_NAME_MIN_LENGTH, WORKITEM_NAME_MAX_LENGTH = 3, 256
WORKITEM_DESCRIPTION_MAX_LENGTH = 512
WORKITEM_MIN_PRIORITY, WORKITEM_MAX_PRIORITY = -25_000_000, 25_000_000
WORKITEM_MAX_DAYS_AHEAD = 365
WORKITEM_MAX_DURATION_SECONDS = 365 * 24 * 3600
MAX_SCORED_AGENTS = 20
MIN_AGENT_SCORE, MAX_AGENT_SCORE = 0, 100
RESERVED_EMAIL_PROVIDER = "PureCloud Email"
UTILIZATION_LABEL_MAX_LENGTH = 36
#: How customer-first callbacks reserve an agent (the SDK's enum of ``customerFirstCallbackDeliveryMode``).
CallbackDeliveryMode = Literal["UseQueueSetting", "UseAgentReservation", "NoAgentReservation"]

NonEmptyString = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# Deliberately loose (one @, a dot in the domain, no spaces): Genesys does the real address checks.
_EMAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


def _wire_datetime(value: datetime | None) -> str | None:
    """Genesys' ISO-8601 form: UTC with milliseconds and ``Z`` (``yyyy-MM-ddTHH:mm:ss.mmmZ``)."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _validation_now(info: ValidationInfo) -> datetime:
    context = info.context
    now = context.get("now") if isinstance(context, Mapping) else None
    if not isinstance(now, datetime):
        return datetime.now(timezone.utc)
    return now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)


def _provider_owned(what: str) -> str:
    return f"{what} is set by the provider to carry the idempotency key; remove it"


def _reject_idempotency_attribute(attributes: dict[str, str] | None) -> dict[str, str] | None:
    if attributes and IDEMPOTENCY_ATTRIBUTE in attributes:
        raise ValueError(_provider_owned(repr(IDEMPOTENCY_ATTRIBUTE)))
    return attributes


def _checked_key(key: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ValueError("an idempotency key must be a non-empty string")
    return key


class _WireModel(CrossFieldValidatedModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
        loc_by_alias=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """Return the JSON body as Genesys expects it (camelCase, no ``null`` fields)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class WorkitemScoredAgentRequest(_WireModel):
    """``WorkitemScoredAgentRequest``: an agent preferred for a workitem (``{"id", "score"}``), scored 0..100."""

    id: UUID
    score: int = Field(ge=MIN_AGENT_SCORE, le=MAX_AGENT_SCORE, strict=True)


class AgentReference(_WireModel):
    """``DomainEntityRef`` of an agent: ``{"id"}``."""

    id: UUID


class ScoredAgent(_WireModel):
    """``ScoredAgent``: an agent preferred for a callback (``{"agent": {"id"}, "score"}``), scored 0..100."""

    agent: AgentReference
    score: int = Field(ge=MIN_AGENT_SCORE, le=MAX_AGENT_SCORE, strict=True)


class _WorkitemFields(_WireModel):
    """The fields every workitem create takes (``WorkitemCommonCreate``), and their rules."""

    name: str = Field(min_length=WORKITEM_NAME_MIN_LENGTH, max_length=WORKITEM_NAME_MAX_LENGTH)
    type_id: UUID
    priority: int | None = Field(default=None, ge=WORKITEM_MIN_PRIORITY, le=WORKITEM_MAX_PRIORITY, strict=True)
    date_due: AwareDatetime | None = None
    date_expires: AwareDatetime | None = None
    duration_seconds: int | None = Field(default=None, ge=0, le=WORKITEM_MAX_DURATION_SECONDS, strict=True)
    ttl: int | None = Field(default=None, ge=0, strict=True)
    status_id: NonEmptyString | None = None
    workbin_id: NonEmptyString | None = None
    auto_status_transition: bool | None = None
    description: str | None = Field(default=None, max_length=WORKITEM_DESCRIPTION_MAX_LENGTH)
    custom_fields: dict[str, Any] | None = None
    queue_id: UUID | None = None
    assignee_id: UUID | None = None
    language_id: UUID | None = None
    external_contact_id: UUID | None = None
    skill_ids: list[UUID] | None = None
    script_id: UUID | None = None
    # Present only to turn a user-supplied value into a clear error (it is never accepted).
    external_tag: Any = Field(default=None, exclude=True)

    @field_validator("external_tag", mode="before")
    @classmethod
    def _external_tag_is_provider_owned(cls, value: Any) -> None:
        if value is not None:
            raise ValueError(_provider_owned(EXTERNAL_TAG_FIELD))
        return None

    @field_validator("date_due", "date_expires")
    @classmethod
    def _within_window(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None:
            return None
        now = _validation_now(info)
        if value - now > timedelta(days=WORKITEM_MAX_DAYS_AHEAD):
            raise ValueError(f"must be at most {WORKITEM_MAX_DAYS_AHEAD} days ahead of now ({_wire_datetime(now)})")
        return value

    @field_validator("ttl")
    @classmethod
    def _ttl_within_window(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return None
        latest = _validation_now(info) + timedelta(days=WORKITEM_MAX_DAYS_AHEAD)
        if value > latest.timestamp():
            limit = int(latest.timestamp())
            raise ValueError(f"must be an epoch second at most {WORKITEM_MAX_DAYS_AHEAD} days ahead (at most {limit})")
        return value

    @field_serializer("date_due", "date_expires")
    def _serialise_datetime(self, value: datetime | None) -> str | None:
        return _wire_datetime(value)

    def with_idempotency_key(self, key: str) -> dict[str, Any]:
        """Return the wire body with ``externalTag`` set to ``key``.

        :param key: the idempotency key (see :mod:`airflow_provider_genesys.creation.keys`).
        :raises ValueError: for an empty key.
        """
        body = self.to_wire()
        body[EXTERNAL_TAG_FIELD] = _checked_key(key)
        return body


class WorkitemRequest(_WorkitemFields):
    """``WorkitemCreate``: body of ``POST /api/v2/taskmanagement/workitems``.

    Rules (the SDK's field documentation): ``name`` 3..256 characters and ``typeId`` (a UUID) are required;
    ``priority`` is an integer in -25,000,000..25,000,000; queue, skill, language, external contact, script,
    wrap-up code, utilization label, agent and assignee ids are UUIDs; at most 20 ``scoredAgents``
    (``{"id", "score"}``), each scored 0..100; ``description`` at most 512 characters; ``dateDue`` /
    ``dateExpires`` carry a time zone and lie at most 365 days ahead of now, as does ``ttl`` (an epoch second);
    ``durationSeconds`` is at most 365 days; ``externalTag`` belongs to the provider.
    """

    wrapup_code: UUID | None = None
    utilization_label_id: UUID | None = None
    scored_agents: list[WorkitemScoredAgentRequest] | None = Field(default=None, max_length=MAX_SCORED_AGENTS)
    preferred_agent_ids: list[UUID] | None = None


class WorkitemCommonRequest(_WorkitemFields):
    """``WorkitemCommonCreate``: one entity of ``POST /api/v2/taskmanagement/workitems/bulk/add/jobs``.

    The rules of :class:`WorkitemRequest`, without its four routing extras: Genesys' bulk add jobs cannot set
    ``scoredAgents``, ``preferredAgentIds``, ``wrapupCode`` or ``utilizationLabelId`` (developer documentation,
    "Bulk Operations"); an item that sets one is invalid here rather than sent without it.
    """

    # Present only to turn a value into a clear error (never accepted, never sent).
    wrapup_code: Any = Field(default=None, exclude=True)
    utilization_label_id: Any = Field(default=None, exclude=True)
    scored_agents: Any = Field(default=None, exclude=True)
    preferred_agent_ids: Any = Field(default=None, exclude=True)

    @field_validator("wrapup_code", "utilization_label_id", "scored_agents", "preferred_agent_ids", mode="before")
    @classmethod
    def _not_in_bulk_jobs(cls, value: Any) -> None:
        if value is not None:
            raise ValueError(
                "Genesys' bulk add jobs cannot set this field (WorkitemCommonCreate lacks it); remove it, or "
                "create the workitem with GenesysBulkCreateInteractionsOperator(kind='workitem')"
            )
        return None


class RoutingData(_WireModel):
    """``RoutingData`` of a callback: queue, language, label, priority, skills (ids and/or an expression),
    preferred and scored agents (``{"agent": {"id"}, "score"}``), routing flags."""

    queue_id: UUID | None = None
    language_id: NonEmptyString | None = None
    label: str | None = None
    priority: int | None = Field(default=None, strict=True)
    skill_ids: list[UUID] | None = None
    skill_expression: NonEmptyString | None = None
    preferred_agent_ids: list[UUID] | None = None
    scored_agents: list[ScoredAgent] | None = Field(default=None, max_length=MAX_SCORED_AGENTS)
    routing_flags: list[NonEmptyString] | None = None


class CallbackRequest(_WireModel):
    """``CreateCallbackCommand``: body of ``POST /api/v2/conversations/callbacks``.

    Rules: at least one non-empty ``callbackNumbers`` entry; the queue comes from exactly one of ``queueId``
    and ``routingData.queueId`` (the SDK asks for either; both at once is refused here as ambiguous); ids in
    ``routingData`` are UUIDs, at most 20 ``scoredAgents`` scored 0..100; ``callbackScheduledTime`` carries a
    time zone; ``customerFirstCallbackDeliveryMode`` is one of the SDK's values; ``callerId`` is an E.164
    number; ``data`` maps strings to strings and its :data:`IDEMPOTENCY_ATTRIBUTE` entry belongs to the provider.
    """

    callback_numbers: list[NonEmptyString] = Field(min_length=1)
    queue_id: UUID | None = None
    routing_data: RoutingData | None = None
    script_id: NonEmptyString | None = None
    customer_first_callback_delivery_mode: CallbackDeliveryMode | None = None
    callback_user_name: str | None = None
    callback_scheduled_time: AwareDatetime | None = None
    country_code: NonEmptyString | None = None
    validate_callback_numbers: bool | None = None
    data: dict[str, str] | None = None
    caller_id: str | None = None
    caller_id_name: str | None = None

    @field_validator("caller_id")
    @classmethod
    def _e164(cls, caller_id: str | None) -> str | None:
        if caller_id is not None and not _E164.match(caller_id):
            raise ValueError("not an E.164 phone number (+ then up to 15 digits, e.g. +15551230001)")
        return caller_id

    @field_validator("data")
    @classmethod
    def _idempotency_attribute_is_provider_owned(cls, data: dict[str, str] | None) -> dict[str, str] | None:
        return _reject_idempotency_attribute(data)

    @field_serializer("callback_scheduled_time")
    def _serialise_datetime(self, value: datetime | None) -> str | None:
        return _wire_datetime(value)

    @classmethod
    def cross_field_problems(cls, raw: Mapping[str, Any]) -> list[CrossFieldProblem]:
        """The queue is given exactly once: ``queueId`` or ``routingData.queueId``."""
        routing_data = raw_value(raw, "routingData", "routing_data")
        if isinstance(routing_data, RoutingData):
            routing_queue = routing_data.queue_id
        elif isinstance(routing_data, Mapping):
            routing_queue = raw_value(routing_data, "queueId", "queue_id")
        else:
            routing_queue = None
        given = [raw_value(raw, "queueId", "queue_id") is not None, routing_queue is not None]
        if not any(given):
            return [(("queueId",), "a queue is required: set queueId or routingData.queueId")]
        if all(given):
            return [(("queueId",), "give the queue once: queueId or routingData.queueId, not both")]
        return []

    def with_idempotency_key(self, key: str) -> dict[str, Any]:
        """Return the wire body with ``data[IDEMPOTENCY_ATTRIBUTE]`` set to ``key``.

        :param key: the idempotency key (see :mod:`airflow_provider_genesys.creation.keys`).
        :raises ValueError: for an empty key.
        """
        body = self.to_wire()
        body["data"] = {**body.get("data", {}), IDEMPOTENCY_ATTRIBUTE: _checked_key(key)}
        return body


class InboundEmailRequest(_WireModel):
    """``CreateEmailRequest``: body of ``POST /api/v2/conversations/emails`` for an inbound routed email.

    Rules: ``provider`` is required and is not ``"PureCloud Email"``; exactly one of ``queueId`` and
    ``flowId``; skill ids are UUIDs; ``priority`` is an integer; ``fromAddress`` and ``toAddress`` look like
    email addresses; ``direction`` is always ``INBOUND``; ``utilizationLabel`` has at most 36 characters;
    ``attributes`` maps strings to strings and its :data:`IDEMPOTENCY_ATTRIBUTE` entry belongs to the provider.
    Not offered: ``externalContactId`` (the SDK: "only valid for OUTBOUND email").
    """

    provider: NonEmptyString
    queue_id: UUID | None = None
    flow_id: NonEmptyString | None = None
    skill_ids: list[UUID] | None = None
    skill_expression: NonEmptyString | None = None
    language_id: NonEmptyString | None = None
    priority: int | None = Field(default=None, strict=True)
    attributes: dict[str, str] | None = None
    to_address: str | None = None
    to_name: str | None = None
    from_address: str | None = None
    from_name: str | None = None
    subject: str | None = None
    text_body: str | None = None
    html_body: str | None = None
    direction: Literal["INBOUND"] = "INBOUND"
    utilization_label: str | None = Field(default=None, max_length=UTILIZATION_LABEL_MAX_LENGTH)

    @field_validator("provider")
    @classmethod
    def _not_genesys_own_provider(cls, provider: str) -> str:
        if provider.casefold() == RESERVED_EMAIL_PROVIDER.casefold():
            raise ValueError(
                f"{RESERVED_EMAIL_PROVIDER!r} is Genesys' own email provider; name your integration instead"
            )
        return provider

    @field_validator("to_address", "from_address")
    @classmethod
    def _looks_like_email_address(cls, address: str | None) -> str | None:
        if address is not None and not _EMAIL_ADDRESS.match(address):
            raise ValueError("not an email address")
        return address

    @field_validator("direction", mode="before")
    @classmethod
    def _inbound_only(cls, direction: Any) -> Any:
        if direction != "INBOUND":
            raise ValueError("only INBOUND emails can be created here; remove direction or set it to INBOUND")
        return direction

    @field_validator("attributes")
    @classmethod
    def _idempotency_attribute_is_provider_owned(cls, attributes: dict[str, str] | None) -> dict[str, str] | None:
        return _reject_idempotency_attribute(attributes)

    @classmethod
    def cross_field_problems(cls, raw: Mapping[str, Any]) -> list[CrossFieldProblem]:
        """Exactly one of ``queueId`` and ``flowId``."""
        has_queue = raw_value(raw, "queueId", "queue_id") is not None
        has_flow = raw_value(raw, "flowId", "flow_id") is not None
        if not has_queue and not has_flow:
            return [(("queueId",), "a target is required: set queueId or flowId")]
        if has_queue and has_flow:
            return [(("queueId",), "set queueId or flowId, not both")]
        return []

    def with_idempotency_key(self, key: str) -> dict[str, Any]:
        """Return the wire body with ``attributes[IDEMPOTENCY_ATTRIBUTE]`` set to ``key``.

        :param key: the idempotency key (see :mod:`airflow_provider_genesys.creation.keys`).
        :raises ValueError: for an empty key.
        """
        body = self.to_wire()
        body["attributes"] = {**body.get("attributes", {}), IDEMPOTENCY_ATTRIBUTE: _checked_key(key)}
        return body
