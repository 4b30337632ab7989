"""The main window: left navigation between Studio, Knowledge, Models, Logs, Settings and API Access, shortcuts, and
remembered state."""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QListWidget, QListWidgetItem, QMainWindow, QStackedWidget, QVBoxLayout, QWidget,
)

import studio
from studio.ui.api_access.page import ApiPage
from studio.ui.bridge import Bridge
from studio.ui.icons import icon
from studio.ui.knowledge.page import KnowledgePage
from studio.ui.logs_page import LogsPage
from studio.ui.models_page import ModelsPage
from studio.ui.settings_page import SettingsPage
from studio.ui.studio_page import StudioPage
from studio.ui.theme import label
from studio.ui.window_state import ui_settings

log = logging.getLogger(__name__)
PAGES = (("studio", "Studio"), ("knowledge", "Knowledge"), ("models", "Models"), ("logs", "Logs"),
         ("settings", "Settings"), ("api", "API Access"))


class MainWindow(QMainWindow):
    def __init__(self, services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.bridge = Bridge(services, self)
        self.state = ui_settings(services)
        self.setWindowTitle("Studio")
        self.setMinimumSize(QSize(760, 540))
        # Only the app list is read here; everything slower loads when its page is first shown.
        self.studio_page = StudioPage(services, self.bridge)
        self.knowledge_page = KnowledgePage(services, self.bridge)
        self.models_page = ModelsPage(services, self.bridge)
        self.logs_page = LogsPage(services, self.bridge)
        self.settings_page = SettingsPage(services, self.bridge)
        self.api_page = ApiPage(services, self.bridge)
        self.pages = {"studio": self.studio_page, "knowledge": self.knowledge_page, "models": self.models_page,
                      "logs": self.logs_page, "settings": self.settings_page, "api": self.api_page}
        self.stack = QStackedWidget()
        for page in self.pages.values():
            self.stack.addWidget(page)
        self.nav = self._build_nav()
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.nav_frame)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.studio_page.title_changed.connect(self._set_title)
        self.settings_page.preference_saved.connect(self._preference_saved)
        self._add_shortcuts()
        self._restore_state()
        self.api_page.autostart()  # with the api_autostart preference; a failure shows on the page's status line
        self.bridge.call(lambda: services.settings.get("stream_batch_ms"), self.bridge.set_flush_interval,
                         lambda _m: None)

    def _build_nav(self) -> QListWidget:
        self.nav_frame = QFrame()
        self.nav_frame.setObjectName("NavBar")
        self.nav_frame.setFixedWidth(188)
        nav = QListWidget()
        nav.setObjectName("Nav")
        nav.setIconSize(QSize(20, 20))
        nav.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for i, (key, text) in enumerate(PAGES):
            item = QListWidgetItem(icon(key), text)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setToolTip(f"{text} (Ctrl+{i + 1})")
            nav.addItem(item)
        nav.currentRowChanged.connect(self._on_nav)
        brand = label("◆ Studio")
        brand.setObjectName("Brand")
        footer = label(f"v{studio.__version__} · offline")
        footer.setObjectName("NavFooter")
        column = QVBoxLayout(self.nav_frame)
        column.setContentsMargins(12, 16, 12, 12)
        column.addWidget(brand)
        column.addWidget(nav, 1)
        column.addWidget(footer)
        return nav

    def _add_shortcuts(self) -> None:
        def add(keys, slot, context=Qt.ShortcutContext.WindowShortcut) -> QAction:
            action = QAction(self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(context)
            action.triggered.connect(slot)
            self.addAction(action)
            return action

        for i, (key, _text) in enumerate(PAGES):
            add([f"Ctrl+{i + 1}"], lambda _=False, k=key: self.show_page(k))
        add([QKeySequence.StandardKey.New], self.new_app)
        add(["Ctrl+W"], self.close_current)
        add([QKeySequence.StandardKey.Quit, "Ctrl+Q"], self.close)
        add([QKeySequence.StandardKey.Refresh, "F5"], self.refresh_current)

    # -- pages -------------------------------------------------------------------------------------
    def current_page(self) -> str:
        item = self.nav.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else "studio"

    def show_page(self, key: str) -> None:
        keys = [k for k, _ in PAGES]
        if key in keys:
            self.nav.setCurrentRow(keys.index(key))

    def _on_nav(self, row: int) -> None:
        if row < 0:
            return
        key = PAGES[row][0]
        page = self.pages[key]
        self.stack.setCurrentWidget(page)
        activated = getattr(page, "activated", None)
        if activated:
            activated()
        self._set_title(self.studio_page.editor.app.name if key == "studio" and self.studio_page.editor else "")

    def _set_title(self, name: str) -> None:
        page = dict(PAGES)[self.current_page()]
        parts = [name] if name and self.current_page() == "studio" else ([page] if page != "Studio" else [])
        self.setWindowTitle(" — ".join([*parts, "Studio"]))

    def new_app(self) -> None:
        self.show_page("studio")
        self.studio_page.create_app()

    def close_current(self) -> None:
        """Ctrl+W closes the open app editor or knowledge base; on a list it closes the window."""
        if self.current_page() == "studio" and self.studio_page.editor is not None:
            self.studio_page.close_editor()
        elif not (self.current_page() == "knowledge" and self.knowledge_page.close_current()):
            self.close()

    def refresh_current(self) -> None:
        page = self.pages[self.current_page()]
        if page is self.studio_page:
            page.refresh()
        elif hasattr(page, "refresh"):
            page.refresh()

    def _preference_saved(self, key: str, value) -> None:
        if key == "stream_batch_ms":
            self.bridge.set_flush_interval(value)

    # -- state -------------------------------------------------------------------------------------
    def _restore_state(self) -> None:
        geometry = self.state.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        page = self.state.value("window/page", "studio")
        self.show_page(page if page in self.pages else "studio")

    def save_state(self) -> None:
        self.state.setValue("window/geometry", self.saveGeometry())
        self.state.setValue("window/page", self.current_page())
        self.state.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.save_state()
        self.studio_page.shutdown()
        self.knowledge_page.shutdown()
        self.bridge.shutdown()
        super().closeEvent(event)
