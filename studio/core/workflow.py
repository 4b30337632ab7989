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


@dataclass(frozen=True, slots=True)
class ContainerNext:
    """An iteration starts its next item, or a loop its next round (Dify `iteration_next` / `loop_next`).
    The container's own NodeStarted/NodeFinished are Dify's `*_started` / `*_completed`."""

    node_id: str
    node_type: str  # "iteration" or "loop"
    title: str
    index: int  # 0-based item index, or the number of the round about to run
    output: Any = None  # loop: the loop's outputs so far (Dify `pre_loop_output`)
    parent_id: str | None = None


WorkflowEvent = (WorkflowStarted | NodeStarted | NodeRetry | NodeFinished | ContainerNext | WorkflowText
                 | WorkflowFinished)


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
    user: str = ""  # the API's end user (Dify `created_by_end_user_session_id`)


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


# -- ports for the knowledge-retrieval and tool nodes (implemented by the knowledge engine and the plugins) ---

@dataclass(frozen=True)
class RetrievalRequest:
    """What a knowledge-retrieval node asks for; the reranking and metadata mappings are the DSL's own."""

    dataset_ids: tuple[str, ...]
    query: str
    mode: str = "multiple"  # "single": `model` picks one dataset; "multiple": search all, then rerank
    top_k: int = 4
    score_threshold: float | None = None
    reranking: dict[str, Any] = field(default_factory=dict)  # reranking_enable/_mode/_model, weights
    model: dict[str, Any] | None = None  # single mode's router model
    metadata_filter: dict[str, Any] | None = None  # metadata_filtering_mode and _conditions


class KnowledgePort(Protocol):
    """How the knowledge-retrieval node reaches knowledge bases."""

    def missing(self, dataset_ids: Sequence[str]) -> list[str]:
        """The ids that name no knowledge base."""
        ...

    def retrieve(self, request: RetrievalRequest, cancel: CancelToken) -> list[dict[str, Any]]:
        """Dify's result items: {content, title, metadata{_source, dataset_id, dataset_name, document_id,
        document_name, segment_id, score, ...}}, best first."""
        ...


@dataclass(frozen=True)
class ToolCall:
    provider_type: str  # builtin | plugin | api | workflow | mcp | ...
    provider_id: str
    provider_name: str
    tool_name: str
    configurations: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    credential_id: str | None = None


@dataclass(frozen=True)
class ToolMessage:
    """One message a tool yields: text, link, json, file (a core.files value) or variable (`name` = value)."""

    kind: str
    value: Any
    name: str = ""


class ToolPort(Protocol):
    """How the tool node reaches tools (built-in, plugin, API and workflow tools)."""

    def has_tool(self, provider_type: str, provider_id: str, tool_name: str) -> bool: ...

    def invoke(self, call: ToolCall, cancel: CancelToken) -> Iterator[ToolMessage]:
        """Run the tool; raise a StudioError with a readable message when it fails."""
        ...
