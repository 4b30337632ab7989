"""Workflow and chatflow use cases: run a graph app, record its trace, keep conversation state."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from studio.core.app_config import start_inputs
from studio.core.cancel import CancelToken
from studio.core.entities import App, AppMode, MessageStatus, with_article
from studio.core.errors import ValidationError
from studio.core.text import require_text
from studio.core.workflow import (
    NodeFinished, NodeRun, RunStatus, WorkflowEvent, WorkflowFinished, WorkflowRun, WorkflowText,
)
from studio.services.citations import resources_from_node_items

log = logging.getLogger(__name__)
GRAPH_MODES = (AppMode.WORKFLOW, AppMode.ADVANCED_CHAT)
LOG_STATUSES = ("succeeded", "failed", "stopped", "partial-succeeded")


def workflow_of(app: App) -> dict[str, Any]:
    wf = app.config.get("workflow")
    if app.mode not in GRAPH_MODES or not isinstance(wf, dict):
        raise ValidationError(f"{app.name} is {with_article(app.mode.value)} app, not a workflow or chatflow")
    return wf


def start_variables(graph: dict[str, Any]) -> list[dict[str, Any]]:
    for node in graph.get("nodes") or []:
        data = node.get("data") or {}
        if data.get("type") == "start":
            return list(data.get("variables") or [])
    return []


class WorkflowService:
    def __init__(self, repos, apps, runner) -> None:
        self._apps = apps
        self._runs = repos.runs
        self._conversations = repos.conversations
        self._messages = repos.messages
        self._runner = runner
        self._graphs: dict[tuple[str, Any], Any] = {}

    # -- queries --------------------------------------------------------------------------------
    def runs(self, app_ref: str | None = None, limit: int = 100, status: str | None = None) -> list[WorkflowRun]:
        app_id = self._apps.resolve(app_ref).id if app_ref else None
        return self._runs.list(app_id, limit, status)

    def logs(self, app_ref: str, *, keyword: str = "", status: str | None = None,
             created_before: datetime | None = None, created_after: datetime | None = None,
             user: str | None = None, page: int = 1, limit: int = 20) -> tuple[list[WorkflowRun], int]:
        """Dify's `/workflows/logs`: one page of the app's runs, newest first, and the total that match."""
        app = self._apps.resolve(app_ref)
        if status and status not in LOG_STATUSES:
            raise ValidationError(f"status must be one of {', '.join(LOG_STATUSES)}, not {status!r}")
        if page < 1 or not 1 <= limit <= 100:
            raise ValidationError(f"page must be at least 1 and limit between 1 and 100 (got page={page}, "
                                  f"limit={limit})")
        return self._runs.logs(app.id, keyword=(keyword or "").strip(), status=status or None,
                               created_before=created_before, created_after=created_after, user=user,
                               offset=(page - 1) * limit, limit=limit)

    def get_run(self, run_id: str) -> WorkflowRun:
        return self._runs.get(run_id)

    def node_runs(self, run_id: str) -> list[NodeRun]:
        return self._runs.nodes(run_id)

    def validate(self, app: App):
        """The app's graph, parsed and checked (cached until the app changes)."""
        key = (app.id, app.updated_at)
        if key not in self._graphs:
            self._graphs = {k: v for k, v in self._graphs.items() if k[0] != app.id}
            self._graphs[key] = self._runner.validate(workflow_of(app).get("graph") or {})
        return self._graphs[key]

    # -- running --------------------------------------------------------------------------------
    def run(self, app_ref: str, *, inputs: dict[str, Any] | None = None, query: str = "",
            conversation_id: str | None = None, user: str = "", cancel: CancelToken | None = None,
            files: list[dict[str, Any]] | None = None, invoke_from: str = "debugger") -> Iterator[WorkflowEvent]:
        """Validate everything first (errors raise here), then return the event stream of the run."""
        app = self._apps.resolve(app_ref)
        require_text({"inputs": inputs or {}, "query": query or "", "user": user, "files": files or []})
        wf = workflow_of(app)
        graph = self.validate(app)
        chat = app.mode == AppMode.ADVANCED_CHAT
        query = (query or "").strip()
        if chat and not query:
            raise ValidationError("query is required")
        conv = self._conversations.get(conversation_id) if (chat and conversation_id) else None
        if conv is not None and conv.app_id != app.id:
            raise ValidationError(f"Conversation {conversation_id!r} does not belong to {app.name}")
        inputs = conv.inputs if conv else start_inputs(start_variables(wf.get("graph") or {}), inputs or {})
        ctx = {"query": query, "user": user, "files": list(files or []), "invoke_from": invoke_from}
        return self._run(app, wf, graph, inputs, conv, ctx, cancel or CancelToken())

    def _context(self, app: App, wf: dict[str, Any], conv, request: dict[str, Any]) -> dict[str, Any]:
        query, user = request["query"], request["user"]
        env = {v.get("name"): v.get("value") for v in wf.get("environment_variables") or [] if v.get("name")}
        conversation = {v.get("name"): v.get("value") for v in wf.get("conversation_variables") or []
                        if v.get("name")}
        system = {"user_id": user or "studio-user", "app_id": app.id, "workflow_id": app.id,
                  "timestamp": int(time.time()), "invoke_from": request["invoke_from"], "files": request["files"]}
        history = []
        if conv is not None:
            conversation.update(self._runs.conversation_variables(conv.id))
            past = self._messages.list(conv.id)
            history = [(m.query, m.answer) for m in past if m.answer]
            system.update(query=query, conversation_id=conv.id, dialogue_count=len(past) + 1)
        return {"env": env, "conversation": conversation, "system": system, "history": history}

    def _run(self, app, wf, graph, inputs, conv, request, cancel) -> Iterator[WorkflowEvent]:
        query, user = request["query"], request["user"]
        chat = app.mode == AppMode.ADVANCED_CHAT
        if chat and conv is None:
            conv = self._conversations.create(app.id, name=query[:48] or "New conversation", inputs=inputs, user=user)
        ctx = self._context(app, wf, conv, request)
        msg = self._messages.start(conv.id, app.id, query=query, inputs=inputs, model_id="") if chat else None
        run_id = str(uuid.uuid4())
        self._runs.start(run_id=run_id, app_id=app.id, mode=app.mode.value, inputs=inputs,
                         conversation_id=conv.id if conv else None, message_id=msg.id if msg else None, user=user)
        events = self._runner.run(graph, mode=app.mode.value, inputs=inputs, system=ctx["system"], env=ctx["env"],
                                  conversation=ctx["conversation"], cancel=cancel, run_id=run_id,
                                  extras={"history": ctx["history"], "conversation_id": conv.id if conv else None,
                                          "message_id": msg.id if msg else None})
        return self._record(events, run_id, conv, msg, cancel)

    def _record(self, events, run_id, conv, msg, cancel) -> Iterator[WorkflowEvent]:
        seen = _Seen(run_id)
        try:
            for ev in events:
                self._note(ev, seen, conv, msg)
                yield ev
        finally:
            if seen.finished is None:  # our consumer left mid-run, or an interrupt tore the stream down
                cancel.cancel("the client went away")
                for ev in events:  # a live stream ends quickly once cancelled, and records its own end
                    self._note(ev, seen, conv, msg)
                if seen.finished is None:  # the stream itself died: record the end here, keeping the text so far
                    self._finish(WorkflowFinished(run_id, RunStatus.STOPPED, {"answer": seen.answer} if msg else {},
                                                  "stopped", time.perf_counter() - seen.started), conv, msg, seen)

    def _note(self, ev, seen: _Seen, conv, msg) -> None:
        if isinstance(ev, NodeFinished):
            self._runs.record_node(seen.run_id, ev)
            if ev.node_type == "knowledge-retrieval" and msg is not None:
                items = ev.outputs.get("result") or []
                seen.resources += resources_from_node_items(items, start=len(seen.resources) + 1)
        elif isinstance(ev, WorkflowText):
            seen.parts.append(ev.text)
        elif isinstance(ev, WorkflowFinished):
            seen.finished = ev
            self._finish(ev, conv, msg, seen)

    def _finish(self, ev: WorkflowFinished, conv, msg, seen: _Seen) -> None:
        self._runs.finish(ev.run_id, ev)
        if conv is not None and ev.conversation_variables is not None:
            self._runs.save_conversation_variables(conv.id, ev.conversation_variables)
        if msg is not None:
            status = {RunStatus.STOPPED: MessageStatus.STOPPED, RunStatus.FAILED: MessageStatus.ERROR}.get(
                ev.status, MessageStatus.NORMAL)
            self._messages.finish(msg.id, answer=seen.answer, status=status, error=ev.error,
                                  answer_tokens=ev.total_tokens, retriever_resources=seen.resources,
                                  latency_ms=(time.perf_counter() - seen.started) * 1000)


class _Seen:
    """What a run's recorder keeps while the events pass: the answer text, citations and the final event."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.parts: list[str] = []
        self.resources: list[dict[str, Any]] = []
        self.finished: WorkflowFinished | None = None
        self.started = time.perf_counter()

    @property
    def answer(self) -> str:
        return "".join(self.parts)


