"""Iteration node: runs its inside once per item of an array, in order or in parallel, and collects one output each."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Literal

from pydantic import Field

from studio.core.workflow import ContainerNext
from studio.workflow.containers import (
    ChildCancel, Round, child_writes, inner_executor, run_round, stopped_error, sync_conversation,
)
from studio.workflow.node import Node, NodeConfig, NodeError, NodeResult, RunContext, Selector, register
from studio.workflow.variables import VariableNotFoundError, VariablePool

log = logging.getLogger(__name__)


class IterationConfig(NodeConfig):
    iterator_selector: list[str] = Field(default_factory=list)
    output_selector: list[str] = Field(default_factory=list)
    is_parallel: bool = False
    parallel_nums: int = Field(10, ge=1)
    error_handle_mode: Literal["terminated", "continue-on-error", "remove-abnormal-output"] = "terminated"
    flatten_output: bool = True
    start_node_id: str = ""
    iterator_input_type: str | None = None  # UI hints
    output_type: str | None = None


def _fail(message: str, error_type: str = "IterationNodeError") -> NodeError:
    return NodeError(message, error_type)


def flatten(outputs: list[Any], enabled: bool) -> list[Any]:
    """Dify's flatten_output: when every non-null output is a list, join them (nulls drop out)."""
    present = [o for o in outputs if o is not None]
    if not enabled or not present or not all(isinstance(o, list) for o in present):
        return outputs
    return [x for o in present for x in o]


@register
class IterationNode(Node):
    type = "iteration"
    Config = IterationConfig
    kind = "container"
    children: list[Node] = []

    def references(self) -> list[Selector]:
        return [self.config.iterator_selector] if self.config.iterator_selector else []

    def writes(self) -> list[Selector]:
        return child_writes(self)

    def _items(self, ctx: RunContext) -> list[Any]:
        try:
            value = ctx.pool.get(self.config.iterator_selector)
        except VariableNotFoundError:
            raise _fail(f"iterator variable {self.config.iterator_selector} not found",
                        "IteratorVariableNotFoundError") from None
        if value is None:
            return []
        if not isinstance(value, list):
            raise _fail(f"Invalid iterator value: {value!r}, please provide a list.", "InvalidIteratorValueError")
        if len(value) > ctx.limits.max_iterations:
            raise _fail(f"The iteration has {len(value)} items; the limit is {ctx.limits.max_iterations}")
        return value

    def run(self, ctx: RunContext) -> NodeResult:
        items = self._items(ctx)
        inputs = {"iterator_selector": items}
        if not items:
            return NodeResult(outputs={"output": []}, inputs=inputs)
        state = _State(len(items))
        if self.config.is_parallel:
            self._parallel(ctx, items, state)
        else:
            self._sequential(ctx, items, state)
        outputs = [o for o, dropped in zip(state.outputs, state.dropped) if not dropped]
        metadata = {"iteration_length": len(items), "total_tokens": state.tokens,
                    "iteration_duration_map": state.durations}
        return NodeResult(outputs={"output": flatten(outputs, self.config.flatten_output)}, inputs=inputs,
                          tokens=state.tokens, metadata=metadata)

    # -- one item ------------------------------------------------------------------------------------
    def _item(self, ctx: RunContext, index: int, item: Any, executor, cancel, sink) -> Round:
        pool = ctx.pool.copy()
        pool.set(self.id, "index", index)
        pool.set(self.id, "item", item)
        return run_round(self, ctx, pool, kind="iteration", index=index, start_node_id=self.config.start_node_id,
                         executor=executor, cancel=cancel, sink=sink)

    def _settle(self, ctx: RunContext, index: int, outcome: Round, state: _State) -> None:
        """Record one finished item by the error mode; raise when the iteration must stop."""
        state.tokens += outcome.tokens
        state.durations[str(index)] = round(outcome.elapsed_s, 6)
        sync_conversation(ctx.pool, outcome.pool)
        if not outcome.failed:
            state.outputs[index] = outcome.pool.get_or(self.config.output_selector)
            return
        if ctx.cancel.cancelled:
            raise stopped_error(ctx, self)
        mode = self.config.error_handle_mode
        log.info("iteration %s item %d failed (%s): %s", self.id, index, mode, outcome.error)
        if mode == "terminated":
            raise _fail(outcome.error or f"Item {index} failed")
        state.dropped[index] = mode == "remove-abnormal-output"

    def _next(self, ctx: RunContext, index: int) -> None:
        ctx.emit(ContainerNext(self.id, self.type, self.title, index, parent_id=self.parent_id))

    def _sequential(self, ctx: RunContext, items: list[Any], state: _State) -> None:
        with inner_executor(ctx, f"iteration-{self.id}") as executor:
            for index, item in enumerate(items):
                if ctx.cancel.cancelled:
                    raise stopped_error(ctx, self)
                self._next(ctx, index)
                outcome = self._item(ctx, index, item, executor, ChildCancel(ctx.cancel), ctx.emit)
                self._settle(ctx, index, outcome, state)

    def _parallel(self, ctx: RunContext, items: list[Any], state: _State) -> None:
        """Items run at once (up to parallel_nums); each item's events are held and sent together when it
        finishes, as Dify does, so that streamed text of different items never interleaves."""
        workers = min(self.config.parallel_nums, ctx.limits.max_parallel, len(items))
        cancels = [ChildCancel(ctx.cancel) for _ in items]
        with inner_executor(ctx, f"iteration-{self.id}", max(workers, ctx.limits.max_workers)) as executor, \
                ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"items-{self.id}") as runners:
            futures = {}
            for index, item in enumerate(items):
                self._next(ctx, index)
                futures[runners.submit(self._buffered, ctx, index, item, executor, cancels[index])] = index
            try:
                for future in as_completed(futures):
                    index = futures[future]
                    outcome = future.result()
                    for event in outcome.events:
                        ctx.emit(event)
                    self._settle(ctx, index, outcome, state)
            except BaseException:
                runners.shutdown(wait=False, cancel_futures=True)
                for cancel in cancels:
                    cancel.cancel("iteration stopped")
                raise

    def _buffered(self, ctx: RunContext, index: int, item: Any, executor, cancel) -> Round:
        if cancel.cancelled:
            return Round(pool=VariablePool(), failed=True, error="stopped")
        events: list[Any] = []
        outcome = self._item(ctx, index, item, executor, cancel, events.append)
        outcome.events = events
        return outcome


class _State:
    def __init__(self, n: int) -> None:
        self.outputs: list[Any] = [None] * n
        self.dropped = [False] * n
        self.tokens = 0
        self.durations: dict[str, float] = {}
