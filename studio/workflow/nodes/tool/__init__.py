"""Tool node: calls a built-in, plugin, API or workflow tool through ctx.tools; outputs text, files, json and any
variables the tool yields. Without the tool there is no result, only a clear error."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from studio.core.errors import StudioError
from studio.core.files import is_file
from studio.core.workflow import ToolCall
from studio.workflow.node import Node, NodeConfig, NodeError, NodeResult, RunContext, Selector, StreamChunk, register
from studio.workflow.variables import VariableNotFoundError, selectors_in

log = logging.getLogger(__name__)


class ToolInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["mixed", "variable", "constant"] = "mixed"
    value: Any = None


class ToolConfig(NodeConfig):
    provider_id: str = ""
    provider_type: str = "builtin"
    provider_name: str = ""
    tool_name: str = ""
    tool_label: str = ""
    tool_configurations: dict[str, Any] = Field(default_factory=dict)
    tool_parameters: dict[str, ToolInput] = Field(default_factory=dict)
    credential_id: str | None = None
    plugin_unique_identifier: str | None = None
    tool_node_version: str | None = None
    paramSchemas: list[Any] | None = None  # noqa: N815 (Dify's editor keeps the tool's schema here)
    params: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None

    @field_validator("tool_parameters", mode="before")
    @classmethod
    def _legacy(cls, value: Any) -> Any:
        """Older DSL gives a bare value instead of {type, value}: text is a template, the rest a constant."""
        if not isinstance(value, dict):
            return value
        return {k: v if isinstance(v, dict) and "type" in v
                else {"type": "mixed" if isinstance(v, str) else "constant", "value": v} for k, v in value.items()}


def _config_value(value: Any) -> Any:
    """tool_configurations values may be {type, value} mappings in newer DSL."""
    return value.get("value") if isinstance(value, dict) and "value" in value else value


@register
class ToolNode(Node):
    type = "tool"
    Config = ToolConfig

    def references(self) -> list[Selector]:
        refs: list[Selector] = []
        for tool_input in self.config.tool_parameters.values():
            if tool_input.type == "variable" and isinstance(tool_input.value, list) and tool_input.value:
                refs.append(tool_input.value)
            elif tool_input.type == "mixed" and isinstance(tool_input.value, str):
                refs += selectors_in(tool_input.value)
        return refs

    def streams(self):
        return ("text",)

    def _parameters(self, ctx: RunContext) -> dict[str, Any]:
        params = {}
        for name, tool_input in self.config.tool_parameters.items():
            if tool_input.type == "variable":
                try:
                    params[name] = ctx.pool.get(tool_input.value or [])
                except VariableNotFoundError:
                    raise NodeError(f"Variable {tool_input.value} does not exist", "ToolParameterError") from None
            elif tool_input.type == "mixed":
                params[name] = ctx.pool.render(str(tool_input.value or ""))
            else:
                params[name] = tool_input.value
        return params

    def run(self, ctx: RunContext) -> Iterator[StreamChunk | NodeResult]:
        c = self.config
        provider = c.provider_id or c.provider_name
        tool_info = {"provider_type": c.provider_type, "provider_id": c.provider_id}
        if ctx.tools is None or not ctx.tools.has_tool(c.provider_type, c.provider_id, c.tool_name):
            raise NodeError(f"tool provider not found: {provider}/{c.tool_name}", "ToolProviderNotFoundError",
                            partial=NodeResult(outputs={}, metadata={"tool_info": tool_info}))
        params = self._parameters(ctx)
        call = ToolCall(c.provider_type, c.provider_id, c.provider_name, c.tool_name,
                        {k: _config_value(v) for k, v in c.tool_configurations.items()}, params, c.credential_id)
        text: list[str] = []
        files: list[dict[str, Any]] = []
        json_out: list[Any] = []
        variables: dict[str, Any] = {}
        try:
            for message in ctx.tools.invoke(call, ctx.cancel):
                if message.kind in ("text", "link"):
                    piece = message.value if message.kind == "text" else f"Link: {message.value}\n"
                    text.append(str(piece))
                    yield StreamChunk("text", str(piece))
                elif message.kind == "json":
                    json_out.append(message.value)
                elif message.kind == "file" and is_file(message.value):
                    files.append(message.value)
                elif message.kind == "variable" and message.name:
                    variables[message.name] = message.value
        except StudioError as exc:
            raise NodeError(f"Failed to invoke tool: {exc}", "ToolInvokeError",
                            partial=NodeResult(outputs={}, inputs=params, metadata={"tool_info": tool_info})) from None
        outputs = {"text": "".join(text), "files": files, "json": json_out, **variables}
        yield NodeResult(outputs=outputs, inputs=params, metadata={"tool_info": tool_info})
