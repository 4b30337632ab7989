"""What a built-in tool is: its Dify identity, the parameters it declares, and the checks run before it runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.workflow import ToolMessage

PARAMETER_TYPES = ("string", "number", "boolean", "select")
MAX_MODEL_STRING = 200  # what a model may write into one string parameter
# One JSON string character without raw control characters: llama.cpp's own string rule lets a small model write
# raw newlines, which no JSON parser accepts, so the step would be lost.
JSON_CHAR = r'([^"\\\x00-\x1f]|\\(["\\/bfnrt]|u[0-9a-fA-F]{4}))'


class ToolError(StudioError):
    """A tool could not run with what it was given; the message says why in the user's terms."""


@dataclass(frozen=True)
class ToolParameter:
    """One parameter, as Dify declares it: `form` "llm" is filled by the model, "form" is set in the app."""

    name: str
    type: str = "string"  # one of PARAMETER_TYPES
    required: bool = False
    description: str = ""
    form: str = "llm"
    default: Any = None
    options: tuple[str, ...] = ()  # the allowed values of a select
    pattern: str = ""  # a regex (no anchors) the model's text must match, e.g. arithmetic only; "" any text

    def coerce(self, value: Any) -> Any:
        """The value in this parameter's type; a ToolError names the parameter when it cannot be."""
        if self.type == "number":
            return _number(self.name, value)
        if self.type == "boolean":
            return _boolean(self.name, value)
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if self.type == "select" and self.options and text not in self.options:
            raise ToolError(f"{self.name} must be one of {', '.join(self.options)}, not {text!r}")
        return text

    def json_schema(self) -> dict[str, Any]:
        """How the model may fill it (a grammar-friendly JSON schema)."""
        if self.type == "number":
            return {"type": "number"}
        if self.type == "boolean":
            return {"type": "boolean"}
        if self.type == "select" and self.options:
            return {"enum": list(self.options)}
        pattern = self.pattern or f"{JSON_CHAR}{{{1 if self.required else 0},{MAX_MODEL_STRING}}}"
        return {"type": "string", "pattern": f"^{pattern}$"}


Runner = Callable[[dict[str, Any]], Iterator[ToolMessage]]


@dataclass(frozen=True)
class Tool:
    """A built-in tool. `run` gets every declared parameter, already checked, defaults filled in."""

    provider: str  # Dify's provider id, e.g. "time"
    name: str  # Dify's tool name, e.g. "current_time"
    label: str
    description: str  # what the model is told (Dify's `description.llm`)
    run: Runner
    parameters: tuple[ToolParameter, ...] = ()
    provider_label: str = ""
    tags: tuple[str, ...] = field(default=())
    # (a user's request, the model-filled input that answers it): shown to an agent's model, one per tool, so a small
    # model sees which request goes with which tool instead of copying the first tool it is shown
    example: tuple[str, dict[str, Any]] | None = None

    def model_parameters(self) -> tuple[ToolParameter, ...]:
        """The parameters the model fills (Dify's `form: llm`); the rest come from the app's settings."""
        return tuple(p for p in self.parameters if p.form == "llm")

    def input_schema(self) -> dict[str, Any]:
        params = self.model_parameters()
        return {"type": "object", "properties": {p.name: p.json_schema() for p in params},
                "required": [p.name for p in params if p.required], "additionalProperties": False}

    def prepare(self, values: dict[str, Any]) -> dict[str, Any]:
        """Declared parameters only, coerced, with defaults; a missing required one is a ToolError."""
        clean: dict[str, Any] = {}
        for p in self.parameters:
            value = values.get(p.name)
            if value is None or value == "":
                if p.required:
                    raise ToolError(f"{self.name} needs the parameter {p.name}")
                clean[p.name] = p.default
                continue
            clean[p.name] = p.coerce(value)
        return clean

    def invoke(self, values: dict[str, Any], cancel: CancelToken | None = None) -> Iterator[ToolMessage]:
        """Check the parameters, then run; stops between messages when cancelled."""
        params = self.prepare(values)
        for message in self.run(params):
            if cancel is not None and cancel.cancelled:
                return
            yield message


def text(value: str) -> ToolMessage:
    return ToolMessage("text", value)


def _number(name: str, value: Any) -> int | float:
    if isinstance(value, bool):
        raise ToolError(f"{name} must be a number, not {value!r}")
    if isinstance(value, (int, float)):
        return value
    try:
        raw = str(value).strip()
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    except ValueError:
        raise ToolError(f"{name} must be a number, not {value!r}") from None


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("true", "1", "yes", "on"):
        return True
    if word in ("false", "0", "no", "off"):
        return False
    raise ToolError(f"{name} must be true or false, not {value!r}")
