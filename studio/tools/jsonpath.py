"""A small JSONPath: `$`, `.name`, `['name']`, `[0]`, `[-1]`, `[1:3]`, `[*]`, `.*`, `..name` and `[0,2]`.

Enough for picking values out of API responses; filters (`?()`) and scripts are not supported and say so."""

from __future__ import annotations

import re
from typing import Any

from studio.tools.base import ToolError

_NAME = re.compile(r"[A-Za-z_\u00a0-\uffff$@\-][\w\u00a0-\uffff$@\-]*|\*")
_INDEX = re.compile(r"\s*-?\d+\s*$")
_SLICE = re.compile(r"\s*(-?\d*)\s*:\s*(-?\d*)\s*(?::\s*(-?\d*)\s*)?$")


def find(document: Any, path: str) -> list[Any]:
    """Every value `path` selects in `document`, in document order."""
    nodes = [document]
    for kind, arg in _steps(path):
        if kind == "descend":
            nodes = [d for n in nodes for d in _descendants(n)]
            kind = "child"
        nodes = [v for n in nodes for v in _select(n, kind, arg)]
    return nodes


def _steps(path: str) -> list[tuple[str, Any]]:
    expr = path.strip()
    if not expr:
        raise ToolError("The JSON filter is empty")
    if expr.startswith("$"):
        expr = expr[1:]
    elif not expr.startswith((".", "[")):
        expr = "." + expr  # `a.b` means `$.a.b`, as in jsonpath-ng
    steps, i = [], 0
    while i < len(expr):
        if expr.startswith("..", i):
            name, i = _name(expr, i + 2, path)
            steps.append(("descend", name))
        elif expr[i] == ".":
            name, i = _name(expr, i + 1, path)
            steps.append(("child", name))
        elif expr[i] == "[":
            end = _closing(expr, i, path)
            steps.append(_bracket(expr[i + 1:end], path))
            i = end + 1
        else:
            raise ToolError(f"Invalid JSON filter {path!r} at {expr[i:]!r}")
    return steps


def _name(expr: str, i: int, path: str) -> tuple[str, int]:
    if i < len(expr) and expr[i] == "[":
        return "*", i  # `..[0]`: the bracket step follows on every descendant
    m = _NAME.match(expr, i)
    if not m:
        raise ToolError(f"Invalid JSON filter {path!r}: expected a name after '.'")
    return m.group(0), m.end()


def _closing(expr: str, i: int, path: str) -> int:
    quote = None
    for j in range(i + 1, len(expr)):
        c = expr[j]
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "]":
            return j
    raise ToolError(f"Invalid JSON filter {path!r}: '[' is never closed")


def _bracket(inner: str, path: str) -> tuple[str, Any]:
    body = inner.strip()
    if body == "*":
        return "child", "*"
    if body.startswith("?") or body.startswith("("):
        raise ToolError(f"JSON filter {path!r}: filter and script expressions are not supported")
    m = _SLICE.match(body)
    if m and ":" in body:
        return "slice", tuple(int(x) if x else None for x in m.groups())
    parts = [p.strip() for p in _split(body)]
    if parts and all(_INDEX.match(p) for p in parts):
        return "index", [int(p) for p in parts]
    if parts and all(len(p) >= 2 and p[0] == p[-1] and p[0] in "'\"" for p in parts):
        return "keys", [p[1:-1] for p in parts]
    raise ToolError(f"Invalid JSON filter {path!r}: cannot read [{inner}]")


def _split(body: str) -> list[str]:
    parts, current, quote = [], "", None
    for c in body:
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == ",":
            parts.append(current)
            current = ""
            continue
        current += c
    return parts + [current]


def _select(node: Any, kind: str, arg: Any) -> list[Any]:
    if kind == "child":
        if arg == "*":
            return list(node.values()) if isinstance(node, dict) else list(node) if isinstance(node, list) else []
        return [node[arg]] if isinstance(node, dict) and arg in node else []
    if kind == "keys":
        return [node[k] for k in arg if isinstance(node, dict) and k in node]
    if not isinstance(node, list):
        return []
    if kind == "index":
        return [node[i] for i in arg if -len(node) <= i < len(node)]
    start, stop, step = arg
    if step == 0:
        raise ToolError("A JSON filter slice step cannot be 0")
    return node[slice(start, stop, step)]


def _descendants(node: Any) -> list[Any]:
    found = [node]
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        found += _descendants(child)
    return found
