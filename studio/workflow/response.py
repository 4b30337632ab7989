"""Streams Answer/End output in Dify's order: one response node at a time, as soon as its place is certain."""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.workflow import WorkflowText
from studio.workflow.variables import SPECIAL, VARIABLE_PATTERN, VariablePool, to_text


@dataclass
class _Session:
    node_id: str
    segments: list[str | tuple[str, ...]]  # text, or a variable selector
    cursor: int = 0


def split_template(template: str) -> list[str | tuple[str, ...]]:
    parts: list[str | tuple[str, ...]] = []
    pos = 0
    for m in VARIABLE_PATTERN.finditer(template or ""):
        if m.start() > pos:
            parts.append(template[pos:m.start()])
        parts.append(tuple(m.group(1).split(".")))
        pos = m.end()
    if pos < len(template or ""):
        parts.append(template[pos:])
    return parts


class ResponseCoordinator:
    """The engine tells it about chunks, finished nodes and edge changes; it returns the text to emit."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.pool: VariablePool = engine.ctx.pool
        self.templates = {nid: segs for nid, node in engine.graph.nodes.items()
                          if (segs := node.response_segments(engine.ctx.mode)) is not None}
        self.started: set[str] = set()
        self.queue: list[_Session] = []
        self.buffers: dict[tuple[str, ...], list[str]] = {}
        self.emitted: dict[tuple[str, ...], int] = {}  # characters of a streamed variable already sent
        self.text: list[str] = []
        # Conversation and loop variables can change mid-run: their value is final once every writer has settled.
        self.writers: dict[tuple[str, str], set[str]] = {}
        for nid, node in engine.graph.nodes.items():
            for sel in node.writes():
                if len(sel) >= 2:
                    self.writers.setdefault((sel[0], sel[1]), set()).add(nid)

    def on_chunk(self, node_id: str, name: str, text: str) -> list[WorkflowText]:
        self.buffers.setdefault((node_id, name), []).append(text)
        return self._advance()

    def on_change(self) -> list[WorkflowText]:
        for nid in self.templates:
            if nid not in self.started and self.engine.is_certain(nid):
                self.started.add(nid)
                self.queue.append(_Session(nid, self.templates[nid]))
        return self._advance()

    def _advance(self) -> list[WorkflowText]:
        out: list[WorkflowText] = []
        while self.queue:
            session = self.queue[0]
            while session.cursor < len(session.segments):
                seg = session.segments[session.cursor]
                if isinstance(seg, str):
                    out.append(WorkflowText(seg, (session.node_id, "answer")))
                elif not self._variable(seg, out):
                    return out
                session.cursor += 1
            self.queue.pop(0)
        return out

    def _variable(self, sel: tuple[str, ...], out: list[WorkflowText]) -> bool:
        """Emit what is known of a variable; True once it is complete."""
        source = sel[0]
        key = sel[:2]
        streamed = self.buffers.get(key)
        writers = self.writers.get((sel[0], sel[1]))
        if writers is not None:
            ready = all(self.engine.is_settled(w) for w in writers)
        else:  # inside an iteration/loop, values of nodes outside it (the container's own too) are final
            ready = source in SPECIAL or source not in self.engine.graph.nodes or self.engine.is_settled(source)
        if ready:
            value = to_text(self.pool.get_or(list(sel), ""))
            sent = self.emitted.get(key, 0) if streamed is not None and len(sel) == 2 else 0
            if value[sent:]:
                out.append(WorkflowText(value[sent:], sel))
            self.emitted[key] = len(value)
            return True
        if streamed and len(sel) == 2:
            sent = self.emitted.get(key, 0)
            joined = "".join(streamed)
            if joined[sent:]:
                out.append(WorkflowText(joined[sent:], sel))
                self.emitted[key] = len(joined)
        return False


def answer_text(events: list[WorkflowText]) -> str:
    return "".join(e.text for e in events)


