"""Start node: the run's inputs, plus the system variables copied as `sys.<name>` outputs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from studio.core.app_config import VARIABLE_RE
from studio.workflow.node import Node, NodeConfig, NodeResult, RunContext, register

# Dify's VariableEntityType: what a Start variable may be.
VARIABLE_TYPES = ("text-input", "select", "paragraph", "number", "external_data_tool", "file", "file-list",
                  "checkbox", "json_object")


class StartVariable(BaseModel):
    """Checked for shape only; the rest of Dify's VariableEntity fields pass through to the input form."""

    model_config = ConfigDict(extra="allow")

    variable: str
    type: Literal[VARIABLE_TYPES]  # type: ignore[valid-type]

    @field_validator("variable")
    @classmethod
    def _name(cls, v: str) -> str:
        if not VARIABLE_RE.match(v):
            raise ValueError(f"{v!r} is not a valid variable name")
        return v


class StartConfig(NodeConfig):
    variables: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("variables")
    @classmethod
    def _variables(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for item in v:
            StartVariable.model_validate(item)
        return v


@register
class StartNode(Node):
    type = "start"
    inline = True
    Config = StartConfig
    kind = "root"

    def run(self, ctx: RunContext) -> NodeResult:
        inputs = dict(ctx.extras.get("inputs", {}))
        outputs = dict(inputs)
        for name, value in ctx.pool.scope("sys").items():
            outputs[f"sys.{name}"] = value
        return NodeResult(outputs=outputs, inputs=inputs)
