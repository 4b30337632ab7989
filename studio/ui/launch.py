"""Starts the Qt application and the main window."""

from __future__ import annotations

import sys


def run_gui(argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication

    from studio.app import build

    app = QApplication([sys.argv[0], *argv])
    from studio.ui.main_window import MainWindow

    services = build()
    window = MainWindow(services)
    window.show()
    try:
        return app.exec()
    finally:
        services.close()
