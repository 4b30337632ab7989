"""Text that can be stored: every string Studio keeps must encode as UTF-8. Python lets through lone UTF-16
surrogates (from JSON escapes such as "\\ud800", or undecodable bytes in command-line arguments), which fail only
later, when SQLite, a tokenizer or a log writes them."""

from __future__ import annotations

from typing import Any

from studio.core.errors import ValidationError


def lone_surrogate_at(value: Any, path: str = "") -> str | None:
    """The path (a.b[0].c) of the first string, key included, that is not encodable as UTF-8; None if all are."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if not _encodes(item):
                return where
        elif isinstance(item, dict):
            for key, inner in item.items():
                inner_path = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and not _encodes(key):
                    return inner_path.encode("utf-8", "backslashreplace").decode()
                stack.append((inner, inner_path))
        elif isinstance(item, (list, tuple)):
            stack.extend((inner, f"{where}[{i}]") for i, inner in enumerate(item))
    return None


def require_text(value: Any, what: str = "") -> None:
    """Raise a ValidationError naming the field (`what`, then the path inside `value`) whose string is not text.
    With no `what`, `value` is a mapping of field names."""
    where = lone_surrogate_at(value)
    if where is not None:
        if not what:
            name = where or "the text"
        else:
            name = f"{what}.{where}" if where and not where.startswith("[") else f"{what}{where}"
        raise ValidationError(f"{name} holds characters that are not valid Unicode (an unpaired surrogate such as "
                              "\\ud800, or bytes that are not UTF-8)")


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
