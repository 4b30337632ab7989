"""Dify's `maths` provider: eval_expression, on a small arithmetic evaluator that walks the syntax tree (no eval).

Numbers, + - * / // % ** (and ^ as a power, the way people write it), parentheses, and a few functions and
constants from `math`. Results and powers are kept to sizes that cannot hang or exhaust the machine."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Iterator
from typing import Any

from studio.core.workflow import ToolMessage
from studio.tools.base import Tool, ToolError, ToolParameter, text

MAX_EXPRESSION_CHARS = 1000
MAX_EXPONENT = 10_000
MAX_INT_DIGITS = 4300  # Python's own int-to-text limit
MAX_DEPTH = 60
# What a model may write as an expression: it starts like one, then keeps to arithmetic.
EXPRESSION_PATTERN = r"[0-9a-zA-Z(-][0-9a-zA-Z+*/%^()., -]{0,199}"

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {name: getattr(math, name) for name in (
    "sqrt", "exp", "log", "log10", "log2", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh",
    "tanh", "floor", "ceil", "degrees", "radians", "factorial", "gcd", "hypot")}
_FUNCTIONS.update({"abs": abs, "round": round, "min": min, "max": max, "pow": pow, "ln": math.log})
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}
# Brackets of any kind group, and the signs people (and small models) write mean what they look like.
_LENIENT = str.maketrans({"^": "**", "×": "*", "÷": "/", "{": "(", "}": ")", "[": "(", "]": ")"})


def evaluate(expression: str) -> int | float:
    """The value of an arithmetic expression; a ToolError says what is wrong with it."""
    expression = expression.strip()
    if not expression:
        raise ToolError("The expression is empty")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"The expression is too long (over {MAX_EXPRESSION_CHARS} characters)")
    try:
        # `2^10` is a power here, as on a calculator (Python would read a bitwise xor)
        tree = ast.parse(expression.translate(_LENIENT), mode="eval")
    except SyntaxError:
        raise ToolError(f"Invalid expression: {expression}") from None
    try:
        return _value(tree.body, 0)
    except ZeroDivisionError:
        raise ToolError("Division by zero") from None
    except (OverflowError, ValueError, TypeError) as exc:
        raise ToolError(f"Cannot evaluate {expression}: {exc}") from None


def _value(node: ast.AST, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ToolError("The expression is nested too deeply")
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand, depth + 1))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left, depth + 1), _value(node.right, depth + 1)
        return _binary(node.op, left, right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        if node.keywords:
            raise ToolError(f"{node.func.id}() takes plain arguments only")
        args = [_value(a, depth + 1) for a in node.args]
        if node.func.id == "factorial" and args and isinstance(args[0], int) and args[0] > 1000:
            raise ToolError("factorial() is limited to numbers up to 1000")
        return _checked(_FUNCTIONS[node.func.id](*args))
    raise ToolError(f"Unsupported in an expression: {_describe(node)}")


def _binary(op: ast.operator, left: Any, right: Any) -> Any:
    if isinstance(op, ast.Pow):
        if abs(right) > MAX_EXPONENT and abs(left) not in (0, 1):
            raise ToolError(f"The exponent {right} is too large (the limit is {MAX_EXPONENT})")
        if isinstance(left, int) and isinstance(right, int) and right > 0 and \
                abs(left) > 1 and right * math.log10(abs(left)) > MAX_INT_DIGITS:
            raise ToolError(f"The result would have more than {MAX_INT_DIGITS} digits")
    return _checked(_BINARY[type(op)](left, right))


def _checked(value: Any) -> Any:
    if isinstance(value, complex):
        raise ToolError("The result is not a real number")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_DIGITS * 3.33:
        raise ToolError(f"The result would have more than {MAX_INT_DIGITS} digits")
    return value


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return f"the name {node.id!r}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return f"the function {node.func.id}()"
    if isinstance(node, ast.Constant):
        return f"the value {node.value!r}"
    return type(node).__name__


def _format(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def eval_expression(params: dict[str, Any]) -> Iterator[ToolMessage]:
    expression = params["expression"].strip()
    yield text(f'The result of the expression "{expression}" is {_format(evaluate(expression))}')


TOOLS = (
    Tool("maths", "eval_expression", "Eval Math Expression",
         "A tool for calculating arithmetic and math expressions, such as 3 + 4, (2 + 3) * 4 or sqrt(16).",
         eval_expression, (
             # a model may only write arithmetic here: a small one otherwise fills it with prose
             ToolParameter("expression", "string", True, "Math Expression", pattern=EXPRESSION_PATTERN),
         ), provider_label="Maths", example=("How much is 15 + 27?", {"expression": "15 + 27"})),
)
