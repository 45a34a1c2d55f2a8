"""Turn pydantic validation failures into field-level errors a person can act on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from airflow_provider_genesys.errors import FieldError, InteractionValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)

# pydantic's own wording is precise but technical; these read better in an Airflow task log.
_FRIENDLY_MESSAGES = {
    "missing": "field required",
    "extra_forbidden": "unknown field (not part of the contract)",
    "uuid_parsing": "not a UUID",
    "uuid_type": "not a UUID",
    "uuid_version": "not a UUID",
}


def format_location(location: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as ``participants[1].roles[0]``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and (part.startswith("function-") or part in ("json-or-python", "python")):
            # internal pydantic markers for union/validator branches carry no meaning for users
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


def field_errors_from(exc: ValidationError) -> list[FieldError]:
    """Convert every error of a pydantic ``ValidationError`` into a :class:`FieldError`."""
    errors: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for raw in exc.errors(include_url=False, include_input=False):
        path = format_location(tuple(raw.get("loc", ())))
        message = _FRIENDLY_MESSAGES.get(raw.get("type", ""), raw.get("msg", "invalid value"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if (path, message) not in seen:
            seen.add((path, message))
            errors.append(FieldError(path=path, message=message))
    return errors


def validate_model(
    model: type[ModelT], payload: Any, *, item: str | None = None, kind: str | None = None
) -> ModelT:
    """Validate ``payload`` (a mapping or a model instance) against ``model``.

    :raises InteractionValidationError: listing every problem with its field path.
    """
    if isinstance(payload, model):
        payload = payload.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json", by_alias=True, exclude_none=True)
    if not isinstance(payload, Mapping):
        raise InteractionValidationError(
            errors=[FieldError(path="", message=f"expected a JSON object, got {type(payload).__name__}")],
            item=item,
            kind=kind,
        )
    try:
        return model.model_validate(dict(payload))
    except ValidationError as exc:
        raise InteractionValidationError(errors=field_errors_from(exc), item=item, kind=kind) from None
