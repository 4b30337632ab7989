"""The ToolPort for workflow tool nodes: Studio's built-in tools (studio.tools) behind Dify's provider ids."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.workflow import ToolCall, ToolMessage
from studio.tools import ToolRegistry

log = logging.getLogger(__name__)


class BuiltinToolPort:
    """has_tool/invoke over a ToolRegistry. A node's `tool_configurations` (Dify's form parameters) and its
    `tool_parameters` (the ones it fills from variables) together are the tool's parameters."""

    def __init__(self, registry: ToolRegistry | None = None) -> None:
        self.registry = registry or ToolRegistry.builtin()

    def has_tool(self, provider_type: str, provider_id: str, tool_name: str) -> bool:
        return self.registry.find(provider_type, provider_id, tool_name) is not None

    def invoke(self, call: ToolCall, cancel: CancelToken) -> Iterator[ToolMessage]:
        tool = self.registry.find(call.provider_type, call.provider_id, call.tool_name)
        if tool is None:
            raise StudioError(f"tool provider not found: {call.provider_id}/{call.tool_name}")
        if cancel.cancelled:
            return
        values = {**call.configurations, **call.parameters}
        try:
            yield from tool.invoke(values, cancel)
        except StudioError:
            raise
        except Exception as exc:  # a bug in a tool is reported as the tool's failure, never a crash
            log.exception("tool %s/%s failed", tool.provider, tool.name)
            raise StudioError(f"{tool.name} failed: {exc}") from exc
