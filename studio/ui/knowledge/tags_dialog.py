"""Tags of one knowledge base: every tag with a check box (checked = on this knowledge base), a field to make a new
tag, and rename / delete for the selected tag. Every change is saved at once (a tick binds, an untick unbinds), so
the dialog only has Close. Tags are shared by all knowledge bases (Dify's knowledge tags); the list filters on them."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QInputDialog, QLineEdit, QListWidget,
                               QListWidgetItem, QMessageBox, QVBoxLayout, QWidget)

from studio.core.knowledge import Dataset, KbTag
from studio.ui.knowledge.widgets import plural
from studio.ui.theme import button, confirm_box, label

TAG_ROLE = Qt.ItemDataRole.UserRole + 1


class TagsDialog(QDialog):
    """Every change is one service call on a worker (`run(fn, on_done)`); errors show in the dialog."""

    def __init__(self, services, run: Callable, dataset: Dataset, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.run, self.dataset = services, run, dataset
        self.bound: set[str] = set()
        self.tags: list[KbTag] = []
        self.changed = False  # something was saved (the list page refreshes its cards)
        self.setWindowTitle(f"Tags of {dataset.name}")
        self.resize(440, 440)
        self.list = QListWidget()
        self.list.setSpacing(3)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.new_name = QLineEdit()
        self.new_name.setPlaceholderText("New tag name")
        self.new_name.setMaxLength(50)
        self.new_name.returnPressed.connect(self.create_tag)
        self.create_button = button("Add tag", tip="Create the tag and put it on this knowledge base")
        self.create_button.clicked.connect(self.create_tag)
        self.rename_button = button("Rename…", tip="Rename the selected tag everywhere")
        self.rename_button.clicked.connect(self.rename_selected)
        self.delete_button = button("Delete…", danger=True, tip="Delete the selected tag from every knowledge base")
        self.delete_button.clicked.connect(self.delete_selected)
        self.error = label("", "error", wrap=True)
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.list.itemChanged.connect(self._ticked)
        new_row = QHBoxLayout()
        new_row.addWidget(self.new_name, 1)
        new_row.addWidget(self.create_button)
        edit_row = QHBoxLayout()
        edit_row.addWidget(self.rename_button)
        edit_row.addWidget(self.delete_button)
        edit_row.addStretch(1)
        column = QVBoxLayout(self)
        column.addWidget(label("Ticked tags are on this knowledge base. Changes save at once.", "hint", wrap=True))
        column.addWidget(self.list, 1)
        column.addLayout(edit_row)
        column.addLayout(new_row)
        column.addWidget(self.error)
        column.addWidget(buttons)
        self._update_buttons()
        self.load()

    def load(self) -> None:
        knowledge, dataset_id = self.services.knowledge, self.dataset.id
        self.run(lambda: (knowledge.tags(), {t.id for t in knowledge.tags_of([dataset_id])[dataset_id]}),
                 self._loaded, self.show_error)

    def _loaded(self, result) -> None:
        tags, bound = result
        checked = bound
        self.tags, self.bound = sorted(tags, key=lambda t: t.name.casefold()), bound
        current = self.selected_tag()
        self.list.blockSignals(True)
        self.list.clear()
        for tag in self.tags:
            item = QListWidgetItem(f"{tag.name}  ({plural(tag.binding_count, 'knowledge base')})")
            item.setData(TAG_ROLE, tag.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if tag.id in checked else Qt.CheckState.Unchecked)
            self.list.addItem(item)
            if current is not None and tag.id == current.id:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._update_buttons()

    def _ticked(self, item: QListWidgetItem) -> None:
        tag_id = item.data(TAG_ROLE)
        on = item.checkState() == Qt.CheckState.Checked
        if (tag_id in self.bound) == on:
            return
        knowledge, dataset_id = self.services.knowledge, self.dataset.id
        change = knowledge.bind_tags if on else knowledge.unbind_tags
        self.run(lambda: change([tag_id], dataset_id), self._done, lambda m: (self.show_error(m), self.load()))

    def checked(self) -> set[str]:
        return {self.list.item(i).data(TAG_ROLE) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked}

    def selected_tag(self) -> KbTag | None:
        item = self.list.currentItem()
        if item is None or not item.isSelected():
            return None
        return next((t for t in self.tags if t.id == item.data(TAG_ROLE)), None)

    def _update_buttons(self) -> None:
        has = self.selected_tag() is not None
        self.rename_button.setEnabled(has)
        self.delete_button.setEnabled(has)

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _done(self, _result=None) -> None:
        self.changed = True
        self.error.hide()
        self.load()

    def create_tag(self) -> None:
        name = self.new_name.text().strip()
        if not name:
            self.show_error("Type a name for the new tag.")
            return
        knowledge, dataset_id = self.services.knowledge, self.dataset.id

        def make():
            tag = knowledge.create_tag(name)
            knowledge.bind_tags([tag.id], dataset_id)
            return tag

        def made(_tag: KbTag) -> None:
            self.new_name.clear()
            self._done()
        self.run(make, made, self.show_error)

    def rename_selected(self) -> None:
        tag = self.selected_tag()
        if tag is None:
            return
        name, ok = QInputDialog.getText(self, "Rename tag", "New name:", QLineEdit.EchoMode.Normal, tag.name)
        if ok and name.strip() and name.strip() != tag.name:
            self.rename_to(tag, name)

    def rename_to(self, tag: KbTag, name: str) -> None:
        self.run(lambda: self.services.knowledge.rename_tag(tag.id, name), self._done, self.show_error)

    def delete_selected(self) -> QMessageBox | None:
        tag = self.selected_tag()
        if tag is None:
            return None
        box = confirm_box(self, "Delete tag", f"Delete the tag “{tag.name}”? It comes off "
                          f"{plural(tag.binding_count, 'knowledge base')}; the knowledge bases stay.", "Delete",
                          lambda: self.run(lambda: self.services.knowledge.delete_tag(tag.id), self._done,
                                           self.show_error))
        box.open()
        return box
