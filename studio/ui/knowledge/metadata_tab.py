"""The Metadata tab of a knowledge base: its metadata fields (declared here, or carried by documents' front matter)
with how many documents hold each, adding, renaming and removing fields, the built-in fields switch, and one
document's values edited in a form. Retrieval tests, apps and workflow knowledge nodes filter on these fields."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLineEdit,
                               QMessageBox, QTableWidgetItem, QVBoxLayout, QWidget)

from studio.core.knowledge import Dataset, KbDocument
from studio.services.kb_labels import BUILT_IN_FIELDS, FIELD_TYPES
from studio.ui.knowledge.widgets import plural
from studio.ui.theme import button, confirm_box, label, row_table

COLUMNS = ("Name", "Type", "Documents")
TYPE_HINTS = {"string": "text", "number": "a number", "time": "a date (2024-05-01) or Unix seconds"}
BUILT_IN = ", ".join(name for name, _ in BUILT_IN_FIELDS)


class FieldDialog(QDialog):
    """Name (and, for a new field, type) of a metadata field; `submit(name, type)` saves on a worker, then the
    caller calls saved() or show_error()."""

    def __init__(self, submit, parent: QWidget | None = None, *, name: str = "", kind: str | None = None) -> None:
        super().__init__(parent)
        self._submit = submit
        self.renaming = bool(name)
        self.setWindowTitle(f"Rename field {name}" if name else "Add metadata field")
        self.name = QLineEdit(name)
        self.name.setPlaceholderText("e.g. author, year, published")
        self.name.setMaxLength(255)
        self.kind = QComboBox()
        self.kind.addItems(FIELD_TYPES)
        if kind:
            self.kind.setCurrentText(kind)
        self.kind.setEnabled(not name)
        self.error = label("", "error", wrap=True)
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setProperty("primary", True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Type", self.kind)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(label("Renaming moves every document's value to the new name." if name else
                               "Documents get values for it below, or from front matter with the same name.",
                               "hint", wrap=True))
        column.addWidget(self.error)
        column.addWidget(buttons)
        self.name.selectAll()
        self.name.setFocus()

    def accept(self) -> None:
        if not self.name.text().strip():
            self.show_error("Give the field a name.")
            return
        self.error.hide()
        self.save_button.setEnabled(False)
        self._submit(self.name.text(), self.kind.currentText())

    def saved(self) -> None:
        super().accept()

    def show_error(self, message: str) -> None:
        self.save_button.setEnabled(True)
        self.error.setText(message)
        self.error.show()


def shown(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if kind == "time" and isinstance(value, (int, float)):
        from datetime import datetime, timezone

        try:
            return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%d")
        except (OverflowError, OSError, ValueError):
            return str(value)
    return str(value)


class MetadataPanel(QWidget):
    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.bridge = services, bridge
        self.dataset: Dataset | None = None
        self.fields: list[dict[str, Any]] = []
        self.documents: list[KbDocument] = []
        self.loaded = False
        self.dialog: QWidget | None = None
        self.editors: dict[str, QLineEdit] = {}
        self.original: dict[str, str] = {}  # each editor's text as loaded
        self._make_widgets()
        self._lay_out()
        self._update_buttons()

    def _make_widgets(self) -> None:
        self.table = row_table(list(COLUMNS), stretch=0)
        self.table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.hint = label("Filter on these in Retrieval testing, the knowledge API and workflow knowledge nodes.",
                          "hint")
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self.rename_selected())
        self.add_button = button("Add field…", primary=True, tip="Declare a metadata field")
        self.rename_button = button("Rename…", tip="Rename the field; documents' values follow (F2)")
        self.delete_button = button("Delete", danger=True, tip="Remove the field and every value for it (Delete)")
        self.add_button.clicked.connect(self.add_field)
        self.rename_button.clicked.connect(self.rename_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.built_in = QCheckBox(f"Built-in fields in filters ({BUILT_IN})")
        self.built_in.setToolTip("Retrieval filters can also test a document's name, source and dates")
        self.built_in.toggled.connect(self._built_in_toggled)
        self.document = QComboBox()
        self.document.setMinimumWidth(260)
        self.document.currentIndexChanged.connect(lambda _i: self._fill_values())
        self.form_box = QWidget()
        self.form = QFormLayout(self.form_box)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.save_button = button("Save values", primary=True, tip="Save this document's values (Ctrl+S)")
        self.revert_button = button("Revert", tip="Put back the saved values")
        self.save_button.clicked.connect(self.save_values)
        self.revert_button.clicked.connect(self._fill_values)
        self.message = label("", "muted", wrap=True)
        self.message.hide()
        self.empty = label("No metadata yet. Add a field here, or add Markdown documents whose front matter "
                           "names some (author: …).", "muted", wrap=True)
        for keys, slot in ((QKeySequence("F2"), self.rename_selected),
                           (QKeySequence(QKeySequence.StandardKey.Save), self.save_values)):
            action = QAction(self)
            action.setShortcut(keys)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)  # only while this tab is visible
            action.triggered.connect(slot)
            self.addAction(action)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table, self.delete_selected)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)

    def _lay_out(self) -> None:
        actions = QHBoxLayout()
        actions.addWidget(self.add_button)
        actions.addWidget(self.hint)
        actions.addStretch(1)
        actions.addWidget(self.rename_button)
        actions.addWidget(self.delete_button)
        values_head = QHBoxLayout()
        values_head.addWidget(label("VALUES OF", "section"))
        values_head.addWidget(self.document)
        values_head.addStretch(1)
        values_buttons = QHBoxLayout()
        values_buttons.addStretch(1)
        values_buttons.addWidget(self.revert_button)
        values_buttons.addWidget(self.save_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(10)
        column.addLayout(actions)
        column.addWidget(self.message)
        column.addWidget(self.empty)
        column.addWidget(self.table, 1)
        column.addWidget(self.built_in)
        column.addLayout(values_head)
        column.addWidget(self.form_box)
        column.addLayout(values_buttons)

    # -- loading -----------------------------------------------------------------------------------
    def set_dataset(self, dataset: Dataset) -> None:
        if self.dataset is None or self.dataset.id != dataset.id:
            self.fields, self.documents, self.loaded = [], [], False
            self.show_message("")
        self.dataset = dataset
        self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.refresh()  # documents indexed or added since it was last shown bring their front matter

    def refresh(self) -> None:
        if self.dataset is None:
            return
        dataset_id = self.dataset.id
        knowledge = self.services.knowledge

        def read():
            return (dataset_id, knowledge.get(dataset_id, counts=False), knowledge.metadata_fields(dataset_id),
                    knowledge.documents(dataset_id))
        self.bridge.call(read, self._loaded, lambda m: self.show_message(m, error=True))

    def _loaded(self, result) -> None:
        dataset_id, dataset, fields, documents = result
        if self.dataset is None or dataset_id != self.dataset.id:
            return
        self.dataset, self.fields, self.documents, self.loaded = dataset, fields, documents, True
        selected = self.selected_field()
        self.table.setRowCount(len(fields))
        for row, field in enumerate(fields):
            for col, value in enumerate((field["name"], field["type"], f"{field['count']:,}")):
                item = QTableWidgetItem(value)
                if col == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        names = [f["name"] for f in fields]
        if selected is not None and selected["name"] in names:
            self.table.selectRow(names.index(selected["name"]))
        self.empty.setVisible(not fields)
        self.table.setVisible(bool(fields))
        self.built_in.blockSignals(True)
        self.built_in.setChecked(dataset.built_in_metadata)
        self.built_in.blockSignals(False)
        current = self.document.currentData()
        self.document.blockSignals(True)
        self.document.clear()
        for doc in documents:
            self.document.addItem(doc.name, doc.id)
        ids = [d.id for d in documents]
        self.document.setCurrentIndex(ids.index(current) if current in ids else 0 if ids else -1)
        self.document.blockSignals(False)
        self._fill_values()
        self._update_buttons()

    def selected_field(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.fields):
            return None
        return self.fields[rows[0].row()]

    def selected_document(self) -> KbDocument | None:
        doc_id = self.document.currentData()
        return next((d for d in self.documents if d.id == doc_id), None)

    def _update_buttons(self) -> None:
        has = self.selected_field() is not None
        self.rename_button.setEnabled(has)
        self.delete_button.setEnabled(has)
        can_edit = bool(self.fields) and self.selected_document() is not None
        for w in (self.save_button, self.revert_button, self.document):
            w.setEnabled(can_edit)

    def _fill_values(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors = {}
        doc = self.selected_document()
        if doc is None or not self.fields:
            self.form_box.setVisible(False)
            self._update_buttons()
            return
        self.original = {}
        for field in self.fields:
            value = doc.doc_metadata.get(field["name"])
            edit = QLineEdit(shown(value, field["type"]))
            edit.setPlaceholderText(f"{TYPE_HINTS[field['type']]}; empty clears it")
            if isinstance(value, (list, dict)):  # front matter lists stay as the file has them
                edit.setReadOnly(True)
                edit.setToolTip("A list from the document's front matter: change it in the file")
            self.editors[field["id"]] = edit
            self.original[field["id"]] = edit.text()
            self.form.addRow(field["name"], edit)
        self.form_box.setVisible(True)
        self._update_buttons()

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("role", "error" if error else "muted")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setVisible(bool(text))

    # -- fields ------------------------------------------------------------------------------------
    def add_field(self) -> FieldDialog | None:
        if self.dataset is None:
            return None
        dataset_id = self.dataset.id

        def submit(name: str, kind: str) -> None:
            self.bridge.call(lambda: self.services.knowledge.add_metadata_field(dataset_id, name, kind),
                             lambda f: self._field_saved(dialog, f"Added {f.name}."), dialog.show_error)
        dialog = FieldDialog(submit, self)
        return self._open(dialog)

    def rename_selected(self) -> FieldDialog | None:
        field = self.selected_field()
        if self.dataset is None or field is None:
            return None
        dataset_id = self.dataset.id

        def submit(name: str, _kind: str) -> None:
            self.bridge.call(lambda: self.services.knowledge.rename_metadata_field(dataset_id, field["id"], name),
                             lambda f: self._field_saved(dialog, f"Renamed {field['name']} to {f.name}."),
                             dialog.show_error)
        dialog = FieldDialog(submit, self, name=field["name"], kind=field["type"])
        return self._open(dialog)

    def _open(self, dialog: QDialog) -> QDialog:
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _field_saved(self, dialog: FieldDialog, message: str) -> None:
        dialog.saved()
        self.show_message(message)
        self.refresh()

    def delete_selected(self) -> QMessageBox | None:
        field = self.selected_field()
        if self.dataset is None or field is None:
            return None
        held = f" and the values {plural(field['count'], 'document')} hold" if field["count"] else ""
        dataset_id = self.dataset.id

        def delete() -> None:
            self.bridge.call(lambda: self.services.knowledge.delete_metadata_field(dataset_id, field["id"]),
                             lambda _r: (self.show_message(f"Deleted {field['name']}."), self.refresh()),
                             lambda m: self.show_message(m, error=True))
        box = confirm_box(self, "Delete metadata field", f"Delete the field “{field['name']}”{held}?", "Delete",
                          delete)
        return self._open(box)

    def _built_in_toggled(self, on: bool) -> None:
        if self.dataset is None:
            return
        dataset_id = self.dataset.id
        self.bridge.call(lambda: self.services.knowledge.set_built_in_metadata(dataset_id, on),
                         lambda _r: self.refresh(), lambda m: (self.show_message(m, error=True), self.refresh()))

    # -- values ------------------------------------------------------------------------------------
    def save_values(self) -> None:
        doc = self.selected_document()
        if self.dataset is None or doc is None or not self.editors:
            return
        items = [{"id": fid, "value": edit.text().strip() or None} for fid, edit in self.editors.items()
                 if not edit.isReadOnly() and edit.text() != self.original.get(fid)]  # only what the user changed
        if not items:
            self.show_message(f"No values of {doc.name} changed.")
            return
        dataset_id = self.dataset.id
        self.save_button.setEnabled(False)

        def done(_r) -> None:
            self.show_message(f"Saved the values of {doc.name}.")
            self.refresh()

        def failed(message: str) -> None:
            self.save_button.setEnabled(True)
            self.show_message(message, error=True)
        self.bridge.call(lambda: self.services.knowledge.set_document_metadata(dataset_id, [(doc.id, items, True)]),
                         done, failed)
