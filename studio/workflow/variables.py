"""The variable pool: node outputs and sys/env/conversation variables, addressed by Dify selectors."""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Sequence
from typing import Any

from studio.core.errors import StudioError

SPECIAL = ("sys", "env", "conversation")
VARIABLE_PATTERN = re.compile(r"\{\{#([a-zA-Z0-9_]{1,50}(?:\.[a-zA-Z_][a-zA-Z0-9_]{0,29}){1,10})#\}\}")


class VariableNotFoundError(StudioError):
    code = "variable_not_found"


def to_text(value: Any) -> str:
    """How a value reads inside a template: strings as is, None as nothing, the rest as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _attr(value: Any, key: str) -> Any:
    if isinstance(value, dict) and key in value:
        return value[key]
    raise KeyError(key)


class VariablePool:
    """Thread-safe store of `[node_id, name, *path]` values; the engine writes, nodes read."""

    def __init__(self, *, system: dict[str, Any] | None = None, env: dict[str, Any] | None = None,
                 conversation: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._vars: dict[str, dict[str, Any]] = {
            "sys": dict(system or {}), "env": dict(env or {}), "conversation": dict(conversation or {}),
        }

    def set(self, node_id: str, name: str, value: Any) -> None:
        with self._lock:
            self._vars.setdefault(node_id, {})[name] = value

    def set_outputs(self, node_id: str, outputs: dict[str, Any]) -> None:
        with self._lock:
            self._vars.setdefault(node_id, {}).update(outputs)

    def get(self, selector: Sequence[str]) -> Any:
        if len(selector) < 2:
            raise VariableNotFoundError(f"Variable selector {list(selector)} needs a node id and a name")
        with self._lock:
            scope = self._vars.get(selector[0])
            if scope is None or selector[1] not in scope:
                raise VariableNotFoundError(f"Variable {'.'.join(selector)} not found")
            value = scope[selector[1]]
        for key in selector[2:]:
            try:
                value = _attr(value, key)
            except KeyError:
                raise VariableNotFoundError(f"Variable {'.'.join(selector)} not found (no {key!r})") from None
        return value

    def get_or(self, selector: Sequence[str], default: Any = None) -> Any:
        try:
            return self.get(selector)
        except VariableNotFoundError:
            return default

    def has(self, selector: Sequence[str]) -> bool:
        try:
            self.get(selector)
            return True
        except VariableNotFoundError:
            return False

    def scope(self, node_id: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._vars.get(node_id, {}))

    def render(self, template: str) -> str:
        """Fill `{{#node.var.path#}}` references; a missing one keeps its literal text (as Dify does)."""

        def fill(m: re.Match[str]) -> str:
            try:
                return to_text(self.get(m.group(1).split(".")))
            except VariableNotFoundError:
                return m.group(0)

        return VARIABLE_PATTERN.sub(fill, template)

    def copy(self) -> VariablePool:
        """A deep copy, for an iteration item or loop round that must not see its siblings' writes."""
        clone = VariablePool()
        with self._lock:
            clone._vars = copy.deepcopy(self._vars)
        return clone


def selectors_in(template: str) -> list[list[str]]:
    return [m.group(1).split(".") for m in VARIABLE_PATTERN.finditer(template or "")]
