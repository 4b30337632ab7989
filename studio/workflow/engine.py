"""The graph engine: a ready queue over a worker pool, Dify's edge states and OR-join, error strategies,
retries, limits and stop. Graph state changes only on the engine's own thread; workers just run nodes."""

from __future__ import annotations

import json
import logging
import queue
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import GeneratorType
from typing import Any

from studio.core.errors import StudioError
from studio.core.workflow import NodeFinished, NodeRetry, NodeStarted, NodeStatus, WorkflowEvent, WorkflowText
from studio.workflow.graph import Graph
from studio.workflow.node import Node, NodeError, NodeResult, RunContext, StreamChunk
from studio.workflow.response import ResponseCoordinator

log = logging.getLogger(__name__)
UNKNOWN, TAKEN, SKIPPED = 0, 1, 2


class RunAborted(StudioError):
    code = "workflow_failed"


def _parse_default(dv) -> Any:
    if dv.type != "string" and isinstance(dv.value, str):
        try:
            return json.loads(dv.value)
        except ValueError:
            return dv.value
    return dv.value


class GraphEngine:
    """Runs one level of a graph. `run()` yields events; afterwards `status`, `error` and totals are set."""

    def __init__(self, graph: Graph, ctx: RunContext, executor: ThreadPoolExecutor, *,
                 parent_id: str | None = None, deadline: float | None = None, step_counter: list[int] | None = None):
        self.graph, self.ctx, self.executor = graph, ctx, executor
        self.parent_id = parent_id
        self.deadline = deadline or (time.monotonic() + ctx.limits.max_time_s)
        self.steps = step_counter if step_counter is not None else [0]
        self.edge_state = {e.id: UNKNOWN for e in graph.edges}
        self.settled: set[str] = set()  # finished, failed or skipped
        self.skipped: set[str] = set()
        self.running: dict[str, int] = {}
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.index = 0
        self.error = ""
        self.failed = False
        self.exceptions = 0
        self.tokens = 0
        self.text: list[str] = []
        self.certain: set[str] = set()
        self._spread(graph.root_id)
        self.responses = ResponseCoordinator(self)
        # Iteration and loop nodes run nested engines through ctx; their events come back through the top
        # engine's inbox (a nested ctx arrives with `emit` already set by its container).
        ctx.run_subgraph = self.nested
        if ctx.emit is None:
            ctx.emit = lambda event: self.inbox.put(("event", event))

    def nested(self, container_id: str, start_node_id: str | None, ctx: RunContext,
               executor: ThreadPoolExecutor) -> GraphEngine:
        """An engine for one item or round of an iteration/loop; the container drives its run()."""
        return GraphEngine(self.graph.subgraph(container_id, start_node_id), ctx, executor,
                           parent_id=container_id, deadline=self.deadline)

    # -- queries used by the response coordinator -----------------------------------------------
    def is_settled(self, node_id: str) -> bool:
        return node_id in self.settled

    def is_certain(self, node_id: str) -> bool:
        """True when some path from the root reaches the node through taken branch edges only."""
        return node_id in self.certain

    @staticmethod
    def _blocks(node: Node) -> bool:
        """Edges out of a branch, or (as in Dify) an iteration/loop, are uncertain until taken."""
        return node.is_branch or node.kind == "container"

    def _spread(self, node_id: str) -> None:
        """Grow the certain set from a node, through edges that cannot be skipped any more."""
        stack = [node_id]
        while stack:
            n = stack.pop()
            if n in self.certain:
                continue
            self.certain.add(n)
            blocks = self._blocks(self.graph.nodes[n])
            for e in self.graph.out_edges.get(n, ()):
                state = self.edge_state[e.id]
                if state != SKIPPED and (state == TAKEN or not blocks):
                    stack.append(e.target)

    # -- the loop -----------------------------------------------------------------------------------
    def run(self) -> Iterator[WorkflowEvent]:
        yield from self._submit(self.graph.root_id, None)
        yield from self._emit_text(self.responses.on_change())
        while self.running:
            try:
                msg = self.inbox.get(timeout=0.05)
            except queue.Empty:
                self._check_limits()
                continue
            yield from self._handle(msg)
        yield from self._emit_text(self.responses.on_change())

    def _check_limits(self) -> None:
        if time.monotonic() > self.deadline and not self.failed:
            self._abort(f"Max execution time {self.ctx.limits.max_time_s:g}s reached")
        if self.ctx.cancel.cancelled and not self.failed:
            self._abort("")

    def _abort(self, error: str) -> None:
        self.failed = True
        self.error = self.error or error
        if not self.ctx.cancel.cancelled:
            self.ctx.cancel.cancel(error or "aborted")

    def _handle(self, msg: tuple) -> Iterator[WorkflowEvent]:
        kind = msg[0]
        if kind == "chunk":
            _, node_id, name, text = msg
            yield from self._emit_text(self.responses.on_chunk(node_id, name, text))
        elif kind == "event":
            if isinstance(msg[1], WorkflowText):  # answer text from inside an iteration or loop
                self.text.append(msg[1].text)
            yield msg[1]
        elif kind == "retry":
            _, node, attempt, error = msg
            yield NodeRetry(node.id, node.type, node.title, attempt, error)
        elif kind == "done":
            yield from self._finish(*msg[1:])

    def _emit_text(self, texts: list[WorkflowText]) -> Iterator[WorkflowText]:
        for t in texts:
            self.text.append(t.text)
            yield t

    # -- scheduling ---------------------------------------------------------------------------------
    def _submit(self, node_id: str, predecessor: str | None) -> Iterator[WorkflowEvent]:
        if self.failed or self.ctx.cancel.cancelled:
            return
        self.steps[0] += 1
        if self.steps[0] > self.ctx.limits.max_steps:
            self._abort(f"Max steps {self.ctx.limits.max_steps} reached")
            return
        node = self.graph.nodes[node_id]
        self.index += 1
        self.running[node_id] = self.index
        yield NodeStarted(node.id, node.type, node.title, self.index, predecessor, self.parent_id)
        if node.inline and not node.config.retry_config.retry_enabled:
            self._execute(node)  # reports through the inbox like a worker would
        else:
            self.executor.submit(self._execute, node)

    def _execute(self, node: Node) -> None:
        """Worker side: run the node with its retries; report everything through the inbox."""
        started = time.perf_counter()
        retry = node.config.retry_config
        attempt = 0
        while True:
            try:
                result = node.run(self.ctx)
                if isinstance(result, GeneratorType):
                    result = self._drain(node, result)
                self.inbox.put(("done", node, result, None, time.perf_counter() - started))
                return
            except (KeyboardInterrupt, SystemExit) as exc:  # Ctrl-C during an inline node: report, then honour it
                self.inbox.put(("done", node, None, exc, time.perf_counter() - started))
                raise
            except Exception as exc:  # a node's failure is data for its error strategy
                if not isinstance(exc, StudioError):
                    log.exception("node %s (%s) crashed", node.id, node.type)
                can_retry = retry.retry_enabled and attempt < retry.max_retries and not self.ctx.cancel.cancelled
                if not can_retry:
                    self.inbox.put(("done", node, None, exc, time.perf_counter() - started))
                    return
                attempt += 1
                self.inbox.put(("retry", node, attempt, str(exc)))
                self.ctx.cancel.wait(retry.retry_interval / 1000)

    def _drain(self, node: Node, gen) -> NodeResult:
        result = None
        for item in gen:
            if isinstance(item, StreamChunk):
                self.inbox.put(("chunk", node.id, item.name, item.text))
            else:
                result = item
        if result is None:
            raise NodeError(f"Node {node.id} produced no result")
        return result

    def _finish(self, node: Node, result: NodeResult | None, exc: BaseException | None,
                elapsed: float) -> Iterator[WorkflowEvent]:
        index = self.running.pop(node.id)
        status, error, error_type = NodeStatus.SUCCEEDED, "", ""
        if exc is None:
            error = self._oversized(result.outputs)
            if error:
                exc, error_type = NodeError(error, "VariableSizeError"), "VariableSizeError"
        if exc is not None:
            result = result or getattr(exc, "partial", None)
            error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            error_type = getattr(exc, "error_type", type(exc).__name__)
            result, status = self._strategy(node, result, error, error_type)
        if self.ctx.cancel.cancelled and status == NodeStatus.FAILED and not self.error:
            status = NodeStatus.STOPPED
        self.settled.add(node.id)
        if status in (NodeStatus.SUCCEEDED, NodeStatus.EXCEPTION):
            self.ctx.pool.set_outputs(node.id, result.outputs)
            self.tokens += result.tokens
        ready: list[str] = []
        if status == NodeStatus.FAILED:
            self._abort(f"Node {node.title} ({node.id}) failed: {error}")
        elif status != NodeStatus.STOPPED and not self.failed:
            ready = self._take_edges(node, result.handle)
        # As in Dify, output made certain by this node streams before the node's own finished event.
        yield from self._emit_text(self.responses.on_change())
        yield NodeFinished(node.id, node.type, node.title, index, status, result.inputs, result.process_data,
                           result.outputs, error, error_type, elapsed, result.tokens, result.metadata, self.parent_id)
        for target in ready:
            yield from self._submit(target, node.id)

    def _oversized(self, outputs: dict[str, Any]) -> str:
        limit = self.ctx.limits.max_variable_bytes
        for name, value in outputs.items():
            size = len(value) if isinstance(value, (str, bytes)) else (
                len(json.dumps(value, default=str)) if isinstance(value, (list, dict)) else 0)
            if size > limit:
                return f"Output {name!r} is {size} bytes; the limit for a variable is {limit} bytes"
        return ""

    def _strategy(self, node: Node, result, error: str, error_type: str) -> tuple[NodeResult, NodeStatus]:
        strategy = node.config.error_strategy
        fields = {"error_message": error, "error_type": error_type}
        trace = {"inputs": result.inputs, "process_data": result.process_data,
                 "metadata": result.metadata} if result else {}
        if strategy == "fail-branch":
            self.exceptions += 1
            return NodeResult(outputs=fields, handle="fail-branch", **trace), NodeStatus.EXCEPTION
        if strategy == "default-value":
            self.exceptions += 1
            outputs = {dv.key: _parse_default(dv) for dv in node.config.default_value}
            return NodeResult(outputs={**outputs, **fields}, **trace), NodeStatus.EXCEPTION
        return NodeResult(outputs={}, **trace), NodeStatus.FAILED

    def _take_edges(self, node: Node, handle: str) -> list[str]:
        branch = node.is_branch
        targets = []
        for e in self.graph.out_edges.get(node.id, ()):
            self.edge_state[e.id] = TAKEN if (not branch or e.handle == handle) else SKIPPED
            targets.append(e.target)
            if self._blocks(node) and node.id in self.certain and self.edge_state[e.id] == TAKEN:
                self._spread(e.target)
        return self._ready(targets)

    def _ready(self, targets: list[str]) -> list[str]:
        """Targets whose incoming edges are all decided with one taken (OR-join) are ready; those whose
        incoming edges were all skipped are skipped, and pass the skip on."""
        ready: list[str] = []
        stack = list(dict.fromkeys(targets))
        while stack:
            t = stack.pop(0)
            if t in self.settled or t in self.running or t in ready:
                continue
            states = [self.edge_state[e.id] for e in self.graph.in_edges[t]]
            if UNKNOWN in states:
                continue
            if TAKEN in states:
                ready.append(t)
                continue
            self.settled.add(t)
            self.skipped.add(t)
            for e in self.graph.out_edges.get(t, ()):
                self.edge_state[e.id] = SKIPPED
                stack.append(e.target)
        return ready
