"""The chat transcript: user and assistant bubbles, the opener with suggested questions, per-answer stats, and an
agent's tool steps."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from studio.core.entities import Message, MessageStatus
from studio.core.events import AgentThought, MessageFinished
from studio.ui.debug.agent_steps import AgentSteps
from studio.ui.debug.citations import CitationsRow
from studio.ui.theme import AppIcon, label, set_role

STATUS_BADGES = {
    MessageStatus.STOPPED: ("Stopped", "warn"),
    MessageStatus.INTERRUPTED: ("Interrupted", "warn"),
    MessageStatus.ERROR: ("Error", "error"),
}


def format_stats(finished: MessageFinished) -> str:
    m = finished.message
    parts = [f"{m.answer_tokens} tokens", f"latency {m.latency_ms / 1000:.2f} s"]
    if m.first_token_ms:
        parts.append(f"first token {m.first_token_ms:.0f} ms")
    parts.append(f"{finished.tokens_per_second:.1f} tokens/s")
    return " · ".join(parts)


def dropped_note(dropped: int) -> str:
    return f"{dropped} earlier message{'s were' if dropped != 1 else ' was'} left out to fit the context window"


def _text_label(text: str = "") -> QLabel:
    widget = QLabel(text)
    widget.setWordWrap(True)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return widget


class AnswerBubble(QWidget):
    """An assistant answer that grows as text streams in, then shows its status and stats."""

    def __init__(self, app_icon: tuple[str, str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.frame = QFrame()
        self.frame.setProperty("bubble", "assistant")
        self.body = _text_label("…")
        self.body.setProperty("role", "muted")
        self.badge = label("", "badge")
        self.badge.hide()
        self.error = label("", "muted", wrap=True)
        self.error.hide()
        self.note = label("", "note", wrap=True)
        self.note.hide()
        self.stats = label("", "stats")
        self.stats.hide()
        self.citations = CitationsRow()
        self.steps = AgentSteps()
        inner = QVBoxLayout(self.frame)
        inner.setContentsMargins(12, 8, 12, 8)
        inner.addWidget(self.body)
        inner.addWidget(self.error)
        avatar = AppIcon(28)
        avatar.set_icon(*app_icon)
        column = QVBoxLayout()
        column.setSpacing(4)
        column.addWidget(self.frame)
        column.addWidget(self.steps)
        badges = QHBoxLayout()
        badges.addWidget(self.badge)
        badges.addWidget(self.stats)
        badges.addStretch(1)
        column.addWidget(self.citations)
        column.addLayout(badges)
        column.addWidget(self.note)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 40, 0)
        row.addWidget(avatar, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(column, 1)

    def append(self, text: str) -> None:
        if not self.text:
            set_role(self.body, "role", "")
        self.text += text
        self.body.setText(self.text)

    def add_step(self, thought: AgentThought) -> None:
        """An agent's tool call, live while the answer streams or read back with a stored answer."""
        self.steps.add(thought)

    def finish(self, finished: MessageFinished) -> None:
        m = finished.message
        self.text = m.answer  # the stored answer is the truth, whatever batching did
        self.body.setText(m.answer or ("(no answer)" if m.status != MessageStatus.ERROR else ""))
        self.body.setVisible(bool(self.body.text()))
        set_role(self.body, "role", "" if m.answer else "muted")
        self.set_status(m.status, m.error)
        self.stats.setText(format_stats(finished))
        self.stats.setVisible(m.status != MessageStatus.ERROR or m.answer_tokens > 0)
        self.citations.set_resources(m.retriever_resources)
        if finished.dropped_turns > 0:
            self.note.setText(dropped_note(finished.dropped_turns))
            self.note.show()

    def set_status(self, status: MessageStatus, error: str = "") -> None:
        badge = STATUS_BADGES.get(status)
        self.badge.setVisible(badge is not None)
        if badge:
            self.badge.setText(badge[0])
            set_role(self.badge, "kind", badge[1])
        if status == MessageStatus.ERROR:
            set_role(self.frame, "bubble", "error")
        if error:
            self.error.setText(error)
            self.error.show()

    def fail(self, message: str) -> None:
        self.set_status(MessageStatus.ERROR, message)
        self.body.setVisible(bool(self.text))


class ChatView(QScrollArea):
    """A vertical transcript that sticks to the bottom while an answer streams, unless the user scrolls up."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        canvas = QWidget()
        canvas.setObjectName("ChatCanvas")
        self.column = QVBoxLayout(canvas)
        self.column.setContentsMargins(16, 16, 16, 16)
        self.column.setSpacing(14)
        self.column.addStretch(1)
        self.setWidget(canvas)
        self._stick = True
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(lambda _lo, hi: self._stick and bar.setValue(hi))
        bar.valueChanged.connect(lambda v: setattr(self, "_stick", v >= bar.maximum() - 24))
        self.app_icon = ("🤖", "#FFEAD5", "")
        self.opening: QWidget | None = None
        self.suggestions: list = []

    def clear(self) -> None:
        while self.column.count() > 1:
            item = self.column.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.hide()  # gone from view now; Qt frees it once the current event is done
                widget.setParent(None)
                widget.deleteLater()
        self.opening, self.suggestions = None, []
        self._stick = True

    def _add(self, widget: QWidget) -> QWidget:
        self.column.insertWidget(self.column.count() - 1, widget)
        return widget

    def add_user(self, text: str) -> QWidget:
        frame = QFrame()
        frame.setProperty("bubble", "user")
        inner = QVBoxLayout(frame)
        inner.setContentsMargins(12, 8, 12, 8)
        body = _text_label(text)
        # A wrapped QLabel would otherwise settle on a narrow width and wrap even a short question.
        longest = max((body.fontMetrics().horizontalAdvance(line) for line in text.splitlines() or [""]), default=0)
        body.setMinimumWidth(min(longest + 4, 360))
        inner.addWidget(body)
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(80, 0, 0, 0)
        row.addStretch(1)
        row.addWidget(frame)
        self._stick = True
        return self._add(holder)

    def add_answer(self) -> AnswerBubble:
        self._stick = True
        return self._add(AnswerBubble(self.app_icon))

    def add_message(self, message: Message, thoughts: list[AgentThought] | None = None) -> AnswerBubble:
        """An earlier turn read back from the database, stats (and an agent's steps) included."""
        self.add_user(message.query)
        bubble = self.add_answer()
        bubble.steps.set_thoughts(list(thoughts or []))
        bubble.finish(MessageFinished(message=message))
        return bubble

    def add_opening(self, statement: str, questions: list[str], on_click: Callable[[str], None]) -> None:
        if not statement and not questions:
            return
        bubble = AnswerBubble(self.app_icon)
        bubble.frame.setProperty("bubble", "opening")
        bubble.body.setProperty("role", "")
        bubble.body.setText(statement)
        bubble.body.setVisible(bool(statement))
        layout = bubble.frame.layout()
        for question in questions:
            chip = QPushButton(question)
            chip.setProperty("chip", True)
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.clicked.connect(lambda _=False, q=question: on_click(q))
            layout.addWidget(chip, 0, Qt.AlignmentFlag.AlignLeft)
            self.suggestions.append(chip)
        self.opening = self._add(bubble)

    def answer_bubbles(self) -> list[AnswerBubble]:
        bubbles = [self.column.itemAt(i).widget() for i in range(self.column.count())]
        return [b for b in bubbles if isinstance(b, AnswerBubble) and b is not self.opening]

    def hide_suggestions(self) -> None:
        for chip in self.suggestions:
            chip.hide()
