"""An agent answer's tool steps under its text: one compact "Used current_time" row per step, which unfolds to
what the tool was given and what it answered."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QToolButton, QVBoxLayout, QWidget

from studio.core.events import AgentThought
from studio.ui.icons import icon
from studio.ui.theme import label

MAX_SHOWN = 1500  # characters of an input or observation shown; the whole text is in the tooltip


def shown(value: Any) -> str:
    """A step's input or result as a person reads it: text as it is, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    if value in ({}, []):
        return "(nothing)"
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def step_title(thought: AgentThought) -> str:
    labels = (thought.tool_labels or {}).get(thought.tool) or {}
    name = labels.get("en_US") if isinstance(labels, dict) else ""
    return f"Used {thought.tool}" + (f"  ·  {name}" if name and name != thought.tool else "")


def _text(text: str) -> QLabel:
    widget = QLabel(text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN].rstrip() + " …")
    widget.setWordWrap(True)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    widget.setToolTip(text[:4000] if len(text) > MAX_SHOWN else "")
    widget.setProperty("role", "code")
    return widget


class StepRow(QWidget):
    """One tool call; folded by default, so a long observation never pushes the answer away."""

    def __init__(self, thought: AgentThought, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thought = thought
        self.header = QToolButton()
        self.header.setProperty("step", True)
        self.header.setIcon(icon("tool", "#155EEF"))
        self.header.setText(step_title(thought))
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setCheckable(True)
        self.header.setCursor(Qt.CursorShape.PointingHandCursor)
        self.header.setToolTip("Show what the tool was given and what it answered")
        self.detail = QFrame()
        self.detail.setProperty("step", True)
        inner = QVBoxLayout(self.detail)
        inner.setContentsMargins(10, 6, 10, 8)
        inner.setSpacing(2)
        self.input_text = shown(thought.input_value())
        self.output_text = shown(thought.observation_value())
        inner.addWidget(label("INPUT", "section"))
        inner.addWidget(_text(self.input_text))
        output = label("OUTPUT", "section")
        output.setContentsMargins(0, 6, 0, 0)
        inner.addWidget(output)
        inner.addWidget(_text(self.output_text))
        self.detail.hide()
        self.header.toggled.connect(self.set_expanded)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        column.addWidget(self.header, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self.detail)

    @property
    def expanded(self) -> bool:
        return not self.detail.isHidden()

    def set_expanded(self, on: bool) -> None:
        self.header.blockSignals(True)
        self.header.setChecked(on)
        self.header.blockSignals(False)
        self.detail.setVisible(on)


class AgentSteps(QWidget):
    """The tool steps of one answer, in the order the agent took them; hidden while there are none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[StepRow] = []
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(0, 2, 0, 0)
        self.column.setSpacing(4)
        self.hide()

    def add(self, thought: AgentThought) -> StepRow | None:
        """Show a step; the step that writes the answer (no tool) is the answer itself, so it adds no row."""
        if not thought.tool or any(r.thought.id == thought.id for r in self.rows):
            return None
        row = StepRow(thought)
        self.rows.append(row)
        self.column.addWidget(row)
        self.show()
        return row

    def set_thoughts(self, thoughts: list[AgentThought]) -> None:
        for thought in sorted(thoughts, key=lambda t: t.position):
            self.add(thought)
