"""Dify's 21 comparison operators and and/or condition groups (if-else, loop break, list filters)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from studio.workflow.node import NodeError
from studio.workflow.variables import VariableNotFoundError, VariablePool

OPERATORS = ("contains", "not contains", "start with", "end with", "is", "is not", "empty", "not empty", "in",
             "not in", "all of", "=", "≠", ">", "<", "≥", "≤", "null", "not null", "exists", "not exists")


class SubCondition(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str = ""
    comparison_operator: str
    value: Any = None


class SubConditions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    logical_operator: Literal["and", "or"] = "and"
    conditions: list[SubCondition] = Field(default_factory=list)


class Condition(BaseModel):
    model_config = ConfigDict(extra="ignore")

    variable_selector: list[str]
    comparison_operator: Literal[OPERATORS]  # type: ignore[valid-type]
    value: Any = None
    varType: str = ""
    sub_variable_condition: SubConditions | None = None


def _bad(message: str) -> NodeError:
    return NodeError(message, "ConditionError")


def _text(value: Any, kinds: tuple[type, ...], what: str) -> bool:
    if not isinstance(value, kinds):
        raise _bad(f"Invalid actual value type: {what}")
    return True


def _as_number_like(value: Any, expected: Any) -> Any:
    try:
        if isinstance(value, bool):
            return bool(expected)
        return int(expected) if isinstance(value, int) else float(expected)
    except (TypeError, ValueError):
        raise _bad(f"Cannot compare {value!r} with {expected!r}: not a number") from None


def _numeric(value: Any, expected: Any, cmp: Callable[[Any, Any], bool], allow_bool: bool) -> bool:
    if value is None:
        return False
    kinds = (int, float, bool) if allow_bool else (int, float)
    if not isinstance(value, kinds) or (isinstance(value, bool) and not allow_bool):
        raise _bad("Invalid actual value type: number" + (" or boolean" if allow_bool else ""))
    return cmp(value, _as_number_like(value, expected))


def _contains(value: Any, expected: Any) -> bool:
    return bool(value) and _text(value, (str, list), "string or array") and expected in value


def _in(value: Any, expected: Any) -> bool:
    if not isinstance(expected, list):
        raise _bad("Invalid expected value type: array")
    return value in expected


EVALUATORS: dict[str, Callable[[Any, Any], bool]] = {
    "contains": _contains,
    "not contains": lambda v, e: not v or (_text(v, (str, list), "string or array") and e not in v),
    "start with": lambda v, e: bool(v) and _text(v, (str,), "string") and v.startswith(e),
    "end with": lambda v, e: bool(v) and _text(v, (str,), "string") and v.endswith(e),
    "is": lambda v, e: v is not None and _text(v, (str, bool), "string or boolean") and v == e,
    "is not": lambda v, e: v is not None and _text(v, (str, bool), "string or boolean") and v != e,
    "empty": lambda v, e: not v,
    "not empty": lambda v, e: bool(v),
    "=": lambda v, e: _numeric(v, e, lambda a, b: a == b, True),
    "≠": lambda v, e: _numeric(v, e, lambda a, b: a != b, True),
    ">": lambda v, e: _numeric(v, e, lambda a, b: a > b, False),
    "<": lambda v, e: _numeric(v, e, lambda a, b: a < b, False),
    "≥": lambda v, e: _numeric(v, e, lambda a, b: a >= b, False),
    "≤": lambda v, e: _numeric(v, e, lambda a, b: a <= b, False),
    "null": lambda v, e: v is None,
    "not null": lambda v, e: v is not None,
    "in": lambda v, e: bool(v) and _in(v, e),
    "not in": lambda v, e: not v or not _in(v, e),
    "all of": lambda v, e: bool(v) and isinstance(e, list) and all(x in v for x in e),
    "exists": lambda v, e: v is not None,
    "not exists": lambda v, e: v is None,
}


def evaluate(operator: str, value: Any, expected: Any) -> bool:
    try:
        return EVALUATORS[operator](value, expected)
    except KeyError:
        raise _bad(f"Unsupported operator: {operator}") from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, (int, bool)):
        return bool(value)
    if isinstance(value, str):
        try:
            loaded = json.loads(value)
        except ValueError:
            loaded = None
        if isinstance(loaded, (int, bool)):
            return bool(loaded)
    raise _bad(f"Expected a boolean, got {value!r}")


def _files(files: list, sub: SubConditions) -> bool:
    results = []
    for cond in sub.conditions:
        values = [f.get(cond.key) if isinstance(f, dict) else None for f in files]
        expected = cond.value
        if cond.key == "extension":
            expected = expected if not expected or str(expected).startswith(".") else f".{expected}"
            values = [v if not v or str(v).startswith(".") else f".{v}" for v in values]
        each = [evaluate(cond.comparison_operator, v, expected) for v in values]
        results.append(all(each) if "not" in cond.comparison_operator else any(each))
    return all(results) if sub.logical_operator == "and" else any(results)


def check(pool: VariablePool, condition: Condition) -> tuple[bool, dict[str, Any]]:
    """Evaluate one condition; a missing variable fails the node, as in Dify."""
    try:
        actual = pool.get(condition.variable_selector)
    except VariableNotFoundError:
        raise _bad(f"Variable {condition.variable_selector} not found") from None
    op, expected = condition.comparison_operator, condition.value
    is_file_list = isinstance(actual, list) and actual and all(isinstance(f, dict) and "transfer_method" in f
                                                                 for f in actual)
    if is_file_list and op in ("contains", "not contains", "all of"):
        if condition.sub_variable_condition is None:
            raise _bad("Sub variable is required")
        return _files(actual, condition.sub_variable_condition), {"actual_value": actual, "comparison_operator": op}
    if op in ("exists", "not exists"):
        return evaluate(op, actual, None), {"actual_value": actual, "comparison_operator": op}
    if isinstance(expected, str):
        expected = pool.render(expected)
    if expected is not None and (isinstance(actual, bool) or (isinstance(actual, list) and actual
                                                              and all(isinstance(x, bool) for x in actual))):
        expected = [_to_bool(x) for x in expected] if isinstance(expected, list) else _to_bool(expected)
    record = {"actual_value": actual, "expected_value": expected, "comparison_operator": op}
    return evaluate(op, actual, expected), record


def check_all(pool: VariablePool, conditions: Sequence[Condition], logical: str) -> tuple[bool, list[dict]]:
    """And/or over conditions with short-circuit evaluation."""
    records = []
    for cond in conditions:
        ok, record = check(pool, cond)
        records.append(record)
        if logical == "and" and not ok:
            return False, records
        if logical == "or" and ok:
            return True, records
    return logical == "and", records
