"""Small pieces the Knowledge screens share: status colours, a toggle switch, and text formatters."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QCheckBox, QFrame, QLabel, QVBoxLayout, QWidget

from studio.core.knowledge import DocumentStatus

# (label, text colour) per document status, after Dify's indexing badges.
STATUS_STYLE = {
    DocumentStatus.WAITING: ("Queued", "#667085"),
    DocumentStatus.PARSING: ("Parsing", "#155EEF"),
    DocumentStatus.INDEXING: ("Indexing", "#155EEF"),
    DocumentStatus.COMPLETED: ("Available", "#079455"),
    DocumentStatus.PAUSED: ("Paused", "#B54708"),
    DocumentStatus.ERROR: ("Error", "#D92D20"),
}
SEARCH_LABELS = {"semantic_search": "Vector search", "full_text_search": "Full-text search",
                 "hybrid_search": "Hybrid search"}
PHASES = {"reading": "Reading and chunking files", "embedding": "Embedding chunks",
          "optimizing": "Optimising the index", "done": "Finished"}


def status_text(status: DocumentStatus) -> tuple[str, QColor]:
    text, colour = STATUS_STYLE.get(status, (str(status), "#667085"))
    return text, QColor(colour)


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"about {max(1, seconds)} s left"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"about {minutes} min {seconds:02d} s left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


class Switch(QCheckBox):
    """A small on/off toggle (Dify's enable switch), still a QCheckBox for keyboard use and tests."""

    def __init__(self, checked: bool = False, tip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setChecked(checked)
        self.setToolTip(tip)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFixedSize(self.sizeHint())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(34, 20)

    def hitButton(self, pos) -> bool:  # noqa: N802 - Qt override
        return self.rect().contains(pos)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        on, enabled = self.isChecked(), self.isEnabled()
        track = QColor("#155EEF" if on else "#D0D5DD")
        if not enabled:
            track = QColor("#B2CCFF" if on else "#EAECF0")
        rect = QRectF(1, 3, 32, 16)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(track)
        painter.drawRoundedRect(rect, 8, 8)
        painter.setBrush(QColor("#FFFFFF"))
        x = rect.right() - 14 if on else rect.left() + 2
        painter.drawEllipse(QRectF(x, rect.top() + 2, 12, 12))


def card(parent: QWidget | None = None, *, margins: tuple[int, int, int, int] = (14, 10, 14, 12)
         ) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame(parent)
    frame.setProperty("card", True)
    column = QVBoxLayout(frame)
    column.setContentsMargins(*margins)
    column.setSpacing(6)
    return frame, column


def text_block(text: str, *, lines: int = 0) -> QLabel:
    """Wrapped, selectable plain text; with lines > 0 it is cut to about that many lines."""
    widget = QLabel()
    widget.setWordWrap(True)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    widget.setProperty("role", "chunk")
    shown = text
    if lines > 0:
        limit = lines * 110  # characters: a rough line at the card widths used here
        shown = text if len(text) <= limit else text[:limit].rstrip() + " …"
    widget.setText(shown)
    return widget
