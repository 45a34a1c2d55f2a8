"""The ``/api/v2/interactions`` contract as the sandbox enforces it (the seed's specification).

Written separately from the provider's own models on purpose: a rule the client gets wrong must not be the
rule the server checks, or the sandbox could not catch it.

* ``type`` ∈ voice | chat | email | video | sms; ``routing`` is required, ``routing.priority`` an integer 1..100;
* skill and queue ids are UUIDs, a skill ``level`` is 0..5;
* at least one participant, each with a UUID ``id`` and at least one distinct role from initiator | agent |
  customer | system; at least one participant is the ``initiator``;
* unknown fields are rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Skill(_Contract):
    id: UUID
    level: float = Field(ge=0, le=5)


class _Queue(_Contract):
    id: UUID


class _Routing(_Contract):
    priority: int = Field(ge=1, le=100, strict=True)
    skills: list[_Skill] = Field(default_factory=list)
    queue: _Queue | None = None


class _Channel(_Contract):
    id: str = Field(min_length=1, max_length=256)


class _Participant(_Contract):
    id: UUID
    roles: list[Literal["initiator", "agent", "customer", "system"]] = Field(min_length=1)
    channel: _Channel | None = None

    @field_validator("roles")
    @classmethod
    def _distinct(cls, roles: list[str]) -> list[str]:
        if len(set(roles)) != len(roles):
            raise ValueError("duplicate role(s)")
        return roles


def _roles(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class InteractionRequest(_Contract):
    """Body of ``POST /api/v2/interactions``."""

    type: Literal["voice", "chat", "email", "video", "sms"]
    routing: _Routing
    participants: list[_Participant] = Field(min_length=1)

    @model_validator(mode="wrap")
    @classmethod
    def _has_initiator(cls, data: Any, handler: Callable[[Any], Any]) -> Any:
        # judged on the raw input, so the missing initiator is reported together with every other problem
        participants = data.get("participants") if isinstance(data, dict) else None
        missing = (
            isinstance(participants, list)
            and bool(participants)
            and not any(isinstance(p, dict) and _roles(p.get("roles")).count("initiator") for p in participants)
        )
        problem: InitErrorDetails = {
            "type": PydanticCustomError("initiator", "at least one participant must have the 'initiator' role"),
            "loc": ("participants",),
            "input": participants,
        }
        try:
            model = handler(data)
        except ValidationError as exc:
            if not missing:
                raise
            errors: list[InitErrorDetails] = [
                {"type": PydanticCustomError(e["type"], e["msg"]), "loc": tuple(e["loc"]), "input": e.get("input")}
                for e in exc.errors(include_url=False)
            ]
            raise ValidationError.from_exception_data(cls.__name__, [*errors, problem]) from None
        if missing:
            raise ValidationError.from_exception_data(cls.__name__, [problem])
        return model
