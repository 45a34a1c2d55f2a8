"""The ``/api/v2/interactions`` contract (``docs/genesys-api.md``): request body and created record.

Rules enforced here (the sandbox enforces the same contract with its own models):

* ``type`` is one of voice, chat, email, video, sms;
* ``routing`` is required; ``routing.priority`` is an integer 1..100;
* skill and queue ids are UUIDs; a skill ``level`` is a proficiency between 0 and 5 (Genesys' rating scale);
* at least one participant; participant ids are UUIDs; each participant has at least one role, roles come from
  initiator, agent, customer, system, with no duplicates; at least one participant is the ``initiator``;
* unknown fields are rejected everywhere.

Every problem is reported at once, the missing initiator included (it is checked on the raw input, so it
shows up next to, say, a malformed participant id instead of only after that one is fixed).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from airflow_provider_genesys.models.validation import CrossFieldProblem, CrossFieldValidatedModel

InteractionType = Literal["voice", "chat", "email", "video", "sms"]
ParticipantRole = Literal["initiator", "agent", "customer", "system"]

INTERACTION_TYPES: tuple[str, ...] = ("voice", "chat", "email", "video", "sms")
PARTICIPANT_ROLES: tuple[str, ...] = ("initiator", "agent", "customer", "system")
MIN_PRIORITY, MAX_PRIORITY = 1, 100
MIN_SKILL_LEVEL, MAX_SKILL_LEVEL = 0.0, 5.0


class _Strict(CrossFieldValidatedModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)


class SkillRequirement(_Strict):
    """A routing skill and the minimum proficiency an agent needs."""

    id: UUID
    level: float = Field(ge=MIN_SKILL_LEVEL, le=MAX_SKILL_LEVEL)


class QueueRef(_Strict):
    """Reference to a routing queue."""

    id: UUID


class Routing(_Strict):
    """Routing directives: priority, required skills, target queue."""

    priority: int = Field(ge=MIN_PRIORITY, le=MAX_PRIORITY, strict=True)
    skills: list[SkillRequirement] = Field(default_factory=list)
    queue: QueueRef | None = None


class ChannelRef(_Strict):
    """The channel a participant uses (an address, a chat id...)."""

    id: str = Field(min_length=1, max_length=256)


class Participant(_Strict):
    """A party to the interaction."""

    id: UUID
    roles: list[ParticipantRole] = Field(min_length=1)
    channel: ChannelRef | None = None

    @field_validator("roles")
    @classmethod
    def _roles_unique(cls, roles: list[str]) -> list[str]:
        duplicates = sorted({role for role in roles if roles.count(role) > 1})
        if duplicates:
            raise ValueError(f"duplicate role(s): {', '.join(duplicates)}")
        return roles


class InteractionRequest(_Strict):
    """Body of ``POST /api/v2/interactions``."""

    type: InteractionType
    routing: Routing
    participants: list[Participant] = Field(min_length=1)

    @classmethod
    def cross_field_problems(cls, raw: Mapping[str, Any]) -> list[CrossFieldProblem]:
        """At least one participant is the ``initiator`` (judged on the raw participants list)."""
        participants = raw.get("participants")
        if not isinstance(participants, (list, tuple)) or not participants:
            return []  # missing or empty: the field's own error says so
        if any(_has_role(participant, "initiator") for participant in participants):
            return []
        return [(("participants",), "at least one participant must have the 'initiator' role")]


def _has_role(participant: Any, role: str) -> bool:
    roles = participant.roles if isinstance(participant, Participant) else None
    if isinstance(participant, Mapping):
        roles = participant.get("roles")
    if not isinstance(roles, (list, tuple)):
        return False
    return any(isinstance(candidate, str) and candidate.strip() == role for candidate in roles)


class InteractionRecord(BaseModel):
    """The record returned by ``POST /api/v2/interactions`` (201, or 409 on a replay)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str
    type: str
    external_id: str | None = Field(default=None, alias="externalId")
    create_time: datetime | None = Field(default=None, alias="createTime")
    routing: dict[str, object] | None = None
    participants: list[dict[str, object]] | None = None
