"""Start node: the run's inputs, plus the system variables copied as `sys.<name>` outputs."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from studio.workflow.node import Node, NodeConfig, NodeResult, RunContext, register


class StartConfig(NodeConfig):
    variables: list[dict[str, Any]] = Field(default_factory=list)


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
