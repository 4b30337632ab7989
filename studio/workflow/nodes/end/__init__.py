"""End node: a workflow's outputs, streamed as `text_chunk` in the order Dify streams them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from studio.workflow.node import Node, NodeConfig, NodeResult, RunContext, Selector, register


class EndOutput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    variable: str
    value_selector: list[str] = Field(default_factory=list)
    value_type: str | None = None


class EndConfig(NodeConfig):
    outputs: list[EndOutput] = Field(default_factory=list)


@register
class EndNode(Node):
    type = "end"
    inline = True
    Config = EndConfig
    kind = "response"

    def references(self) -> list[Selector]:
        return [o.value_selector for o in self.config.outputs if o.value_selector]

    def run(self, ctx: RunContext) -> NodeResult:
        outputs = {o.variable: ctx.pool.get_or(o.value_selector) if o.value_selector else None
                   for o in self.config.outputs}
        return NodeResult(outputs=outputs, inputs=dict(outputs))

    def response_segments(self, mode: str):
        if mode != "workflow":
            return None
        segments: list = []
        for o in self.config.outputs:
            if o.value_selector:
                if segments:
                    segments.append("\n")  # Dify joins End outputs with a newline when streaming
                segments.append(tuple(o.value_selector))
        return segments
