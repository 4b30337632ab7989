"""Answer node (chatflows): a template whose text streams to the user as soon as its place is certain."""

from __future__ import annotations

from pydantic import Field

from studio.workflow.node import Node, NodeConfig, NodeResult, RunContext, Selector, register
from studio.workflow.response import split_template
from studio.workflow.variables import selectors_in


class AnswerConfig(NodeConfig):
    answer: str = ""
    variables: list = Field(default_factory=list)  # legacy, unused


@register
class AnswerNode(Node):
    type = "answer"
    inline = True
    Config = AnswerConfig
    kind = "response"

    def references(self) -> list[Selector]:
        return selectors_in(self.config.answer)

    def run(self, ctx: RunContext) -> NodeResult:
        return NodeResult(outputs={"answer": ctx.pool.render(self.config.answer), "files": []})

    def response_segments(self, mode: str):
        return split_template(self.config.answer) if mode == "advanced-chat" else None
