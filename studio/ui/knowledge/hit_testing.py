"""Retrieval testing (Dify's hit testing): a query with mode, top-k, threshold and an optional reranking model, and
ranked result cards."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFrame, QHBoxLayout, QLineEdit, QProgressBar, QScrollArea, QSpinBox,
    QVBoxLayout, QWidget,
)

from studio.core.entities import ModelInfo, ModelKind
from studio.core.knowledge import Dataset, RetrievalSettings
from studio.services.retrieval import Record
from studio.ui.icons import icon
from studio.ui.knowledge.widgets import SEARCH_LABELS, plural, text_block
from studio.ui.theme import button, label

log = logging.getLogger(__name__)
NO_RERANK_TIP = "Add a reranking model (a cross-encoder GGUF, such as bge-reranker) on the Models page to rerank hits"
RERANK_TIP = "A cross-encoder scores each hit against the query; top-k and the threshold then apply to its scores"


class ResultCard(QFrame):
    """One hit: rank, score bar, document and chunk position, and the chunk's text (children that matched too)."""

    def __init__(self, rank: int, record: Record, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("card", True)
        self.record = record
        seg = record.segment
        self.score_bar = QProgressBar()
        self.score_bar.setRange(0, 1000)
        self.score_bar.setValue(int(max(0.0, min(1.0, record.score)) * 1000))
        self.score_bar.setTextVisible(False)
        self.score_bar.setFixedWidth(90)
        self.score = label(f"{record.score:.2f}", "score")
        kind = "Parent-chunk" if seg.children else "Chunk"
        head = QHBoxLayout()
        head.addWidget(label(f"#{rank}", "rank"))
        head.addWidget(self.score_bar)
        head.addWidget(self.score)
        head.addSpacing(8)
        head.addWidget(label(f"{kind}-{seg.position:02d} · {len(seg.content):,} characters", "hint"))
        head.addStretch(1)
        doc = label(record.document.name, "muted")
        doc.setToolTip(f"{record.dataset.name} / {record.document.name}")
        head.addWidget(doc)
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 10, 14, 12)
        column.setSpacing(6)
        column.addLayout(head)
        column.addWidget(text_block(seg.content, lines=6))
        for child in record.child_chunks:
            row = QHBoxLayout()
            row.addWidget(label(f"C-{child.get('position', '?')}", "childid"), 0, Qt.AlignmentFlag.AlignTop)
            row.addWidget(text_block(str(child.get("content", "")), lines=2), 1)
            row.addWidget(label(f"{float(child.get('score') or 0):.2f}", "hint"), 0, Qt.AlignmentFlag.AlignTop)
            column.addLayout(row)


class RetrievalPanel(QWidget):
    searched = Signal(list)  # the records shown

    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.bridge = services, bridge
        self.dataset: Dataset | None = None
        self.busy = False
        self.records: list[Record] = []
        self.cards: list[ResultCard] = []
        self._make_widgets()
        self._lay_out()

    def _make_widgets(self) -> None:
        self.query = QLineEdit()
        self.query.setPlaceholderText("Type a question or some words to see which chunks come back")
        self.query.setClearButtonEnabled(True)
        self.query.returnPressed.connect(self.search)
        self.mode = QComboBox()
        for value, text in SEARCH_LABELS.items():
            self.mode.addItem(text, value)
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 20)
        self.top_k.setValue(4)
        self.top_k.setPrefix("Top ")
        self.use_threshold = QCheckBox("Score threshold")
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(0.5)
        self.threshold.setEnabled(False)
        self.use_threshold.toggled.connect(self.threshold.setEnabled)
        self.rerank_label = label("Rerank with", "muted")
        self.reranker = QComboBox()
        self.reranker.addItem("No rerank", "")
        self.set_models([])
        self.search_button = button("Search", primary=True, tip="Search (Enter)")
        self.search_button.setIcon(icon("search", "#FFFFFF"))
        self.search_button.clicked.connect(self.search)
        self.status = label("", "muted")
        self.error = label("", "error", wrap=True)
        self.error.hide()
        self.empty = label("Results appear here, best first, with their similarity score.", "muted", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
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
        self.scroll.hide()

    def _lay_out(self) -> None:
        box = QFrame()
        box.setProperty("section", True)
        form = QVBoxLayout(box)
        form.setContentsMargins(12, 10, 12, 12)
        form.addWidget(label("SOURCE TEXT", "section"))
        form.addWidget(self.query)
        options = QHBoxLayout()
        for w in (self.mode, self.top_k, self.use_threshold, self.threshold, self.rerank_label, self.reranker):
            options.addWidget(w)
        options.addStretch(1)
        options.addWidget(self.search_button)
        form.addLayout(options)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(10)
        column.addWidget(label("Test how this knowledge base answers a query with the chosen search settings.",
                               "muted", wrap=True))
        column.addWidget(box)
        column.addWidget(self.error)
        column.addWidget(self.status)
        column.addWidget(self.empty, 1)
        column.addWidget(self.scroll, 1)

    def set_dataset(self, dataset: Dataset) -> None:
        if self.dataset is None or self.dataset.id != dataset.id:
            self._show([])
            self.status.setText("")
            self.error.hide()
            settings = dataset.retrieval
            self.mode.setCurrentIndex(max(0, self.mode.findData(settings.search_method)))
            self.top_k.setValue(settings.top_k)
            self.use_threshold.setChecked(settings.score_threshold_enabled)
            if settings.score_threshold_enabled:
                self.threshold.setValue(settings.score_threshold)
            self.dataset = dataset
            self.set_models([])
        self.dataset = dataset
        self.refresh_models()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.refresh_models()  # a reranker added on the Models page shows up when the panel is next shown

    def refresh_models(self) -> None:
        """Rerankers arrive from a worker: listing models reads GGUF headers."""
        if self.dataset is not None:
            self.bridge.call(self.services.models.list, self.set_models, lambda _m: None)

    def set_models(self, models: list[ModelInfo]) -> None:
        """Offer the installed reranking models; keep the current pick, else the knowledge base's own."""
        current = self.reranker.currentData() or self._configured()
        choices = [(m.name, m.id) for m in models if m.kind == ModelKind.RERANK and not m.error]
        if current and current not in [i for _, i in choices] and current == self._configured():
            choices.append((f"{current} (not installed)", current))  # searching then says what is missing
        self.reranker.clear()
        self.reranker.addItem("No rerank", "")
        for name, model_id in choices:
            self.reranker.addItem(name, model_id)
        self.reranker.setCurrentIndex(max(0, self.reranker.findData(current)))
        self.reranker.setEnabled(bool(choices))
        self.rerank_label.setEnabled(bool(choices))
        tip = RERANK_TIP if choices else NO_RERANK_TIP
        self.reranker.setToolTip(tip)
        self.rerank_label.setToolTip(tip)

    def _configured(self) -> str:
        """The reranking model the knowledge base's own retrieval settings name, if they rerank with one."""
        settings = self.dataset.retrieval if self.dataset else None
        if settings and settings.reranking_enable and settings.reranking_mode == "reranking_model":
            return str(settings.reranking_model.get("reranking_model_name") or "")
        return ""

    def settings(self) -> RetrievalSettings:
        """The knowledge base's retrieval settings with this panel's reranking choice."""
        assert self.dataset is not None
        model_id = self.reranker.currentData() or ""
        if model_id:
            rerank = {"reranking_enable": True, "reranking_mode": "reranking_model",
                      "reranking_model": {"reranking_provider_name": "studio", "reranking_model_name": model_id}}
        elif self._configured():
            rerank = {"reranking_enable": False, "reranking_mode": "weighted_score"}
        else:
            rerank = {}
        return self.dataset.retrieval.model_copy(update=rerank)

    def search(self) -> None:
        query = self.query.text().strip()
        if self.dataset is None or self.busy:
            return
        if not query:
            self._fail("Type a query to search for.")
            return
        self.busy = True
        self.error.hide()
        self.search_button.setEnabled(False)
        self.status.setText("Searching…")
        ref, mode, top_k = self.dataset.id, self.mode.currentData(), self.top_k.value()
        threshold = self.threshold.value() if self.use_threshold.isChecked() else None
        settings = self.settings()
        self.bridge.call(lambda: self.services.knowledge.search(ref, query, mode=mode, top_k=top_k,
                                                                score_threshold=threshold, settings=settings),
                         self._found, self._fail)

    def _found(self, records: list[Record]) -> None:
        self.busy = False
        self.search_button.setEnabled(True)
        self._show(records)
        reranked = f" · reranked by {self.reranker.currentText()}" if self.reranker.currentData() else ""
        self.status.setText(f"{plural(len(records), 'result')} · {self.mode.currentText()}{reranked}"
                            if records else "Nothing matched. Try other words, another search method, or a lower "
                                            "threshold.")
        self.searched.emit(records)

    def _fail(self, message: str) -> None:
        self.busy = False
        self.search_button.setEnabled(True)
        self.status.setText("")
        self.error.setText(message)
        self.error.show()

    def _show(self, records: list[Record]) -> None:
        for card in self.cards:
            self.list.removeWidget(card)
            card.hide()
            card.deleteLater()
        self.records = list(records)
        self.cards = [ResultCard(rank, r) for rank, r in enumerate(records, start=1)]
        for card in self.cards:
            self.list.insertWidget(self.list.count() - 1, card)
        self.scroll.setVisible(bool(records))
        self.empty.setVisible(not records)
