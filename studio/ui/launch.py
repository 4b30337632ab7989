"""Starts the Qt application and shows the main window for the services it is given."""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

log = logging.getLogger(__name__)


def _log_to_file(services) -> Path | None:
    """The GUI has no console to speak of, so its log (tracebacks included) goes to home/logs/studio.log."""
    startup = services.settings.startup
    root = logging.getLogger()
    if root.handlers:
        return None
    path = Path(startup.logs_dir) / "studio.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(getattr(logging, str(startup.log_level).upper(), logging.INFO))
    return path


def run_gui(services, argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication

    from studio.ui.errors import ExceptionHook
    from studio.ui.main_window import MainWindow
    from studio.ui.theme import apply_theme

    log_path = _log_to_file(services)
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName("Studio")
    app.setApplicationDisplayName("Studio")
    apply_theme(app)
    hook = ExceptionHook(str(log_path or services.settings.startup.logs_dir))
    hook.install()
    try:
        window = MainWindow(services)
        window.show()
        return app.exec()
    finally:
        hook.uninstall()
