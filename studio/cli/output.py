"""Shared CLI output helpers: JSON for scripts, aligned tables for people."""

from __future__ import annotations

import json
import sys
from typing import Any

from studio.core.errors import ValidationError


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def print_table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)] if rows else [len(h) for h in headers]
    for line in [headers, *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip())


def parse_pairs(pairs: list[str] | None) -> dict[str, str]:
    """`--input k=v` pairs into a dict; a pair without '=' is a clear error."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValidationError(f"--input {pair!r} must look like name=value")
        out[key] = value
    return out
