"""The documents tab of a knowledge base: the table with status and chunks, adding files, progress, and Resume."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QMessageBox, QTableWidgetItem, QVBoxLayout, QWidget

from studio.core.knowledge import SUPPORTED_EXTENSIONS, Dataset, DocumentStatus, KbDocument
from studio.ui.formatting import human_bytes
from studio.ui.icons import icon
from studio.ui.knowledge.progress import ProgressStrip
from studio.ui.knowledge.widgets import Switch, plural, status_text
from studio.ui.theme import button, confirm_box, label, row_table, set_role

log = logging.getLogger(__name__)
COLUMNS = ("Name", "Status", "Chunks", "Size", "Enabled")
ID_ROLE = Qt.ItemDataRole.UserRole + 1
BUSY = (DocumentStatus.PARSING, DocumentStatus.INDEXING)


def plan_text(plan) -> str:
    """What adding did, in one line: the user sees why a dropped file did nothing."""
    parts = []
    for items, word in ((plan.queued, "added"), (plan.replaced, "changed, re-indexing"),
                        (plan.resumed, "resumed"), (plan.unchanged, "already indexed"),
                        (plan.duplicates, "duplicate content, skipped")):
        if items:
            parts.append(f"{plural(len(items), 'file')} {word}")
    for path, reason in plan.skipped[:3]:
        parts.append(f"{path.rsplit('/', 1)[-1]}: {reason}")
    if len(plan.skipped) > 3:
        parts.append(f"{len(plan.skipped) - 3} more skipped")
    return "; ".join(parts) + "." if parts else "No supported files found."


def chunks_text(doc: KbDocument) -> str:
    if doc.status == DocumentStatus.COMPLETED or not doc.segment_count:
        return f"{doc.segment_count:,}" if doc.segment_count else "—"
    return f"{doc.indexed_count:,} / {doc.segment_count:,}"


class DocumentsPanel(QWidget):
    chunks_requested = Signal(object)  # KbDocument
    add_requested = Signal(list)  # paths
    resume_requested = Signal()
    cancel_requested = Signal()
    changed = Signal()  # documents were added, deleted, enabled or disabled

    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.bridge = services, bridge
        self.dataset: Dataset | None = None
        self.documents: list[KbDocument] = []
        self.loaded = False
        self._loading = self._again = False
        self.dialog: QWidget | None = None
        self.progress = ProgressStrip()
        self.progress.cancel_requested.connect(self.cancel_requested)
        self._make_widgets()
        self._lay_out()
        self._update_buttons()

    def _make_widgets(self) -> None:
        self.table = row_table(COLUMNS, stretch=0)
        self.table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemDoubleClicked.connect(lambda _item: self._open_selected())
        self.add_files_button = button("Add files…", primary=True, tip="Add documents (or drop files here)")
        self.add_files_button.setIcon(icon("file", "#FFFFFF"))
        self.add_folder_button = button("Add folder…", tip="Add every supported file in a folder")
        self.add_folder_button.setIcon(icon("folder"))
        self.resume_button = button("Resume", tip="Carry on indexing the paused documents")
        self.resume_button.setIcon(icon("play"))
        self.chunks_button = button("View chunks", tip="See and edit the document's chunks (double-click a row)")
        self.delete_button = button("Delete", danger=True, tip="Remove the document and its chunks")
        self.add_files_button.clicked.connect(self.choose_files)
        self.add_folder_button.clicked.connect(self.choose_folder)
        self.resume_button.clicked.connect(self.resume_requested)
        self.chunks_button.clicked.connect(self._open_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.message = label("", "muted", wrap=True)
        self.message.hide()
        self.detail = label("", "error", wrap=True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.hide()
        self.empty = label("No documents yet. Drop files or folders here, or use Add files… "
                           f"({', '.join(e.lstrip('.') for e in SUPPORTED_EXTENSIONS)}).", "muted", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def _lay_out(self) -> None:
        actions = QHBoxLayout()
        for b in (self.add_files_button, self.add_folder_button, self.resume_button):
            actions.addWidget(b)
        actions.addStretch(1)
        actions.addWidget(self.chunks_button)
        actions.addWidget(self.delete_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(10)
        column.addLayout(actions)
        column.addWidget(self.progress)
        column.addWidget(self.message)
        column.addWidget(self.empty, 1)  # whichever of the two shows takes the space
        column.addWidget(self.table, 1)
        column.addWidget(self.detail)

    # -- loading -----------------------------------------------------------------------------------
    def set_dataset(self, dataset: Dataset) -> None:
        if self.dataset is None or self.dataset.id != dataset.id:
            self.documents, self.loaded = [], False
            self.table.setRowCount(0)
            self.show_message("")
            self.progress.hide()
        self.dataset = dataset
        self.refresh()

    def refresh(self) -> None:
        """One read at a time; a request while one runs is remembered and done right after."""
        if self.dataset is None:
            return
        if self._loading:
            self._again = True
            return
        self._loading, dataset_id = True, self.dataset.id
        self.bridge.call(lambda: (dataset_id, self.services.knowledge.documents(dataset_id)),
                         self._loaded, self._load_failed)

    def _loaded(self, result) -> None:
        self._loading = False
        dataset_id, documents = result
        if self.dataset is not None and dataset_id == self.dataset.id:
            self._show(documents)
        if self._again:
            self._again = False
            self.refresh()

    def _load_failed(self, message: str) -> None:
        self._loading = self._again = False
        self.show_message(message, error=True)

    def _show(self, documents: list[KbDocument]) -> None:
        selected = self.selected_document()
        self.documents, self.loaded = documents, True
        self.table.setRowCount(len(documents))
        for row, doc in enumerate(documents):
            self._fill_row(row, doc)
        ids = [d.id for d in documents]
        if selected is not None and selected.id in ids:
            self.table.selectRow(ids.index(selected.id))
        self.empty.setVisible(not documents)
        self.table.setVisible(bool(documents))
        self._selection_changed()

    def _fill_row(self, row: int, doc: KbDocument) -> None:
        status, colour = status_text(doc.status)
        values = (doc.name, status, chunks_text(doc), human_bytes(doc.size_bytes))
        for col, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setData(ID_ROLE, doc.id)
            if col == 0:
                item.setToolTip(doc.source_path)
                item.setIcon(icon("file"))
            if col == 1:
                item.setForeground(colour)
                item.setToolTip(doc.error or status)
            if col in (2, 3):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, col, item)
        switch = Switch(doc.enabled, "Use this document in retrieval")
        switch.setEnabled(doc.status == DocumentStatus.COMPLETED)
        switch.toggled.connect(lambda on, d=doc: self.set_enabled(d, on))
        holder = QWidget()
        holder_row = QHBoxLayout(holder)
        holder_row.setContentsMargins(8, 0, 8, 0)
        holder_row.addWidget(switch)
        holder_row.addStretch(1)
        self.table.setCellWidget(row, len(COLUMNS) - 1, holder)

    def switch_for(self, row: int) -> Switch:
        return self.table.cellWidget(row, len(COLUMNS) - 1).findChild(Switch)

    # -- selection ---------------------------------------------------------------------------------
    def selected_document(self) -> KbDocument | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.documents):
            return None
        return self.documents[rows[0].row()]

    def _selection_changed(self) -> None:
        doc = self.selected_document()
        error = doc.error if doc is not None and doc.status == DocumentStatus.ERROR else ""
        self.detail.setText(f"{doc.name}: {error}" if error and not error.startswith(doc.name) else error)
        self.detail.setVisible(bool(error))
        self._update_buttons()

    def _update_buttons(self) -> None:
        doc = self.selected_document()
        busy = doc is not None and doc.status in BUSY
        self.chunks_button.setEnabled(doc is not None and doc.segment_count > 0)
        self.delete_button.setEnabled(doc is not None and not busy)
        paused = any(d.status == DocumentStatus.PAUSED for d in self.documents)
        self.resume_button.setVisible(paused and not self.progress.cancel_button.isVisible())

    def set_running(self, running: bool) -> None:
        self.progress.cancel_button.setVisible(running)
        self._update_buttons()

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        set_role(self.message, "role", "error" if error else "muted")
        self.message.setVisible(bool(text))

    # -- actions -----------------------------------------------------------------------------------
    def choose_files(self) -> None:
        pattern = " ".join(f"*{e}" for e in SUPPORTED_EXTENSIONS)
        paths, _ = QFileDialog.getOpenFileNames(self, "Add documents", "", f"Documents ({pattern});;All files (*)")
        if paths:
            self.add_requested.emit(paths)

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder of documents")
        if path:
            self.add_requested.emit([path])

    def _open_selected(self) -> None:
        doc = self.selected_document()
        if doc is not None and doc.segment_count:
            self.chunks_requested.emit(doc)

    def set_enabled(self, doc: KbDocument, enabled: bool) -> None:
        def done(_updated) -> None:
            self.changed.emit()
            self.refresh()

        self.bridge.call(lambda: self.services.knowledge.set_document_enabled(doc.id, enabled), done,
                         lambda m: (self.show_message(m, error=True), self.refresh()))

    def delete_selected(self) -> QMessageBox | None:
        doc = self.selected_document()
        if doc is None:
            return None
        box = confirm_box(self, "Delete document", f"Delete “{doc.name}” and its "
                          f"{plural(doc.segment_count, 'chunk')} from this knowledge base?\nThe file on disk stays.",
                          "Delete", lambda: self._delete(doc))
        self.dialog = box
        box.open()
        return box

    def _delete(self, doc: KbDocument) -> None:
        def done(_r) -> None:
            self.show_message(f"Deleted {doc.name}.")
            self.changed.emit()
            self.refresh()

        self.bridge.call(lambda: self.services.knowledge.delete_document(doc.id), done,
                         lambda m: self.show_message(m, error=True))
