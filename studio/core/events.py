"""Events that a chat or completion run yields to whoever drives it (Qt bridge, CLI, HTTP stream)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from studio.core.entities import Message


@dataclass(frozen=True, slots=True)
class MessageStarted:
    conversation_id: str
    message_id: str
    model_id: str


@dataclass(frozen=True, slots=True)
class TextChunk:
    text: str


@dataclass(frozen=True, slots=True)
class MessageFinished:
    """The final record; its status says whether it ended normally, was stopped, or failed."""

    message: Message
    dropped_turns: int = 0
    finish_reason: str = ""  # as the model reported it: stop | length | cancelled ("" when it never finished)

    @property
    def tokens_per_second(self) -> float:
        gen_ms = self.message.latency_ms - self.message.first_token_ms
        if self.message.answer_tokens <= 1 or gen_ms <= 0:
            return 0.0
        return (self.message.answer_tokens - 1) / (gen_ms / 1000.0)


@dataclass(frozen=True, slots=True)
class AgentThought:
    """One step of an agent answer, as stored and as Dify's `agent_thought` event carries it: `tool` names the
    tool called ("" for the step that answers), `tool_input` and `observation` are JSON text keyed by that tool
    name (Dify's shape), `tool_labels` maps the tool name to its labels."""

    id: str
    message_id: str
    position: int  # 1-based
    thought: str = ""
    tool: str = ""
    tool_input: str = ""
    observation: str = ""
    tool_labels: dict[str, Any] = field(default_factory=dict)
    message_files: list[str] = field(default_factory=list)
    tokens: int = 0
    created_at: datetime | None = None

    def input_value(self) -> Any:
        """What the tool was given, without Dify's tool-name key (the text itself when it is not such JSON)."""
        return _unkeyed(self.tool_input, self.tool)

    def observation_value(self) -> Any:
        """What the tool answered, without Dify's tool-name key."""
        return _unkeyed(self.observation, self.tool)


def _unkeyed(text: str, tool: str) -> Any:
    try:
        value = json.loads(text) if text else ""
    except ValueError:
        return text
    return value[tool] if isinstance(value, dict) and tool in value else value


ChatEvent = MessageStarted | TextChunk | AgentThought | MessageFinished
