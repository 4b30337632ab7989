"""Dify's manual metadata filter: conditions on a document's metadata, joined by `and` / `or`."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from studio.core.errors import ValidationError

OPERATORS = ("contains", "not contains", "start with", "end with", "is", "=", "is not", "≠", "empty", "not empty",
             "before", "<", "after", ">", "≤", "<=", "≥", ">=", "in", "not in")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
        return float(str(value).strip())
    except (ValueError, OverflowError):  # 10**400 has no float
        pass
    try:
        when = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()  # dates without a zone: UTC


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if op in ("empty", "not empty"):
        is_empty = actual is None or actual == "" or actual == [] or actual == {}
        return is_empty if op == "empty" else not is_empty
    if actual is None:
        return op in ("not contains", "is not", "≠", "not in")
    text, want = str(actual), "" if expected is None else str(expected)
    if op == "contains":
        return want in text
    if op == "not contains":
        return want not in text
    if op == "start with":
        return text.startswith(want)
    if op == "end with":
        return text.endswith(want)
    if op in ("is", "="):
        a, b = _number(actual), _number(expected)
        return a == b if a is not None and b is not None and op == "=" else text == want
    if op in ("is not", "≠"):
        return not _compare(actual, "is" if op == "is not" else "=", expected)
    if op in ("in", "not in"):
        options = [o.strip() for o in (expected if isinstance(expected, list) else want.split(","))]
        return (text in options) == (op == "in")
    a, b = _number(actual), _number(expected)
    if a is None or b is None:
        return False
    return {"before": a < b, "<": a < b, "after": a > b, ">": a > b, "≤": a <= b, "<=": a <= b,
            "≥": a >= b, ">=": a >= b}[op]


def check_conditions(conditions: dict[str, Any] | None) -> tuple[str, list[dict[str, Any]]]:
    """Validate Dify's `metadata_filtering_conditions`; returns (logical_operator, conditions)."""
    if not conditions:
        return "and", []
    if not isinstance(conditions, dict):
        raise ValidationError("metadata filtering conditions must be an object")
    logical = str(conditions.get("logical_operator") or "and").lower()
    if logical not in ("and", "or"):
        raise ValidationError(f"logical_operator must be 'and' or 'or', got {logical!r}")
    items = conditions.get("conditions") or []
    for item in items:
        if not isinstance(item, dict) or not item.get("name"):
            raise ValidationError("each metadata condition needs a name")
        if item.get("comparison_operator") not in OPERATORS:
            raise ValidationError(f"unknown metadata comparison operator {item.get('comparison_operator')!r}; "
                                  f"use one of: {', '.join(OPERATORS)}")
    return logical, list(items)


def matches(metadata: dict[str, Any], conditions: dict[str, Any] | None) -> bool:
    logical, items = check_conditions(conditions)
    if not items:
        return True
    results = (_compare(metadata.get(c["name"]), c["comparison_operator"], c.get("value")) for c in items)
    return all(results) if logical == "and" else any(results)
