"""The API keys card: the app picker, the key table, create (the token is shown once) and revoke with a confirmation."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QDialog, QHBoxLayout, QLineEdit, QMessageBox, QStackedWidget,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from studio.core.entities import MODE_LABELS, ApiKey, App
from studio.ui.api_access.widgets import CopyButton, card
from studio.ui.formatting import when
from studio.ui.icons import icon
from studio.ui.theme import button, confirm_box, label, row_table, set_role

log = logging.getLogger(__name__)
COLUMNS = ("App", "Key", "Created", "Last used")
ID_ROLE = Qt.ItemDataRole.UserRole + 1
KNOWLEDGE_KEY = "Knowledge bases (dataset key)"
EMPTY = "No API keys yet.\nPick an app above and press Create key; a program sends the key with each request."
NO_APPS = "No API keys yet.\nCreate an app on the Studio page first, then make a key for it here."


def keys_table() -> QTableWidget:
    """Read-only rows picked one at a time; the app column takes the spare width, so the key hints stay whole."""
    table = row_table(COLUMNS, stretch=0)
    table.setAlternatingRowColors(True)
    return table


class TokenDialog(QDialog):
    """Shows a new key's full token once, with a Copy button; opened with open(), so nothing waits on it."""

    def __init__(self, token: str, owner: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("API key created")
        self.setMinimumWidth(520)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.token = QLineEdit(token)
        self.token.setObjectName("ApiToken")
        self.token.setReadOnly(True)
        self.token.selectAll()
        self.copy_button = CopyButton(self.token.text, tip="Copy the key")
        done = button("Done", primary=True)
        done.clicked.connect(self.accept)
        warning = label("Copy this key now and keep it somewhere safe. Studio stores only a fingerprint of it, "
                        "so it will not be shown again.", "note", wrap=True)
        row = QHBoxLayout()
        row.addWidget(self.token, 1)
        row.addWidget(self.copy_button)
        footer = QHBoxLayout()
        footer.addStretch(1)
        footer.addWidget(done)
        column = QVBoxLayout(self)
        column.setContentsMargins(20, 18, 20, 16)
        column.setSpacing(12)
        column.addWidget(label(f"A new key for {owner}", "subtitle"))
        column.addWidget(warning)
        column.addLayout(row)
        column.addWidget(label("Send it as the header  Authorization: Bearer <key>", "hint"))
        column.addLayout(footer)


class KeysPanel(QWidget):
    app_selected = Signal(object)  # App | None

    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.bridge = services, bridge
        self.apps: list[App] = []
        self.keys: list[ApiKey] = []
        self.busy = 0
        self.loaded_once = False
        self.dialog: QWidget | None = None
        self._make_widgets()
        self._lay_out()
        self._update_buttons()

    def _make_widgets(self) -> None:
        self.app_picker = QComboBox()
        self.app_picker.setMinimumWidth(200)
        self.app_picker.setPlaceholderText("No apps yet")
        self.app_picker.currentIndexChanged.connect(self._app_changed)
        self.create_button = button("Create key", primary=True, tip="Create a key for the selected app")
        self.create_button.setIcon(icon("plus", "#FFFFFF"))
        self.create_button.clicked.connect(self.create_key)
        self.knowledge_button = button("Create knowledge key", tip="A dataset key for the knowledge-base API")
        self.knowledge_button.clicked.connect(self.create_knowledge_key)
        self.revoke_button = button("Revoke", danger=True, tip="Revoke the selected key: requests with it get 401")
        self.revoke_button.clicked.connect(self.revoke_selected)
        self.table = keys_table()
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.empty = label(EMPTY, "muted", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        self.message = label("", "muted", wrap=True)
        self.message.hide()

    def _lay_out(self) -> None:
        frame, column = card("API KEYS")
        picker = QHBoxLayout()
        picker.setSpacing(8)
        picker.addWidget(label("App", "subtle"))
        picker.addWidget(self.app_picker, 1)
        picker.addWidget(self.create_button)
        actions = QHBoxLayout()
        actions.setSpacing(8)
        actions.addWidget(self.knowledge_button)
        actions.addStretch(1)
        actions.addWidget(self.revoke_button)
        column.addLayout(picker)
        column.addWidget(self.stack, 1)
        column.addLayout(actions)
        column.addWidget(self.message)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)

    # -- listing -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.busy += 1
        services = self.services
        self.bridge.call(lambda: (services.apps.list(), services.keys.list()), self._listed, self._failed)

    def _listed(self, result: tuple[list[App], list[ApiKey]]) -> None:
        self.busy = max(0, self.busy - 1)
        self.loaded_once = True
        self.apps, self.keys = result
        self._fill_picker()
        self._fill_table()
        self._update_buttons()

    def _fill_picker(self) -> None:
        chosen = self.selected_app()
        self.app_picker.blockSignals(True)
        self.app_picker.clear()
        for app in self.apps:
            self.app_picker.addItem(f"{app.name}  ·  {MODE_LABELS.get(app.mode, app.mode.value)}", app.id)
        ids = [a.id for a in self.apps]
        self.app_picker.setCurrentIndex(ids.index(chosen.id) if chosen and chosen.id in ids else (0 if ids else -1))
        self.app_picker.blockSignals(False)
        self.app_selected.emit(self.selected_app())

    def _fill_table(self) -> None:
        chosen = self.selected_key()
        names = {a.id: a.name for a in self.apps}
        self.table.setRowCount(0)
        for key in self.keys:
            owner = KNOWLEDGE_KEY if key.scope == "dataset" else names.get(key.app_id or "", "(deleted app)")
            values = (owner, key.hint, when(key.created_at), when(key.last_used_at) if key.last_used_at else "Never")
            row = self.table.rowCount()
            self.table.insertRow(row)
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(ID_ROLE, key.id)
                self.table.setItem(row, col, item)
            if chosen is not None and key.id == chosen.id:
                self.table.selectRow(row)
        self.empty.setText(EMPTY if self.apps else NO_APPS)
        self.stack.setCurrentWidget(self.table if self.keys else self.empty)

    def _failed(self, message: str) -> None:
        self.busy = max(0, self.busy - 1)
        self.show_message(message, error=True)
        self._update_buttons()

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        set_role(self.message, "role", "error" if error else "muted")
        self.message.setVisible(bool(text))

    def selected_app(self) -> App | None:
        app_id = self.app_picker.currentData()
        return next((a for a in self.apps if a.id == app_id), None)

    def selected_key(self) -> ApiKey | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        key_id = self.table.item(rows[0].row(), 0).data(ID_ROLE)
        return next((k for k in self.keys if k.id == key_id), None)

    def _app_changed(self, _index: int) -> None:
        self._update_buttons()
        self.app_selected.emit(self.selected_app())

    def _update_buttons(self) -> None:
        idle = self.busy == 0
        self.create_button.setEnabled(idle and self.selected_app() is not None)
        self.knowledge_button.setEnabled(idle and self.loaded_once)
        self.revoke_button.setEnabled(idle and self.selected_key() is not None)

    # -- actions -----------------------------------------------------------------------------------
    def create_key(self) -> None:
        app = self.selected_app()
        if app is not None:
            self._create(lambda: self.services.keys.create(app.id), app.name)

    def create_knowledge_key(self) -> None:
        self._create(lambda: self.services.keys.create(None, scope="dataset"), "the knowledge-base API")

    def _create(self, make, owner: str) -> None:
        self.show_message("")
        self.busy += 1
        self._update_buttons()
        self.bridge.call(make, lambda made: self._created(made, owner), self._failed)

    def _created(self, made: tuple[ApiKey, str], owner: str) -> None:
        self.busy = max(0, self.busy - 1)
        key, token = made
        self._show_dialog(TokenDialog(token, owner, self.window()))
        self.show_message(f"Created key {key.hint} for {owner}.")
        self.refresh()

    def revoke_selected(self) -> QMessageBox | None:
        key = self.selected_key()
        if key is None:
            return None
        box = confirm_box(self, "Revoke API key", f"Revoke the key {key.hint}?\nPrograms that use it will get 401 "
                          "Unauthorized at once. This cannot be undone.", "Revoke", lambda: self._revoke(key),
                          QMessageBox.Icon.Question)
        self._show_dialog(box)
        return box

    def _show_dialog(self, dialog: QDialog) -> None:
        """open(), not exec(): nothing waits on it. Forgotten when it closes, as it deletes itself."""
        self.dialog = dialog
        dialog.finished.connect(lambda _result: self._forget_dialog(dialog))
        dialog.open()

    def _forget_dialog(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def _revoke(self, key: ApiKey) -> None:
        self.busy += 1
        self._update_buttons()
        self.bridge.call(lambda: self.services.keys.revoke(key.id), lambda _none: self._revoked(key), self._failed)

    def _revoked(self, key: ApiKey) -> None:
        self.busy = max(0, self.busy - 1)
        self.show_message(f"Revoked key {key.hint}.")
        self.refresh()
