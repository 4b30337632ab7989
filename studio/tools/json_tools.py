"""JSON tools: Dify's `json_process` parse (pick values with a JSONPath filter) and the `builtin` json_parse that
Dify's own workflow fixtures call (text in, the parsed object out as the variable `result`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from studio.core.workflow import ToolMessage
from studio.tools import jsonpath
from studio.tools.base import Tool, ToolError, ToolParameter, text

MAX_JSON_CHARS = 5_000_000


def _load(content: str, what: str) -> Any:
    if len(content) > MAX_JSON_CHARS:
        raise ToolError(f"{what} is too long ({len(content)} characters; the limit is {MAX_JSON_CHARS})")
    try:
        return json.loads(content)
    except json.JSONDecodeError as exc:
        raise ToolError(f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None


def _render(value: Any, ensure_ascii: bool) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=ensure_ascii)
    return str(value)


def parse(params: dict[str, Any]) -> Iterator[ToolMessage]:
    """Like Dify's: one match is given as itself, several as a list; objects and lists as JSON text."""
    data = _load(params["content"], "content")
    if not params["json_filter"]:
        yield text(_render(data, params["ensure_ascii"]))
        return
    found = jsonpath.find(data, params["json_filter"])
    result: Any = found[0] if len(found) == 1 else found
    yield text(_render(result, params["ensure_ascii"]))


def json_parse(params: dict[str, Any]) -> Iterator[ToolMessage]:
    data = _load(params["json_string"], "json_string")
    if isinstance(data, dict):
        yield ToolMessage("json", data)
    yield ToolMessage("variable", data, name="result")


TOOLS = (
    Tool("json_process", "parse", "JSON Parse", "A tool for extracting JSON objects", parse, (
        ToolParameter("content", "string", True, "JSON data to be processed"),
        ToolParameter("json_filter", "string", False,
                      "JSONPath of the fields to extract, such as $.items[0].name (empty: the whole document)"),
        ToolParameter("ensure_ascii", "boolean", False, "Ensure the JSON output is ASCII encoded", "form", True),
    ), provider_label="JSON Process",
       example=('What is the name in {"name": "Ada"}?', {"content": '{"name": "Ada"}', "json_filter": "$.name"})),
    Tool("builtin", "json_parse", "JSON Parse", "Parses a JSON string into an object", json_parse, (
        ToolParameter("json_string", "string", True, "The JSON text to parse"),
    ), provider_label="Builtin Tools"),
)
