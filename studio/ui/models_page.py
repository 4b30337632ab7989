"""The Models page: the catalog with metadata and errors, add/remove GGUF files, the default, and a test load."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog, QFormLayout, QFrame, QHBoxLayout, QMessageBox, QPlainTextEdit, QProgressBar, QSplitter,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from studio.core.entities import ModelInfo, ModelKind
from studio.core.errors import ModelError
from studio.ui.formatting import human_bytes, human_count
from studio.ui.icons import icon
from studio.ui.theme import ERROR_COLOR, button, label, row_table, set_role

log = logging.getLogger(__name__)
COLUMNS = ("Name", "Kind", "Architecture", "Parameters", "Quantisation", "Context", "Size", "Source", "Error")
ID_ROLE = Qt.ItemDataRole.UserRole + 1


class ModelsPage(QWidget):
    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PageRoot")
        self.services, self.bridge = services, bridge
        self.models: list[ModelInfo] = []
        self.default_id = ""
        self.loaded_once = False
        self.busy_count = 0
        self.dialog: QWidget | None = None
        self._make_widgets()
        self._lay_out()
        self._update_buttons()

    def _make_widgets(self) -> None:
        self.table = row_table(COLUMNS)
        self.table.setAlternatingRowColors(True)
        self.table.itemSelectionChanged.connect(self._show_details)
        self.add_button = button("Add GGUF…", primary=True, tip="Add a GGUF model file from disk")
        self.add_button.setIcon(icon("plus", "#FFFFFF"))
        self.remove_button = button("Remove", danger=True, tip="Forget a model you added (the file stays on disk)")
        self.default_button = button("Set as default", tip="Apps without a model of their own use the default")
        self.load_button = button("Test load", tip="Load the model into memory to check that it works")
        self.refresh_button = button("Refresh")
        self.add_button.clicked.connect(self.choose_file)
        self.remove_button.clicked.connect(self.remove_selected)
        self.default_button.clicked.connect(self.set_default_selected)
        self.load_button.clicked.connect(self.test_load_selected)
        self.refresh_button.clicked.connect(self.refresh)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setFixedWidth(140)
        self.progress.setTextVisible(False)
        self.busy_label = label("", "muted")
        self.message = label("", "muted", wrap=True)
        self.message.hide()
        self.details = QFormLayout()
        self.detail_labels = {key: label("", "muted", wrap=True) for key in ("id", "path", "default", "error")}
        for w in self.detail_labels.values():
            w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.template = QPlainTextEdit()
        self.template.setObjectName("ChatTemplate")
        self.template.setReadOnly(True)
        self.template.setPlaceholderText("Select a model to see its chat template.")

    def _lay_out(self) -> None:
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(label("Models", "title"))
        titles.addWidget(label("Local GGUF models run by llama.cpp. Nothing leaves this computer.", "muted", wrap=True))
        header.addLayout(titles, 1)
        header.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignTop)
        actions = QHBoxLayout()
        for b in (self.refresh_button, self.load_button, self.default_button, self.remove_button):
            actions.addWidget(b)
        actions.addSpacing(12)
        actions.addWidget(self.progress)
        actions.addWidget(self.busy_label)
        actions.addStretch(1)
        self.details.addRow("Id", self.detail_labels["id"])
        self.details.addRow("File", self.detail_labels["path"])
        self.details.addRow("Default", self.detail_labels["default"])
        self.details.addRow("Problem", self.detail_labels["error"])
        pane = QFrame()
        pane.setProperty("panel", True)
        pane_column = QVBoxLayout(pane)
        pane_column.setContentsMargins(14, 12, 14, 14)
        pane_column.addWidget(label("DETAILS", "section"))
        pane_column.addLayout(self.details)
        pane_column.addWidget(label("CHAT TEMPLATE", "section"))
        pane_column.addWidget(self.template, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.table)
        split.addWidget(pane)
        split.setSizes([300, 320])
        column = QVBoxLayout(self)
        column.setContentsMargins(24, 20, 24, 16)
        column.setSpacing(12)
        column.addLayout(header)
        column.addLayout(actions)
        column.addWidget(self.message)
        column.addWidget(split, 1)
        self._show_busy()

    # -- busy state --------------------------------------------------------------------------------
    def _begin(self, text: str) -> None:
        self.busy_count += 1
        self.busy_label.setText(text)
        self._show_busy()

    def _end(self) -> None:
        self.busy_count = max(0, self.busy_count - 1)
        self._show_busy()

    def _show_busy(self) -> None:
        busy = self.busy_count > 0
        self.progress.setVisible(busy)
        self.busy_label.setVisible(busy)
        self._update_buttons()

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        set_role(self.message, "role", "error" if error else "muted")
        self.message.setVisible(bool(text))

    # -- listing -----------------------------------------------------------------------------------
    def activated(self) -> None:
        if not self.loaded_once:
            self.refresh()

    def refresh(self) -> None:
        """Reading GGUF headers takes a moment, so the catalog is listed on a worker."""
        self._begin("Reading models…")
        self.bridge.call(self._read_catalog, self._catalog_read, self._catalog_failed)

    def _read_catalog(self) -> tuple[list[ModelInfo], str]:
        models = self.services.models.list()
        try:
            default = self.services.models.default_chat_model().id
        except ModelError:
            default = ""
        return models, default

    def _catalog_read(self, result) -> None:
        self._end()
        self.loaded_once = True
        selected = self.selected_model()
        self.models, self.default_id = result
        self.table.setRowCount(0)
        for model in self.models:
            self._add_row(model)
        ids = [m.id for m in self.models]
        if selected and selected.id in ids:
            self.table.selectRow(ids.index(selected.id))
        elif self.models:
            self.table.selectRow(0)
        self._update_buttons()

    def _catalog_failed(self, message: str) -> None:
        self._end()
        self.show_message(message, error=True)

    def _add_row(self, m: ModelInfo) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        name = ("★ " if m.id == self.default_id else "") + m.name
        values = (name, m.kind.value, m.architecture or "—", human_count(m.parameters), m.quantization or "—",
                  f"{m.context_length:,}" if m.context_length else "—", human_bytes(m.size_bytes), m.source, m.error)
        for col, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setData(ID_ROLE, m.id)
            if col == 0:
                item.setToolTip(m.path + ("\nDefault chat model" if m.id == self.default_id else ""))
            if col == len(values) - 1 and m.error:
                item.setForeground(ERROR_COLOR)
                item.setToolTip(m.error)
            self.table.setItem(row, col, item)

    def selected_model(self) -> ModelInfo | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        model_id = self.table.item(rows[0].row(), 0).data(ID_ROLE)
        return next((m for m in self.models if m.id == model_id), None)

    def _show_details(self) -> None:
        m = self.selected_model()
        self.detail_labels["id"].setText(m.id if m else "")
        self.detail_labels["path"].setText(m.path if m else "")
        self.detail_labels["default"].setText(("Yes" if m.id == self.default_id else "No") if m else "")
        self.detail_labels["error"].setText((m.error or "None") if m else "")
        set_role(self.detail_labels["error"], "role", "error" if m and m.error else "muted")
        self.template.setPlainText(m.chat_template if m and m.chat_template else
                                   ("(this model has no chat template; Studio uses ChatML)" if m else ""))
        self._update_buttons()

    def _update_buttons(self) -> None:
        m = self.selected_model() if hasattr(self, "table") else None
        idle = self.busy_count == 0
        self.remove_button.setEnabled(idle and m is not None and m.source != "bundled")
        self.default_button.setEnabled(idle and m is not None and m.kind == ModelKind.CHAT and not m.error
                                       and m.id != self.default_id)
        self.load_button.setEnabled(idle and m is not None and not m.error)
        self.add_button.setEnabled(idle)

    # -- actions -----------------------------------------------------------------------------------
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a GGUF model", "", "GGUF models (*.gguf);;All files (*)")
        if path:
            self.add_file(path)

    def add_file(self, path: str) -> None:
        self.show_message("")
        self._begin("Reading the file…")
        self.bridge.call(lambda: self.services.models.add(path), self._added, self._failed)

    def _added(self, model: ModelInfo) -> None:
        self._end()
        self.show_message(f"Added {model.name}.")
        self.refresh()

    def _failed(self, message: str) -> None:
        self._end()
        self.show_message(message, error=True)

    def remove_selected(self) -> QMessageBox | None:
        m = self.selected_model()
        if m is None:
            return None
        box = QMessageBox(QMessageBox.Icon.Question, "Remove model",
                          f"Remove {m.name} from Studio?\nThe file stays on disk.", QMessageBox.StandardButton.Cancel, self)
        confirm = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.buttonClicked.connect(lambda clicked: clicked is confirm and self._remove(m))
        self.dialog = box
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def _remove(self, m: ModelInfo) -> None:
        self._begin("Removing…")
        self.bridge.call(lambda: self.services.models.remove(m.id),
                         lambda _r: (self._end(), self.show_message(f"Removed {m.name}."), self.refresh()), self._failed)

    def set_default_selected(self) -> None:
        m = self.selected_model()
        if m is None:
            return
        self._begin("Saving…")
        self.bridge.call(lambda: self.services.models.set_default_chat_model(m.id),
                         lambda model: (self._end(), self.show_message(f"{model.name} is now the default chat model."),
                                        self.refresh()), self._failed)

    def test_load_selected(self) -> None:
        m = self.selected_model()
        if m is None:
            return
        self.show_message("")
        self._begin(f"Loading {m.name}…")

        def load():
            started = time.perf_counter()
            self.services.models.load(m.id)
            return time.perf_counter() - started

        self.bridge.call(load, lambda s: (self._end(), self.show_message(f"{m.name} loaded fine in {s:.1f} s.")),
                         self._failed)
