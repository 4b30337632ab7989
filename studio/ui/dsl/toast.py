"""A toast: a short message that floats over the bottom of a page without blocking it, then goes away."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QToolButton, QVBoxLayout, QWidget

from studio.ui.theme import label, set_role

STYLE = """
QFrame#Toast { background: #FFFFFF; border: 1px solid #D0D5DD; border-radius: 10px; }
QFrame#Toast[kind="warning"] { background: #FFFAEB; border-color: #FEC84B; }
QFrame#Toast[kind="error"] { background: #FEF3F2; border-color: #FECDCA; }
QFrame#Toast QLabel { background: transparent; border: none; }
QFrame#Toast QLabel#ToastTitle { font-weight: 600; color: #101828; }
QFrame#Toast QLabel#ToastBody { color: #475467; }
QFrame#Toast[kind="warning"] QLabel#ToastBody { color: #B54708; }
"""
MARGIN = 24
MAX_WIDTH = 560


class Toast(QFrame):
    """One toast per host page; a new message replaces the old one. Messages with details stay until closed."""

    def __init__(self, host: QWidget) -> None:
        super().__init__(host)
        self.setObjectName("Toast")
        self.setStyleSheet(STYLE)
        self.title = label("")
        self.title.setObjectName("ToastTitle")
        self.title.setWordWrap(True)
        self.body = label("", wrap=True)
        self.body.setObjectName("ToastBody")
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setProperty("flat", True)
        self.close_button.clicked.connect(self.hide)
        self.timer = QTimer(self)
        self.timer.setObjectName("toast-timer")
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.hide)
        texts = QVBoxLayout()
        texts.setSpacing(4)
        texts.addWidget(self.title)
        texts.addWidget(self.body)
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 10, 8, 10)
        row.addLayout(texts, 1)
        row.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        host.installEventFilter(self)
        self.hide()

    def show_message(self, title: str, details: list[str] | None = None, kind: str = "info",
                     seconds: float | None = 4.0) -> None:
        """Show `title` with an optional bulleted list; `seconds=None` keeps it until the user closes it."""
        self.title.setText(title)
        self.body.setText("\n".join(f"• {d}" for d in details or []))
        self.body.setVisible(bool(details))
        set_role(self, "kind", kind)
        self._place()
        self.show()
        self.raise_()
        self.timer.stop()
        if seconds is not None:
            self.timer.start(int(seconds * 1000))

    def text(self) -> str:
        """Everything the toast says, for tests and accessibility."""
        return "\n".join(t for t in (self.title.text(), self.body.text()) if t)

    def _place(self) -> None:
        host = self.parentWidget()
        width = min(MAX_WIDTH, max(240, host.width() - 2 * MARGIN))
        self.setFixedWidth(width)
        height = self.layout().totalHeightForWidth(width) if self.layout().hasHeightForWidth() else 0
        self.setFixedHeight(max(height, self.layout().totalSizeHint().height()))
        self.move((host.width() - width) // 2, host.height() - self.height() - MARGIN)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return super().eventFilter(watched, event)

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        # Also runs when the window closes: no timer may outlive it.
        self.timer.stop()
        super().hideEvent(event)
