"""The ⋯ menu in an open app's header: the app-wide actions Dify keeps in its app menu (duplicate, export), and
Studio's own export of a server bundle."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

EXPORT_KEYS = QKeySequence("Ctrl+Shift+E")
DUPLICATE_KEYS = QKeySequence("Ctrl+D")  # on the app list only: in an open app, text fields may claim it


BUNDLE_TEXT = "Export server bundle…"


def app_menu_button(page: QWidget, *, info, duplicate, export, bundle=None) -> QToolButton:
    """A flat "⋯" button; `info`, `duplicate`, `export` and `bundle` are called with no arguments (e.g. a signal's
    emit). Without `bundle`, the page that hosts the app adds that action with add_bundle_action."""
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
    tool.setToolTip("More: duplicate the app, export it as a Dify DSL file or as a server bundle")
    tool.setAccessibleName("App menu")
    tool.setProperty("flat", True)
    tool.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    tool.setMenu(menu)
    if bundle is not None:
        add_bundle_action(tool, bundle)
    tool.setStyleSheet("QToolButton#AppMenuButton { font-size: 18px; padding: 0 8px; }"
                       "QToolButton#AppMenuButton::menu-indicator { image: none; width: 0; }")
    return tool


def add_bundle_action(tool: QToolButton, slot) -> None:
    """"Export server bundle…" right after Export DSL (once, however often it is called)."""
    menu = tool.menu()
    if any(a.text() == BUNDLE_TEXT for a in menu.actions()):
        return
    action = menu.addAction(BUNDLE_TEXT)
    action.setToolTip("A folder with the app, its knowledge bases, a Dockerfile and compose.yaml to serve it")
    action.triggered.connect(lambda _checked=False: slot())
