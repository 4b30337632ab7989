"""Parses Dify DSL text into a checked document with Dify's version rules and error messages."""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import yaml

from studio.core.entities import AppMode
from studio.core.errors import StudioError

CURRENT_DSL_VERSION = "0.5.0"
MAX_DSL_BYTES = 10 * 1024 * 1024
MAX_ALIAS_EXPANSION = 200_000  # values that YAML aliases may add beyond the file's own size (Dify writes none)
GRAPH_MODES = (AppMode.WORKFLOW, AppMode.ADVANCED_CHAT)


class DslError(StudioError):
    code = "invalid_dsl"


class ImportStatus(str, Enum):
    COMPLETED = "completed"
    COMPLETED_WITH_WARNINGS = "completed-with-warnings"
    PENDING = "pending"  # needs the user's confirmation (GUI) or --force (CLI)
    FAILED = "failed"


@dataclass
class DslDocument:
    data: dict[str, Any]
    mode: AppMode
    version: str
    status: ImportStatus
    warnings: list[str] = field(default_factory=list)

    @property
    def app(self) -> dict[str, Any]:
        return self.data.get("app") or {}


def _version_tuple(version: str) -> tuple[int, int, int] | None:
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version.strip())
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def version_status(imported: str, current: str = CURRENT_DSL_VERSION) -> ImportStatus:
    """Dify's rule: newer or older-major needs confirmation, older-minor imports with a warning."""
    got, cur = _version_tuple(imported), _version_tuple(current)
    if got is None:
        return ImportStatus.FAILED
    if got > cur or got[0] < cur[0]:
        return ImportStatus.PENDING
    if got[1] < cur[1]:
        return ImportStatus.COMPLETED_WITH_WARNINGS
    return ImportStatus.COMPLETED


def _load_yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DslError(f"Invalid YAML format{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise DslError(f"Invalid YAML format: {exc}") from None
    except RecursionError:
        raise DslError("Invalid YAML format: the document is nested too deeply") from None


def _check_values(data: Any, budget: int) -> None:
    """Make the loaded YAML plain JSON data, or raise DslError: dates and times become ISO text (YAML reads an
    unquoted 2024-01-01 as a date), while sets, binary values and NaN or infinite numbers are refused (they cannot
    be stored or exported). Also refuses documents whose aliases expand to more than `budget` values: a few
    kilobytes can stand for billions of values ("billion laughs") or for a cycle; PyYAML shares the objects, but
    storing the app as JSON, or any walk over it, would expand them. Stops as soon as the budget is spent."""
    stack: list[tuple[Any, Any, Any]] = [(data, None, None)]
    while stack:
        budget -= 1
        if budget < 0:
            raise DslError("Invalid YAML format: its aliases (*name) expand to far more data than the file holds, "
                           "or refer to themselves; write the values out instead")
        item, parent, key = stack.pop()
        if isinstance(item, dict):
            budget -= len(item)  # the keys
            for k, v in item.items():
                if not isinstance(k, (str, int, float, bool)) and k is not None:
                    raise DslError(f"Invalid YAML format: a mapping key is {type(k).__name__} ({k!r:.40}); keys "
                                   "must be text")
                stack.append((v, item, k))
        elif isinstance(item, list):
            stack.extend((v, item, n) for n, v in enumerate(item))
        elif isinstance(item, (datetime.date, datetime.time)):
            parent[key] = item.isoformat()
        elif isinstance(item, float) and not math.isfinite(item):
            raise DslError(f"Invalid YAML format: {key!s:.40} is {item!r}, which is not a number JSON can hold")
        elif not isinstance(item, (str, int, float, bool)) and item is not None:
            raise DslError(f"Invalid YAML format: {key!s:.40} is a YAML {type(item).__name__} value (a tag such as "
                           "!!set or !!binary); use text, numbers, lists and mappings")


def parse(text: str | bytes) -> DslDocument:
    """Check a DSL text the way Dify's importer does; raises DslError naming the problem."""
    if isinstance(text, bytes):
        if len(text) > MAX_DSL_BYTES:
            raise DslError("File size exceeds the limit of 10MB")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise DslError("The file is not UTF-8 text") from None
    if len(text.encode("utf-8")) > MAX_DSL_BYTES:
        raise DslError("File size exceeds the limit of 10MB")
    if not text.strip():
        raise DslError("Empty content: the DSL file has no text")
    data = _load_yaml(text)
    if not isinstance(data, dict):
        raise DslError("Invalid YAML format: content must be a mapping")
    _check_values(data, len(text) + MAX_ALIAS_EXPANSION)
    warnings = []
    if data.get("kind") not in (None, "app"):
        raise DslError(f"Unsupported kind {data.get('kind')!r}: only 'app' DSL files can be imported")
    data.setdefault("kind", "app")
    version = data.get("version") or "0.1.0"
    if not isinstance(version, str):
        raise DslError(f"Invalid version type, expected str, got {type(version).__name__} ({version!r}); "
                       "quote the version, e.g. version: '0.5.0'")
    data["version"] = version
    status = version_status(version)
    if status == ImportStatus.FAILED:
        raise DslError(f"Invalid version {version!r}: expected MAJOR.MINOR.PATCH")
    if status == ImportStatus.COMPLETED_WITH_WARNINGS:
        warnings.append(f"DSL version {version} is older than {CURRENT_DSL_VERSION}; some fields may be ignored")
    elif status == ImportStatus.PENDING:
        warnings.append(f"DSL version {version} differs from the supported {CURRENT_DSL_VERSION} in a way that may "
                        "not import correctly")
    app = data.get("app")
    if not app or not isinstance(app, dict):
        raise DslError("Missing app data in YAML content")
    raw_mode = app.get("mode")
    if not raw_mode:
        raise DslError("Missing app.mode: the DSL must say which kind of app it is")
    try:
        mode = AppMode(raw_mode)
    except ValueError:
        raise DslError(f"Unknown app.mode {raw_mode!r}") from None
    if mode in GRAPH_MODES and not isinstance(data.get("workflow"), dict):
        raise DslError("Missing workflow data for workflow/advanced chat app")
    if mode not in GRAPH_MODES and not isinstance(data.get("model_config"), dict):
        raise DslError("Missing model_config for chat/agent-chat/completion app")
    dependencies = data.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise DslError(f"Invalid dependencies: expected a list, got {type(dependencies).__name__}")
    for dep in dependencies:
        value = dep.get("value") if isinstance(dep, dict) else None
        ident = (value.get("marketplace_plugin_unique_identifier") if isinstance(value, dict) else None) or dep
        warnings.append(f"Plugin dependency kept but not installed: {ident}")
    return DslDocument(data=data, mode=mode, version=version, status=status, warnings=warnings)
