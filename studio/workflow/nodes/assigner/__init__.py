"""Variable assigner (v1 write modes and v2 operations) on conversation and loop variables."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from studio.workflow.node import Node, NodeConfig, NodeError, NodeResult, RunContext, Selector, register

OPERATIONS = ("over-write", "clear", "append", "extend", "set", "+=", "-=", "*=", "/=", "remove-first", "remove-last")


class Item(BaseModel):
    model_config = ConfigDict(extra="ignore")

    variable_selector: list[str]
    input_type: Literal["variable", "constant"] = "variable"
    operation: Literal[OPERATIONS]  # type: ignore[valid-type]
    value: Any = None


class AssignerConfig(NodeConfig):
    # v1
    assigned_variable_selector: list[str] | None = None
    write_mode: Literal["over-write", "append", "clear"] | None = None
    input_variable_selector: list[str] | None = None
    # v2
    items: list[Item] | None = None


def _fail(message: str) -> NodeError:
    return NodeError(message, "VariableOperatorNodeError")


def _empty_like(current: Any) -> Any:
    if isinstance(current, bool):
        return False
    if isinstance(current, (int, float)):
        return 0
    return type(current)() if isinstance(current, (str, list, dict)) else None


def apply(operation: str, current: Any, value: Any, constant: bool) -> Any:
    if operation == "over-write":
        return value
    if operation == "clear":
        return _empty_like(current)
    if operation in ("set", "+=", "-=", "*=", "/=") and not constant:
        raise _fail(f"Operation {operation!r} takes a constant value")
    if operation == "set":
        if not isinstance(current, (dict, str, int, float, bool)) and current is not None:
            raise _fail("'set' works on objects, strings, numbers and booleans")
        return value
    if operation in ("+=", "-=", "*=", "/="):
        numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (current, value))
        if not numbers:
            raise _fail(f"Operation {operation!r} needs numbers")
        if operation == "/=" and value == 0:
            raise _fail("Division by zero")
        return {"+=": current + value, "-=": current - value, "*=": current * value,
                "/=": current / value if operation == "/=" else None}[operation]
    if not isinstance(current, list):
        raise _fail(f"Operation {operation!r} works on arrays only")
    if operation == "append":
        return [*current, value]
    if operation == "extend":
        if not isinstance(value, list):
            raise _fail("'extend' needs an array value")
        return [*current, *value]
    return current[1:] if operation == "remove-first" else current[:-1]


@register
class AssignerNode(Node):
    type = "assigner"
    inline = True
    Config = AssignerConfig

    def references(self) -> list[Selector]:
        c = self.config
        refs = [s for s in (c.assigned_variable_selector, c.input_variable_selector) if s]
        for item in c.items or []:
            refs.append(item.variable_selector)
            if item.input_type == "variable" and isinstance(item.value, list) and item.value:
                refs.append(item.value)
        return refs

    def writes(self) -> list[Selector]:
        c = self.config
        return [i.variable_selector for i in c.items or []] or (
            [c.assigned_variable_selector] if c.assigned_variable_selector else [])

    def _changes(self, ctx: RunContext) -> list[tuple[list[str], str, Any, bool]]:
        c = self.config
        if c.items is not None:
            return [(i.variable_selector, i.operation,
                     ctx.pool.get_or(i.value) if i.input_type == "variable" and isinstance(i.value, list) else i.value,
                     i.input_type == "constant") for i in c.items]
        if not c.assigned_variable_selector:
            raise _fail("No variable to assign")
        value = ctx.pool.get_or(c.input_variable_selector) if c.input_variable_selector else None
        return [(c.assigned_variable_selector, c.write_mode or "over-write", value, False)]

    def run(self, ctx: RunContext) -> NodeResult:
        updated = []
        for selector, operation, value, constant in self._changes(ctx):
            if len(selector) < 2:
                raise _fail(f"Invalid variable selector {selector}")
            current = ctx.pool.get_or(selector[:2])
            new = apply(operation, current, value, constant)
            ctx.pool.set(selector[0], selector[1], new)
            updated.append({"selector": selector[:2], "operation": operation, "value": new})
        return NodeResult(outputs={}, process_data={"__updated_variables": updated})
