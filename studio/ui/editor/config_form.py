"""The left side of the app editor: the form over Dify's `model_config` fields (prompt, inputs, opener, context,
an agent's tools, model, memory)."""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget,
)

from studio.core.app_config import template_variables
from studio.core.entities import AppMode
from studio.ui.editor.context_section import ContextSection
from studio.ui.editor.model_section import MemorySection, ModelSection
from studio.ui.editor.tools_section import ToolsSection
from studio.ui.editor.variables import VariablesEditor
from studio.ui.theme import button, label


def _is_undo(event: QKeyEvent) -> bool:
    return event.matches(QKeySequence.StandardKey.Undo)


def _is_redo(event: QKeyEvent) -> bool:
    combo = event.keyCombination()
    ctrl_shift_z = (combo.key() == Qt.Key.Key_Z and combo.keyboardModifiers()
                    == (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
    return ctrl_shift_z or event.matches(QKeySequence.StandardKey.Redo)


def section(title: str, hint: str = "", *, extra: QWidget | None = None) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setProperty("section", True)
    column = QVBoxLayout(frame)
    column.setContentsMargins(14, 12, 14, 14)
    column.setSpacing(8)
    header = QHBoxLayout()
    header.addWidget(label(title.upper(), "section"))
    header.addStretch(1)
    if extra is not None:
        header.addWidget(extra)
    column.addLayout(header)
    if hint:
        column.addWidget(label(hint, "hint", wrap=True))
    return frame, column


class ConfigForm(QWidget):
    """Emits changed(key) on every edit; the editor turns that into an undo step and a debounced save."""

    changed = Signal(str)
    undo_requested = Signal()
    redo_requested = Signal()

    def __init__(self, mode: AppMode, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("FormCanvas")
        self.mode = mode
        self.agent = mode == AppMode.AGENT_CHAT
        self.chat = mode == AppMode.CHAT or self.agent  # an agent chats, with tools
        self.error = label("", "error", wrap=True)
        self.error.hide()
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("PromptEdit")
        self.prompt.setUndoRedoEnabled(False)  # one undo history for the whole editor
        self.prompt.setMinimumHeight(170)
        self.prompt.setPlaceholderText(
            "Write the instructions here. Use {{variable}} to insert a value from the input form."
            if self.chat else "Write the prompt template here, e.g. Translate {{text}} into {{language}}."
        )
        self.prompt_count = label("", "hint")
        self.prompt_vars = label("", "muted", wrap=True)
        self.prompt_vars.setTextFormat(Qt.TextFormat.RichText)
        self.add_missing = button("Add to input form", tip="Add the {{variables}} the prompt uses to the input form")
        self.variables = VariablesEditor()
        self.model = ModelSection()
        self.opening = QPlainTextEdit()
        self.opening.setUndoRedoEnabled(False)
        self.opening.setFixedHeight(70)
        self.opening.setPlaceholderText("A greeting the chat opens with (optional)")
        self.questions = QPlainTextEdit()
        self.questions.setUndoRedoEnabled(False)
        self.questions.setFixedHeight(80)
        self.questions.setPlaceholderText("One suggested question per line (optional)")
        self.memory = MemorySection()
        self.context = ContextSection()
        self.tools = ToolsSection()
        self.tools.watch = self.watch
        self._lay_out()
        self._connect()

    def _lay_out(self) -> None:
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 6, 0)
        column.setSpacing(12)
        column.addWidget(self.error)
        title = "Instructions" if self.chat else "Prompt"
        frame, body = section(title, extra=self.prompt_count)
        body.addWidget(self.prompt)
        vars_row = QHBoxLayout()
        vars_row.addWidget(self.prompt_vars, 1)
        vars_row.addWidget(self.add_missing)
        body.addLayout(vars_row)
        column.addWidget(frame)
        frame, body = section("Variables", "The input form users fill in; the prompt refers to each as {{variable}}.")
        body.addWidget(self.variables)
        column.addWidget(frame)
        if self.chat:
            frame, body = section("Conversation opener")
            body.addWidget(self.opening)
            body.addWidget(label("Suggested questions", "muted"))
            body.addWidget(self.questions)
            column.addWidget(frame)
        frame, body = section("Context", "Knowledge bases searched for each question; answers cite what they use.")
        body.addWidget(self.context)
        column.addWidget(frame)
        if self.agent:
            frame, body = section("Tools", "Built-in tools the agent may call, step by step, before it answers.")
            body.addWidget(self.tools)
            column.addWidget(frame)
        frame, body = section("Model")
        body.addWidget(self.model)
        column.addWidget(frame)
        if self.chat:
            frame, body = section("Memory", "How many earlier messages are sent with each new question.")
            body.addWidget(self.memory)
            column.addWidget(frame)
        column.addStretch(1)

    def _connect(self) -> None:
        self.prompt.textChanged.connect(lambda: self._edited("pre_prompt"))
        self.opening.textChanged.connect(lambda: self._edited("opening_statement"))
        self.questions.textChanged.connect(lambda: self._edited("suggested_questions"))
        self.add_missing.clicked.connect(self.add_missing_variables)
        for part in (self.variables, self.model, self.memory, self.context, self.tools):
            part.changed.connect(self._edited)
        for widget in (self.prompt, self.opening, self.questions, self.model.stop, self.model.temperature,
                       self.model.top_p, self.model.max_tokens, self.memory.size, self.tools.max_iteration,
                       *self.variables.detail.text_widgets()):
            self.watch(widget)

    def _edited(self, key: str) -> None:
        self._refresh_prompt_info()
        self.changed.emit(key)

    # -- undo keys ---------------------------------------------------------------------------------
    def watch(self, widget: QWidget) -> None:
        """Text widgets claim Ctrl+Z for their own history; this filter hands it to the editor's stack."""
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and (_is_undo(event) or _is_redo(event)):
            if kind == QEvent.Type.ShortcutOverride:
                event.accept()  # deliver it to us as a key press instead of any window shortcut
                return True
            (self.redo_requested if _is_redo(event) else self.undo_requested).emit()
            return True
        return super().eventFilter(watched, event)

    # -- config in and out -------------------------------------------------------------------------
    def load(self, config: dict[str, Any]) -> None:
        """Show a config; widgets whose value already matches are left alone so the cursor stays put."""
        blocked = [self.prompt, self.opening, self.questions]
        for w in blocked:
            w.blockSignals(True)
        _set_text(self.prompt, str(config.get("pre_prompt") or ""))
        _set_text(self.opening, str(config.get("opening_statement") or ""))
        questions = [str(q) for q in config.get("suggested_questions") or []]
        if _lines(self.questions.toPlainText()) != questions:
            _set_text(self.questions, "\n".join(questions))
        for w in blocked:
            w.blockSignals(False)
        self.variables.blockSignals(True)
        self.variables.load(list(config.get("user_input_form") or []))
        self.variables.blockSignals(False)
        self.model.load(config.get("model") or {})
        self.memory.load(config.get("memory"))
        self.context.load(config)
        if self.agent:
            self.tools.load(config)
        self._refresh_prompt_info()

    def apply(self, config: dict[str, Any]) -> dict[str, Any]:
        """Write the edited fields into a copy of config; every other key stays as it was."""
        result = copy.deepcopy(config)
        result["pre_prompt"] = self.prompt.toPlainText()
        result["user_input_form"] = self.variables.items()
        result["model"] = self.model.apply(config.get("model"))
        context = self.context.apply(config)
        if context is not None:
            result["dataset_configs"] = context
        if self.agent:
            result["agent_mode"] = self.tools.apply(config)
        if self.chat:
            result["opening_statement"] = self.opening.toPlainText()
            result["suggested_questions"] = _lines(self.questions.toPlainText())
            result["memory"] = self.memory.apply(config.get("memory"))
        return result

    def set_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))

    def _refresh_prompt_info(self) -> None:
        text = self.prompt.toPlainText()
        self.prompt_count.setText(f"{len(text)} characters")
        used = template_variables(text)
        defined = set(self.variables.variable_names())
        missing = [v for v in used if v not in defined]
        if not used:
            self.prompt_vars.setText("No {{variables}} in the prompt yet.")
        else:
            chips = " ".join(
                f'<span style="color:{"#B54708" if v in missing else "#155EEF"}">{{x}} {v}</span>' for v in used
            )
            note = " — not in the input form yet" if missing else ""
            self.prompt_vars.setText(f"Uses: {chips}{note}")
        self.add_missing.setVisible(bool(missing))

    def add_missing_variables(self) -> None:
        defined = set(self.variables.variable_names())
        missing = [v for v in template_variables(self.prompt.toPlainText()) if v not in defined]
        for name in missing:
            self.variables.add_variable(name, notify=False)
        if missing:
            self._edited("var:add")


def _set_text(edit: QPlainTextEdit | QLineEdit, text: str) -> None:
    current = edit.toPlainText() if isinstance(edit, QPlainTextEdit) else edit.text()
    if current == text:
        return
    if isinstance(edit, QPlainTextEdit):
        position = edit.textCursor().position()
        edit.setPlainText(text)
        cursor = edit.textCursor()
        cursor.setPosition(min(position, len(text)))
        edit.setTextCursor(cursor)
    else:
        edit.setText(text)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]

