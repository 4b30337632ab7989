"""Starts the Qt application and shows the main window for the services it is given."""

from __future__ import annotations

import sys


def run_gui(services, argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication

    from studio.ui.main_window import MainWindow

    app = QApplication([sys.argv[0], *argv])
    window = MainWindow(services)
    window.show()
    return app.exec()
