"""The `user_input_form` editor: a list of input variables with add, remove, reorder, and a form for the selected one."""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QFormLayout, QFrame, QHBoxLayout, QHeaderView, QLineEdit, QSpinBox,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from studio.core.app_config import INPUT_TYPES
from studio.ui.icons import icon
from studio.ui.theme import button, label

TYPE_LABELS = {"text-input": "Short text", "paragraph": "Paragraph", "select": "Select", "number": "Number"}
DEFAULT_MAX_LENGTH = 48  # Dify's default for a new short-text input


def _split_options(text: str) -> list[str]:
    return [o.strip() for o in text.split(",") if o.strip()]


class VariableForm(QFrame):
    """Edits one variable; the editor owns the data and asks this form to show or read it."""

    edited = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("card", True)
        self.kind = QComboBox()
        for value in INPUT_TYPES:
            self.kind.addItem(TYPE_LABELS[value], value)
        self.name = QLineEdit()
        self.name.setPlaceholderText("name used as {{name}} in the prompt")
        self.caption = QLineEdit()
        self.caption.setPlaceholderText("shown to the user")
        self.required = QCheckBox("Required")
        self.max_length = QSpinBox()
        self.max_length.setRange(0, 100_000)
        self.max_length.setSpecialValueText("No limit")
        self.options = QLineEdit()
        self.options.setPlaceholderText("first, second, third")
        form = QFormLayout(self)
        form.setContentsMargins(12, 10, 12, 10)
        form.addRow("Type", self.kind)
        form.addRow("Variable", self.name)
        form.addRow("Label", self.caption)
        form.addRow("", self.required)
        form.addRow("Max length", self.max_length)
        form.addRow("Options", self.options)
        self._form = form
        self.kind.currentIndexChanged.connect(lambda _i: (self._enable(), self.edited.emit("var:type")))
        self.name.textEdited.connect(lambda _t: self.edited.emit("var:variable"))
        self.caption.textEdited.connect(lambda _t: self.edited.emit("var:label"))
        self.required.toggled.connect(lambda _c: self.edited.emit("var:required"))
        self.max_length.valueChanged.connect(lambda _v: self.edited.emit("var:max_length"))
        self.options.textEdited.connect(lambda _t: self.edited.emit("var:options"))

    def text_widgets(self) -> list[QWidget]:
        return [self.name, self.caption, self.options, self.max_length]

    def show_item(self, kind: str, body: dict[str, Any]) -> None:
        widgets = (self.kind, self.name, self.caption, self.required, self.max_length, self.options)
        for w in widgets:
            w.blockSignals(True)
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        _set_line(self.name, str(body.get("variable", "")))
        _set_line(self.caption, str(body.get("label", "")))
        self.required.setChecked(bool(body.get("required", True)))
        self.max_length.setValue(int(body.get("max_length") or 0))
        if _split_options(self.options.text()) != [str(o) for o in body.get("options") or []]:
            self.options.setText(", ".join(str(o) for o in body.get("options") or []))
        for w in widgets:
            w.blockSignals(False)
        self._enable()

    def read_into(self, kind: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        body = copy.deepcopy(body)
        kind = self.kind.currentData()
        body["variable"] = self.name.text().strip()
        body["label"] = self.caption.text().strip()
        body["required"] = self.required.isChecked()
        if kind in ("text-input", "paragraph"):
            if self.max_length.value():
                body["max_length"] = self.max_length.value()
            else:
                body.pop("max_length", None)
        if kind == "select" or "options" in body:
            body["options"] = _split_options(self.options.text())
        return kind, body

    def _enable(self) -> None:
        kind = self.kind.currentData()
        self._form.setRowVisible(self.max_length, kind in ("text-input", "paragraph"))
        self._form.setRowVisible(self.options, kind == "select")


class VariablesEditor(QWidget):
    """Rows keep each item's original body, so keys this editor does not know survive a save."""

    changed = Signal(str)  # an undo merge key

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, dict[str, Any]]] = []
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(("Variable", "Label", "Type", ""))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.detail = VariableForm()
        self.detail.edited.connect(self._detail_edited)
        self.add_button, self.remove_button = button("Add"), button("Remove")
        self.add_button.setIcon(icon("plus"))
        self.up_button, self.down_button = button("Move up"), button("Move down")
        self.add_button.clicked.connect(lambda: self.add_variable())
        self.remove_button.clicked.connect(self.remove_selected)
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(1))
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.empty = label("No variables yet. Add one, or write {{name}} in the prompt and click "
                           "“Add to input form”.", "hint", wrap=True)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.empty)
        column.addWidget(self.table)
        column.addLayout(buttons)
        column.addWidget(self.detail)
        self._refresh()

    # -- reading and writing -----------------------------------------------------------------------
    def load(self, items: list) -> None:
        rows = []
        for item in items:
            if isinstance(item, dict) and len(item) == 1:
                (kind, body), = item.items()
                rows.append((kind, copy.deepcopy(body) if isinstance(body, dict) else {}))
        if rows == self._rows:
            return  # same content: keep selection and the cursor in the detail form
        selected = self.selected_row()
        self._rows = rows
        self._refresh(select=min(selected, len(rows) - 1))

    def items(self) -> list[dict[str, dict[str, Any]]]:
        return [{kind: copy.deepcopy(body)} for kind, body in self._rows]

    def variable_names(self) -> list[str]:
        return [str(body.get("variable", "")) for _, body in self._rows]

    # -- rows --------------------------------------------------------------------------------------
    def _refresh(self, select: int = -1) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self._rows))
        for row, (kind, body) in enumerate(self._rows):
            values = (f"{{x}} {body.get('variable', '')}", str(body.get("label", "")),
                      TYPE_LABELS.get(kind, kind), "Required" if body.get("required", True) else "Optional")
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                if kind not in INPUT_TYPES:
                    item.setToolTip("A Dify input type Studio keeps but does not edit")
                self.table.setItem(row, col, item)
        self.table.clearSelection()
        if select >= 0:
            self.table.selectRow(select)
        self.table.blockSignals(False)
        rows_height = sum(self.table.rowHeight(r) for r in range(len(self._rows)))
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height() + rows_height + 4)
        self.table.setVisible(bool(self._rows))
        self.empty.setVisible(not self._rows)
        self._selection_changed()

    def _selection_changed(self) -> None:
        row = self.selected_row()
        editable = row >= 0 and self._rows[row][0] in INPUT_TYPES
        self.detail.setVisible(editable)
        if editable:
            self.detail.show_item(*self._rows[row])
        self.remove_button.setEnabled(row >= 0)
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < len(self._rows) - 1)

    def _detail_edited(self, key: str) -> None:
        row = self.selected_row()
        if row < 0:
            return
        self._rows[row] = self.detail.read_into(*self._rows[row])
        kind, body = self._rows[row]
        self.table.item(row, 0).setText(f"{{x}} {body.get('variable', '')}")
        self.table.item(row, 1).setText(str(body.get("label", "")))
        self.table.item(row, 2).setText(TYPE_LABELS.get(kind, kind))
        self.table.item(row, 3).setText("Required" if body.get("required", True) else "Optional")
        self.changed.emit(key)

    def add_variable(self, name: str = "", kind: str = "text-input", *, notify: bool = True) -> None:
        taken = set(self.variable_names())
        if not name:
            n = 1
            while f"var_{n}" in taken:
                n += 1
            name = f"var_{n}"
        body = {"variable": name, "label": name, "required": True, "max_length": DEFAULT_MAX_LENGTH, "default": ""}
        if kind != "text-input":
            body.pop("max_length")
        self._rows.append((kind, body))
        self._refresh(select=len(self._rows) - 1)
        if notify:
            self.changed.emit("var:add")

    def remove_selected(self) -> None:
        row = self.selected_row()
        if row < 0:
            return
        del self._rows[row]
        self._refresh(select=min(row, len(self._rows) - 1))
        self.changed.emit("var:remove")

    def move_selected(self, step: int) -> None:
        row = self.selected_row()
        target = row + step
        if row < 0 or not 0 <= target < len(self._rows):
            return
        self._rows[row], self._rows[target] = self._rows[target], self._rows[row]
        self._refresh(select=target)
        self.changed.emit("var:move")

    def selected_row(self) -> int:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return rows[0].row() if rows else -1


def _set_line(edit: QLineEdit, text: str) -> None:
    if edit.text() != text:
        edit.setText(text)
