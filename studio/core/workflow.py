"""Workflow run events and statuses, shared by the engine, the services, the run log, the UI and the API."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from studio.core.cancel import CancelToken
from studio.core.entities import ChatTurn, GenerationChunk


class RunStatus(str, Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"
    PARTIAL_SUCCEEDED = "partial-succeeded"


class NodeStatus(str, Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXCEPTION = "exception"  # failed, handled by the node's error strategy
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class WorkflowStarted:
    run_id: str
    inputs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NodeStarted:
    node_id: str
    node_type: str
    title: str
    index: int  # 1-based order of execution within the run
    predecessor_node_id: str | None = None
    parent_id: str | None = None  # the iteration or loop this node runs inside
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NodeRetry:
    node_id: str
    node_type: str
    title: str
    retry_index: int
    error: str


@dataclass(frozen=True, slots=True)
class NodeFinished:
    node_id: str
    node_type: str
    title: str
    index: int
    status: NodeStatus
    inputs: dict[str, Any]
    process_data: dict[str, Any]
    outputs: dict[str, Any]
    error: str = ""
    error_type: str = ""
    elapsed_s: float = 0.0
    tokens: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class WorkflowText:
    """Streamed text of an Answer (chatflow `message`) or End (workflow `text_chunk`) node."""

    text: str
    from_variable_selector: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WorkflowFinished:
    run_id: str
    status: RunStatus
    outputs: dict[str, Any]
    error: str = ""
    elapsed_s: float = 0.0
    total_tokens: int = 0
    total_steps: int = 0
    exceptions_count: int = 0
    conversation_variables: dict[str, Any] = field(default_factory=dict)  # their values after the run


WorkflowEvent = WorkflowStarted | NodeStarted | NodeRetry | NodeFinished | WorkflowText | WorkflowFinished


class WorkflowLLM(Protocol):
    """How LLM-based nodes reach a model: the services resolve the DSL's model reference to a runtime."""

    def stream(self, model: dict[str, Any], turns: Sequence[ChatTurn], cancel: CancelToken, *,
               json_schema: dict[str, Any] | None = None, stop: Sequence[str] = ()) -> Iterator[GenerationChunk]:
        """`model` is the node's `model` mapping (provider, name, mode, completion_params). Yields text
        chunks, then a final chunk with token counts. With json_schema the output is constrained to it."""
        ...


class WorkflowRun(BaseModel):
    """A stored run of a workflow or chatflow (the log the GUI, CLI and API read)."""

    model_config = ConfigDict(frozen=True)

    id: str
    app_id: str
    mode: str
    status: RunStatus
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    error: str = ""
    elapsed_ms: float = 0.0
    total_tokens: int = 0
    total_steps: int = 0
    exceptions_count: int = 0
    conversation_id: str | None = None
    message_id: str | None = None
    created_at: datetime
    finished_at: datetime | None = None


class NodeRun(BaseModel):
    """One node execution inside a stored run: the per-node trace."""

    model_config = ConfigDict(frozen=True)

    id: str
    run_id: str
    node_id: str
    node_type: str
    title: str
    index: int
    status: NodeStatus
    inputs: dict[str, Any] = Field(default_factory=dict)
    process_data: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    error: str = ""
    elapsed_ms: float = 0.0
    tokens: int = 0
    metadata: dict[str, Any] = Field(default_factory=dict)
    parent_id: str | None = None
    created_at: datetime
