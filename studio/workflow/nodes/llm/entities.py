"""Config pieces the LLM-based nodes share (Dify's ModelConfig, MemoryConfig, prompt messages, context)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ModelConfig(BaseModel):
    """A model reference as the DSL writes it; the WorkflowLLM port resolves it to a runtime."""

    model_config = ConfigDict(extra="allow")

    provider: str = ""
    name: str = ""
    mode: Literal["chat", "completion"] = "chat"
    completion_params: dict[str, Any] = Field(default_factory=dict)


class RolePrefix(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user: str = "Human"
    assistant: str = "Assistant"


class WindowConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    enabled: bool = False
    size: int | None = Field(None, ge=0)


class MemoryConfig(BaseModel):
    """Chatflow memory: how many earlier turns to show and how the current query is phrased."""

    model_config = ConfigDict(extra="ignore")

    role_prefix: RolePrefix | None = None
    window: WindowConfig = Field(default_factory=WindowConfig)
    query_prompt_template: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant"] = "user"
    text: str = ""
    edition_type: Literal["basic", "jinja2"] | None = "basic"
    jinja2_text: str | None = None


class CompletionTemplate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = ""
    edition_type: Literal["basic", "jinja2"] | None = "basic"
    jinja2_text: str | None = None


class Jinja2Variable(BaseModel):
    model_config = ConfigDict(extra="ignore")

    variable: str
    value_selector: list[str] = Field(default_factory=list)


class PromptConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    jinja2_variables: list[Jinja2Variable] = Field(default_factory=list)


class ContextConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    enabled: bool = False
    variable_selector: list[str] | None = None


def window_size(memory: MemoryConfig | None) -> int | None:
    """How many (query, answer) pairs memory keeps; None keeps them all."""
    if memory is None or not memory.window.enabled:
        return None
    return memory.window.size
