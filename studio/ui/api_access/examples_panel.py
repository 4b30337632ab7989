"""The examples card: how to call the selected app with curl, and with the openai SDK for chat apps."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QTabWidget, QVBoxLayout, QWidget

from studio.core.entities import MODE_LABELS, App
from studio.ui.api_access.snippets import KEY_VARIABLE, curl_example, endpoint, python_example
from studio.ui.api_access.widgets import CopyButton, card, code_view
from studio.ui.theme import label

NO_APP = "Create an app on the Studio page to see how to call it here."
NOT_CHAT = "The OpenAI-compatible endpoint serves chat apps; use the Dify request on the curl tab for this app."


class ExamplesPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app: App | None = None
        self.base_url = ""
        self.curl = code_view("CurlExample")
        self.python = code_view("PythonExample")
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.tabBar().setObjectName("KbTabs")  # the underlined tabs the knowledge pages use
        self.tabs.addTab(self._tab(self.curl), "curl")
        self.tabs.addTab(self._tab(self.python), "Python (openai)")
        self.copy_button = CopyButton(self.current_code, tip="Copy this example")
        self.title = label("", "subtle")
        self.endpoint = label("", "muted")
        self.empty = label(NO_APP, "muted", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint = label(f"Set {KEY_VARIABLE} to one of your keys first: export {KEY_VARIABLE}=app-…", "hint",
                          wrap=True)
        frame, column = card("EXAMPLES")
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.endpoint)
        header.addSpacing(8)
        header.addWidget(self.copy_button)
        column.addLayout(header)
        column.addWidget(self.tabs, 1)
        column.addWidget(self.empty, 1)
        column.addWidget(self.hint)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        self._render()

    @staticmethod
    def _tab(view) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 8, 0, 0)
        column.addWidget(view)
        return page

    def current_code(self) -> str:
        return (self.python if self.tabs.currentIndex() == 1 else self.curl).toPlainText()

    def set_app(self, app: App | None) -> None:
        self.app = app
        self._render()

    def set_base_url(self, _running: bool, url: str) -> None:
        self.base_url = url
        self._render()

    def texts(self) -> list[str]:
        """Everything the examples show, for checks that no token leaks into them."""
        return [self.curl.toPlainText(), self.python.toPlainText(), self.title.text(), self.endpoint.text()]

    def _render(self) -> None:
        app = self.app
        self.tabs.setVisible(app is not None)
        self.copy_button.setVisible(app is not None)
        self.empty.setVisible(app is None)
        self.hint.setVisible(app is not None)
        if app is None:
            self.title.setText("")
            self.endpoint.setText("")
            self.curl.setPlainText("")
            self.python.setPlainText("")
            return
        base = self.base_url or "http://127.0.0.1:5001/v1"
        self.title.setText(f"{app.name} · {MODE_LABELS.get(app.mode, app.mode.value)}")
        self.endpoint.setText(f"POST {endpoint(app.mode)}")
        self.curl.setPlainText(curl_example(app, base))
        snippet = python_example(app, base)
        self.python.setPlainText(snippet if snippet is not None else f"# {NOT_CHAT}")
        self.tabs.setTabEnabled(1, snippet is not None)
        self.tabs.setTabToolTip(1, "" if snippet is not None else NOT_CHAT)
        if snippet is None and self.tabs.currentIndex() == 1:
            self.tabs.setCurrentIndex(0)
