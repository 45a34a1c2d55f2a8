"""Turn pydantic validation failures into field-level errors a person can act on."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from airflow_provider_genesys.exceptions import FieldError, InteractionValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)

#: A cross-field problem: the location (wire names, as pydantic reports them) and what is wrong there.
CrossFieldProblem = tuple[tuple[str | int, ...], str]

#: How deep a payload may nest (objects and lists counted alike); Genesys bodies need fewer than 6 levels.
MAX_PAYLOAD_DEPTH = 32
#: How many structural problems of one payload are listed (the rest are summed up in one line).
MAX_STRUCTURE_PROBLEMS = 20
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

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


def raw_value(raw: Mapping[str, Any], *names: str) -> Any:
    """Return the first non-``None`` value of ``raw`` under any of ``names`` (wire alias or Python name)."""
    for name in names:
        value = raw.get(name)
        if value is not None:
            return value
    return None


def _combined_error(
    title: str, field_failure: ValidationError | None, problems: list[CrossFieldProblem]
) -> ValidationError:
    line_errors: list[InitErrorDetails] = []
    if field_failure is not None:
        for error in field_failure.errors(include_url=False):
            line_errors.append(
                {
                    # re-raised under its own type so friendly messages keyed on the type still apply
                    "type": PydanticCustomError(error["type"], error["msg"]),
                    "loc": tuple(error["loc"]),
                    "input": error.get("input"),
                }
            )
    for location, message in problems:
        line_errors.append({"type": PydanticCustomError("cross_field", message), "loc": location, "input": None})
    return ValidationError.from_exception_data(title, line_errors)


class CrossFieldValidatedModel(BaseModel):
    """Base for models with rules that span several fields.

    pydantic runs an ``after`` model validator only when every field is valid, so a cross-field problem would
    surface only on a second attempt. Subclasses instead override :meth:`cross_field_problems`, which inspects
    the *raw* input; its problems are reported together with the field errors, in one ``ValidationError``.

    Input given under a field's Python name (``queue_id``) is renamed to its alias (``queueId``) first, so
    error paths always use the wire names.
    """

    @classmethod
    def cross_field_problems(cls, raw: Mapping[str, Any]) -> list[CrossFieldProblem]:
        """Return the cross-field problems of the raw input ``raw`` (none by default).

        :param raw: the mapping being validated; keys may be wire aliases or Python field names.
        """
        return []

    @classmethod
    def _keys_as_aliases(cls, raw: Mapping[str, Any]) -> Mapping[str, Any]:
        renames = {
            name: field.alias
            for name, field in cls.model_fields.items()
            if field.alias and field.alias != name and name in raw and field.alias not in raw
        }
        if not renames:
            return raw
        return {renames.get(key, key): value for key, value in raw.items()}

    @model_validator(mode="wrap")
    @classmethod
    def _validate_fields_and_cross_field_rules(cls, data: Any, handler: Callable[[Any], Any]) -> Any:
        if isinstance(data, cls) or not isinstance(data, Mapping):
            return handler(data)
        data = cls._keys_as_aliases(data)
        problems = cls.cross_field_problems(data)
        try:
            model = handler(data)
        except ValidationError as exc:
            if not problems:
                raise
            raise _combined_error(cls.__name__, exc, problems) from None
        if problems:
            raise _combined_error(cls.__name__, None, problems)
        return model


def structure_problems(payload: Any, *, max_depth: int = MAX_PAYLOAD_DEPTH) -> list[FieldError]:
    """What makes ``payload`` unfit for JSON, found without recursion: nesting beyond ``max_depth``, NaN or
    Infinity (JSON has neither; pydantic would send them as ``null``), object keys that are not strings, and text
    that is not valid Unicode (bytes that were not UTF-8).

    :param payload: the raw payload (plain Python values, as parsed or as given).
    :param max_depth: the deepest nesting allowed (the payload itself is level 1).
    """
    problems: list[FieldError] = []
    more = 0

    def report(location: tuple[int | str, ...], message: str) -> None:
        nonlocal more
        if len(problems) < MAX_STRUCTURE_PROBLEMS:
            problems.append(FieldError(path=format_location(location) or "(the payload)", message=message))
        else:
            more += 1

    stack: list[tuple[Any, tuple[int | str, ...]]] = [(payload, ())]
    while stack:
        value, location = stack.pop()
        if isinstance(value, (Mapping, list, tuple)):
            if len(location) >= max_depth:
                report(location, f"nested deeper than {max_depth} levels")
                continue
            children: list[tuple[Any, tuple[int | str, ...]]] = []
            if isinstance(value, Mapping):
                for key, child in value.items():
                    if not isinstance(key, str):
                        report(location, f"object keys must be strings, not {type(key).__name__}")
                    elif _LONE_SURROGATE.search(key):
                        report(location, "a field name is not valid Unicode text (bytes that are not UTF-8)")
                    else:
                        children.append((child, (*location, key)))
            else:
                children = [(child, (*location, index)) for index, child in enumerate(value)]
            stack.extend(reversed(children))
        elif isinstance(value, (float, Decimal)) and not math.isfinite(value):
            report(location, "NaN and Infinity are not valid JSON numbers")
        elif isinstance(value, str) and _LONE_SURROGATE.search(value):
            report(location, "not valid Unicode text (bytes that are not UTF-8)")
    if more:
        problems.append(FieldError(path="(the payload)", message=f"... and {more} more such problem(s)"))
    return problems


def validate_model(
    model: type[ModelT],
    payload: Any,
    *,
    item: str | None = None,
    kind: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> ModelT:
    """Validate ``payload`` (a mapping or a model instance) against ``model``.

    :param model: the pydantic model class.
    :param payload: a mapping (wire names or Python names) or a model instance.
    :param item: which item this is, for the error message (``"item 3 (external_id='CASE-9')"``).
    :param kind: the kind of record, for the error message.
    :param context: pydantic validation context (e.g. ``{"now": datetime}`` for date-window rules).
    :raises InteractionValidationError: listing every problem with its field path.
    """
    if isinstance(payload, BaseModel):
        # the Python form first: the JSON form would already have turned NaN into null
        problems = structure_problems(payload.model_dump(mode="python", by_alias=True, exclude_none=True))
        if problems:
            raise InteractionValidationError(errors=problems, item=item, kind=kind)
        payload = payload.model_dump(mode="json", by_alias=True, exclude_none=True)
    if not isinstance(payload, Mapping):
        raise InteractionValidationError(
            errors=[FieldError(path="", message=f"expected a JSON object, got {type(payload).__name__}")],
            item=item,
            kind=kind,
        )
    problems = structure_problems(payload)
    if problems:
        # checked before pydantic sees it: a deep payload would exhaust the recursion limit there
        raise InteractionValidationError(errors=problems, item=item, kind=kind)
    try:
        return model.model_validate(dict(payload), context=dict(context) if context is not None else None)
    except ValidationError as exc:
        raise InteractionValidationError(errors=field_errors_from(exc), item=item, kind=kind) from None
