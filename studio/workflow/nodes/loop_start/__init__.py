"""Loop-start node: the fixed entry of a loop's inside; it does nothing and Dify never reports it."""

from __future__ import annotations

from studio.workflow.node import Node, NodeConfig, NodeResult, RunContext, register


@register
class LoopStartNode(Node):
    type = "loop-start"
    Config = NodeConfig
    inline = True

    def run(self, ctx: RunContext) -> NodeResult:
        return NodeResult(outputs={})
