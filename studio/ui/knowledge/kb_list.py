"""The knowledge-base list: a grid of cards (name, documents, chunks, tags, embedding model) with create, delete, tags
and a filter by tag."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHBoxLayout, QListView, QListWidget, QListWidgetItem, QMenu, QStyledItemDelegate,
    QVBoxLayout, QWidget,
)

from studio.core.knowledge import Dataset
from studio.ui.cards import PAD, paint_frame, paint_title
from studio.ui.icons import icon
from studio.ui.knowledge.widgets import SEARCH_LABELS, plural
from studio.ui.theme import button, label

DATASET_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_ROLE = Qt.ItemDataRole.UserRole + 2  # "Indexing 40 %" while a run is going
TAGS_ROLE = Qt.ItemDataRole.UserRole + 3  # the names of the tags on it
ALL_TAGS = "All tags"
CARD = QSize(300, 150)


def summary(dataset: Dataset) -> str:
    return f"{plural(dataset.document_count, 'doc')} · {plural(dataset.segment_count, 'chunk')}"


class DatasetCardDelegate(QStyledItemDelegate):
    def sizeHint(self, _option, _index) -> QSize:  # noqa: N802 - Qt override
        return CARD

    def paint(self, painter: QPainter, option, index) -> None:
        dataset: Dataset | None = index.data(DATASET_ROLE)
        if dataset is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = paint_frame(painter, option)
        badge = QRectF(rect.left() + PAD, rect.top() + PAD, 40, 40)
        square = QPainterPath()
        square.addRoundedRect(badge, 9, 9)
        painter.fillPath(square, QColor("#EFF4FF"))
        icon("knowledge", "#155EEF").paint(painter, badge.adjusted(9, 9, -9, -9).toRect())
        self._paint_texts(painter, rect.toRect(), dataset, option.font, index.data(STATE_ROLE) or "",
                          index.data(TAGS_ROLE) or [])
        painter.restore()

    @staticmethod
    def _paint_texts(painter: QPainter, rect: QRect, dataset: Dataset, base: QFont, state: str,
                     tags: list[str]) -> None:
        paint_title(painter, rect, base, dataset.name, state or summary(dataset),
                    subtitle_color="#155EEF" if state else "#667085")
        body = QFont(base)
        body.setPixelSize(12)
        painter.setFont(body)
        metrics = painter.fontMetrics()
        painter.setPen(QColor("#475467" if dataset.description else "#98A2B3"))
        inner = rect.width() - 2 * PAD
        text = metrics.elidedText(" ".join((dataset.description or "No description").split()),
                                  Qt.TextElideMode.ElideRight, inner)
        painter.drawText(QRect(rect.left() + PAD, rect.top() + PAD + 54, inner, 20), Qt.AlignmentFlag.AlignLeft, text)
        painter.setPen(QColor("#667085"))
        small = QFont(base)
        small.setPixelSize(11)
        painter.setFont(small)
        if tags:
            painter.setPen(QColor("#155EEF"))
            line = painter.fontMetrics().elidedText("  ".join(f"# {t}" for t in tags), Qt.TextElideMode.ElideRight,
                                                    inner)
            painter.drawText(QRect(rect.left() + PAD, rect.bottom() - PAD - 36, inner, 16),
                             Qt.AlignmentFlag.AlignVCenter, line)
            painter.setPen(QColor("#667085"))
        foot = f"{dataset.embedding.model} · {SEARCH_LABELS.get(dataset.retrieval.search_method, '')}"
        foot = painter.fontMetrics().elidedText(foot, Qt.TextElideMode.ElideRight, inner)
        painter.drawText(QRect(rect.left() + PAD, rect.bottom() - PAD - 16, inner, 16),
                         Qt.AlignmentFlag.AlignVCenter, foot)


class DatasetGrid(QListWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AppGrid")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setSpacing(6)
        self.setMouseTracking(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setItemDelegate(DatasetCardDelegate(self))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def set_datasets(self, datasets: list[Dataset], states: dict[str, str],
                     tags: dict[str, list[str]] | None = None) -> None:
        current = self.current_dataset()
        self.clear()
        for dataset in datasets:
            names = (tags or {}).get(dataset.id, [])
            item = QListWidgetItem()
            item.setData(DATASET_ROLE, dataset)
            item.setData(STATE_ROLE, states.get(dataset.id, ""))
            item.setData(TAGS_ROLE, names)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, dataset.name)
            item.setToolTip(f"{dataset.name}\n{summary(dataset)}\nEmbedding: {dataset.embedding.model}"
                            + (f"\nTags: {', '.join(names)}" if names else ""))
            item.setSizeHint(CARD)
            self.addItem(item)
            if current is not None and dataset.id == current.id:
                self.setCurrentItem(item)

    def set_state(self, dataset_id: str, state: str) -> None:
        for i in range(self.count()):
            if self.item(i).data(DATASET_ROLE).id == dataset_id:
                self.item(i).setData(STATE_ROLE, state)

    def current_dataset(self) -> Dataset | None:
        item = self.currentItem()
        return item.data(DATASET_ROLE) if item is not None and item.isSelected() else None

    def datasets(self) -> list[Dataset]:
        return [self.item(i).data(DATASET_ROLE) for i in range(self.count())]

    def filter_by_tag(self, tag: str | None) -> int:
        """Show only the cards carrying `tag` (all of them for None); returns how many show."""
        shown = 0
        for i in range(self.count()):
            item = self.item(i)
            hide = tag is not None and tag not in (item.data(TAGS_ROLE) or [])
            item.setHidden(hide)
            shown += not hide
        return shown


class DatasetList(QWidget):
    """Index 0 of the Knowledge page. It only shows what the page hands it; the page talks to the services."""

    create_requested = Signal()
    open_requested = Signal(object)  # Dataset
    delete_requested = Signal(object)  # Dataset
    tags_requested = Signal(object)  # Dataset

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PageRoot")
        self.grid = DatasetGrid()
        self.count_label = label("", "muted")
        self.tag_filter = QComboBox()
        self.tag_filter.setToolTip("Show the knowledge bases with this tag")
        self.tag_filter.setMinimumWidth(160)
        self.tag_filter.addItem(ALL_TAGS)
        self.tag_filter.currentIndexChanged.connect(lambda _i: self._apply_filter())
        self.tags_button = button("Tags…", tip="Put tags on the selected knowledge base")
        self.tags_button.setIcon(icon("tag"))
        self._count = 0
        self.message = label("", "note", wrap=True)
        self.message.hide()
        self.create_button = button("Create knowledge", primary=True, tip="Create a knowledge base")
        self.create_button.setIcon(icon("plus", "#FFFFFF"))
        self.open_button = button("Open")
        self.delete_button = button("Delete", danger=True)
        self.empty_label = label("No knowledge yet. Create a knowledge base, then add documents (Markdown, text, "
                                 "PDF, Word, HTML, CSV or JSON) so apps can answer from them.", "muted", wrap=True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._connect()
        self._lay_out()
        self._update_buttons()

    def _connect(self) -> None:
        self.create_button.clicked.connect(self.create_requested)
        self.open_button.clicked.connect(lambda: self._with_current(self.open_requested.emit))
        self.delete_button.clicked.connect(lambda: self._with_current(self.delete_requested.emit))
        self.tags_button.clicked.connect(lambda: self._with_current(self.tags_requested.emit))
        self.grid.itemActivated.connect(lambda item: self.open_requested.emit(item.data(DATASET_ROLE)))
        self.grid.itemSelectionChanged.connect(self._update_buttons)
        self.grid.customContextMenuRequested.connect(self._context_menu)

    def _lay_out(self) -> None:
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(label("Knowledge", "title"))
        titles.addWidget(self.count_label)
        header.addLayout(titles)
        header.addStretch(1)
        header.addWidget(self.create_button, 0, Qt.AlignmentFlag.AlignTop)
        actions = QHBoxLayout()
        actions.addWidget(self.open_button)
        actions.addWidget(self.tags_button)
        actions.addWidget(self.delete_button)
        actions.addStretch(1)
        actions.addWidget(self.tag_filter)
        actions.addWidget(label("Double-click a card to open it; right-click for more.", "hint"))
        column = QVBoxLayout(self)
        column.setContentsMargins(24, 20, 24, 12)
        column.setSpacing(12)
        column.addLayout(header)
        column.addLayout(actions)
        column.addWidget(self.message)
        column.addWidget(self.empty_label, 1)  # whichever of the two shows takes the space
        column.addWidget(self.grid, 1)

    def show_datasets(self, datasets: list[Dataset], states: dict[str, str],
                      tags: dict[str, list[str]] | None = None, all_tags: list[str] | None = None) -> None:
        self.grid.set_datasets(datasets, states, tags)
        self._count = len(datasets)
        chosen = self.tag_filter.currentText()
        self.tag_filter.blockSignals(True)
        self.tag_filter.clear()
        self.tag_filter.addItem(ALL_TAGS)
        self.tag_filter.addItems(sorted(all_tags or [], key=str.casefold))
        self.tag_filter.setCurrentText(chosen if chosen in (all_tags or []) else ALL_TAGS)
        self.tag_filter.blockSignals(False)
        self.tag_filter.setVisible(bool(all_tags))
        self.empty_label.setVisible(not datasets)
        self.grid.setVisible(bool(datasets))
        self._apply_filter()

    def _apply_filter(self) -> None:
        tag = self.tag_filter.currentText()
        tag = None if tag == ALL_TAGS or not tag else tag
        shown = self.grid.filter_by_tag(tag)
        current = self.grid.currentItem()
        if current is not None and current.isHidden():
            self.grid.clearSelection()
        self.count_label.setText(plural(self._count, "knowledge base") if tag is None else
                                 f"{shown} of {plural(self._count, 'knowledge base')} tagged “{tag}”")
        self._update_buttons()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _update_buttons(self) -> None:
        has = self.grid.current_dataset() is not None
        self.open_button.setEnabled(has)
        self.tags_button.setEnabled(has)
        self.delete_button.setEnabled(has)

    def _with_current(self, action) -> None:
        dataset = self.grid.current_dataset()
        if dataset is not None:
            action(dataset)

    def _context_menu(self, pos) -> None:
        item = self.grid.itemAt(pos)
        menu = QMenu(self)
        if item is None:
            menu.addAction("Create knowledge…", self.create_requested.emit)
        else:
            self.grid.setCurrentItem(item)
            dataset = item.data(DATASET_ROLE)
            menu.addAction("Open", lambda: self.open_requested.emit(dataset))
            menu.addAction("Tags…", lambda: self.tags_requested.emit(dataset))
            menu.addSeparator()
            menu.addAction("Delete…", lambda: self.delete_requested.emit(dataset))
        menu.popup(self.grid.viewport().mapToGlobal(pos))
        self.context_menu = menu
