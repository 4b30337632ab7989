"""Events that a chat or completion run yields to whoever drives it (Qt bridge, CLI, HTTP stream)."""

from __future__ import annotations

from dataclasses import dataclass

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


ChatEvent = MessageStarted | TextChunk | MessageFinished
