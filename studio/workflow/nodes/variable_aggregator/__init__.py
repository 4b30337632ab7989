"""Variable aggregator: the first variable that has a value, to merge exclusive branches (also in groups)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from studio.workflow.node import Node, NodeConfig, NodeResult, RunContext, Selector, register


class Group(BaseModel):
    model_config = ConfigDict(extra="ignore")

    group_name: str
    output_type: str = "string"
    variables: list[list[str]] = Field(default_factory=list)


class AdvancedSettings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    group_enabled: bool = False
    groups: list[Group] = Field(default_factory=list)


class AggregatorConfig(NodeConfig):
    output_type: str = "string"
    variables: list[list[str]] = Field(default_factory=list)
    advanced_settings: AdvancedSettings | None = None


def _first(ctx: RunContext, selectors: list[list[str]]) -> Any:
    for selector in selectors:
        value = ctx.pool.get_or(selector)
        if value is not None:
            return value
    return None


@register
class VariableAggregatorNode(Node):
    type = "variable-aggregator"
    inline = True
    Config = AggregatorConfig

    def _grouped(self) -> bool:
        return bool(self.config.advanced_settings and self.config.advanced_settings.group_enabled)

    def references(self) -> list[Selector]:
        if self._grouped():
            return [s for g in self.config.advanced_settings.groups for s in g.variables]
        return list(self.config.variables)

    def run(self, ctx: RunContext) -> NodeResult:
        if self._grouped():
            outputs = {g.group_name: {"output": _first(ctx, g.variables)}
                       for g in self.config.advanced_settings.groups}
        else:
            outputs = {"output": _first(ctx, self.config.variables)}
        return NodeResult(outputs=outputs)


@register
class LegacyVariableAssignerNode(VariableAggregatorNode):
    """`variable-assigner` is the Variable Aggregator's old type name (a Dify naming trap)."""

    type = "variable-assigner"
