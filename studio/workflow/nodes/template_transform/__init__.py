"""Template node: Jinja2 in a sandboxed environment (no attribute escapes), with Dify's output size limit."""

from __future__ import annotations

import threading

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

from studio.workflow.node import Node, NodeConfig, NodeError, NodeResult, RunContext, Selector, register

_ENV = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_LOCK = threading.Lock()


class TemplateVariable(BaseModel):
    model_config = ConfigDict(extra="ignore")

    variable: str
    value_selector: list[str] = Field(default_factory=list)


class TemplateConfig(NodeConfig):
    template: str = ""
    variables: list[TemplateVariable] = Field(default_factory=list)


@register
class TemplateTransformNode(Node):
    type = "template-transform"
    inline = True
    Config = TemplateConfig

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._compiled = None

    def references(self) -> list[Selector]:
        return [v.value_selector for v in self.config.variables if v.value_selector]

    def _template(self):
        if self._compiled is None:
            with _LOCK:
                try:
                    self._compiled = _ENV.from_string(self.config.template)
                except TemplateError as exc:
                    raise NodeError(f"Template syntax error: {exc}", "TemplateTransformError") from None
        return self._compiled

    def run(self, ctx: RunContext) -> NodeResult:
        inputs = {v.variable: ctx.pool.get_or(v.value_selector) for v in self.config.variables}
        try:
            text = self._template().render(**inputs)
        except Exception as exc:  # user templates can raise anything (1/0, bad filters, sandbox refusals)
            raise NodeError(f"Template rendering failed: {type(exc).__name__}: {exc}",
                            "TemplateTransformError") from None
        limit = ctx.limits.template_max_length
        if len(text) > limit:
            raise NodeError(f"Output length exceeds {limit} characters", "TemplateTransformError")
        return NodeResult(outputs={"output": text}, inputs=inputs)
