"""Built-in tools that work offline, named as Dify names them (provider id, tool name, parameter names), so
workflow tool nodes and agent apps from Dify find them. A leaf: it imports only studio.core and the standard
library. `ToolRegistry.builtin()` holds them all: time, json_process, maths and Dify's test `builtin` json_parse."""

from __future__ import annotations

from collections.abc import Iterable

from studio.tools.base import Tool, ToolError, ToolParameter

__all__ = ["BUILTIN_PROVIDER_TYPES", "Tool", "ToolError", "ToolParameter", "ToolRegistry", "provider_key"]

# Dify marks in-core tools "builtin"; since 1.0 the same tools are plugins named "<author>/<name>/<name>".
BUILTIN_PROVIDER_TYPES = ("builtin", "plugin")


def provider_key(provider_id: str) -> str:
    """'langgenius/time/time' and 'time' both name the time provider."""
    return (provider_id or "").strip().rstrip("/").rsplit("/", 1)[-1]


class ToolRegistry:
    """Tools by (provider, name); read-only once built, so threads share it freely."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self._tools: dict[tuple[str, str], Tool] = {}
        for tool in tools:
            key = (tool.provider, tool.name)
            if key in self._tools:
                raise ValueError(f"tool {tool.provider}/{tool.name} is defined twice")
            self._tools[key] = tool

    @classmethod
    def builtin(cls) -> ToolRegistry:
        from studio.tools import json_tools, maths, time_tools

        return cls([*time_tools.TOOLS, *json_tools.TOOLS, *maths.TOOLS])

    def find(self, provider_type: str, provider_id: str, tool_name: str) -> Tool | None:
        if (provider_type or "builtin") not in BUILTIN_PROVIDER_TYPES:
            return None
        return self._tools.get((provider_key(provider_id), tool_name))

    def list(self) -> list[Tool]:
        return list(self._tools.values())

    def providers(self) -> list[str]:
        return sorted({tool.provider for tool in self._tools.values()})
