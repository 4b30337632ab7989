"""Service events → Dify's stream events (§4.4): the same frames feed SSE and the blocking responses."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from studio.core.entities import Message, MessageStatus
from studio.core.events import AgentThought, MessageFinished, MessageStarted, TextChunk
from studio.core.workflow import (
    ContainerNext, NodeFinished, NodeRetry, NodeStarted, WorkflowFinished, WorkflowStarted, WorkflowText,
)
from studio.services.citations import resources_from_node_items

CONTAINERS = ("iteration", "loop")
AGENT_MODE = "agent-chat"


def now() -> int:
    return int(time.time())


def unix(value: datetime | None) -> int | None:
    """Stored times are naive UTC; Dify's API gives unix seconds."""
    if value is None:
        return None
    return int((value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp())


def usage(prompt_tokens: int, completion_tokens: int, latency_s: float, first_token_s: float = 0.0) -> dict[str, Any]:
    """Dify's LLMUsage; a local model costs nothing, so every price is zero."""
    return {
        "prompt_tokens": prompt_tokens, "prompt_unit_price": "0", "prompt_price_unit": "0", "prompt_price": "0",
        "completion_tokens": completion_tokens, "completion_unit_price": "0", "completion_price_unit": "0",
        "completion_price": "0", "total_tokens": prompt_tokens + completion_tokens, "total_price": "0",
        "currency": "USD", "latency": round(latency_s, 3), "time_to_first_token": round(first_token_s, 3),
        "time_to_generate": round(max(latency_s - first_token_s, 0.0), 3),
    }


def message_usage(msg: Message) -> dict[str, Any]:
    return usage(msg.message_tokens, msg.answer_tokens, msg.latency_ms / 1000, msg.first_token_ms / 1000)


@dataclass
class RunContext:
    """What every frame of one request carries."""

    task_id: str
    app_id: str
    mode: str
    conversation: bool  # chat-family apps carry conversation_id
    created_at: int = field(default_factory=now)
    conversation_id: str = ""
    message_id: str = ""
    run_id: str = ""

    def chat(self, event: str, **payload: Any) -> dict[str, Any]:
        base = {"event": event, "task_id": self.task_id, "id": self.message_id, "message_id": self.message_id}
        if self.conversation:
            base["conversation_id"] = self.conversation_id
        return {**base, "created_at": self.created_at, **payload}

    def workflow(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        base = {"event": event, "task_id": self.task_id, "workflow_run_id": self.run_id}
        if self.conversation:
            base.update(conversation_id=self.conversation_id, message_id=self.message_id,
                        created_at=self.created_at)
        return {**base, "data": data}

    def error(self, payload: dict[str, Any]) -> dict[str, Any]:
        base = {"event": "error", "task_id": self.task_id}
        if self.message_id:
            base["message_id"] = self.message_id
        if self.conversation and self.conversation_id:
            base["conversation_id"] = self.conversation_id
        if self.run_id:
            base["workflow_run_id"] = self.run_id
        return {**base, **payload}


def thought_fields(thought: AgentThought) -> dict[str, Any]:
    """What Dify's `agent_thought` event and a stored message's `agent_thoughts` item share."""
    return {"id": thought.id, "position": thought.position, "thought": thought.thought,
            "observation": thought.observation, "tool": thought.tool, "tool_labels": dict(thought.tool_labels),
            "tool_input": thought.tool_input}


def chat_frames(events: Iterator[Any], ctx: RunContext) -> Iterator[dict[str, Any]]:
    """Chat and completion: `message` deltas, then `message_end` (or `error` when the model failed). Agent apps
    send `agent_thought` for each step and `agent_message` deltas instead, as Dify's agent-chat does."""
    agent = ctx.mode == AGENT_MODE
    for ev in events:
        if isinstance(ev, MessageStarted):
            ctx.conversation_id, ctx.message_id = ev.conversation_id, ev.message_id
        elif isinstance(ev, TextChunk):
            yield ctx.chat("agent_message" if agent else "message", answer=ev.text)
        elif isinstance(ev, AgentThought):
            # the thought's own id, not the message's: Dify's clients key the steps by it
            yield {**ctx.chat("agent_thought"), **thought_fields(ev), "message_files": list(ev.message_files)}
        elif isinstance(ev, MessageFinished):
            msg = ev.message
            if msg.status == MessageStatus.ERROR:
                yield ctx.error({"status": 400, "code": "completion_request_error", "message": msg.error})
            else:
                yield ctx.chat("message_end", metadata={"usage": message_usage(msg),
                                                        "retriever_resources": list(msg.retriever_resources)},
                               files=[])


class WorkflowFrames:
    """Workflow and chatflow runs: node, iteration/loop, text and terminal events."""

    def __init__(self, ctx: RunContext, lookup_run: Callable[[str], Any]) -> None:
        self.ctx = ctx
        self._lookup_run = lookup_run  # run_id → the stored run, for the chatflow's conversation and message ids
        self._exec_ids: dict[tuple[str, int], str] = {}
        self._started_at: dict[tuple[str, int], int] = {}
        self._kinds: dict[str, str] = {}  # container node id → iteration | loop
        self._predecessor: dict[tuple[str, int], str | None] = {}
        self.resources: list[dict[str, Any]] = []  # citations from knowledge-retrieval nodes, for message_end
        self.prompt_tokens = 0  # of the LLM nodes, so message_end can split total_tokens as Dify does
        self.started_at = now()

    def __call__(self, events: Iterator[Any]) -> Iterator[dict[str, Any]]:
        for ev in events:
            yield from self._map(ev)

    def _map(self, ev: Any) -> Iterator[dict[str, Any]]:
        ctx = self.ctx
        if isinstance(ev, WorkflowStarted):
            ctx.run_id = ev.run_id
            if ctx.conversation:
                run = self._lookup_run(ev.run_id)
                ctx.conversation_id, ctx.message_id = run.conversation_id or "", run.message_id or ""
            yield ctx.workflow("workflow_started", {"id": ev.run_id, "workflow_id": ctx.app_id,
                                                    "inputs": ev.inputs, "created_at": self.started_at})
        elif isinstance(ev, NodeStarted):
            yield self._node_started(ev)
        elif isinstance(ev, NodeRetry):
            yield ctx.workflow("node_retry", {**self._node_base(ev.node_id, ev.node_type, ev.title, 0, None),
                                              "status": "retry", "error": ev.error, "retry_index": ev.retry_index})
        elif isinstance(ev, ContainerNext):
            data = {**self._container_base(ev.node_id, ev.node_type, ev.title), "index": ev.index, "extras": {}}
            if ev.node_type == "loop":
                data["pre_loop_output"] = ev.output
            yield ctx.workflow(f"{ev.node_type}_next", data)
        elif isinstance(ev, NodeFinished):
            yield self._node_finished(ev)
        elif isinstance(ev, WorkflowText):
            if ctx.conversation:
                yield ctx.chat("message", answer=ev.text, from_variable_selector=list(ev.from_variable_selector))
            else:
                yield ctx.workflow("text_chunk", {"text": ev.text,
                                                  "from_variable_selector": list(ev.from_variable_selector)})
        elif isinstance(ev, WorkflowFinished):
            yield from self._finished(ev)

    def _parents(self, parent_id: str | None) -> dict[str, Any]:
        kind = self._kinds.get(parent_id or "")
        return {"iteration_id": parent_id if kind == "iteration" else None,
                "loop_id": parent_id if kind == "loop" else None}

    def _node_base(self, node_id: str, node_type: str, title: str, index: int, parent_id: str | None):
        key = (node_id, index)
        exec_id = self._exec_ids.setdefault(key, str(uuid.uuid4()))
        return {"id": exec_id, "node_id": node_id, "node_type": node_type, "title": title, "index": index,
                "predecessor_node_id": self._predecessor.get(key), **self._parents(parent_id)}

    def _container_base(self, node_id: str, node_type: str, title: str) -> dict[str, Any]:
        exec_id = next((v for (n, _), v in self._exec_ids.items() if n == node_id), str(uuid.uuid4()))
        return {"id": exec_id, "node_id": node_id, "node_type": node_type, "title": title, "created_at": now()}

    def _node_started(self, ev: NodeStarted) -> dict[str, Any]:
        key = (ev.node_id, ev.index)
        self._predecessor[key] = ev.predecessor_node_id
        self._started_at[key] = now()
        if ev.node_type in CONTAINERS:
            self._kinds[ev.node_id] = ev.node_type
            self._exec_ids[key] = str(uuid.uuid4())
            data = {**self._container_base(ev.node_id, ev.node_type, ev.title), "extras": dict(ev.extras),
                    "metadata": {}, "inputs": {}}
            return self.ctx.workflow(f"{ev.node_type}_started", data)
        data = {**self._node_base(ev.node_id, ev.node_type, ev.title, ev.index, ev.parent_id), "inputs": {},
                "inputs_truncated": False, "created_at": self._started_at[key], "extras": dict(ev.extras)}
        return self.ctx.workflow("node_started", data)

    def _node_finished(self, ev: NodeFinished) -> dict[str, Any]:
        key = (ev.node_id, ev.index)
        if ev.node_type == "knowledge-retrieval" and self.ctx.conversation:
            self.resources += resources_from_node_items(ev.outputs.get("result") or [], len(self.resources) + 1)
        usage_of_node = (ev.process_data or {}).get("usage") if isinstance(ev.process_data, dict) else None
        if isinstance(usage_of_node, dict):
            self.prompt_tokens += int(usage_of_node.get("prompt_tokens") or 0)
        meta = {**ev.metadata, "total_tokens": ev.tokens}
        common = {"outputs": ev.outputs, "inputs": ev.inputs, "status": ev.status.value, "error": ev.error or None,
                  "elapsed_time": round(ev.elapsed_s, 6), "execution_metadata": meta,
                  "created_at": self._started_at.get(key, now()), "finished_at": now()}
        if ev.node_type in CONTAINERS:
            data = {**self._container_base(ev.node_id, ev.node_type, ev.title), **common, "extras": {},
                    "total_tokens": ev.tokens, "steps": int(ev.metadata.get("iterations", ev.metadata.get("rounds", 0))
                                                          or 0)}
            return self.ctx.workflow(f"{ev.node_type}_completed", data)
        data = {**self._node_base(ev.node_id, ev.node_type, ev.title, ev.index, ev.parent_id), **common,
                "process_data": ev.process_data, "inputs_truncated": False, "outputs_truncated": False,
                "process_data_truncated": False, "files": []}
        return self.ctx.workflow("node_finished", data)

    def _finished(self, ev: WorkflowFinished) -> Iterator[dict[str, Any]]:
        ctx = self.ctx
        data = {"id": ev.run_id, "workflow_id": ctx.app_id, "status": ev.status.value, "outputs": ev.outputs,
                "error": ev.error or None, "elapsed_time": round(ev.elapsed_s, 6), "total_tokens": ev.total_tokens,
                "total_steps": ev.total_steps, "created_by": {}, "created_at": self.started_at, "finished_at": now(),
                "exceptions_count": ev.exceptions_count, "files": []}
        ok = ev.status.value in ("succeeded", "partial-succeeded", "stopped")
        if ctx.conversation and ok:
            yield ctx.chat("message_end", metadata={"usage": usage(min(self.prompt_tokens, ev.total_tokens),
                                                                  max(0, ev.total_tokens - self.prompt_tokens),
                                                                  ev.elapsed_s),
                                                    "retriever_resources": self.resources}, files=[])
        yield ctx.workflow("workflow_finished", data)
        if ctx.conversation and not ok:
            yield ctx.error({"status": 400, "code": "completion_request_error",
                             "message": ev.error or "The chatflow failed"})
