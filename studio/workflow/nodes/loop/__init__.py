"""Loop node: runs its inside round after round over loop variables until a break condition, a loop-end node or
the round limit; its outputs are the loop variables and `loop_round`."""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from studio.core.workflow import ContainerNext
from studio.workflow.conditions import Condition, check_all
from studio.workflow.containers import (
    ChildCancel, child_writes, inner_executor, run_round, stopped_error, sync_conversation,
)
from studio.workflow.node import Node, NodeConfig, NodeError, NodeResult, RunContext, Selector, register
from studio.workflow.variables import VariablePool

log = logging.getLogger(__name__)
_JSON_TYPES = ("number", "integer", "float", "boolean", "object", "array[string]", "array[number]",
               "array[object]", "array[boolean]")


class LoopVariable(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = ""
    label: str
    var_type: str = "string"
    value_type: Literal["constant", "variable"] = "constant"
    value: Any = None


class LoopConfig(NodeConfig):
    loop_count: int = Field(10, ge=0)
    break_conditions: list[Condition] = Field(default_factory=list)
    logical_operator: Literal["and", "or"] = "and"
    loop_variables: list[LoopVariable] | None = Field(default_factory=list)
    start_node_id: str = ""
    outputs: dict[str, Any] | None = None  # Dify keeps the last outputs here; Studio recomputes them
    error_handle_mode: str | None = None  # written by Dify's editor; a loop always stops on an error


def _fail(message: str) -> NodeError:
    return NodeError(message, "LoopNodeError")


def _matches(var_type: str, value: Any) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    checks = {"string": isinstance(value, str), "number": number, "integer": number, "float": number,
              "boolean": isinstance(value, bool), "object": isinstance(value, dict)}
    if var_type in checks:
        return checks[var_type]
    if not var_type.startswith("array") or not isinstance(value, list):
        return var_type not in _JSON_TYPES and not var_type.startswith("array")
    inner = var_type[6:-1]
    return inner in ("", "any", "file") or all(_matches(inner, v) for v in value)


def constant(var: LoopVariable) -> Any:
    """A constant loop variable, typed as Dify types it (DSL strings hold JSON for numbers, objects, arrays)."""
    value = var.value
    if var.var_type.startswith("array") and value in (None, ""):
        value = []
    if var.var_type in _JSON_TYPES and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _fail(f"Invalid value for loop variable {var.label}: {var.value!r} is not a {var.var_type}") from None
    if var.var_type == "string" and value is None:
        value = ""
    if not _matches(var.var_type, value):
        raise _fail(f"Invalid value for loop variable {var.label}: {var.value!r} is not a {var.var_type}")
    return value


@register
class LoopNode(Node):
    type = "loop"
    Config = LoopConfig
    kind = "container"
    children: list[Node] = []

    def references(self) -> list[Selector]:
        refs = [v.value for v in self.config.loop_variables or []
                if v.value_type == "variable" and isinstance(v.value, list) and v.value]
        return refs + [c.variable_selector for c in self.config.break_conditions]

    def writes(self) -> list[Selector]:
        return child_writes(self)

    def _init_variables(self, ctx: RunContext) -> dict[str, Any]:
        values = {}
        for var in self.config.loop_variables or []:
            if var.value_type == "variable":
                value = ctx.pool.get_or(var.value) if isinstance(var.value, list) else None
                if value is None:
                    raise _fail(f"Invalid value for loop variable {var.label}: {var.value} not found")
            else:
                value = constant(var)
            ctx.pool.set(self.id, var.label, value)
            values[var.label] = value
        return values

    def _should_break(self, pool: VariablePool, *, first: bool) -> bool:
        if not self.config.break_conditions:
            return False
        try:
            hit, _ = check_all(pool, self.config.break_conditions, self.config.logical_operator)
        except NodeError:
            if first:  # before the first round the inside's outputs do not exist yet (Dify ignores that)
                return False
            raise
        return hit

    def _current(self, ctx: RunContext, rounds: int) -> dict[str, Any]:
        labels = [v.label for v in self.config.loop_variables or []]
        return {**{label: ctx.pool.get_or([self.id, label]) for label in labels}, "loop_round": rounds}

    def run(self, ctx: RunContext) -> NodeResult:
        count = min(self.config.loop_count, ctx.limits.max_loop_count)
        inputs = {"loop_count": self.config.loop_count, **self._init_variables(ctx)}
        rounds, tokens, reason = 0, 0, "loop_completed"
        durations: dict[str, float] = {}
        variables: dict[str, dict[str, Any]] = {}
        if self._should_break(ctx.pool, first=True):
            count, reason = 0, "loop_break"
        with inner_executor(ctx, f"loop-{self.id}") as executor:
            for index in range(count):
                if ctx.cancel.cancelled:
                    raise stopped_error(ctx, self)
                outcome = run_round(self, ctx, ctx.pool.copy(), kind="loop", index=index,
                                    start_node_id=self.config.start_node_id, executor=executor,
                                    cancel=ChildCancel(ctx.cancel), sink=ctx.emit)
                tokens += outcome.tokens
                durations[str(index)] = round(outcome.elapsed_s, 6)
                if outcome.failed:
                    raise stopped_error(ctx, self) if ctx.cancel.cancelled else _fail(
                        outcome.error or f"Round {index + 1} failed")
                self._carry(ctx, outcome.pool)
                rounds = index + 1
                variables[str(index)] = {k: v for k, v in self._current(ctx, rounds).items() if k != "loop_round"}
                if outcome.reached_loop_end or self._should_break(outcome.pool, first=False):
                    reason = "loop_break"
                    break
                ctx.emit(ContainerNext(self.id, self.type, self.title, rounds, self._current(ctx, rounds),
                                       self.parent_id))
        metadata = {"loop_length": count, "total_tokens": tokens, "completed_reason": reason,
                    "loop_duration_map": durations, "loop_variable_map": variables}
        return NodeResult(outputs=self._current(ctx, rounds), inputs=inputs, tokens=tokens, metadata=metadata)

    def _carry(self, ctx: RunContext, pool: VariablePool) -> None:
        """After a round, its loop variables and conversation variables become the loop's."""
        for var in self.config.loop_variables or []:
            ctx.pool.set(self.id, var.label, pool.get_or([self.id, var.label]))
        sync_conversation(ctx.pool, pool)
