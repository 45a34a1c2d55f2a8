"""Genesys' official Python SDK (``PureCloudPlatformClientV2``) as the oracle of wire shapes and API paths.

The SDK's ``models/*.py`` hold, per model, the JSON names (``attribute_map``), the types (``swagger_types``:
``str``, ``int``, ``datetime``, ``list[X]``, ``dict(str, X)``, nested models) and, in the setters, the enum values
and a few constraints (UUID patterns, lengths). Its ``apis/*.py`` hold every operation: HTTP method, path
template, body model and response model. Nothing here is written from the provider's or the sandbox's code.

* :func:`check` walks a JSON value against a model, recursively, and returns every :class:`Problem` (model,
  field path in wire names, kind, message): unknown keys, wrong types, enum values outside the setter's
  ``allowed_values`` (read from the setter's source: in v269 an enum setter never raises, it stores
  ``"outdated_sdk_version"``), and the setters' own ``ValueError`` rules.
* :func:`operations` / :func:`operation_for` read the operations from the API modules' source.
* :func:`region_hosts` is the SDK's ``PureCloudRegionHosts``.

The SDK's own deserializer ignores unknown keys and never checks enums, so "the SDK parses it" proves nothing;
this oracle is stricter on purpose.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import PureCloudPlatformClientV2 as sdk
from PureCloudPlatformClientV2 import models as sdk_models

SDK_VERSION = "269.0.0"
#: What an enum setter stores for a value it does not know (SDK v269).
OUTDATED_SENTINEL = "outdated_sdk_version"

_LIST = re.compile(r"^list\[(.+)\]$")
_DICT = re.compile(r"^dict\(\s*([^,]+?)\s*,\s*(.+)\)$")
_PRIMITIVES = frozenset({"str", "int", "float", "long", "bool", "object", "datetime", "date", "LocalDateTime"})
#: The SDK's documented date-time form: ``yyyy-MM-ddTHH:mm:ss[.mmm]Z``.
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$")
_LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Problem:
    """One mismatch between a JSON value and an SDK model.

    :param model: the SDK model that owns the field.
    :param path: the field path in wire names (``entities[0].scoredAgents[1].id``); empty for the root.
    :param kind: ``unknown-field``, ``type``, ``enum``, ``enum-case``, ``constraint`` or ``unknown-model``.
    :param message: what is wrong.
    """

    model: str
    path: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.model}: {self.path or '<root>'}: [{self.kind}] {self.message}"


# -- models ------------------------------------------------------------------------------------------------


def model_class(name: str) -> type | None:
    """The SDK model class ``name`` (``None`` when the SDK has no such model)."""
    cls = getattr(sdk_models, name, None)
    return cls if inspect.isclass(cls) else None


@functools.cache
def _maps(name: str) -> tuple[dict[str, str], dict[str, str]]:
    """``(python name -> swagger type, JSON name -> python name)`` of model ``name``."""
    cls = model_class(name)
    assert cls is not None, name
    instance = cls()
    return dict(instance.swagger_types), {json_name: attr for attr, json_name in instance.attribute_map.items()}


def json_fields(name: str) -> dict[str, str]:
    """``{JSON name: swagger type}`` of model ``name``."""
    types, by_json = _maps(name)
    return {json_name: types[attr] for json_name, attr in by_json.items()}


@functools.cache
def allowed_values(name: str, attr: str) -> tuple[str, ...] | None:
    """The enum values of ``name.attr``, read from its setter's source; ``None`` when it is not an enum."""
    prop = inspect.getattr_static(model_class(name), attr, None)
    if not isinstance(prop, property) or prop.fset is None:
        return None
    tree = ast.parse(textwrap.dedent(inspect.getsource(prop.fset)))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(target, ast.Name) and target.id == "allowed_values" for target in node.targets)
            and isinstance(node.value, (ast.List, ast.Tuple))
        ):
            return tuple(ast.literal_eval(node.value))
    return None


def enum_confirmed_at_runtime(name: str, attr: str) -> bool:
    """Cross-check of :func:`allowed_values`: the setter turns an unknown value into the SDK's sentinel."""
    cls = model_class(name)
    assert cls is not None, name
    instance = cls()
    setattr(instance, attr, "__not_a_value__")
    return bool(getattr(instance, attr) == OUTDATED_SENTINEL)


def _setter_error(name: str, attr: str, value: Any) -> str | None:
    cls = model_class(name)
    assert cls is not None, name
    try:
        setattr(cls(), attr, value)
    except ValueError as error:
        return str(error)
    except (TypeError, AttributeError):
        return None  # not a value the setter can judge; the type check reports it
    return None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    names = {dict: "object", list: "array", str: "string", int: "integer", float: "number"}
    return names.get(type(value), type(value).__name__)


def _primitive_problem(swagger_type: str, value: Any) -> str | None:
    if swagger_type == "object":
        return None
    if swagger_type == "str":
        return None if isinstance(value, str) else f"expected a string, got {_type_name(value)}"
    if swagger_type in ("int", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"expected an integer, got {_type_name(value)}"
    if swagger_type == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"expected a number, got {_type_name(value)}"
    if swagger_type == "bool":
        return None if isinstance(value, bool) else f"expected a boolean, got {_type_name(value)}"
    if swagger_type == "datetime":
        ok = isinstance(value, str) and _DATETIME.match(value)
        return None if ok else f"expected a date-time as yyyy-MM-ddTHH:mm:ss[.mmm]Z, got {value!r}"
    if swagger_type == "LocalDateTime":
        ok = isinstance(value, str) and _LOCAL_DATETIME.match(value)
        return None if ok else f"expected a local date-time, got {value!r}"
    if swagger_type == "date":
        ok = isinstance(value, str) and _DATE.match(value)
        return None if ok else f"expected a date as yyyy-MM-dd, got {value!r}"
    return None


def check(payload: Any, model: str, *, case_sensitive_enums: bool = True, run_setters: bool = True) -> list[Problem]:
    """Every problem of the JSON value ``payload`` against SDK model ``model`` (empty: it conforms).

    :param case_sensitive_enums: report an enum value that differs only in case (the SDK accepts it).
    :param run_setters: apply the SDK setters' own rules (UUID patterns, lengths) to primitive values.
    """
    problems: list[Problem] = []

    def join(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key

    def walk_type(swagger_type: str, value: Any, path: str, owner: str, attr: str) -> None:
        swagger_type = swagger_type.strip()
        if value is None:
            return  # Genesys omits rather than nulls; a null is never a wrong shape
        listed = _LIST.match(swagger_type)
        if listed:
            if not isinstance(value, list):
                problems.append(
                    Problem(owner, path, "type", f"expected an array ({swagger_type}), got {_type_name(value)}")
                )
                return
            for index, item in enumerate(value):
                walk_type(listed.group(1), item, f"{path}[{index}]", owner, attr)
            return
        mapped = _DICT.match(swagger_type)
        if mapped:
            if not isinstance(value, Mapping):
                problems.append(
                    Problem(owner, path, "type", f"expected a map ({swagger_type}), got {_type_name(value)}")
                )
                return
            for key, item in value.items():
                walk_type(mapped.group(2), item, f"{path}[{key!r}]", owner, attr)
            return
        if swagger_type in _PRIMITIVES:
            problem = _primitive_problem(swagger_type, value)
            if problem:
                problems.append(Problem(owner, path, "type", problem))
                return
            if swagger_type == "str":
                enum = allowed_values(owner, attr)
                if enum is not None and value not in enum:
                    if value.lower() not in {allowed.lower() for allowed in enum}:
                        problems.append(Problem(owner, path, "enum", f"{value!r} is not one of {list(enum)}"))
                    elif case_sensitive_enums:
                        problems.append(
                            Problem(owner, path, "enum-case", f"{value!r} differs in case from {list(enum)}")
                        )
                    return
            if run_setters and swagger_type in ("str", "int", "long", "float"):
                error = _setter_error(owner, attr, value)
                if error:
                    problems.append(Problem(owner, path, "constraint", error))
            return
        walk_model(swagger_type, value, path)

    def walk_model(name: str, value: Any, path: str) -> None:
        if model_class(name) is None:
            problems.append(Problem(name, path, "unknown-model", f"the SDK has no model {name!r}"))
            return
        if not isinstance(value, Mapping):
            problems.append(Problem(name, path, "type", f"expected an object ({name}), got {_type_name(value)}"))
            return
        types, by_json = _maps(name)
        for key, item in value.items():
            attr = by_json.get(key)
            if attr is None:
                problems.append(Problem(name, join(path, key), "unknown-field", f"{key!r} is not a field of {name}"))
                continue
            walk_type(types[attr], item, join(path, key), name, attr)

    walk_model(model, payload, "")
    return problems


def assert_conforms(payload: Any, model: str, *, what: str = "") -> None:
    """Raise an ``AssertionError`` listing every problem of ``payload`` against ``model`` (with ``what`` it is)."""
    problems = check(payload, model)
    if problems:
        lines = "\n  ".join(str(problem) for problem in problems)
        raise AssertionError(f"{what or 'payload'} does not conform to SDK model {model}:\n  {lines}")


# -- operations --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One operation of the SDK's APIs.

    :param api: the API class (``TaskManagementApi``).
    :param name: the method (``post_taskmanagement_workitems_bulk_add_jobs``).
    :param method: the HTTP method.
    :param path: the path template (``/api/v2/taskmanagement/workitems/bulk/add/jobs/{bulkJobId}``).
    :param body: the body model, ``None`` when the operation takes no body.
    :param response: the response model, ``None`` when it answers no body.
    """

    api: str
    name: str
    method: str
    path: str
    body: str | None
    response: str | None

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        """The path template as a regular expression (a ``{param}`` matches one segment)."""
        return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(self.path)) + "$")

    @property
    def literal_segments(self) -> int:
        """Segments of the template that are not parameters (the more, the more specific)."""
        return sum(1 for segment in self.path.split("/") if segment and not segment.startswith("{"))


_METHOD_BLOCK = re.compile(r"\n    def (?P<name>[a-z_0-9]+)\(self(?P<params>[^)]*)\)")
_RESOURCE = re.compile(r"resource_path = '(?P<path>[^']+)'")
_CALL = re.compile(r"call_api\(resource_path, '(?P<method>[A-Z]+)'")
_RESPONSE = re.compile(r"response_type=(?:'(?P<model>[^']+)'|None)")
_BODY = re.compile(r"body: '(?P<model>[^']+)'")
_API_CLASS = re.compile(r"^class (?P<name>\w+Api)\(", re.MULTILINE)


@functools.lru_cache(maxsize=1)
def operations() -> tuple[Operation, ...]:
    """Every operation of every SDK API module (read from the modules' source, nothing imported)."""
    found: list[Operation] = []
    for source_file in sorted((Path(sdk.__file__).parent / "apis").glob("*_api.py")):
        source = source_file.read_text(encoding="utf-8")
        api = _API_CLASS.search(source)
        blocks = list(_METHOD_BLOCK.finditer(source))
        for index, block in enumerate(blocks):
            end = blocks[index + 1].start() if index + 1 < len(blocks) else len(source)
            text = source[block.start() : end]
            resource, call = _RESOURCE.search(text), _CALL.search(text)
            if not resource or not call:
                continue
            response = _RESPONSE.search(text)
            body = _BODY.search(block.group("params"))
            found.append(
                Operation(
                    api=api.group("name") if api else source_file.stem,
                    name=block.group("name"),
                    method=call.group("method"),
                    path=resource.group("path"),
                    body=body.group("model") if body else None,
                    response=response.group("model") if response else None,
                )
            )
    return tuple(found)


def operation_for(method: str, path: str) -> Operation | None:
    """The SDK operation serving ``method`` on the concrete ``path`` (the most specific template wins)."""
    path = path.split("?", 1)[0]
    matches = [op for op in operations() if op.method == method.upper() and op.pattern.match(path)]
    return max(matches, key=lambda op: op.literal_segments) if matches else None


def operation_for_template(method: str, template: str) -> Operation | None:
    """The SDK operation whose path template equals ``template`` up to parameter names."""
    normalised = re.sub(r"\{[^/]+?\}", "{}", template)
    for op in operations():
        if op.method == method.upper() and re.sub(r"\{[^/]+?\}", "{}", op.path) == normalised:
            return op
    return None


# -- regions -----------------------------------------------------------------------------------------------


def region_hosts() -> dict[str, str]:
    """The SDK's ``PureCloudRegionHosts``: region name (``eu-west-1``) -> API host (``https://api.mypurecloud.ie``)."""
    return {member.name.replace("_", "-"): member.get_api_host() for member in sdk.PureCloudRegionHosts}


def model_names(names: Iterable[str]) -> list[str]:
    """The names among ``names`` that the SDK lacks (empty when it has them all)."""
    return [name for name in names if model_class(name) is None]
