"""What the Workflow and Chatflow previews share: the header, the tabs, and one run on a worker at a time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget
from pydantic import ValidationError as PydanticError

from studio.core.app_config import INPUT_TYPES, InputField
from studio.core.cancel import CancelToken
from studio.core.entities import App
from studio.core.workflow import WorkflowFinished
from studio.ui.theme import label
from studio.ui.workflow.node_types import status_color
from studio.ui.workflow.run_job import WorkflowGeneration

log = logging.getLogger(__name__)
TABS_STYLE = """
QTabWidget#PreviewTabs::pane { border: none; border-top: 1px solid #EAECF0; }
QTabWidget#PreviewTabs > QTabBar::tab { background: transparent; border: none; border-bottom: 2px solid transparent;
    padding: 6px 12px; margin-right: 4px; color: #667085; font-weight: 600; }
QTabWidget#PreviewTabs > QTabBar::tab:selected { color: #155EEF; border-bottom: 2px solid #155EEF; }
QTabWidget#PreviewTabs > QTabBar::tab:hover:!selected { color: #344054; }
"""
STATUS_TEXT = {"succeeded": "Succeeded", "failed": "Failed", "stopped": "Stopped", "running": "Running",
               "partial-succeeded": "Partly succeeded"}


def start_fields(variables: list[dict[str, Any]]) -> list[InputField]:
    """The Start node's variables as form fields; types without their own widget are typed in as text."""
    fields = []
    for v in variables:
        if not isinstance(v, dict) or not v.get("variable"):
            continue
        kind = v.get("type") if v.get("type") in INPUT_TYPES else "text-input"
        try:
            fields.append(InputField(type=kind, variable=str(v["variable"]), label=str(v.get("label") or ""),
                                     required=bool(v.get("required")), max_length=v.get("max_length") or None,
                                     options=[str(o) for o in v.get("options") or []], default=v.get("default")))
        except PydanticError as exc:
            log.warning("start variable %r left out of the form: %s", v.get("variable"), exc)
    return fields


BADGE_COLOURS = {  # status -> (background, border), Dify's light tints
    "succeeded": ("#ECFDF3", "#ABEFC6"), "failed": ("#FEF3F2", "#FECDCA"), "running": ("#EFF4FF", "#B2CCFF"),
    "stopped": ("#F2F4F7", "#D0D5DD"), "partial-succeeded": ("#FFFAEB", "#FEDF89"),
}


def set_status_badge(badge: QLabel, status: str) -> None:
    background, border = BADGE_COLOURS.get(status, ("#F2F4F7", "#D0D5DD"))
    badge.setText(STATUS_TEXT.get(status, status.title()))
    badge.setStyleSheet(f"color: {status_color(status).name()}; background: {background}; font-weight: 600;"
                        f"border: 1px solid {border}; border-radius: 4px; padding: 1px 8px;")
    badge.setVisible(bool(status))


def run_facts(elapsed_s: float, tokens: int, steps: int) -> str:
    return f"{elapsed_s:.3f} s · {tokens} token{'s' if tokens != 1 else ''} · {steps} step{'s' if steps != 1 else ''}"


class RunPanel(QFrame):
    """Debug & Preview of a graph app; subclasses add the inputs (Workflow) or the chat (Chatflow)."""

    run_started = Signal(object)  # WorkflowGeneration, before any of its events arrive
    run_finished = Signal(object)  # WorkflowFinished
    run_failed = Signal(str)  # refused before it began, or broke down

    def __init__(self, services, bridge, app: App, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("panel", True)
        self.services, self.bridge, self.app = services, bridge, app
        self.generation: WorkflowGeneration | None = None
        self.tabs = QTabWidget()
        self.tabs.setObjectName("PreviewTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setStyleSheet(TABS_STYLE)
        self.header = QHBoxLayout()
        self.header.addWidget(label("DEBUG & PREVIEW", "section"))
        self.header.addStretch(1)
        self.body = QVBoxLayout()
        self.body.setSpacing(8)
        root = QVBoxLayout(self)
        root.setContentsMargins(14, 12, 14, 14)
        root.setSpacing(10)
        root.addLayout(self.header)
        root.addLayout(self.body)
        root.addWidget(self.tabs, 1)

    @property
    def running(self) -> bool:
        return self.generation is not None and self.generation.running

    def set_app(self, app: App) -> None:
        self.app = app

    def _launch(self, start: Callable[[CancelToken], Iterator]) -> WorkflowGeneration:
        generation = WorkflowGeneration(start, self)
        generation.text.connect(self._on_text)
        generation.events.connect(self._on_events)
        generation.finished.connect(self._on_finished)
        generation.failed.connect(self._on_failed)
        self.generation = generation
        self.run_started.emit(generation)
        self.bridge.stream(generation)
        self._set_running(True)
        return generation

    def stop(self) -> None:
        if self.generation is not None:
            self.generation.stop()

    def shutdown(self) -> None:
        self.stop()

    def focus_first(self) -> None:
        """Where the user starts typing: the first input, or the chat box."""

    # -- what each panel provides (Qt's metaclass rules out abc here, so a missing one fails loudly) --------
    def trigger(self) -> None:
        """Ctrl+Enter: run the workflow, or send the chat message."""
        raise TypeError(f"{type(self).__name__} must define trigger()")

    def _set_running(self, running: bool) -> None:
        raise TypeError(f"{type(self).__name__} must define _set_running()")

    def _on_text(self, text: str) -> None:
        raise TypeError(f"{type(self).__name__} must define _on_text()")

    def _on_events(self, events: list) -> None:
        """Most events are the page's (trace and overview); a panel may look at some."""

    def _on_finished(self, finished: WorkflowFinished) -> None:
        self._set_running(False)
        self.run_finished.emit(finished)

    def _on_failed(self, message: str) -> None:
        self._set_running(False)
        self.run_failed.emit(message)
