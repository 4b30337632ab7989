"""What iteration and loop nodes share: running one item or round of their inside on a nested engine, a cancel
token a failed item cannot spread to the whole run, and forwarding the nested events to the run's stream."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from studio.core.cancel import CancelToken
from studio.core.workflow import NodeFinished, NodeStarted, NodeStatus
from studio.workflow.node import Node, NodeError, RunContext
from studio.workflow.variables import VariablePool

log = logging.getLogger(__name__)
START_TYPES = ("iteration-start", "loop-start")
Sink = Callable[[Any], None]


class ChildCancel(CancelToken):
    """Cancelled when its parent is, or on its own: a failing item stops its own nodes, not the run."""

    __slots__ = ("_parent",)

    def __init__(self, parent: CancelToken) -> None:
        super().__init__()
        self._parent = parent

    @property
    def cancelled(self) -> bool:
        return self._event.is_set() or self._parent.cancelled

    def wait(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not self.cancelled:
            left = end - time.monotonic()
            if left <= 0:
                return False
            self._event.wait(min(left, 0.05))
        return True


@dataclass
class Round:
    """The outcome of one item or round: the nested pool, whether it failed, and what the container needs."""

    pool: VariablePool
    error: str = ""
    failed: bool = False
    tokens: int = 0
    reached_loop_end: bool = False
    elapsed_s: float = 0.0
    events: list[Any] = field(default_factory=list)


def annotate(event: Any, kind: str, container_id: str, index: int) -> Any | None:
    """Mark a nested node event with its container and index (Dify's iteration_/loop_ id and index metadata);
    None for the container's own start node, which Dify never reports."""
    if isinstance(event, (NodeStarted, NodeFinished)) and event.parent_id == container_id:
        if event.node_type in START_TYPES:
            return None
        marks = {f"{kind}_id": container_id, f"{kind}_index": index}
        if isinstance(event, NodeStarted):
            return dataclasses.replace(event, extras={**event.extras, **marks})
        if f"{kind}_id" not in event.metadata:
            return dataclasses.replace(event, metadata={**event.metadata, **marks})
    return event


def inner_executor(ctx: RunContext, name: str, workers: int | None = None) -> ThreadPoolExecutor:
    """Nested nodes get their own pool: a container waiting on its inside can never starve the run's pool."""
    return ThreadPoolExecutor(max_workers=max(1, workers or ctx.limits.max_workers), thread_name_prefix=name)


def run_round(node: Node, ctx: RunContext, pool: VariablePool, *, kind: str, index: int, start_node_id: str | None,
              executor: ThreadPoolExecutor, cancel: CancelToken, sink: Sink) -> Round:
    """Run the container's inside once over `pool`; every event goes to `sink` as it happens."""
    if ctx.run_subgraph is None:
        raise NodeError(f"{node.title}: nested graphs need the graph engine", "IterationNodeError")
    started = time.perf_counter()
    nested = dataclasses.replace(ctx, pool=pool, cancel=cancel, emit=sink)
    engine = ctx.run_subgraph(node.id, start_node_id, nested, executor)
    outcome = Round(pool=pool)
    for event in engine.run():
        event = annotate(event, kind, node.id, index)
        if event is None:
            continue
        if (isinstance(event, NodeFinished) and event.node_type == "loop-end" and event.parent_id == node.id
                and event.status == NodeStatus.SUCCEEDED):
            outcome.reached_loop_end = True
        sink(event)
    outcome.failed, outcome.error, outcome.tokens = engine.failed, engine.error, engine.tokens
    outcome.elapsed_s = time.perf_counter() - started
    return outcome


def stopped_error(ctx: RunContext, node: Node) -> NodeError:
    return NodeError(f"{node.title} was stopped: {ctx.cancel.reason or 'stopped'}", "Stopped")


def sync_conversation(parent: VariablePool, child: VariablePool) -> None:
    """Conversation variables written inside an item or round reach the run (Dify copies them back)."""
    for name, value in child.scope("conversation").items():
        parent.set("conversation", name, value)


def child_writes(node: Node) -> list[list[str]]:
    """Everything the nodes inside a container write (the response coordinator waits for conversation writes)."""
    return [sel for child in getattr(node, "children", ()) for sel in child.writes()]
