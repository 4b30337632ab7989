"""Code node: `main(**inputs)` in Python or JavaScript, run by the sandbox engine through ctx.code (never in-process);
outputs are the declared keys, checked by type and Dify's CODE_MAX_* limits."""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from studio.core.code import CodeLanguage, CodeOutput, CodeRequest, CodeResult
from studio.core.files import is_file
from studio.workflow.node import Node, NodeConfig, NodeError, NodeResult, RunContext, Selector, register

log = logging.getLogger(__name__)


class CodeVariable(BaseModel):
    model_config = ConfigDict(extra="ignore")

    variable: str
    value_selector: list[str] = Field(default_factory=list)
    value_type: str | None = None


class OutputDecl(BaseModel):
    """`outputs: {name: {type, children}}`; lenient, because Dify's editor adds keys of its own."""

    model_config = ConfigDict(extra="ignore")

    type: str
    children: dict[str, OutputDecl] | None = None

    def to_core(self) -> CodeOutput:
        children = {k: v.to_core() for k, v in self.children.items()} if self.children else None
        return CodeOutput(type=self.type, children=children)


class CodeConfig(NodeConfig):
    code_language: Literal["python3", "javascript"] = "python3"
    code: str = ""
    variables: list[CodeVariable] = Field(default_factory=list)
    outputs: dict[str, OutputDecl] = Field(default_factory=dict)
    dependencies: list[Any] | None = None  # legacy; the sandbox has a fixed set of modules


def trace(result: CodeResult) -> dict[str, Any]:
    """What a run's trace shows: captured output, time, memory, and the limit that stopped it."""
    data: dict[str, Any] = {
        "stdout": result.stdout, "stderr": result.stderr, "stdout_truncated": result.stdout_truncated,
        "duration_ms": round(result.duration_ms, 3), "cpu_ms": round(result.cpu_ms, 3),
        "peak_memory_kb": result.peak_memory_kb, "exit_code": result.exit_code, "isolation": list(result.layers),
    }
    if result.limit is not None:
        data["limit"] = result.limit.value
    return data


@register
class CodeNode(Node):
    type = "code"
    Config = CodeConfig

    def references(self) -> list[Selector]:
        return [v.value_selector for v in self.config.variables if v.value_selector]

    def _inputs(self, ctx: RunContext) -> dict[str, Any]:
        inputs = {}
        for var in self.config.variables:
            value = ctx.pool.get_or(var.value_selector) if var.value_selector else None
            if isinstance(value, list) and value and all(is_file(v) for v in value):
                value = [dict(v) for v in value]
            inputs[var.variable] = value
        return inputs

    def request(self, ctx: RunContext) -> CodeRequest:
        # As in Dify, only declared outputs come back (no declarations: no outputs).
        outputs = {name: decl.to_core() for name, decl in self.config.outputs.items()}
        return CodeRequest(language=CodeLanguage(self.config.code_language), code=self.config.code,
                           inputs=self._inputs(ctx), outputs=outputs)

    def run(self, ctx: RunContext) -> NodeResult:
        if ctx.code is None:
            raise NodeError("Code execution is not available", "CodeExecutionError")
        request = self.request(ctx)
        result: CodeResult = ctx.code.run(request)
        process_data = trace(result)
        metadata = {"code": {"language": request.language.value, "duration_ms": process_data["duration_ms"],
                             "peak_memory_kb": result.peak_memory_kb, "limit": process_data.get("limit")}}
        if not result.ok:
            log.info("code node %s failed: %s", self.id, result.error)
            partial = NodeResult(outputs={}, inputs=request.inputs, process_data=process_data, metadata=metadata)
            raise NodeError(result.error or "Code execution failed", result.error_type or "CodeExecutionError",
                            partial=partial)
        return NodeResult(outputs=dict(result.outputs), inputs=request.inputs, process_data=process_data,
                          metadata=metadata)
