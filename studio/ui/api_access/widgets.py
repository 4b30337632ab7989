"""Small widgets the API Access page shares: the card frame, the on/off switch, code views and copy buttons."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication, QPainter
from PySide6.QtWidgets import QAbstractButton, QFrame, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from studio.ui.icons import icon
from studio.ui.theme import label

CODE_STYLE = ("QPlainTextEdit { font-family: 'DejaVu Sans Mono', 'Menlo', 'Consolas', monospace; font-size: 12px;"
              " background: #F9FAFB; border: 1px solid #EAECF0; border-radius: 8px; padding: 6px 8px; }")
COPIED_MS = 1500


def card(title: str) -> tuple[QFrame, QVBoxLayout]:
    """A white rounded panel with a small capitalised title, like the other pages' panels."""
    frame = QFrame()
    frame.setProperty("panel", True)
    column = QVBoxLayout(frame)
    column.setContentsMargins(18, 14, 18, 16)
    column.setSpacing(10)
    column.addWidget(label(title, "section"))
    return frame, column


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


class CopyButton(QPushButton):
    """Copies what `source()` returns and says "Copied" for a moment."""

    def __init__(self, source, text: str = "Copy", tip: str = "Copy to the clipboard",
                 parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._source, self._text = source, text
        self.setIcon(icon("copy"))
        self.setToolTip(tip)
        self._reset = QTimer(self)
        self._reset.setSingleShot(True)
        self._reset.setInterval(COPIED_MS)
        self._reset.timeout.connect(lambda: self.setText(self._text))
        self.clicked.connect(self.copy)

    def copy(self) -> None:
        copy_text(self._source())
        self.setText("Copied")
        self._reset.start()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override; no timer outlives a hidden page
        self._reset.stop()
        self.setText(self._text)
        super().hideEvent(event)


def code_view(object_name: str) -> QPlainTextEdit:
    view = QPlainTextEdit()
    view.setObjectName(object_name)
    view.setReadOnly(True)
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    view.setStyleSheet(CODE_STYLE)
    view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    view.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                 | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    return view


class Switch(QAbstractButton):
    """An on/off switch: a pill with a sliding knob, blue when on."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCheckable(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFixedSize(self.sizeHint())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(40, 22)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        on = self.isChecked()
        track = QColor("#155EEF" if on else "#D0D5DD")
        if not self.isEnabled():
            track = QColor("#84ADFF" if on else "#EAECF0")
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(track)
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        knob = rect.height() - 4
        x = rect.right() - knob - 2 if on else rect.left() + 2
        painter.setBrush(QColor("#FFFFFF"))
        painter.drawEllipse(QRectF(x, rect.top() + 2, knob, knob))
        if self.hasFocus():
            painter.setPen(QColor("#528BFF"))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)

