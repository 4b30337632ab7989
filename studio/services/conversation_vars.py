"""Conversation variables as Dify's service API shows them: declared in the workflow, typed, stored per conversation."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from studio.core.entities import App
from studio.core.errors import ValidationError
from studio.core.files import is_file


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)  # bool is an int to Python, not to JSON


def _list_of(check):
    return lambda v: isinstance(v, list) and all(check(x) for x in v)


# Dify's SegmentType names for conversation variables; an undeclared type accepts any value.
_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "secret": lambda v: isinstance(v, str),
    "number": _number,
    "float": _number,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "file": is_file,
    "array[string]": _list_of(lambda v: isinstance(v, str)),
    "array[number]": _list_of(_number),
    "array[boolean]": _list_of(lambda v: isinstance(v, bool)),
    "array[object]": _list_of(lambda v: isinstance(v, dict)),
    "array[file]": _list_of(is_file),
    "array[any]": lambda v: isinstance(v, list),
}


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages a script author recognises."""
    for kind, name in ((bool, "boolean"), (str, "string"), (int, "integer"), (float, "number"), (dict, "object"),
                       (list, "array"), (type(None), "null")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def check_value(value_type: str, value: Any, name: str) -> None:
    check = _CHECKS.get(value_type)
    if check is not None and not check(value):
        raise ValidationError(f"Conversation variable {name!r} expects a value of type {value_type}, "
                              f"not {json_type(value)}")


def declared(app: App) -> list[dict[str, Any]]:
    """The app's conversation variable declarations (workflow `conversation_variables`) that have an id and name."""
    wf = app.config.get("workflow") if isinstance(app.config, dict) else None
    items = (wf or {}).get("conversation_variables") if isinstance(wf, dict) else None
    return [d for d in items or [] if isinstance(d, dict) and d.get("id") and d.get("name")]


def as_item(decl: dict[str, Any], value: Any, created_at: datetime, updated_at: datetime) -> dict[str, Any]:
    """Dify's conversation variable item; the value is a string, JSON for anything that is not one already."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return {"id": decl["id"], "name": decl["name"], "value_type": decl.get("value_type") or "string",
            "value": text, "description": decl.get("description") or "", "created_at": created_at,
            "updated_at": updated_at}
