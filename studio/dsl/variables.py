"""Checks on a graph app's environment and conversation variables at import, so a malformed declaration is refused
with its place named instead of failing every run later (Dify's importer builds typed variables from them)."""

from __future__ import annotations

import math
from typing import Any

from studio.dsl.loader import DslError


class VariableDeclarationError(DslError):
    pass


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _list_of(check):
    return lambda v: isinstance(v, list) and all(check(x) for x in v)


_ENVIRONMENT = {"string": lambda v: isinstance(v, str), "secret": lambda v: isinstance(v, str), "number": _number}
_CONVERSATION = {
    "string": lambda v: isinstance(v, str), "number": _number, "integer": lambda v: isinstance(v, int)
    and not isinstance(v, bool), "float": _number, "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict), "array[string]": _list_of(lambda v: isinstance(v, str)),
    "array[number]": _list_of(_number), "array[boolean]": _list_of(lambda v: isinstance(v, bool)),
    "array[object]": _list_of(lambda v: isinstance(v, dict)), "array[any]": lambda v: isinstance(v, list),
}


def check_variables(workflow: dict[str, Any]) -> None:
    """Raise VariableDeclarationError naming the first bad entry of `environment_variables` or
    `conversation_variables`: not a list of mappings, a name that is not a non-empty string (or repeats), an unknown
    value_type, or a value of another type (an empty value is allowed)."""
    for key, types in (("environment_variables", _ENVIRONMENT), ("conversation_variables", _CONVERSATION)):
        items = workflow.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise VariableDeclarationError(f"workflow.{key} must be a list of variables, not "
                                           f"{type(items).__name__}")
        seen: set[str] = set()
        for i, item in enumerate(items):
            where = f"workflow.{key}[{i}]"
            if not isinstance(item, dict):
                raise VariableDeclarationError(f"{where} must be a mapping with name, value_type and value, not "
                                               f"{type(item).__name__}")
            name = item.get("name")
            if not isinstance(name, str) or not name.strip():
                raise VariableDeclarationError(f"{where}: name must be a non-empty string")
            where = f"{where} ({name})"
            if name in seen:
                raise VariableDeclarationError(f"{where}: the name is used twice")
            seen.add(name)
            value_type = item.get("value_type")
            if not isinstance(value_type, str) or value_type not in types:
                raise VariableDeclarationError(f"{where}: value_type must be one of {', '.join(types)}, not "
                                               f"{value_type!r}")
            value = item.get("value")
            if value not in (None, "") and not types[value_type](value):
                raise VariableDeclarationError(f"{where}: the value {value!r:.60} is not of type {value_type}")
