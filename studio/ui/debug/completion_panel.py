"""Debug & Preview for a Text generator: the input form, Run and Stop, and the streamed output with its stats."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPlainTextEdit, QVBoxLayout, QWidget

from studio.core.entities import App, MessageStatus
from studio.core.events import MessageFinished
from studio.ui.bridge import Generation
from studio.ui.debug.chat_view import STATUS_BADGES, format_stats
from studio.ui.debug.citations import CitationsRow
from studio.ui.debug.inputs_form import InputsForm, app_inputs
from studio.ui.icons import icon
from studio.ui.theme import button, label, set_role

log = logging.getLogger(__name__)


class CompletionPanel(QFrame):
    answer_finished = Signal(object)  # MessageFinished
    run_failed = Signal(str)

    def __init__(self, services, bridge, app: App, *, before_run: Callable[[], object] = lambda: None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("panel", True)
        self.services, self.bridge, self.app = services, bridge, app
        self.before_run = before_run
        self.generation: Generation | None = None
        self.inputs = InputsForm()
        self.no_inputs = label("This app has no input variables; Run sends the prompt as written.", "hint", wrap=True)
        self.run_button = button("Run", primary=True, tip="Run (Ctrl+Enter)")
        self.run_button.setIcon(icon("play", "#FFFFFF"))
        self.stop_button = button("Stop", tip="Stop generating (Esc)")
        self.stop_button.setIcon(icon("stop", "#D92D20"))
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setPlaceholderText("The generated text appears here.")
        self.badge = label("", "badge")
        self.badge.hide()
        self.stats = label("", "stats")
        self.citations = CitationsRow()
        self.error = label("", "error", wrap=True)
        self.error.hide()
        self._build()
        self.set_app(app)
        self._set_running(False)

    def _build(self) -> None:
        self.run_button.clicked.connect(self.run)
        self.stop_button.clicked.connect(self.stop)
        action = QAction(self)
        action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(self.run)
        self.addAction(action)
        form = QFrame()
        form.setProperty("section", True)
        form_column = QVBoxLayout(form)
        form_column.setContentsMargins(12, 10, 12, 10)
        form_column.addWidget(label("USER INPUT", "section"))
        form_column.addWidget(self.inputs)
        form_column.addWidget(self.no_inputs)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.run_button)
        form_column.addLayout(buttons)
        result_row = QHBoxLayout()
        result_row.addWidget(label("OUTPUT", "section"))
        result_row.addWidget(self.badge)
        result_row.addStretch(1)
        result_row.addWidget(self.stats)
        root = QVBoxLayout(self)
        root.setContentsMargins(14, 12, 14, 14)
        root.addWidget(label("DEBUG & PREVIEW", "section"))
        root.addWidget(form)
        root.addWidget(self.error)
        root.addLayout(result_row)
        root.addWidget(self.output, 1)
        root.addWidget(self.citations)

    def set_app(self, app: App) -> None:
        self.app = app
        self.inputs.set_fields(app_inputs(app.config))
        self.no_inputs.setVisible(not self.inputs.fields)

    @property
    def running(self) -> bool:
        return self.generation is not None and self.generation.running

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def run(self) -> Generation | None:
        if self.running:
            return None
        self.before_run()
        inputs, app_id = self.inputs.values(), self.app.id

        def start(cancel):
            return self.services.chat.complete(app_id, inputs, cancel=cancel)

        self.error.hide()
        self.inputs.set_error("")
        self.badge.hide()
        self.stats.setText("")
        self.citations.set_resources([])
        self.output.clear()
        generation = Generation(start, self)
        generation.text.connect(self._on_text)
        generation.finished.connect(self._on_finished)
        generation.failed.connect(self._on_failed)
        self.generation = self.bridge.stream(generation)
        self._set_running(True)
        return generation

    def stop(self) -> None:
        if self.generation is not None:
            self.generation.stop()

    def _on_text(self, text: str) -> None:
        cursor = self.output.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(text)
        self.output.ensureCursorVisible()

    def _on_finished(self, finished: MessageFinished) -> None:
        m = finished.message
        if self.output.toPlainText() != m.answer:
            self.output.setPlainText(m.answer)  # the stored answer is the truth
        badge = STATUS_BADGES.get(m.status)
        self.badge.setVisible(badge is not None)
        if badge:
            self.badge.setText(badge[0])
            set_role(self.badge, "kind", badge[1])
        self.stats.setText(format_stats(finished))
        self.citations.set_resources(m.retriever_resources)
        if m.status == MessageStatus.ERROR:
            self._show_error(m.error)
        self._set_running(False)
        self.answer_finished.emit(finished)

    def _on_failed(self, message: str) -> None:
        self._set_running(False)
        if self.inputs.fields and " input form" in message:
            self.inputs.set_error(message)
        else:
            self._show_error(message)
        self.run_failed.emit(message)

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def shutdown(self) -> None:
        self.stop()
