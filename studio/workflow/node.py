"""What every node type shares: its typed config, its result, the run context it gets, and the registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError as PydanticError

from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.workflow.variables import VariablePool

Selector = list[str]


class NodeError(StudioError):
    """A node failed; error_type is what Dify's `error_type` output carries."""

    code = "node_error"

    def __init__(self, message: str, error_type: str = "NodeError", *, partial: NodeResult | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.partial = partial  # inputs/process_data/metadata the failed node's trace still shows


class ConfigError(StudioError):
    code = "invalid_graph"


class RetryConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    max_retries: int = Field(0, ge=0, le=10)
    retry_interval: int = Field(0, ge=0, le=5000)  # milliseconds, as Dify stores it
    retry_enabled: bool = False


class DefaultValue(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str
    type: str = "string"
    value: Any = None


# Keys Dify's editor writes into node data that the engine never reads.
UI_KEYS = frozenset({
    "selected", "desc", "isInIteration", "isInLoop", "iteration_id", "loop_id", "_targetBranches", "_isSingleRun",
    "_runningStatus", "_connectedSourceHandleIds", "_connectedTargetHandleIds", "isIterationStart", "isLoopStart",
    "_children", "width", "height", "_isBundled", "_dimmed", "_singleRunningStatus", "_isCandidate", "_waitingRun",
    "_retryIndex", "_runningBranchId", "_iterationLength", "_loopLength", "_loopIndex", "_iterationIndex",
    "variables_validated", "selected_case_id", "default_value_validated", "provider_icon", "tool_description",
})


class NodeConfig(BaseModel):
    """Base of every node's config. Strict for what Studio writes; `parse(tolerant=True)` drops the extra
    keys Dify writes (they stay in the DSL untouched)."""

    model_config = ConfigDict(extra="forbid")

    type: str
    title: str = ""
    desc: str = ""
    version: str = "1"
    error_strategy: Literal["fail-branch", "default-value"] | None = None
    default_value: list[DefaultValue] = Field(default_factory=list)
    retry_config: RetryConfig = Field(default_factory=RetryConfig)

    @classmethod
    def parse(cls, data: dict[str, Any], *, tolerant: bool = True) -> NodeConfig:
        if tolerant:
            data = {k: v for k, v in data.items() if k in cls.model_fields}
        elif any(k in UI_KEYS for k in data):
            data = {k: v for k, v in data.items() if k not in UI_KEYS}
        return cls.model_validate(data)


@dataclass
class NodeResult:
    outputs: dict[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)
    process_data: dict[str, Any] = field(default_factory=dict)
    handle: str = "source"  # the out-edge handle a branch node selects
    tokens: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamChunk:
    """Part of an output variable that a node streams before it finishes (an LLM's `text`)."""

    name: str
    text: str


@dataclass
class WorkflowLimits:
    """Dify's defaults (WORKFLOW_MAX_EXECUTION_STEPS, _TIME, MAX_VARIABLE_SIZE, iteration/loop caps)."""

    max_steps: int = 500
    max_time_s: float = 1200.0
    max_variable_bytes: int = 200 * 1024
    max_workers: int = 10
    max_iterations: int = 1000
    max_loop_count: int = 100
    max_parallel: int = 10
    template_max_length: int = 400_000


@dataclass
class RunContext:
    """What a node may use while it runs. Engines reach models, code, knowledge and tools only through these.

    `extras` carries per-run data from the caller:
    - "inputs": the Start node's input values (set by WorkflowRunner.run).
    - "history": chatflow memory, a list of (query, answer) string pairs of the conversation's earlier turns,
      oldest first, without the current sys.query. The services fill it in "advanced-chat" mode; LLM,
      parameter-extractor and question-classifier nodes with `memory` read it (window.size keeps the last n
      pairs). Absent or empty means no history; workflow mode never uses it.
    """

    pool: VariablePool
    cancel: CancelToken
    limits: WorkflowLimits
    mode: str = "workflow"  # or "advanced-chat"
    llm: Any = None  # core.ports.WorkflowLLM
    code: Any = None  # core.ports.CodeExecutor
    knowledge: Any = None
    tools: Any = None
    files_dir: str = ""
    run_subgraph: Callable[..., Any] | None = None  # set by the engine for iteration and loop
    emit: Callable[[Any], None] | None = None  # set by the engine: events of nested graphs reach the run's stream
    extras: dict[str, Any] = field(default_factory=dict)


class Node(ABC):
    """A node instance in a graph. Subclasses set `type`, `Config`, and implement run()."""

    type: ClassVar[str] = ""
    Config: ClassVar[type[NodeConfig]] = NodeConfig
    kind: ClassVar[str] = "executable"  # executable | branch | response | container | root
    # Trivial in-memory nodes run on the engine's own thread: a thread hand-off costs more than the
    # node, and the GIL would serialise them anyway. Nodes that wait (models, HTTP, code) keep False.
    inline: ClassVar[bool] = False

    def __init__(self, node_id: str, config: NodeConfig, data: dict[str, Any], parent_id: str | None = None) -> None:
        self.id = node_id
        self.config = config
        self.data = data
        self.parent_id = parent_id

    @property
    def title(self) -> str:
        return self.config.title or self.type

    @property
    def is_branch(self) -> bool:
        return self.kind == "branch" or self.config.error_strategy == "fail-branch"

    def references(self) -> list[Selector]:
        """Every variable selector the node reads, for validation before the run."""
        return []

    @abstractmethod
    def run(self, ctx: RunContext) -> NodeResult | Iterator[StreamChunk | NodeResult]:
        """Return a result, or yield StreamChunks and finally the NodeResult. Raise NodeError on failure."""

    def writes(self) -> list[Selector]:
        """Variables outside its own outputs that the node changes (conversation and loop variables)."""
        return []

    def streams(self) -> Sequence[str]:
        """Output names this node may stream chunk by chunk."""
        return ()

    def response_segments(self, mode: str) -> list[str | tuple[str, ...]] | None:
        """For Answer/End nodes: the text and variable segments their output streams as, in order."""
        return None


REGISTRY: dict[str, type[Node]] = {}


def register(cls: type[Node]) -> type[Node]:
    REGISTRY[cls.type] = cls
    return cls


def config_error(node_id: str, title: str, exc: PydanticError) -> ConfigError:
    err = exc.errors()[0]
    where = ".".join(str(x) for x in err["loc"])
    return ConfigError(f"Node {node_id!r} ({title}): {where}: {err['msg']}" if where
                       else f"Node {node_id!r} ({title}): {err['msg']}")
