"""Dify's easy-UI `model_config`: defaults, a typed view for validation, prompt templating and input checks."""

from __future__ import annotations

import copy
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError as PydanticError, field_validator

from studio.core.entities import AppMode, GenerationParams
from studio.core.errors import ValidationError

LOCAL_PROVIDER = "llamacpp"
VARIABLE_RE = re.compile(r"^(?!\d)[\u4e00-\u9fa5A-Za-z0-9_\U0001F300-\U0001F64F\U0001F680-\U0001F6FF]{1,100}$")
TEMPLATE_RE = re.compile(r"\{\{([a-zA-Z_][a-zA-Z0-9_]{0,29}|#histories#|#query#|#context#)\}\}")
INPUT_TYPES = ("text-input", "paragraph", "select", "number")


class InputField(BaseModel):
    """One entry of `user_input_form`; Dify stores it as `{<type>: {...}}`."""

    model_config = ConfigDict(extra="allow")

    type: Literal["text-input", "paragraph", "select", "number"]
    variable: str
    label: str = ""
    required: bool = True
    max_length: int | None = None
    options: list[str] = Field(default_factory=list)
    default: Any = None

    @field_validator("variable")
    @classmethod
    def _name(cls, v: str) -> str:
        if not VARIABLE_RE.match(v):
            raise ValueError(f"{v!r} is not a valid variable name (letters, digits and _, not starting with a digit)")
        return v

    def to_dify(self) -> dict[str, Any]:
        body = self.model_dump(exclude={"type"}, exclude_none=True)
        return {self.type: body}


class CompletionParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(1.0, ge=0.0, le=1.0)
    max_tokens: int = Field(512, ge=1, le=32768)
    stop: list[str] = Field(default_factory=list, max_length=4)


class ModelRef(BaseModel):
    model_config = ConfigDict(extra="allow")

    provider: str = LOCAL_PROVIDER
    name: str = ""  # empty: the default chat model
    mode: str = "chat"
    completion_params: CompletionParams = Field(default_factory=CompletionParams)


class MemoryWindow(BaseModel):
    model_config = ConfigDict(extra="allow")

    enabled: bool = True
    size: int = Field(10, ge=1, le=200)


class Memory(BaseModel):
    model_config = ConfigDict(extra="allow")

    window: MemoryWindow = Field(default_factory=MemoryWindow)


class EasyConfig(BaseModel):
    """The fields Studio uses; everything else in the dict is kept untouched for round trips."""

    model_config = ConfigDict(extra="allow")

    pre_prompt: str = ""
    user_input_form: list[dict[str, dict[str, Any]]] = Field(default_factory=list)
    opening_statement: str = ""
    suggested_questions: list[str] = Field(default_factory=list)
    model: ModelRef = Field(default_factory=ModelRef)
    memory: Memory = Field(default_factory=Memory)
    # Dify's feature blocks: Studio reads some and keeps the rest, but each must be a mapping (or absent/null)
    chat_prompt_config: dict[str, Any] | None = None
    completion_prompt_config: dict[str, Any] | None = None
    suggested_questions_after_answer: dict[str, Any] | None = None
    speech_to_text: dict[str, Any] | None = None
    text_to_speech: dict[str, Any] | None = None
    retriever_resource: dict[str, Any] | None = None
    more_like_this: dict[str, Any] | None = None
    sensitive_word_avoidance: dict[str, Any] | None = None
    agent_mode: dict[str, Any] | None = None
    dataset_configs: dict[str, Any] | None = None
    file_upload: dict[str, Any] | None = None

    def inputs(self) -> list[InputField]:
        fields = []
        for i, item in enumerate(self.user_input_form):
            if not isinstance(item, dict) or len(item) != 1:
                raise ValidationError(f"user_input_form[{i}] must be a mapping with one key (the input type)")
            (kind, body), = item.items()
            if kind not in INPUT_TYPES:
                continue  # other Dify input kinds (files, checkbox…) are kept but not asked for here
            try:
                fields.append(InputField(type=kind, **body))
            except PydanticError as exc:
                raise ValidationError(f"user_input_form[{i}] ({body.get('variable', '?')}): {_first(exc)}") from exc
        return fields

    def generation_params(self) -> GenerationParams:
        p = self.model.completion_params
        return GenerationParams(temperature=p.temperature, top_p=p.top_p, max_tokens=p.max_tokens, stop=tuple(p.stop))


def _first(exc: PydanticError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(x) for x in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


def default_config(mode: AppMode, prompt: str = "") -> dict[str, Any]:
    """A fresh `model_config` with Dify's defaults for the keys Studio does not edit."""
    config: dict[str, Any] = {
        "pre_prompt": prompt,
        "prompt_type": "simple",
        "chat_prompt_config": {},
        "completion_prompt_config": {},
        "user_input_form": [],
        "dataset_query_variable": "",
        "opening_statement": "",
        "suggested_questions": [],
        "suggested_questions_after_answer": {"enabled": False},
        "speech_to_text": {"enabled": False},
        "text_to_speech": {"enabled": False, "voice": "", "language": ""},
        "retriever_resource": {"enabled": True},
        "more_like_this": {"enabled": False},
        "sensitive_word_avoidance": {"enabled": False, "type": "", "configs": []},
        "agent_mode": {"enabled": False, "strategy": None, "tools": [], "prompt": None},
        "dataset_configs": {"retrieval_model": "multiple"},
        "file_upload": {"image": {"enabled": False, "number_limits": 3, "detail": "high",
                                  "transfer_methods": ["remote_url", "local_file"]}},
        "model": ModelRef().model_dump(),
        "memory": Memory().model_dump(),
    }
    if mode == AppMode.COMPLETION:
        for key in ("opening_statement", "suggested_questions", "retriever_resource", "memory"):
            config.pop(key)
    if mode == AppMode.AGENT_CHAT:  # what Dify gives a new agent: function calling, no tools yet
        config["agent_mode"] = {"enabled": True, "strategy": "function_call", "tools": [], "max_iteration": 5,
                                "prompt": None}
    return config


def parse_config(config: dict[str, Any]) -> EasyConfig:
    """Validate a `model_config` dict, naming the first bad field; unknown keys pass through."""
    try:
        parsed = EasyConfig.model_validate(config)
    except PydanticError as exc:
        raise ValidationError(f"Invalid app configuration: {_first(exc)}") from exc
    names = [f.variable for f in parsed.inputs()]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValidationError(f"Input variable {dupes[0]!r} is defined more than once")
    return parsed


def normalise_config(config: dict[str, Any]) -> dict[str, Any]:
    """Return the validated config with defaults filled in and unknown keys preserved."""
    parsed = parse_config(config)
    merged = copy.deepcopy(config)
    merged.update(parsed.model_dump(include={"model", "memory"} & set(config) | {"model"}))
    return merged


def validate_inputs(fields: list[InputField], inputs: dict[str, Any]) -> dict[str, Any]:
    """Dify's run-time input rules; the error names the field."""
    clean: dict[str, Any] = {}
    for f in fields:
        value = inputs.get(f.variable)
        if value is None or value == "":
            if f.required:
                raise ValidationError(f"{f.label or f.variable} is required in input form")
            clean[f.variable] = f.default if f.default is not None else ""
            continue
        if f.type == "number":
            clean[f.variable] = _number(f, value)
            continue
        if not isinstance(value, str):
            raise ValidationError(f"{f.label or f.variable} in input form must be a string")
        if f.type == "select" and f.options and value not in f.options:
            raise ValidationError(f"{f.label or f.variable} in input form must be one of: {', '.join(f.options)}")
        if f.type != "select" and f.max_length and len(value) > f.max_length:
            raise ValidationError(
                f"{f.label or f.variable} in input form must be at most {f.max_length} characters (got {len(value)})"
            )
        clean[f.variable] = value
    return clean


def _number(f: InputField, value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValidationError(f"{f.label or f.variable} in input form must be a number")
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value) if "." in str(value) else int(str(value).strip())
    except ValueError:
        raise ValidationError(f"{f.label or f.variable} in input form must be a number, not {value!r}") from None


def render_template(template: str, inputs: dict[str, Any]) -> str:
    """Fill `{{var}}` slots like Dify's PromptTemplateParser: unknown slots stay as written,
    and `{{x}}` inside a substituted value is escaped so it is not filled again."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key.startswith("#") or key not in inputs:
            return match.group(0) if not key.startswith("#") else ""
        value = str(inputs[key])
        value = re.sub(r"<\|.*?\|>", "", value)
        return re.sub(r"\{\{([a-zA-Z_][a-zA-Z0-9_]{0,29})\}\}", r"{\1}", value)

    return TEMPLATE_RE.sub(fill, template)


def template_variables(template: str) -> list[str]:
    seen: list[str] = []
    for m in TEMPLATE_RE.finditer(template):
        if not m.group(1).startswith("#") and m.group(1) not in seen:
            seen.append(m.group(1))
    return seen


def start_inputs(variables: list[dict[str, Any]], inputs: dict[str, Any]) -> dict[str, Any]:
    """Validate a workflow Start node's inputs: Dify's rules for the form types, presence for the rest."""
    form = [{v["type"]: {k: x for k, x in v.items() if k != "type"}} for v in variables
            if isinstance(v, dict) and v.get("type") in INPUT_TYPES]
    fields = EasyConfig(user_input_form=form).inputs()
    clean = validate_inputs(fields, inputs)
    for v in variables:
        name = v.get("variable") if isinstance(v, dict) else None
        if not name or name in clean:
            continue
        value = inputs.get(name)
        if value is None and v.get("required"):
            raise ValidationError(f"{v.get('label') or name} is required in input form")
        clean[name] = value if value is not None else v.get("default")
    return clean
