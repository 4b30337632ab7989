"""Pydantic's validation errors → one short sentence that names the field, without pydantic's wording or links."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

BODY_NOT_OBJECT = "request body must be a JSON object"
NOT_JSON = "The request body is not valid JSON"
PLACES = ("body", "query", "path", "form", "header", "cookie")
# Types a value "must be"; a union of them reads "must be a string or a list".
NOUNS = {
    "string_type": "a string", "list_type": "a list", "tuple_type": "a list", "set_type": "a list",
    "dict_type": "a JSON object", "model_type": "a JSON object", "model_attributes_type": "a JSON object",
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "bool_parsing": "true or false", "none_required": "null", "uuid_type": "a valid UUID",
    "uuid_parsing": "a valid UUID", "url_type": "a valid URL", "url_parsing": "a valid URL",
    "datetime_type": "a date and time (ISO 8601)", "datetime_parsing": "a date and time (ISO 8601)",
    "datetime_from_date_parsing": "a date and time (ISO 8601)", "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)", "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
}
BOUNDS = {
    "greater_than": "must be greater than {gt}", "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}", "less_than_equal": "must be at most {le}",
    "string_too_long": "must be at most {max_length} characters", 
    "too_long": "must have at most {max_length} items", "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}", "string_pattern_mismatch": "has an invalid format",
    "extra_forbidden": "is not allowed", "missing": "is required", "multiple_of": "must be a multiple of {multiple_of}",
}
_TAG = re.compile(r"[\[\-]|^(str|int|float|bool|list|dict|none|bytes)$")  # union members pydantic puts in `loc`


def field_of(error: dict[str, Any], prefix: str = "") -> str:
    """The dotted field an error is about ("retrieval_model.top_k"), without pydantic's union-member tags."""
    loc = list(error.get("loc") or ())
    if loc and loc[0] in PLACES:
        loc = loc[1:]
    parts = [str(p) for p in loc if not (isinstance(p, str) and _TAG.search(p))]
    return ".".join([prefix, *parts] if prefix else parts)


def _phrase(error: dict[str, Any]) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind in NOUNS:
        return f"must be {NOUNS[kind]}"
    if kind in ("string_too_short", "too_short"):
        size = ctx.get("min_length")
        unit = "characters" if kind == "string_too_short" else "items"
        return "must not be empty" if size == 1 else f"must have at least {size} {unit}"
    if kind in BOUNDS:
        try:
            return BOUNDS[kind].format(**ctx)
        except (KeyError, IndexError):
            pass
    if kind in ("value_error", "assertion_error") and ctx.get("error") is not None:
        return str(ctx["error"])
    return clean_text(str(error.get("msg") or "is not valid"))


def describe(errors: Sequence[dict[str, Any]], prefix: str = "") -> tuple[str, str]:
    """(field, message) for the first problem in `errors` (FastAPI's or pydantic's `.errors()`)."""
    if not errors:
        return prefix, f"{prefix or 'request body'} is not valid"
    first = errors[0]
    kind, field = first.get("type", ""), field_of(first, prefix)
    if kind == "json_invalid":
        return "", NOT_JSON
    if not field and (kind == "missing" or NOUNS.get(kind) == "a JSON object"):
        return "", BODY_NOT_OBJECT
    same = [e for e in errors if field_of(e, prefix) == field and e.get("type") in NOUNS]
    if len(same) > 1 and first.get("type") in NOUNS:  # a union: every member failed
        nouns = list(dict.fromkeys(NOUNS[e["type"]] for e in same))
        phrase = "must be " + " or ".join(nouns)
    else:
        phrase = _phrase(first)
    return field, f"{field or 'request body'} {phrase}"


def clean_text(text: str) -> str:
    """Pydantic's printed error ("1 validation error for X\\nfield\\n  Input should be … [type=…]\\n  For further
    information visit https://…") → "field should be …"; other text is returned without links or type tags."""
    lines = [ln for ln in text.splitlines() if ln.strip() and "errors.pydantic.dev" not in ln]
    head = re.compile(r"^(.*?)(\d+ validation errors? for \w+)$")
    if lines and head.match(lines[0]) and len(lines) >= 3:
        lead = head.match(lines[0]).group(1).strip()
        message = f"{lines[1].strip()} {_sentence(lines[2])}"
        return f"{lead} {message}" if lead else message
    return _sentence(" ".join(lines)) if lines else text


def _sentence(line: str) -> str:
    line = re.sub(r"\s*\[type=[^\]]*\]", "", line.strip())
    line = re.sub(r"https?://errors\.pydantic\.dev\S*", "", line)
    line = re.sub(r"^Value error, ", "", line)
    return re.sub(r"^Input should", "should", line).strip()
