"""The ⋯ menu in an open app's header: the app-wide actions Dify keeps in its app menu (duplicate, export)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

EXPORT_KEYS = QKeySequence("Ctrl+Shift+E")
DUPLICATE_KEYS = QKeySequence("Ctrl+D")  # on the app list only: in an open app, text fields may claim it


def app_menu_button(page: QWidget, *, info, duplicate, export) -> QToolButton:
    """A flat "⋯" button; `info`, `duplicate` and `export` are called with no arguments (e.g. a signal's emit)."""
    menu = QMenu(page)
    menu.setObjectName("AppMenu")
    for text, slot in (("Edit info…", info), ("Duplicate", duplicate), ("Export DSL…", export)):
        action = menu.addAction(text)
        action.triggered.connect(lambda _checked=False, call=slot: call())
    export_action = menu.actions()[-1]
    # Shown for discovery only: the Studio page owns the window-wide Ctrl+Shift+E.
    export_action.setShortcut(EXPORT_KEYS)
    export_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
    tool = QToolButton()
    tool.setObjectName("AppMenuButton")
    tool.setText("⋯")
    tool.setToolTip("More: duplicate the app or export it as a Dify DSL file")
    tool.setAccessibleName("App menu")
    tool.setProperty("flat", True)
    tool.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    tool.setMenu(menu)
    tool.setStyleSheet("QToolButton#AppMenuButton { font-size: 18px; padding: 0 8px; }"
                       "QToolButton#AppMenuButton::menu-indicator { image: none; width: 0; }")
    return tool
