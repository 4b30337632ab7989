"""What one node did: its inputs, process data, outputs and error as pretty, copyable JSON."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QScrollArea, QToolButton, QVBoxLayout, QWidget,
)

from studio.ui.icons import icon
from studio.ui.theme import label, set_role
from studio.ui.workflow.node_types import format_ms, node_icon, status_color, type_label
from studio.ui.workflow.outline import OutlineNode
from studio.ui.workflow.steps import Step

MAX_BLOCK_LINES = 18
CANVAS_STYLE = "QWidget#DetailCanvas { background: transparent; }"
JSON_STYLE = "QPlainTextEdit#JsonText { border: none; background: transparent; padding: 0; }"


def pretty(value: Any) -> str:
    """JSON as a person reads it: indented, non-ASCII kept, anything odd shown as its text."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def mono_font():
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(max(8.0, font.pointSizeF() - 1))
    return font


def fit_height(edit: QPlainTextEdit, max_lines: int, min_lines: int = 1) -> None:
    """Size a read-only text box to its wrapped lines, so short values take little room and long ones scroll."""
    width = max(edit.viewport().width(), edit.width() - 24, 200)
    metrics = edit.fontMetrics()
    lines = 0
    for line in edit.toPlainText().split("\n"):
        lines += max(1, -(-metrics.horizontalAdvance(line) // width))
    lines = min(max_lines, max(min_lines, lines))
    chrome = 2 * edit.frameWidth() + 2 * int(edit.document().documentMargin()) + 14
    edit.setFixedHeight(metrics.lineSpacing() * lines + chrome)


def transparent_scroll(area: QScrollArea, canvas: QWidget) -> None:
    """Scrolling content that shows the panel behind it, as the editor's form does."""
    canvas.setObjectName("DetailCanvas")
    canvas.setStyleSheet(CANVAS_STYLE)
    area.setWidget(canvas)
    area.viewport().setAutoFillBackground(False)
    canvas.setAutoFillBackground(False)


class JsonBlock(QFrame):
    """A titled, read-only block of text with a Copy button; it grows with its text up to a limit."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("section", True)
        self.title = label(title.upper(), "section")
        self.copy_button = QToolButton()
        self.copy_button.setIcon(icon("copy"))
        self.copy_button.setToolTip(f"Copy {title.lower()}")
        self.copy_button.setProperty("flat", True)
        self.copy_button.clicked.connect(self.copy)
        self.text = QPlainTextEdit()
        self.text.setObjectName("JsonText")
        self.text.setStyleSheet(JSON_STYLE)
        self.text.setReadOnly(True)
        self.text.setFont(mono_font())
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.copy_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 4, 4, 6)
        column.setSpacing(4)
        column.addLayout(header)
        column.addWidget(self.text)

    def set_value(self, value: Any) -> None:
        self.text.setPlainText(pretty(value))
        fit_height(self.text, MAX_BLOCK_LINES)

    def value_text(self) -> str:
        return self.text.toPlainText()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.value_text())


class NodeDetail(QScrollArea):
    """Shows one step of a run, or a node the run never reached (with its configuration instead)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        canvas = QWidget()
        self.icon = QLabel()
        self.title = label("", "subtitle")
        self.status = label("")
        self.facts = label("", "muted")
        self.empty_hint = label("Select a node to see its inputs, process data, outputs and error.", "hint",
                                 wrap=True)
        self.error = label("", "error", wrap=True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.blocks = {key: JsonBlock(title) for key, title in (
            ("inputs", "Inputs"), ("process_data", "Process data"), ("outputs", "Outputs"),
            ("config", "Configuration"))}
        head = QHBoxLayout()
        head.addWidget(self.icon)
        head.addWidget(self.title)
        head.addWidget(self.status)
        head.addStretch(1)
        column = QVBoxLayout(canvas)
        column.setContentsMargins(2, 4, 6, 4)
        column.setSpacing(8)
        column.addLayout(head)
        column.addWidget(self.facts)
        column.addWidget(self.empty_hint)
        column.addWidget(self.error)
        for block in self.blocks.values():
            column.addWidget(block)
        column.addStretch(1)
        transparent_scroll(self, canvas)
        self.step: Step | None = None
        self.clear()

    def clear(self, hint: str = "") -> None:
        self.step = None
        for w in (self.icon, self.title, self.status, self.facts, self.error, *self.blocks.values()):
            w.hide()
        if hint:
            self.empty_hint.setText(hint)
        self.empty_hint.show()

    def _head(self, node_type: str, title: str) -> None:
        self.icon.setPixmap(node_icon(node_type).pixmap(22, 22))
        self.title.setText(title)
        self.empty_hint.hide()
        for w in (self.icon, self.title):
            w.show()

    def show_step(self, step: Step) -> None:
        self.step = step
        self._head(step.node_type, step.title)
        self.status.setText(step.status)
        self.status.setStyleSheet(f"color: {status_color(step.status).name()}; font-weight: 600;")
        self.status.show()
        facts = [type_label(step.node_type), format_ms(step.elapsed_ms)]
        if step.tokens:
            facts.append(f"{step.tokens} tokens")
        if step.retries:
            facts.append(f"{step.retries} retr{'y' if step.retries == 1 else 'ies'}")
        if step.group is not None:
            facts.append(f"{'round' if step.group_kind == 'loop' else 'item'} {step.group + 1}")
        self.facts.setText(" · ".join(f for f in facts if f))
        self.facts.show()
        self.error.setText(step.error)
        self.error.setVisible(bool(step.error))
        for key in ("inputs", "process_data", "outputs"):
            value = getattr(step, key)
            self.blocks[key].set_value(value)
            self.blocks[key].setVisible(bool(value) or key == "outputs")
        self.blocks["config"].hide()

    def show_unrun(self, node: OutlineNode, ran: bool) -> None:
        """A node without a step: say why, and show how it is set up."""
        self.step = None
        self._head(node.type, node.title)
        self.status.hide()
        self.facts.setText(f"{type_label(node.type)} · {node.id} · "
                           + ("not reached in this run" if ran else "run the app to see what it does"))
        self.facts.show()
        set_role(self.facts, "role", "muted")
        self.error.hide()
        for key in ("inputs", "process_data", "outputs"):
            self.blocks[key].hide()
        config = {k: v for k, v in node.data.items() if k not in ("selected", "type", "title", "desc")}
        self.blocks["config"].set_value(config)
        self.blocks["config"].show()
