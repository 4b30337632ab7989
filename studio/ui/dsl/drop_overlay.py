"""The "drop to import" highlight shown over the app list while a DSL file is dragged across it."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QWidget

STYLE = ("QLabel#DropOverlay { color: #155EEF; background: rgba(239, 244, 255, 215); border: 2px dashed #84ADFF;"
         " border-radius: 12px; font-size: 15px; font-weight: 600; }")


class DropOverlay(QLabel):
    """Covers `target` while shown; it lets mouse and drag events through to the widgets below."""

    def __init__(self, target: QWidget, text: str = "Drop a Dify DSL file (.yml) to import it as a new app") -> None:
        super().__init__(text, target)
        self.setObjectName("DropOverlay")
        self.setStyleSheet(STYLE)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        target.installEventFilter(self)
        self.hide()

    def set_active(self, active: bool) -> None:
        if active:
            self.setGeometry(self.parentWidget().rect().adjusted(4, 4, -4, -4))
            self.show()
            self.raise_()
        else:
            self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.parentWidget().rect().adjusted(4, 4, -4, -4))
        return super().eventFilter(watched, event)
