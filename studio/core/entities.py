"""Domain entities shared by every layer: apps, conversations, messages and models."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AppMode(str, Enum):
    CHAT = "chat"
    COMPLETION = "completion"
    AGENT_CHAT = "agent-chat"
    ADVANCED_CHAT = "advanced-chat"
    WORKFLOW = "workflow"


MODE_LABELS = {
    AppMode.CHAT: "Chatbot",
    AppMode.COMPLETION: "Text generator",
    AppMode.AGENT_CHAT: "Agent",
    AppMode.ADVANCED_CHAT: "Chatflow",
    AppMode.WORKFLOW: "Workflow",
}


def with_article(word: str) -> str:
    """'a chat', 'an advanced-chat': for messages that name an app's mode."""
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


class MessageStatus(str, Enum):
    RUNNING = "running"
    NORMAL = "normal"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"
    ERROR = "error"


class App(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    mode: AppMode
    icon: str = "🤖"
    icon_background: str = "#FFEAD5"
    description: str = ""
    config: dict[str, Any] = Field(default_factory=dict)  # Dify's `model_config`, unknown keys kept
    created_at: datetime
    updated_at: datetime


class Conversation(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    app_id: str
    name: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    user: str = ""
    created_at: datetime
    updated_at: datetime


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    conversation_id: str
    app_id: str
    query: str
    answer: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    status: MessageStatus
    error: str = ""
    message_tokens: int = 0
    answer_tokens: int = 0
    latency_ms: float = 0.0
    first_token_ms: float = 0.0
    model_id: str = ""
    retriever_resources: list[dict[str, Any]] = Field(default_factory=list)  # Dify's citation items
    created_at: datetime
    # The message before this one in its conversation (Studio's conversations are one thread); filled in by the
    # history page, None for the first message.
    parent_message_id: str | None = None


class ModelKind(str, Enum):
    CHAT = "chat"
    EMBEDDING = "embedding"
    RERANK = "rerank"  # a cross-encoder: its GGUF pools with llama.cpp's RANK (a classifier head), Dify's "rerank"


class ModelInfo(BaseModel):
    """A model Studio knows: its file and what its GGUF header says."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    path: str
    kind: ModelKind = ModelKind.CHAT
    source: str = "user"  # "bundled" (from a Python package) or "user" (added from disk)
    architecture: str = ""
    parameters: int = 0
    quantization: str = ""
    context_length: int = 0
    chat_template: str = ""
    size_bytes: int = 0
    error: str = ""  # set when the file is missing or unreadable


class ChatTurn(BaseModel):
    """One message of a prompt sent to a model."""

    model_config = ConfigDict(frozen=True)

    role: str  # system | user | assistant
    content: str


class GenerationParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 512
    stop: tuple[str, ...] = ()
    seed: int | None = None
    json_schema: dict[str, Any] | None = None  # constrain the output to this JSON schema (grammar)


class GenerationChunk(BaseModel):
    """A piece of streamed text; the last chunk of a generation carries the totals."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    done: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""  # stop | length | cancelled
    dropped_turns: int = 0  # history turns left out to fit the context window


class ApiKey(BaseModel):
    """A service API key as stored: never the token itself, only a hint to recognise it by."""

    model_config = ConfigDict(frozen=True)

    id: str
    app_id: str | None  # None for a knowledge (dataset) key
    scope: str  # "app" | "dataset"
    hint: str  # "app-…Wxyz": the prefix and the last four characters
    created_at: datetime
    last_used_at: datetime | None = None


class UploadedFile(BaseModel):
    """A file a client uploaded for later runs (Dify's UploadFile)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    size: int
    extension: str  # without the dot, like Dify: "pdf"
    mime_type: str
    user: str
    path: str  # absolute path on this machine
    created_at: datetime
