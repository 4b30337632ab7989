"""Parameter extractor node: a model turns text into typed parameters, forced into shape by a JSON-schema grammar,
then checked and converted as Dify does (__is_success, __reason, __usage)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from studio.workflow.node import Node, NodeConfig, NodeResult, RunContext, Selector, register
from studio.workflow.nodes.llm import invoke, prompts
from studio.workflow.nodes.llm.entities import MemoryConfig, ModelConfig
from studio.workflow.variables import selectors_in, to_text

TYPES = ("string", "number", "boolean", "array[string]", "array[number]", "array[object]", "array[boolean]")
LEGACY_TYPES = {"bool": "boolean", "select": "string"}
RESERVED = {"__reason", "__is_success", "__usage"}
FUNCTION_NAME = "extract_parameters"

SYSTEM_PROMPT = (
    "You extract parameters from the user's text. Reply with one JSON object that follows this JSON schema:\n"
    "{schema}\n"
    "Take each value from the text. Use null for an optional parameter the text does not give.{instruction}"
    "{histories}"
)


class Parameter(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    type: str
    options: list[str] | None = None
    description: str = ""
    required: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value:
            raise ValueError("a parameter needs a name")
        if value in RESERVED:
            raise ValueError(f"{value} is reserved for the node's own outputs")
        return value

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> str:
        value = LEGACY_TYPES.get(value, value)
        if value not in TYPES:
            raise ValueError(f"type {value!r} is not one of {', '.join(TYPES)}")
        return value


class ParameterExtractorConfig(NodeConfig):
    model: ModelConfig
    query: list[str]
    parameters: list[Parameter] = Field(default_factory=list)
    instruction: str | None = ""
    memory: MemoryConfig | None = None
    reasoning_mode: Literal["function_call", "prompt"] = "function_call"
    vision: dict[str, Any] | None = None  # accepted and kept; local models here read no images

    @field_validator("reasoning_mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> str:
        return value or "function_call"


def _value_schema(p: Parameter) -> dict[str, Any]:
    if p.type.startswith("array["):
        return {"type": "array", "items": {"type": p.type[6:-1]}}
    schema: dict[str, Any] = {"type": p.type}
    if p.type == "string" and p.options:
        schema["enum"] = list(p.options)
    return schema


def parameter_schema(params: list[Parameter]) -> dict[str, Any]:
    """Dify's get_parameter_json_schema: what the prompt shows the model."""
    schema: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for p in params:
        schema["properties"][p.name] = {"description": p.description, **_value_schema(p)}
        if p.required:
            schema["required"].append(p.name)
    return schema


def grammar_schema(params: list[Parameter]) -> dict[str, Any]:
    """What the grammar enforces: every key, in order, with its type; optional ones may be null."""
    props = {}
    for p in params:
        value = _value_schema(p)
        props[p.name] = value if p.required else {"anyOf": [value, {"type": "null"}]}
    return {"type": "object", "properties": props, "required": [p.name for p in params],
            "additionalProperties": False}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _valid(kind: str, v: Any) -> bool:
    if kind.startswith("array["):
        return isinstance(v, list) and all(_valid(kind[6:-1], item) for item in v)
    checks = {"string": lambda x: isinstance(x, str), "number": _is_number,
              "boolean": lambda x: isinstance(x, bool), "object": lambda x: isinstance(x, dict)}
    return checks[kind](v)


def _kind_of(v: Any) -> str:
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(v), type(v).__name__)


def validate(params: list[Parameter], result: dict[str, Any]) -> str | None:
    """The first problem with the model's answer, as Dify words it, or None."""
    for p in params:
        value = result.get(p.name)
        if value is None:
            if p.required:
                return f"Parameter {p.name} is required"
            continue
        if not _valid(p.type, value):
            return (f"Invalid value for parameter {p.name}: expected {p.type}, got {_kind_of(value)} "
                    f"{json.dumps(value, ensure_ascii=False)[:100]}")
        if p.type == "string" and p.options and value not in p.options:
            return f"Invalid `select` value for parameter {p.name}"
    return None


def to_number(v: Any) -> int | float | None:
    if isinstance(v, bool):
        return int(v)
    if _is_number(v):
        return v
    if isinstance(v, str):
        try:
            return float(v) if "." in v else int(v)
        except ValueError:
            return None
    return None


def _convert(kind: str, v: Any) -> Any:
    """A value of `kind`, or None when it cannot become one (Dify's _transform_result, per value)."""
    if kind == "number":
        return to_number(v)
    if kind == "boolean":
        return bool(v) if isinstance(v, (bool, int)) else None
    if kind == "string":
        return v if isinstance(v, str) else None
    if kind == "object":
        return v if isinstance(v, dict) else None
    if not isinstance(v, list):
        return None
    inner = kind[6:-1]
    converted = [_convert(inner, item) for item in v]
    if inner == "boolean":  # Dify keeps only real booleans inside arrays
        converted = [item if isinstance(raw, bool) else None for item, raw in zip(converted, v)]
    return [item for item in converted if item is not None]


DEFAULTS = {"string": "", "number": 0, "boolean": False}


def transform(params: list[Parameter], result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in params:
        value = _convert(p.type, result[p.name]) if result.get(p.name) is not None else None
        out[p.name] = value if value is not None else ([] if p.type.startswith("array[") else DEFAULTS[p.type])
    return out


@register
class ParameterExtractorNode(Node):
    type = "parameter-extractor"
    Config = ParameterExtractorConfig

    def references(self) -> list[Selector]:
        cfg: ParameterExtractorConfig = self.config
        return [cfg.query, *selectors_in(cfg.instruction or "")]

    def run(self, ctx: RunContext) -> NodeResult:
        cfg: ParameterExtractorConfig = self.config
        query = to_text(ctx.pool.get_or(cfg.query, ""))
        shown = parameter_schema(cfg.parameters)
        instruction = prompts.render(ctx.pool, cfg.instruction or "").strip()
        system = SYSTEM_PROMPT.format(
            schema=json.dumps(shown, ensure_ascii=False),
            instruction=f"\n\nFollow these instructions:\n{instruction}" if instruction else "",
            histories=prompts.memory_block(ctx, cfg.memory))
        turns = prompts.instruction_turns(cfg.model.mode, system, f"Text:\n{query}")
        function_call = cfg.reasoning_mode == "function_call"
        process = {"model_mode": cfg.model.mode, "prompts": prompts.prompts_for_trace(turns),
                   "reasoning_mode": cfg.reasoning_mode,
                   "function": {"name": FUNCTION_NAME, "description": "Extract parameters from the natural "
                                "language text", "parameters": shown} if function_call else {},
                   "model_provider": cfg.model.provider, "model_name": cfg.model.name}
        inputs = {"query": query, "parameters": [p.model_dump() for p in cfg.parameters],
                  "instruction": cfg.instruction or ""}
        done = invoke.complete(ctx, cfg.model.model_dump(), turns, json_schema=grammar_schema(cfg.parameters))
        process.update(usage=done.usage, llm_text=done.text, finish_reason=done.finish_reason)
        values, error = self._read(done.text)
        outputs = {"__is_success": 0 if error else 1, "__reason": error, "__usage": done.usage, **values}
        return NodeResult(outputs=outputs, inputs=inputs, process_data=process, tokens=done.total_tokens,
                          metadata=done.metadata)

    def _read(self, text: str) -> tuple[dict[str, Any], str | None]:
        params = self.config.parameters
        result = invoke.parse_json_object(invoke.ThinkSplitter.strip(text))
        if result is None:
            return transform(params, {}), ("Failed to extract result from function call or text response, "
                                           "using empty result.")
        return transform(params, result), validate(params, result)
