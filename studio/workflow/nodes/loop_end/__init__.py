"""Loop-end node: reaching it ends the loop after the current round (the loop node watches for it)."""

from __future__ import annotations

from studio.workflow.node import Node, NodeConfig, NodeResult, RunContext, register


@register
class LoopEndNode(Node):
    type = "loop-end"
    Config = NodeConfig
    inline = True

    def run(self, ctx: RunContext) -> NodeResult:
        return NodeResult(outputs={})
