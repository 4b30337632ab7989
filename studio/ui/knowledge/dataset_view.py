"""One knowledge base's page: a header, then tabs for its documents (and their chunks), retrieval testing, its
metadata fields and its settings."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QStackedWidget, QTabBar, QVBoxLayout, QWidget

from studio.core.knowledge import Dataset
from studio.ui.icons import icon
from studio.ui.knowledge.chunks import ChunksView
from studio.ui.knowledge.documents import DocumentsPanel
from studio.ui.knowledge.hit_testing import RetrievalPanel
from studio.ui.knowledge.kb_list import summary
from studio.ui.knowledge.metadata_tab import MetadataPanel
from studio.ui.knowledge.settings_tab import SettingsPanel
from studio.ui.knowledge.widgets import SEARCH_LABELS
from studio.ui.theme import back_button, label

TABS = (("Documents", "file"), ("Retrieval testing", "search"), ("Metadata", "tag"), ("Settings", "settings"))


def local_paths(event) -> list[str]:
    """The local files and folders a drag carries."""
    mime = event.mimeData()
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


class DatasetView(QWidget):
    back_requested = Signal()
    add_requested = Signal(list)  # paths dropped or chosen

    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PageRoot")
        self.setAcceptDrops(True)
        self.dataset: Dataset | None = None
        self.documents = DocumentsPanel(services, bridge)
        self.chunks = ChunksView(services, bridge)
        self.retrieval = RetrievalPanel(services, bridge)
        self.settings = SettingsPanel(services, bridge)
        self.metadata = MetadataPanel(services, bridge)
        self.documents.add_requested.connect(self.add_requested)
        self.documents.chunks_requested.connect(self.open_chunks)
        self.chunks.back_requested.connect(self.close_chunks)
        self.chunks.changed.connect(self.documents.refresh)
        self.documents.changed.connect(self.metadata.refresh)
        self.docs_stack = QStackedWidget()
        self.docs_stack.addWidget(self.documents)
        self.docs_stack.addWidget(self.chunks)
        self.tab_stack = QStackedWidget()
        self.tab_stack.addWidget(self.docs_stack)
        self.tab_stack.addWidget(self.retrieval)
        self.tab_stack.addWidget(self.metadata)
        self.tab_stack.addWidget(self.settings)
        self.tabs = QTabBar()
        self.tabs.setObjectName("KbTabs")
        self.tabs.setDrawBase(False)
        self.tabs.setExpanding(False)
        for text, name in TABS:
            self.tabs.addTab(icon(name), text)
        self.tabs.currentChanged.connect(self.tab_stack.setCurrentIndex)
        self.drop_hint = label("Drop files or folders to add them to this knowledge base", "drop")
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.hide()
        self._lay_out()

    def _lay_out(self) -> None:
        body = QVBoxLayout()
        body.setContentsMargins(24, 12, 24, 16)
        body.setSpacing(10)
        body.addWidget(self.tabs)
        body.addWidget(self.drop_hint)
        body.addWidget(self.tab_stack, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self._header())
        column.addLayout(body, 1)

    def _header(self) -> QFrame:
        header = QFrame()
        header.setObjectName("EditorHeader")
        row = QHBoxLayout(header)
        row.setContentsMargins(12, 8, 16, 8)
        back = back_button("Knowledge", "Back to the knowledge list (Ctrl+W)", self.back_requested)
        badge = QLabel()
        badge.setObjectName("KbBadge")
        badge.setPixmap(icon("knowledge", "#155EEF").pixmap(20, 20))
        badge.setFixedSize(32, 32)
        badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name = label("", "subtitle")
        self.info = label("", "muted")
        self.description = label("", "hint")
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.name)
        titles.addWidget(self.description)
        row.addWidget(back)
        row.addWidget(badge)
        row.addLayout(titles)
        row.addStretch(1)
        row.addWidget(self.info)
        return header

    # -- showing -----------------------------------------------------------------------------------
    def show_dataset(self, dataset: Dataset) -> None:
        if self.dataset is None or self.dataset.id != dataset.id:
            self.close_chunks()
            self.tabs.setCurrentIndex(0)
        self.set_info(dataset)
        self.documents.set_dataset(dataset)
        self.settings.set_dataset(dataset)
        self.retrieval.set_dataset(dataset)
        self.metadata.set_dataset(dataset)

    def set_info(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.name.setText(dataset.name)
        self.description.setText(dataset.description)
        self.description.setVisible(bool(dataset.description))
        rule = dataset.process_rule
        chunking = "parent-child" if rule.mode == "hierarchical" else f"{rule.segmentation.max_tokens}-character"
        self.info.setText(f"{summary(dataset)} · {chunking} chunks · {dataset.embedding.model} · "
                          f"{SEARCH_LABELS.get(dataset.retrieval.search_method, '')}")
        if self.settings.dataset is not None and self.settings.dataset.id == dataset.id:
            self.settings.set_dataset(dataset)  # fresh counts and dimension; an unsaved form is left alone

    def set_running(self, running: bool) -> None:
        self.documents.set_running(running)
        self.settings.set_running(running)

    def open_chunks(self, document) -> None:
        self.chunks.open_document(document)
        self.docs_stack.setCurrentWidget(self.chunks)

    def close_chunks(self) -> None:
        self.chunks.shutdown()
        self.docs_stack.setCurrentWidget(self.documents)

    # -- drag and drop -----------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if local_paths(event):
            event.acceptProposedAction()
            self.drop_hint.show()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        if local_paths(event):
            event.acceptProposedAction()

    def dragLeaveEvent(self, _event) -> None:  # noqa: N802 - Qt override
        self.drop_hint.hide()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        self.drop_hint.hide()
        paths = local_paths(event)
        if paths:
            event.acceptProposedAction()
            self.tabs.setCurrentIndex(0)
            self.close_chunks()
            self.add_requested.emit(paths)

    def shutdown(self) -> None:
        self.chunks.shutdown()
