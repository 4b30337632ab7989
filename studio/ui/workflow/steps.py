"""The node steps of one run, built from live engine events or from a stored trace, in the order they began."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from studio.core.workflow import (
    NodeFinished, NodeRetry, NodeRun, NodeStarted, RunStatus, WorkflowFinished, WorkflowStarted,
)


@dataclass
class Step:
    """One execution of one node; a node inside an iteration or loop has one step per item or round."""

    node_id: str
    node_type: str
    title: str
    status: str = "running"
    parent_id: str | None = None
    group: int | None = None  # the iteration item or loop round it belongs to
    group_kind: str = ""  # "iteration" or "loop"
    inputs: dict[str, Any] = field(default_factory=dict)
    process_data: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    elapsed_ms: float | None = None
    tokens: int = 0
    retries: int = 0
    seq: int = 0  # position in the log: stable identity for the views
    container_seq: int | None = None  # the step of the iteration or loop it ran in

    @property
    def done(self) -> bool:
        return self.status != "running"


def _group(marks: dict[str, Any]) -> tuple[int | None, str]:
    for kind in ("iteration", "loop"):
        if f"{kind}_index" in marks:
            try:
                return int(marks[f"{kind}_index"]), kind
            except (TypeError, ValueError):
                return None, kind
    return None, ""


class StepLog:
    """apply() takes engine events one by one and returns the steps they changed."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.run_id = ""
        self.counts: dict[str, int] = {}  # node id -> how many steps it has had
        self._latest: dict[str, int] = {}  # node id -> its latest step's seq
        self._open: dict[tuple, Step] = {}
        self._waiting: dict[str, list[Any]] = {}  # container id -> its nodes' events that came before its start

    def _add(self, step: Step) -> Step:
        step.seq = len(self.steps)
        if step.parent_id:
            step.container_seq = self._latest.get(step.parent_id)
        self.steps.append(step)
        self.counts[step.node_id] = self.counts.get(step.node_id, 0) + 1
        self._latest[step.node_id] = step.seq
        return step

    def apply(self, event: Any) -> list[Step]:
        """The steps `event` changed. An event of a node inside an iteration or loop that arrives before its
        container's start (threads can interleave the queue under load) waits for that start, so it nests."""
        parent = getattr(event, "parent_id", None)
        if parent and isinstance(event, (NodeStarted, NodeRetry, NodeFinished)) and parent not in self._latest:
            self._waiting.setdefault(parent, []).append(event)
            return []
        changed = self._apply(event)
        if isinstance(event, NodeStarted):
            for held in self._waiting.pop(event.node_id, []):
                changed += self.apply(held)
        return changed

    def _apply(self, event: Any) -> list[Step]:
        if isinstance(event, WorkflowStarted):
            self.run_id = event.run_id
        elif isinstance(event, NodeStarted):
            group, kind = _group(event.extras)
            step = self._add(Step(event.node_id, event.node_type, event.title, parent_id=event.parent_id,
                                  group=group, group_kind=kind))
            self._open[(event.node_id, event.parent_id, group)] = step
            return [step]
        elif isinstance(event, NodeRetry):
            step = next((s for k, s in reversed(self._open.items()) if k[0] == event.node_id), None)
            if step is not None:
                step.retries, step.error = step.retries + 1, event.error
                return [step]
        elif isinstance(event, NodeFinished):
            return [self._finish(event)]
        elif isinstance(event, WorkflowFinished):
            orphans = [e for held in self._waiting.values() for e in held]
            self._waiting.clear()  # their container never started: show them at the top level
            return [step for e in orphans for step in self._apply(e)] + self._close(event.status)
        return []

    def _finish(self, event: NodeFinished) -> Step:
        group, kind = _group(event.metadata)
        step = self._open.pop((event.node_id, event.parent_id, group), None)
        if step is None:  # finished without a start we saw: still show it
            step = self._add(Step(event.node_id, event.node_type, event.title, parent_id=event.parent_id,
                                  group=group, group_kind=kind))
        step.status = event.status.value
        step.inputs, step.process_data = dict(event.inputs), dict(event.process_data)
        step.outputs, step.metadata = dict(event.outputs), dict(event.metadata)
        step.error, step.tokens = event.error, event.tokens
        step.elapsed_ms = event.elapsed_s * 1000
        return step

    def _close(self, status: RunStatus) -> list[Step]:
        """A run that ended leaves no step running, whatever events a cancelled worker never sent."""
        left = list(self._open.values())
        for step in left:
            step.status = "stopped" if status == RunStatus.STOPPED else "failed"
        self._open.clear()
        return left

    def latest(self, node_id: str) -> Step | None:
        seq = self._latest.get(node_id)
        return self.steps[seq] if seq is not None else None

    def by_seq(self, seq: int) -> Step | None:
        return self.steps[seq] if 0 <= seq < len(self.steps) else None

    @classmethod
    def from_node_runs(cls, runs: list[NodeRun]) -> StepLog:
        """A stored trace (kept in the order nodes finished) as steps in the order they began."""
        log = cls()
        for run in sorted(runs, key=lambda r: (r.created_at.timestamp() - r.elapsed_ms / 1000, r.index)):
            group, kind = _group(run.metadata)
            log._add(Step(run.node_id, run.node_type, run.title, run.status.value, run.parent_id, group, kind,
                          dict(run.inputs), dict(run.process_data), dict(run.outputs), dict(run.metadata),
                          run.error, run.elapsed_ms, run.tokens, int(run.metadata.get("retries") or 0)))
        if runs:
            log.run_id = runs[0].run_id
        return log
