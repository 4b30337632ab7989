"""A graph app's run on a worker: node events and streamed text reach the main thread in per-frame batches."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from studio.core.cancel import CancelToken
from studio.core.workflow import WorkflowFinished, WorkflowStarted, WorkflowText
from studio.ui.bridge import Generation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConversationKnown:
    """A chatflow run's conversation, looked up on the worker once the run has started."""

    conversation_id: str


class WorkflowGeneration(Generation):
    """Runs through Bridge.stream like a chat turn; besides text it batches the engine's other events.

    `finished` carries the WorkflowFinished; `events` a list of the other events in the order they happened."""

    events = Signal(list)

    def __init__(self, start: Callable[[CancelToken], Iterator], parent: QObject | None = None) -> None:
        super().__init__(start, parent)
        self._events: list = []

    def flush(self) -> None:
        with self._lock:
            events, self._events = self._events, []
            text, self._parts = "".join(self._parts), []
        if events:
            self.events.emit(events)
        if text:
            self.text.emit(text)

    def consume(self, event, post: Callable[..., None]):
        with self._lock:
            if isinstance(event, WorkflowText):
                self._parts.append(event.text)
            else:
                self._events.append(event)
        return event if isinstance(event, WorkflowFinished) else None


def with_conversation(events: Iterator, services) -> Iterator:
    """Pass a chatflow's events through, adding which conversation the run belongs to once it has started."""
    try:
        for event in events:
            yield event
            if isinstance(event, WorkflowStarted):
                run = services.workflows.get_run(event.run_id)
                if run.conversation_id:
                    yield ConversationKnown(run.conversation_id)
    finally:
        close = getattr(events, "close", None)
        if close:
            close()
