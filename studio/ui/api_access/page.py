"""The API Access page: the local server's switch and address, per-app keys, and copyable examples for an app."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from studio.ui.api_access.examples_panel import ExamplesPanel
from studio.ui.api_access.keys_panel import KeysPanel
from studio.ui.api_access.server_panel import ServerPanel
from studio.ui.theme import label



class ApiPage(QWidget):
    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PageRoot")
        self.services, self.bridge = services, bridge
        self.server = ServerPanel(services, bridge)
        self.keys = KeysPanel(services, bridge)
        self.examples = ExamplesPanel()
        self.server.state_changed.connect(self.examples.set_base_url)
        self.keys.app_selected.connect(self.examples.set_app)
        self._lay_out()

    def _lay_out(self) -> None:
        canvas = QWidget()
        canvas.setObjectName("FormCanvas")
        column = QVBoxLayout(canvas)
        column.setContentsMargins(24, 20, 24, 16)
        column.setSpacing(14)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(label("API Access", "title"))
        titles.addWidget(label("Use your apps from scripts, editors and other programs through Dify's service API "
                               "or the OpenAI-compatible endpoint.", "muted", wrap=True))
        column.addLayout(titles)
        column.addWidget(self.server)
        row = QHBoxLayout()
        row.setSpacing(14)
        row.addWidget(self.keys, 1)
        row.addWidget(self.examples, 1)
        column.addLayout(row, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(canvas)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def activated(self) -> None:
        """Shown: read the server state and the keys again (the CLI or the API may have changed them)."""
        self.refresh()

    def refresh(self) -> None:
        self.server.refresh()
        self.keys.refresh()

    def autostart(self) -> None:
        self.server.autostart()
