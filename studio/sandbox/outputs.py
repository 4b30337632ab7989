"""Dify's code-node output checks: declared types, CODE_MAX_* limits, nesting depth, and Dify's error texts."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from studio.core.code import CodeLimits, CodeOutput


class OutputError(Exception):
    """A result that breaks the node's declarations or limits; `error_type` is Dify's exception class name."""

    def __init__(self, message: str, error_type: str = "OutputValidationError") -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type


def check_outputs(result: dict[str, Any], schema: dict[str, CodeOutput] | None, limits: CodeLimits) -> dict:
    """Validate (and, like Dify, lightly clean) what `main()` returned; raise OutputError on the first problem."""
    return _Checker(limits).transform(result, schema, "", 1)


class _Checker:
    def __init__(self, limits: CodeLimits) -> None:
        self.lim = limits

    def transform(self, result: dict, schema: dict[str, CodeOutput] | None, prefix: str, depth: int) -> dict:
        if depth > self.lim.max_depth:
            raise OutputError(f"Depth limit {self.lim.max_depth} reached, object too deep.", "DepthLimitError")
        if schema is None:
            return {key: self.untyped(value, _join(prefix, key), depth) for key, value in result.items()}
        out: dict[str, Any] = {}
        for name, decl in schema.items():
            path = _join(prefix, name)
            if name not in result:
                raise OutputError(f"Output {path} is missing.")
            out[name] = self.typed(result[name], decl, path, depth)
        extra = [k for k in result if k not in schema]
        if extra:
            raise OutputError("Not all output parameters are validated. Undeclared: "
                              + ", ".join(f"`{_join(prefix, k)}`" for k in extra[:10]), "CodeNodeError")
        return out

    def typed(self, value: Any, decl: CodeOutput, path: str, depth: int) -> Any:
        kind = decl.type
        if value is None:
            return None
        if kind == "string":
            return self.string(value, path)
        if kind == "number":
            return self.number(value, path)
        if kind == "boolean":
            return self.boolean(value, path)
        if kind == "object":
            if not isinstance(value, dict):
                raise OutputError(f"Output {path} is not an object, got {type(value)} instead.")
            return self.transform(value, decl.children, path, depth + 1)
        if kind.startswith("array[") and kind.endswith("]"):
            return self.array(value, kind[6:-1], decl, path, depth)
        raise OutputError(f"Output type {kind} is not supported.")

    def array(self, value: Any, item: str, decl: CodeOutput, path: str, depth: int) -> list:
        if not isinstance(value, list):
            raise OutputError(f"Output {path} is not an array, got {type(value)} instead.")
        cap = {"string": self.lim.max_string_array_length, "object": self.lim.max_object_array_length}.get(
            item, self.lim.max_number_array_length)
        if len(value) > cap:
            raise OutputError(f"The length of output variable `{path}` must be less than {cap} elements.")
        if item == "object":
            for i, v in enumerate(value):
                if v is not None and not isinstance(v, dict):
                    raise OutputError(f"Output {path}[{i}] is not an object, got {type(v)} instead at index {i}.")
            return [None if v is None else self.transform(v, decl.children, f"{path}[{i}]", depth + 1)
                    for i, v in enumerate(value)]
        check = {"string": self.string, "number": self.number, "boolean": self.boolean}.get(item)
        if check is None:
            raise OutputError(f"Output type array[{item}] is not supported.")
        return [None if v is None else check(v, f"{path}[{i}]") for i, v in enumerate(value)]

    def untyped(self, value: Any, path: str, depth: int) -> Any:
        """Without declarations each value is checked by its own type, as Dify does."""
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return self.number(value, path)
        if isinstance(value, str):
            return self.string(value, path)
        if isinstance(value, dict):
            return self.transform(value, None, path, depth + 1)
        if isinstance(value, list):
            if depth + 1 > self.lim.max_depth and any(isinstance(v, (dict, list)) for v in value):
                raise OutputError(f"Depth limit {self.lim.max_depth} reached, object too deep.", "DepthLimitError")
            kinds = {type(v) for v in value if v is not None}
            if len(kinds) > 1 and not kinds <= {int, float}:
                raise OutputError(f"Output {path} is not a valid array. make sure all elements are of the same type.")
            return [self.untyped(v, f"{path}[{i}]", depth + 1 if isinstance(v, list) else depth)
                    for i, v in enumerate(value)]
        raise OutputError(f"Output {path} is not a valid type.")

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise OutputError(f"Output variable `{path}` must be a string")
        if len(value) > self.lim.max_string_length:
            raise OutputError(f"The length of output variable `{path}` must be less than "
                              f"{self.lim.max_string_length} characters")
        return value.replace("\x00", "")

    def number(self, value: Any, path: str) -> int | float:
        if not isinstance(value, (int, float)):
            raise OutputError(f"Output variable `{path}` must be a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise OutputError(f"Output variable `{path}` must be a finite number, got {value}")
        if value > self.lim.max_number or value < self.lim.min_number:
            raise OutputError(f"Output variable `{path}` is out of range, it must be between "
                              f"{self.lim.min_number} and {self.lim.max_number}.")
        if isinstance(value, float):
            exponent = Decimal(str(value)).normalize().as_tuple().exponent
            if isinstance(exponent, int) and -exponent > self.lim.max_precision:
                raise OutputError(f"Output variable `{path}` has too high precision, it must be less than "
                                  f"{self.lim.max_precision} digits.")
        return value

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise OutputError(f"Output variable `{path}` must be a boolean")
        return value


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
