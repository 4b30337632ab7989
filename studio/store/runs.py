"""Workflow run log: runs, node executions and conversation variables, written off the engine's hot path."""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, delete, func, or_, select, type_coerce, update

from studio.core.errors import NotFoundError
from studio.core.workflow import NodeRun, NodeStatus, RunStatus, WorkflowRun
from studio.store.orm import ConversationVariableRow, NodeExecutionRow, WorkflowRunRow, utcnow

if TYPE_CHECKING:
    from studio.store.database import Store

log = logging.getLogger(__name__)
# Trace rows need unique ids, not secret ones: os.urandom per row costs ~150 µs on some VMs.
_ids = random.Random(uuid.uuid4().int)
_ids_lock = threading.Lock()


def _trace_id() -> str:
    with _ids_lock:
        bits = _ids.getrandbits(128)
    return str(uuid.UUID(int=bits, version=4))


def _jsonable(value: Any) -> Any:
    """Trace values must survive JSON; anything exotic is stored as its text."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=str))


def _run(row: WorkflowRunRow) -> WorkflowRun:
    return WorkflowRun(
        id=row.id, app_id=row.app_id, mode=row.mode, status=RunStatus(row.status), inputs=row.inputs or {},
        outputs=row.outputs or {}, error=row.error, elapsed_ms=row.elapsed_ms, total_tokens=row.total_tokens,
        total_steps=row.total_steps, exceptions_count=row.exceptions_count, conversation_id=row.conversation_id,
        message_id=row.message_id, created_at=row.created_at, finished_at=row.finished_at, user=row.user or "",
    )


def _node(row: NodeExecutionRow) -> NodeRun:
    return NodeRun(
        id=row.id, run_id=row.run_id, node_id=row.node_id, node_type=row.node_type, title=row.title, index=row.idx,
        status=NodeStatus(row.status), inputs=row.inputs or {}, process_data=row.process_data or {},
        outputs=row.outputs or {}, error=row.error, elapsed_ms=row.elapsed_ms, tokens=row.tokens,
        metadata=row.meta or {}, parent_id=row.parent_id, created_at=row.created_at,
    )


class RunWriter:
    """One thread that applies queued writes in order, batching whatever has piled up into one transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="run-writer", daemon=True)
        self._thread.start()

    def put(self, kind: str, payload: dict[str, Any]) -> None:
        self._queue.put((kind, payload))

    def flush(self, timeout: float = 30.0) -> None:
        done = threading.Event()
        self._queue.put(("flush", done))
        done.wait(timeout)

    def close(self) -> None:
        self._queue.put(("stop", None))
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._apply([b for b in batch if b[0] in ("node", "finish")])
            except Exception:  # a write failure must not kill the writer; it is logged with the batch size
                log.exception("run log write failed (%d items)", len(batch))
            for kind, payload in batch:
                if kind == "flush":
                    payload.set()
                elif kind == "stop":
                    return

    def _apply(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        if not items:
            return
        nodes = [p for k, p in items if k == "node"]
        with self._store.transaction() as s:
            if nodes:
                # Straight to the driver: this runs once per node, and the ORM layer would cost more than SQLite.
                s.connection().exec_driver_sql(_INSERT_NODE, [_node_row(p) for p in nodes])
            for kind, payload in items:
                if kind == "finish":
                    run_id = payload.pop("id")
                    s.execute(update(WorkflowRunRow).where(WorkflowRunRow.id == run_id).values(**payload))


_NODE_COLUMNS = ("id", "run_id", "node_id", "node_type", "title", "idx", "status", "inputs", "process_data",
                 "outputs", "error", "elapsed_ms", "tokens", "meta", "parent_id", "created_at")
_JSON_COLUMNS = {"inputs", "process_data", "outputs", "meta"}
_INSERT_NODE = (f"INSERT INTO node_executions ({', '.join(_NODE_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _NODE_COLUMNS)})")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _node_row(p: dict[str, Any]) -> tuple:
    return tuple(_dumps(p[c]) if c in _JSON_COLUMNS else (str(p[c]) if c == "created_at" else p[c])
                 for c in _NODE_COLUMNS)


class RunRepository:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._writer: RunWriter | None = None
        self._lock = threading.Lock()

    @property
    def writer(self) -> RunWriter:
        with self._lock:
            if self._writer is None:
                self._writer = RunWriter(self._store)
            return self._writer

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def start(self, *, run_id: str, app_id: str, mode: str, inputs: dict[str, Any],
              conversation_id: str | None = None, message_id: str | None = None, user: str = "") -> None:
        with self._store.transaction() as s:
            s.add(WorkflowRunRow(id=run_id, app_id=app_id, mode=mode, status=RunStatus.RUNNING.value,
                                 inputs=_jsonable(inputs), outputs={}, error="", elapsed_ms=0.0, total_tokens=0,
                                 total_steps=0, exceptions_count=0, conversation_id=conversation_id,
                                 message_id=message_id, created_at=utcnow(), user=user or "",
                                 owner=self._store.owner))

    def record_node(self, run_id: str, ev) -> None:
        """Queue a finished node (a core.workflow.NodeFinished) for the writer thread."""
        self.writer.put("node", {
            "id": _trace_id(), "run_id": run_id, "node_id": ev.node_id, "node_type": ev.node_type,
            "title": ev.title, "idx": ev.index, "status": ev.status.value, "inputs": ev.inputs,
            "process_data": ev.process_data, "outputs": ev.outputs, "error": ev.error,
            "elapsed_ms": ev.elapsed_s * 1000, "tokens": ev.tokens, "meta": ev.metadata,
            "parent_id": ev.parent_id, "created_at": utcnow(),
        })

    def finish(self, run_id: str, ev) -> None:
        """Queue the final record (a core.workflow.WorkflowFinished) and wait until it is on disk."""
        self.writer.put("finish", {
            "id": run_id, "status": ev.status.value, "outputs": _jsonable(ev.outputs), "error": ev.error,
            "elapsed_ms": ev.elapsed_s * 1000, "total_tokens": ev.total_tokens, "total_steps": ev.total_steps,
            "exceptions_count": ev.exceptions_count, "finished_at": utcnow(),
        })
        self.writer.flush()

    def get(self, run_id: str) -> WorkflowRun:
        with self._store.transaction() as s:
            row = s.get(WorkflowRunRow, run_id)
            if row is None:
                raise NotFoundError(f"Workflow run {run_id!r} not found")
            return _run(row)

    def list(self, app_id: str | None = None, limit: int = 100, status: str | None = None) -> list[WorkflowRun]:
        q = select(WorkflowRunRow).order_by(WorkflowRunRow.created_at.desc()).limit(limit)
        if app_id:
            q = q.where(WorkflowRunRow.app_id == app_id)
        if status:
            q = q.where(WorkflowRunRow.status == status)
        with self._store.transaction() as s:
            return [_run(r) for r in s.scalars(q)]

    def nodes(self, run_id: str) -> list[NodeRun]:
        q = select(NodeExecutionRow).where(NodeExecutionRow.run_id == run_id).order_by(NodeExecutionRow.idx)
        with self._store.transaction() as s:
            return [_node(r) for r in s.scalars(q)]

    def mark_running_failed(self) -> int:
        """At start-up, runs left running by a Studio process that is gone failed (see mark_running_interrupted)."""
        alive = self._store.live_owners()
        with self._store.transaction() as s:
            return s.execute(update(WorkflowRunRow).where(
                WorkflowRunRow.status == RunStatus.RUNNING.value,
                or_(WorkflowRunRow.owner.is_(None), WorkflowRunRow.owner.not_in(alive))).values(
                status=RunStatus.FAILED.value, error="Studio stopped before this run finished.",
                finished_at=utcnow())).rowcount

    def conversation_variables(self, conversation_id: str) -> dict[str, Any]:
        q = select(ConversationVariableRow).where(ConversationVariableRow.conversation_id == conversation_id)
        with self._store.transaction() as s:
            return {r.name: r.value for r in s.scalars(q)}

    def save_conversation_variables(self, conversation_id: str, values: dict[str, Any]) -> None:
        with self._store.transaction() as s:
            s.execute(delete(ConversationVariableRow).where(
                ConversationVariableRow.conversation_id == conversation_id))
            s.add_all([ConversationVariableRow(conversation_id=conversation_id, name=k, value=_jsonable(v),
                                               updated_at=utcnow()) for k, v in values.items()])

    def save_conversation_variable(self, conversation_id: str, name: str, value: Any) -> datetime:
        """Upsert one variable, leaving the conversation's others as they are; returns its new updated_at."""
        now = utcnow()
        with self._store.transaction() as s:
            row = s.get(ConversationVariableRow, (conversation_id, name))
            if row is None:
                s.add(ConversationVariableRow(conversation_id=conversation_id, name=name, value=_jsonable(value),
                                              updated_at=now))
            else:
                row.value, row.updated_at = _jsonable(value), now
        return now

    def conversation_variable_times(self, conversation_id: str) -> dict[str, datetime]:
        """When each stored variable of a conversation last changed."""
        q = select(ConversationVariableRow.name, ConversationVariableRow.updated_at).where(
            ConversationVariableRow.conversation_id == conversation_id)
        with self._store.transaction() as s:
            return {name: when for name, when in s.execute(q)}

    def logs(self, app_id: str, *, keyword: str = "", status: str | None = None,
             created_before: datetime | None = None, created_after: datetime | None = None,
             user: str | None = None, offset: int = 0, limit: int = 20) -> tuple[list[WorkflowRun], int]:
        """One page of an app's runs, newest first, and how many match in all (Dify's workflow logs)."""
        where = [WorkflowRunRow.app_id == app_id]
        if status:
            where.append(WorkflowRunRow.status == status)
        if created_before is not None:
            where.append(WorkflowRunRow.created_at <= created_before)
        if created_after is not None:
            where.append(WorkflowRunRow.created_at >= created_after)
        if user is not None:
            where.append(WorkflowRunRow.user == user)
        if keyword:
            where.append(_keyword_filter(keyword))
        q = select(WorkflowRunRow).where(*where).order_by(WorkflowRunRow.created_at.desc(), WorkflowRunRow.id)
        with self._store.transaction() as s:
            total = s.scalar(select(func.count()).select_from(WorkflowRunRow).where(*where)) or 0
            return [_run(r) for r in s.scalars(q.offset(offset).limit(limit))], total


def _keyword_filter(keyword: str):
    """LIKE over the stored JSON text of inputs and outputs, or the run id itself."""
    # The JSON column text escapes non-ASCII and quotes, so the escaped spelling is searched as well.
    spellings = {keyword, json.dumps(keyword)[1:-1]}
    clauses = [WorkflowRunRow.id == keyword]
    for text in spellings:
        pattern = "%" + text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
        for column in (WorkflowRunRow.inputs, WorkflowRunRow.outputs):
            clauses.append(type_coerce(column, String).like(pattern, escape="!"))
    return or_(*clauses)
