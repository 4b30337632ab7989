"""Debug & Preview of a Workflow: the Start form, Run and Stop, the streamed End text and the final outputs."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtWidgets import QFrame, QHBoxLayout, QPlainTextEdit, QScrollArea, QVBoxLayout, QWidget

from studio.core.entities import App
from studio.core.errors import StudioError
from studio.core.workflow import WorkflowFinished, WorkflowRun
from studio.services.workflows import start_variables, workflow_of
from studio.ui.debug.inputs_form import InputsForm
from studio.ui.icons import icon
from studio.ui.theme import button, label
from studio.ui.workflow.node_detail import JsonBlock, fit_height, transparent_scroll
from studio.ui.workflow.run_panel import RunPanel, run_facts, set_status_badge, start_fields

log = logging.getLogger(__name__)
TEXT_LINES = 16


class ResultView(QScrollArea):
    """Dify's Result tab: status, time, tokens and steps, then the text the End node streamed, then outputs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        canvas = QWidget()
        self.badge = label("")
        self.facts = label("", "muted")
        self.empty_hint = label("Fill in the inputs and press Run (Ctrl+Enter) to see the result here.", "hint",
                                 wrap=True)
        self.error = label("", "error", wrap=True)
        self.text = QPlainTextEdit()
        self.text.setObjectName("ResultText")
        self.text.setReadOnly(True)
        self.text.setPlaceholderText("The End node's streamed text appears here.")
        self.outputs = JsonBlock("Outputs")
        row = QHBoxLayout()
        row.addWidget(self.badge)
        row.addWidget(self.facts, 1)
        column = QVBoxLayout(canvas)
        column.setContentsMargins(2, 8, 6, 4)
        column.setSpacing(8)
        column.addLayout(row)
        column.addWidget(self.empty_hint)
        column.addWidget(self.error)
        column.addWidget(self.text)
        column.addWidget(self.outputs)
        column.addStretch(1)
        transparent_scroll(self, canvas)
        self.clear()

    def clear(self) -> None:
        for w in (self.badge, self.facts, self.error, self.text, self.outputs):
            w.hide()
        self.text.clear()
        self.empty_hint.show()

    def begin(self) -> None:
        self.clear()
        self.empty_hint.hide()
        set_status_badge(self.badge, "running")
        self.facts.setText("")
        self.facts.show()

    def append(self, text: str) -> None:
        self.text.show()
        self.text.moveCursor(self.text.textCursor().MoveOperation.End)
        self.text.insertPlainText(text)
        fit_height(self.text, TEXT_LINES, 3)

    def finish(self, status: str, outputs: dict[str, Any], error: str, facts: str, when: str = "") -> None:
        self.empty_hint.hide()
        set_status_badge(self.badge, status)
        self.facts.setText(facts + (f" · {when}" if when else ""))
        self.facts.show()
        self.error.setText(error)
        self.error.setVisible(bool(error))
        self.outputs.set_value(outputs)
        self.outputs.show()

    def outputs_text(self) -> str:
        return self.outputs.value_text() if not self.outputs.isHidden() else ""


class WorkflowPanel(RunPanel):
    def __init__(self, services, bridge, app: App, parent: QWidget | None = None) -> None:
        super().__init__(services, bridge, app, parent)
        self.inputs = InputsForm()
        self.run_button = button("Run", primary=True, tip="Run the workflow (Ctrl+Enter)")
        self.run_button.setIcon(icon("play", "#FFFFFF"))
        self.run_button.clicked.connect(lambda: self.run())
        self.stop_button = button("Stop", tip="Stop the run (Esc)")
        self.stop_button.setIcon(icon("stop", "#D92D20"))
        self.stop_button.clicked.connect(self.stop)
        self.result = ResultView()
        self.tabs.addTab(self.result, "Result")
        self.body.addWidget(self._inputs_box())
        self.set_app(app)
        self._set_running(False)

    def _inputs_box(self) -> QFrame:
        box = QFrame()
        box.setProperty("section", True)
        self.no_inputs = label("This workflow takes no inputs.", "muted")
        buttons = QHBoxLayout()
        buttons.addWidget(label("Ctrl+Enter runs · Esc stops", "hint"))
        buttons.addStretch(1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.run_button)
        column = QVBoxLayout(box)
        column.setContentsMargins(12, 10, 12, 10)
        column.addWidget(label("INPUTS", "section"))
        column.addWidget(self.inputs)
        column.addWidget(self.no_inputs)
        column.addLayout(buttons)
        return box

    def set_app(self, app: App) -> None:
        super().set_app(app)
        try:
            variables = start_variables(workflow_of(app).get("graph") or {})
        except StudioError as exc:
            log.warning("no start form: %s", exc.message)
            variables = []
        self.inputs.set_fields(start_fields(variables))
        self.no_inputs.setVisible(not self.inputs.fields)

    def focus_first(self) -> None:
        first = next(iter(self.inputs.widgets.values()), None)
        (first or self.run_button).setFocus()

    def trigger(self) -> None:
        self.run()

    def run(self, inputs: dict[str, Any] | None = None):
        """Run with what the form holds (or these inputs, written into the form first)."""
        if self.running:
            return None
        if inputs is not None:
            self.fill(inputs)
        values, app_id = self.inputs.values(), self.app.id
        self.inputs.set_error("")
        self.result.begin()
        self.tabs.setCurrentWidget(self.result)
        return self._launch(lambda cancel: self.services.workflows.run(app_id, inputs=values, cancel=cancel))

    def fill(self, inputs: dict[str, Any]) -> None:
        for name in self.inputs.widgets:
            value = inputs.get(name)
            self.inputs.set_value(name, "" if value is None else value)

    def show_past(self, run: WorkflowRun, when: str) -> None:
        if not self.running:
            self.result.clear()
            self.result.finish(run.status.value, run.outputs, run.error,
                               run_facts(run.elapsed_ms / 1000, run.total_tokens, run.total_steps), when)

    def _set_running(self, running: bool) -> None:
        had_focus = self.run_button.hasFocus() or self.stop_button.hasFocus()
        self.stop_button.setEnabled(running)
        self.run_button.setEnabled(not running)
        if had_focus:  # a disabled button drops the focus, and with it the page's shortcuts
            (self.stop_button if running else self.run_button).setFocus()

    def _on_text(self, text: str) -> None:
        self.result.append(text)

    def _on_finished(self, finished: WorkflowFinished) -> None:
        self.result.finish(finished.status.value, finished.outputs, finished.error,
                           run_facts(finished.elapsed_s, finished.total_tokens, finished.total_steps))
        super()._on_finished(finished)

    def _on_failed(self, message: str) -> None:
        """Refused before it began (most often an input the form must fix): nothing ran."""
        self.result.clear()
        named = any(message.startswith(f.label or f.variable) for f in self.inputs.fields)
        if named:
            self.inputs.set_error(message)
        else:
            self.result.empty_hint.hide()
            self.result.error.setText(message)
            self.result.error.show()
        super()._on_failed(message)
