"""The chunk viewer of one document (Dify's document detail): chunk cards with counts, switches, children and edit.
In a parent-child knowledge base the children are edited one by one (they are what is embedded); the parent keeps
the document's text."""

from __future__ import annotations

import logging

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLineEdit, QScrollArea, QToolButton, QVBoxLayout, QWidget

from studio.core.knowledge import ChildChunk, KbDocument, Segment
from studio.ui.icons import icon
from studio.ui.knowledge.chunk_dialog import ChunkEditDialog
from studio.ui.knowledge.widgets import Switch, plural, text_block
from studio.ui.theme import back_button, button, label

log = logging.getLogger(__name__)
PAGE = 50  # chunks per read; "Load more" fetches the next page
FILTER_MS = 300


def chunk_meta(seg: Segment) -> str:
    return f"{len(seg.content):,} characters · {plural(seg.hit_count, 'retrieval')}"


class ChunkCard(QFrame):
    edit_requested = Signal(object)  # Segment
    child_edit_requested = Signal(object, object)  # Segment, ChildChunk
    enabled_changed = Signal(object, bool)

    def __init__(self, segment: Segment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("card", True)
        self.setProperty("chunk", True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.segment = segment
        self.title = label("", "chunkid")
        self.meta = label("", "hint")
        self.edit_button = QToolButton()
        self.edit_button.setIcon(icon("edit"))
        self.edit_button.setProperty("flat", True)
        self.switch = Switch(segment.enabled, "Use this chunk in retrieval")
        self.switch.toggled.connect(lambda on: self.enabled_changed.emit(self.segment, on))
        self.edit_button.clicked.connect(lambda: self.edit_requested.emit(self.segment))
        self.body = text_block("", lines=5)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.meta)
        head.addStretch(1)
        head.addWidget(self.edit_button)
        head.addWidget(self.switch)
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(14, 10, 14, 12)
        self.column.setSpacing(6)
        self.column.addLayout(head)
        self.column.addWidget(self.body)
        self.children_box: QWidget | None = None
        self.child_buttons: dict[str, QToolButton] = {}  # child id -> its edit button
        self.child_texts: dict[str, QWidget] = {}  # child id -> its text
        self.set_segment(segment)

    def _children(self, segment: Segment) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(10, 2, 0, 0)
        column.setSpacing(4)
        column.addWidget(label(f"{plural(len(segment.children), 'CHILD CHUNK').upper()}", "section"))
        self.child_buttons, self.child_texts = {}, {}
        for child in segment.children:
            row = QHBoxLayout()
            row.addWidget(label(f"C-{child.position}", "childid"), 0, Qt.AlignmentFlag.AlignTop)
            text = self.child_texts[child.id] = text_block(child.content, lines=3)
            row.addWidget(text, 1)
            edit = self.child_buttons[child.id] = QToolButton()
            edit.setIcon(icon("edit"))
            edit.setProperty("flat", True)
            edit.setToolTip(f"Edit child chunk C-{child.position} (it is embedded again when saved)")
            edit.clicked.connect(lambda _c=False, c=child: self.child_edit_requested.emit(self.segment, c))
            row.addWidget(edit, 0, Qt.AlignmentFlag.AlignTop)
            column.addLayout(row)
        box.setVisible(bool(segment.children))
        return box

    def _set_children(self, segment: Segment) -> None:
        if self.children_box is not None:
            self.column.removeWidget(self.children_box)
            self.children_box.hide()
            self.children_box.deleteLater()
        self.children_box = self._children(segment)
        self.column.addWidget(self.children_box)

    def set_segment(self, segment: Segment) -> None:
        self.segment = segment
        kind = "Parent-chunk" if segment.children else "Chunk"
        self.title.setText(f"{kind}-{segment.position:02d}")
        self.meta.setText(chunk_meta(segment))
        self.body.setText(text_block(segment.content, lines=5).text())
        self.switch.blockSignals(True)
        self.switch.setChecked(segment.enabled)
        self.switch.blockSignals(False)
        self.body.setProperty("role", "chunk" if segment.enabled else "chunkoff")
        self.body.style().polish(self.body)
        self._set_children(segment)
        editable = not segment.children
        self.edit_button.setEnabled(editable)
        self.edit_button.setToolTip("Edit the text" if editable else
                                    "A parent chunk keeps the document's text: edit its child chunks below")

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and not self.body.hasSelectedText():
            self.edit_requested.emit(self.segment)
        super().mouseReleaseEvent(event)


class ChunksView(QWidget):
    back_requested = Signal()
    changed = Signal()

    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.bridge = services, bridge
        self.document: KbDocument | None = None
        self.cards: list[ChunkCard] = []
        self.loading = False
        self.dialog: ChunkEditDialog | None = None
        self._generation = 0  # a newer read makes older replies stale
        self.filter_timer = QTimer(self)
        self.filter_timer.setObjectName("chunk-filter")
        self.filter_timer.setSingleShot(True)
        self.filter_timer.setInterval(FILTER_MS)
        self.filter_timer.timeout.connect(self.reload)
        self._make_widgets()
        self._lay_out()

    def _make_widgets(self) -> None:
        self.back = back_button("Documents", on_click=self.back_requested)
        self.name = label("", "subtitle")
        self.info = label("", "muted")
        self.keyword = QLineEdit()
        self.keyword.setPlaceholderText("Search chunks")
        self.keyword.setClearButtonEnabled(True)
        self.keyword.setFixedWidth(240)
        self.keyword.textChanged.connect(lambda _t: self.filter_timer.start())
        self.more_button = button("Load more")
        self.more_button.clicked.connect(self.load_more)
        self.empty = label("", "muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message = label("", "error", wrap=True)
        self.message.hide()
        canvas = QWidget()
        canvas.setObjectName("FormCanvas")
        self.list = QVBoxLayout(canvas)
        self.list.setContentsMargins(0, 0, 6, 0)
        self.list.setSpacing(10)
        self.list.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(canvas)

    def _lay_out(self) -> None:
        head = QHBoxLayout()
        head.addWidget(self.back)
        head.addWidget(self.name)
        head.addWidget(self.info)
        head.addStretch(1)
        head.addWidget(self.keyword)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(10)
        column.addLayout(head)
        column.addWidget(self.message)
        column.addWidget(self.empty, 1)  # whichever of the two shows takes the space
        column.addWidget(self.scroll, 1)

    # -- loading -----------------------------------------------------------------------------------
    def open_document(self, document: KbDocument) -> None:
        self.document = document
        self.name.setText(document.name)
        self.keyword.blockSignals(True)
        self.keyword.clear()
        self.keyword.blockSignals(False)
        self.reload()

    def reload(self) -> None:
        self.filter_timer.stop()
        self._clear()
        self._read(0)

    def load_more(self) -> None:
        self._read(len(self.cards))

    def _read(self, offset: int) -> None:
        if self.document is None:
            return
        self._generation += 1
        generation, doc_id, keyword = self._generation, self.document.id, self.keyword.text().strip()
        self.loading = True
        self.more_button.setEnabled(False)
        self.bridge.call(lambda: self.services.knowledge.segments(doc_id, keyword=keyword, offset=offset, limit=PAGE),
                         lambda segs: self._loaded(generation, segs), self._failed)

    def _loaded(self, generation: int, segments: list[Segment]) -> None:
        if generation != self._generation:
            return
        self.loading = False
        self.message.hide()
        self.list.removeWidget(self.more_button)
        for seg in segments:
            card = ChunkCard(seg)
            card.edit_requested.connect(self.edit)
            card.child_edit_requested.connect(self.edit_child)
            card.enabled_changed.connect(self.set_enabled)
            self.list.insertWidget(self.list.count() - 1, card)
            self.cards.append(card)
        self.more_button.setEnabled(True)
        if len(segments) == PAGE:
            self.list.insertWidget(self.list.count() - 1, self.more_button)
        self.more_button.setVisible(len(segments) == PAGE)
        self._update_info()

    def _failed(self, message: str) -> None:
        self.loading = False
        self.message.setText(message)
        self.message.show()

    def _update_info(self) -> None:
        doc, keyword = self.document, self.keyword.text().strip()
        parents = any(c.segment.children for c in self.cards)
        mode = "Parent-child" if parents else "General"
        self.info.setText(f"{plural(doc.segment_count, 'chunk')} · {mode}" if doc else "")
        self.empty.setText(f"No chunk contains “{keyword}”." if keyword else "This document has no chunks yet.")
        self.empty.setVisible(not self.cards)
        self.scroll.setVisible(bool(self.cards))

    def _clear(self) -> None:
        for card in self.cards:
            self.list.removeWidget(card)
            card.hide()
            card.deleteLater()
        self.cards = []
        self.more_button.hide()

    # -- editing -----------------------------------------------------------------------------------
    def card_for(self, segment_id: str) -> ChunkCard | None:
        return next((c for c in self.cards if c.segment.id == segment_id), None)

    def edit(self, segment: Segment) -> ChunkEditDialog | None:
        if segment.children:
            return None
        dialog = ChunkEditDialog(segment, lambda text: self._save(dialog, segment, text), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()
        return dialog

    def edit_child(self, segment: Segment, child: ChildChunk) -> ChunkEditDialog:
        dialog = ChunkEditDialog(segment, lambda text: self._save(dialog, segment, text, child), self, child=child)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _save(self, dialog: ChunkEditDialog, segment: Segment, text: str, child: ChildChunk | None = None) -> None:
        def done(updated: Segment) -> None:
            card = self.card_for(updated.id)
            if card is not None:
                card.set_segment(updated)
            if shiboken6.isValid(dialog):
                dialog.saved()
            self.changed.emit()

        knowledge = self.services.knowledge
        self.bridge.call(lambda: knowledge.update_segment(segment.id, content=text) if child is None
                         else knowledge.update_child_chunk(child.id, content=text), done, dialog.show_error)

    def set_enabled(self, segment: Segment, enabled: bool) -> None:
        def done(updated: Segment) -> None:
            card = self.card_for(updated.id)
            if card is not None:
                card.set_segment(updated)

        def failed(message: str) -> None:
            card = self.card_for(segment.id)
            if card is not None:
                card.set_segment(segment)
            self._failed(message)

        self.bridge.call(lambda: self.services.knowledge.update_segment(segment.id, enabled=enabled), done, failed)

    def shutdown(self) -> None:
        self.filter_timer.stop()
