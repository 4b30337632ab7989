"""The last line of defence: unexpected exceptions are logged with their traceback and shown as a friendly dialog."""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.core.errors import StudioError

log = logging.getLogger(__name__)


def friendly_message(exc: BaseException) -> str:
    """What the user reads: a StudioError's own message, otherwise a short summary (never a traceback)."""
    if isinstance(exc, StudioError):
        return exc.message
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"Studio hit an unexpected problem ({type(exc).__name__}: {detail[:200]})."


class ExceptionHook(QObject):
    """Installed as sys.excepthook while the window is open; it keeps Qt running after a bug."""

    def __init__(self, log_hint: str = "") -> None:
        super().__init__()
        self.log_hint = log_hint
        self.last_dialog: QMessageBox | None = None
        self._previous = sys.excepthook
        self._previous_thread_hook = threading.excepthook

    def install(self) -> None:
        sys.excepthook = self.handle
        threading.excepthook = self._handle_thread

    def uninstall(self) -> None:
        sys.excepthook = self._previous
        threading.excepthook = self._previous_thread_hook

    def handle(self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        log.error("unhandled exception", exc_info=(kind, exc, tb))
        if threading.current_thread() is threading.main_thread():
            self._show(exc)
        else:
            # Widgets belong to the main thread; a zero timer hops there.
            QTimer.singleShot(0, self, lambda: self._show(exc))

    def _handle_thread(self, args) -> None:
        if args.exc_value is not None:
            self.handle(args.exc_type, args.exc_value, args.exc_traceback)

    def _show(self, exc: BaseException) -> None:
        if QApplication.instance() is None:
            return
        text = friendly_message(exc)
        if self.log_hint:
            text += f"\n\nThe details were written to {self.log_hint}."
        dialog = QMessageBox(QMessageBox.Icon.Warning, "Something went wrong", text,
                             QMessageBox.StandardButton.Ok, QApplication.activeWindow())
        dialog.setInformativeText("Your work is saved. You can carry on, or restart Studio if things look odd.")
        dialog.open()  # not exec(): a nested event loop inside an exception handler invites re-entrancy bugs
        self.last_dialog = dialog
