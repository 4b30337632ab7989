"""List-operator node: filter, extract the n-th item, order and limit an array of strings, numbers, booleans or
files (in that order); outputs result, first_record and last_record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from studio.core.files import is_file
from studio.workflow.node import Node, NodeConfig, NodeError, NodeResult, RunContext, Selector, register
from studio.workflow.variables import VariableNotFoundError, VariablePool

Filter = Callable[[Any], bool]
STRING_KEYS = ("name", "extension", "mime_type", "url")
SEQUENCE_KEYS = ("type", "transfer_method")


class FilterCondition(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str = ""
    comparison_operator: Literal["contains", "start with", "end with", "is", "in", "empty", "not contains",
                                 "is not", "not in", "not empty", "=", "≠", "<", ">", "≥", "≤"] = "contains"
    value: str | bool | list[str] = ""


class FilterBy(BaseModel):
    model_config = ConfigDict(extra="ignore")

    enabled: bool = False
    conditions: list[FilterCondition] = Field(default_factory=list)


class OrderBy(BaseModel):
    model_config = ConfigDict(extra="ignore")

    enabled: bool = False
    key: str = ""
    value: Literal["asc", "desc"] = "asc"


class Limit(BaseModel):
    model_config = ConfigDict(extra="ignore")

    enabled: bool = False
    size: int = -1


class ExtractBy(BaseModel):
    model_config = ConfigDict(extra="ignore")

    enabled: bool = False
    serial: str = "1"


class ListOperatorConfig(NodeConfig):
    variable: list[str] = Field(default_factory=list)
    filter_by: FilterBy = Field(default_factory=FilterBy)
    extract_by: ExtractBy = Field(default_factory=ExtractBy)
    order_by: OrderBy = Field(default_factory=OrderBy)
    limit: Limit = Field(default_factory=Limit)


def _fail(message: str, error_type: str = "ListOperatorError") -> NodeError:
    return NodeError(message, error_type)


def kind_of(items: list[Any]) -> str:
    """string | number | boolean | file, as Dify's array segment types; anything else is unsupported."""
    for kind, test in (("boolean", lambda v: isinstance(v, bool)),
                       ("number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
                       ("string", lambda v: isinstance(v, str)), ("file", is_file)):
        if all(test(v) for v in items):
            return kind
    raise _fail("The variable is not an array of strings, numbers, booleans or files")


def _string_filter(op: str, value: Any) -> Filter:
    tests: dict[str, Filter] = {
        "contains": lambda x: value in x, "start with": lambda x: x.startswith(value),
        "end with": lambda x: x.endswith(value), "is": lambda x: x == value, "in": lambda x: x in value,
        "empty": lambda x: x == "", "not contains": lambda x: value not in x, "is not": lambda x: x != value,
        "not in": lambda x: x not in value, "not empty": lambda x: x != "",
    }
    if op not in tests:
        raise _fail(f"Invalid condition: {op}", "InvalidConditionError")
    return tests[op]


def _number_filter(op: str, value: float) -> Filter:
    tests: dict[str, Filter] = {"=": lambda x: x == value, "≠": lambda x: x != value, "<": lambda x: x < value,
                                "≤": lambda x: x <= value, ">": lambda x: x > value, "≥": lambda x: x >= value}
    if op not in tests:
        raise _fail(f"Invalid condition: {op}", "InvalidConditionError")
    return tests[op]


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise _fail(f"Invalid filter value: {text!r} is not a number", "InvalidFilterValueError") from None


def _file_attr(file: dict[str, Any], key: str) -> Any:
    if key == "size":
        return file.get("size") or 0
    if key in STRING_KEYS or key in SEQUENCE_KEYS:
        return file.get(key) or ""
    raise _fail(f"Invalid key: {key}", "InvalidKeyError")


def _filter(kind: str, cond: FilterCondition, pool: VariablePool) -> Filter:
    value = pool.render(cond.value) if isinstance(cond.value, str) else cond.value
    op = cond.comparison_operator
    if kind == "boolean":
        if not isinstance(cond.value, bool) or op not in ("is", "is not"):
            raise _fail(f"Boolean filter expects is / is not and a boolean value, got {op} {cond.value!r}",
                        "InvalidFilterValueError")
        return (lambda x: x == value) if op == "is" else (lambda x: x != value)
    if kind in ("string", "number") and not isinstance(cond.value, str):
        raise _fail(f"Invalid filter value: {cond.value}", "InvalidFilterValueError")
    if kind == "string":
        return _string_filter(op, value)
    if kind == "number":
        return _number_filter(op, _number(value))
    if cond.key in STRING_KEYS and isinstance(value, str):
        test = _string_filter(op, value)
    elif cond.key in SEQUENCE_KEYS and op in ("in", "not in"):
        test = _string_filter(op, value)
    elif cond.key == "size" and isinstance(value, str):
        test = _number_filter(op, _number(value))
    else:
        raise _fail(f"Invalid key: {cond.key}", "InvalidKeyError")
    return lambda f: test(_file_attr(f, cond.key))


@register
class ListOperatorNode(Node):
    type = "list-operator"
    Config = ListOperatorConfig

    def references(self) -> list[Selector]:
        return [self.config.variable] if self.config.variable else []

    def run(self, ctx: RunContext) -> NodeResult:
        c = self.config
        try:
            items = ctx.pool.get(c.variable)
        except VariableNotFoundError:
            raise _fail(f"Variable not found for selector: {c.variable}") from None
        if not items:
            return NodeResult(outputs={"result": [], "first_record": None, "last_record": None},
                              inputs={"variable": []}, process_data={"variable": []})
        if not isinstance(items, list):
            raise _fail(f"Variable {c.variable} is not an array type")
        kind = kind_of(items)
        inputs = {"variable": items}
        if c.filter_by.enabled:
            for cond in c.filter_by.conditions:
                test = _filter(kind, cond, ctx.pool)
                items = [x for x in items if test(x)]
        if c.extract_by.enabled:
            items = [self._extract(items, ctx.pool)]
        if c.order_by.enabled:
            items = self._order(kind, items)
        if c.limit.enabled:
            items = items[:c.limit.size]
        outputs = {"result": items, "first_record": items[0] if items else None,
                   "last_record": items[-1] if items else None}
        return NodeResult(outputs=outputs, inputs=inputs, process_data=dict(inputs))

    def _extract(self, items: Sequence[Any], pool: VariablePool) -> Any:
        text = pool.render(self.config.extract_by.serial)
        try:
            serial = int(text)
        except ValueError:
            raise _fail(f"Invalid serial index: {text!r}", "InvalidKeyError") from None
        if serial < 1:
            raise _fail(f"Invalid serial index: must be >= 1, got {serial}", "InvalidKeyError")
        if serial > len(items):
            raise _fail(f"Invalid serial index: must be <= {len(items)}, got {serial}", "InvalidKeyError")
        return items[serial - 1]

    def _order(self, kind: str, items: list[Any]) -> list[Any]:
        reverse = self.config.order_by.value == "desc"
        if kind != "file":
            return sorted(items, reverse=reverse)
        key = self.config.order_by.key
        if key not in STRING_KEYS + SEQUENCE_KEYS + ("size",):
            raise _fail(f"Invalid order key: {key}", "InvalidKeyError")
        return sorted(items, key=lambda f: _file_attr(f, key), reverse=reverse)
