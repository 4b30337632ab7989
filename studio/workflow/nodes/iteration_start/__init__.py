"""Iteration-start node: the fixed entry of an iteration's inside; it does nothing and Dify never reports it."""

from __future__ import annotations

from studio.workflow.node import Node, NodeConfig, NodeResult, RunContext, register


@register
class IterationStartNode(Node):
    type = "iteration-start"
    Config = NodeConfig
    inline = True

    def run(self, ctx: RunContext) -> NodeResult:
        return NodeResult(outputs={})
