"""The conversations sidebar of a chat app's Debug & Preview: new, rename, delete and reopen conversations."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout, QInputDialog, QListWidget, QListWidgetItem, QMenu, QMessageBox, QToolButton, QVBoxLayout, QWidget,
)

from studio.core.errors import StudioError
from studio.ui.formatting import when
from studio.ui.icons import icon
from studio.ui.theme import label

log = logging.getLogger(__name__)
ID_ROLE = Qt.ItemDataRole.UserRole + 1


class ConversationsSidebar(QWidget):
    opened = Signal(str)  # a conversation id
    new_requested = Signal()
    deleted = Signal(str)
    renamed = Signal(str, str)  # id, name

    def __init__(self, services, app_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.app_id = services, app_id
        self.dialog: QWidget | None = None
        self.list = QListWidget()
        self.list.setObjectName("Conversations")
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setWordWrap(False)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemClicked.connect(self._clicked)
        self.list.itemActivated.connect(self._clicked)
        self.new_button = self._tool("plus", "New conversation", self.new_requested.emit)
        self.rename_button = self._tool("edit", "Rename the selected conversation", self.rename_selected)
        self.delete_button = self._tool("trash", "Delete the selected conversation", self.delete_selected)
        self.error = label("", "hint", wrap=True)
        self.empty = label("No conversations yet. Send a message to start one.", "hint", wrap=True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(label("HISTORY", "section"))
        row.addStretch(1)
        for b in (self.new_button, self.rename_button, self.delete_button):
            row.addWidget(b)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(row)
        column.addWidget(self.empty)
        column.addWidget(self.list, 1)
        column.addWidget(self.error)
        self.setMinimumWidth(170)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.refresh()

    def _tool(self, name: str, tip: str, slot) -> QToolButton:
        tool = QToolButton()
        tool.setIcon(icon(name))
        tool.setToolTip(tip)
        tool.setProperty("flat", True)
        tool.clicked.connect(lambda _=False: slot())
        return tool

    def refresh(self, select_id: str | None = None) -> None:
        """A short indexed query; conversations of one app are few, so it runs on the main thread."""
        current = select_id if select_id is not None else self.current_id()
        try:
            conversations = self.services.conversations.list(self.app_id)
        except StudioError as exc:
            self.error.setText(exc.message)
            return
        self.list.blockSignals(True)
        self.list.clear()
        for conv in conversations:
            item = QListWidgetItem(conv.name)
            item.setData(ID_ROLE, conv.id)
            item.setToolTip(f"{conv.name}\nLast message {when(conv.updated_at)}")
            self.list.addItem(item)
            if conv.id == current:
                item.setSelected(True)
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self.empty.setVisible(not conversations)
        self._update_buttons()

    def current_id(self) -> str | None:
        items = self.list.selectedItems()
        return items[0].data(ID_ROLE) if items else None

    def select(self, conversation_id: str | None) -> None:
        self.list.blockSignals(True)
        self.list.clearSelection()
        for i in range(self.list.count()):
            if self.list.item(i).data(ID_ROLE) == conversation_id:
                self.list.setCurrentItem(self.list.item(i))
        self.list.blockSignals(False)
        self._update_buttons()

    def names(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def set_busy(self, busy: bool) -> None:
        """While an answer streams, switching or deleting conversations would pull the rug out from under it."""
        self.list.setEnabled(not busy)
        self.new_button.setEnabled(not busy)
        self._update_buttons()

    def _update_buttons(self) -> None:
        selected = self.current_id() is not None and self.list.isEnabled()
        self.rename_button.setEnabled(selected)
        self.delete_button.setEnabled(selected)

    def _clicked(self, item: QListWidgetItem) -> None:
        self.opened.emit(item.data(ID_ROLE))

    def _menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None or not self.list.isEnabled():
            return
        self.list.setCurrentItem(item)
        menu = QMenu(self)
        menu.addAction("Rename…", self.rename_selected)
        menu.addAction("Delete…", self.delete_selected)
        menu.popup(self.list.viewport().mapToGlobal(pos))

    def rename_selected(self) -> QInputDialog | None:
        items = self.list.selectedItems()
        if not items:
            return None
        conv_id = items[0].data(ID_ROLE)
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Rename conversation")
        dialog.setLabelText("Name:")
        dialog.setTextValue(items[0].text())
        dialog.textValueSelected.connect(lambda name: self._rename(conv_id, name))
        return self._open(dialog)

    def _rename(self, conv_id: str, name: str) -> None:
        try:
            conv = self.services.conversations.rename(conv_id, name)
        except StudioError as exc:
            self.error.setText(exc.message)
            return
        self.error.setText("")
        self.refresh(conv_id)
        self.renamed.emit(conv_id, conv.name)

    def delete_selected(self) -> QMessageBox | None:
        items = self.list.selectedItems()
        if not items:
            return None
        conv_id = items[0].data(ID_ROLE)
        box = QMessageBox(QMessageBox.Icon.Question, "Delete conversation",
                          f"Delete “{items[0].text()}” and its messages?", QMessageBox.StandardButton.Cancel, self)
        confirm = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.buttonClicked.connect(lambda clicked: clicked is confirm and self._delete(conv_id))
        return self._open(box)

    def _delete(self, conv_id: str) -> None:
        try:
            self.services.conversations.delete(conv_id)
        except StudioError as exc:
            self.error.setText(exc.message)
        self.refresh()
        self.deleted.emit(conv_id)

    def _open(self, dialog):
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog
