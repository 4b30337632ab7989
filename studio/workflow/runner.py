"""Runs a whole workflow or chatflow graph: validation, the pool, the engine, and the final status."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import studio.workflow.nodes  # noqa: F401  (registers the node types)
from studio.core.cancel import CancelToken
from studio.core.workflow import NodeFinished, NodeStatus, RunStatus, WorkflowEvent, WorkflowFinished, WorkflowStarted
from studio.workflow.engine import GraphEngine
from studio.workflow.graph import Graph
from studio.workflow.node import RunContext, WorkflowLimits
from studio.workflow.variables import VariablePool


class WorkflowRunner:
    """Owns the worker pool that every run's ready nodes execute on."""

    def __init__(self, *, limits: WorkflowLimits | None = None, llm=None, code=None, knowledge=None,
                 tools=None, files_dir: str = "") -> None:
        self.limits = limits or WorkflowLimits()
        self.ports = {"llm": llm, "code": code, "knowledge": knowledge, "tools": tools}
        self.files_dir = files_dir
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self.limits.max_workers,
                                                    thread_name_prefix="workflow-node")
            return self._executor

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None

    @staticmethod
    def validate(graph: dict[str, Any]) -> Graph:
        """Parse and check a graph; raises ConfigError naming the node and the problem."""
        return Graph.from_dsl(graph)

    def run(self, graph: Graph | dict[str, Any], *, mode: str = "workflow", inputs: dict[str, Any] | None = None,
            system: dict[str, Any] | None = None, env: dict[str, Any] | None = None,
            conversation: dict[str, Any] | None = None, cancel: CancelToken | None = None,
            run_id: str | None = None, extras: dict[str, Any] | None = None) -> Iterator[WorkflowEvent]:
        """Validate (raising ConfigError) and return the run's event stream. `extras` reach nodes as
        ctx.extras (e.g. "history": [(query, answer), …] for chatflow memory)."""
        if not isinstance(graph, Graph):
            graph = Graph.from_dsl(graph)
        run_id = run_id or str(uuid.uuid4())
        pool = VariablePool(system={**(system or {}), "workflow_run_id": run_id}, env=env,
                            conversation=conversation)
        ctx = RunContext(pool=pool, cancel=cancel or CancelToken(), limits=self.limits, mode=mode,
                         files_dir=self.files_dir, extras={**(extras or {}), "inputs": dict(inputs or {})}, **self.ports)
        return self._run(graph, ctx, run_id)

    def _run(self, graph: Graph, ctx: RunContext, run_id: str) -> Iterator[WorkflowEvent]:
        started = time.perf_counter()
        user_cancel = ctx.cancel
        yield WorkflowStarted(run_id, dict(ctx.extras["inputs"]))
        engine = GraphEngine(graph, ctx, self.executor)
        ends: dict[str, Any] = {}
        for event in engine.run():
            if isinstance(event, NodeFinished) and event.node_type == "end" and event.parent_id is None \
                    and event.status == NodeStatus.SUCCEEDED:
                ends.update(event.outputs)
            yield event
        if engine.error:
            status = RunStatus.FAILED
        elif user_cancel.cancelled:
            status = RunStatus.STOPPED
        elif engine.exceptions:
            status = RunStatus.PARTIAL_SUCCEEDED
        else:
            status = RunStatus.SUCCEEDED
        outputs = {"answer": "".join(engine.text)} if ctx.mode == "advanced-chat" else ends
        yield WorkflowFinished(run_id, status, outputs, engine.error, time.perf_counter() - started,
                               engine.tokens, engine.steps[0], engine.exceptions, ctx.pool.scope("conversation"))
