"""Retrieval testing (Dify's hit testing): a query with mode, top-k, threshold, an optional reranking model and an
optional metadata filter, and ranked result cards."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFrame, QHBoxLayout, QLineEdit, QProgressBar, QScrollArea, QSpinBox,
    QVBoxLayout, QWidget,
)

from studio.core.entities import ModelInfo, ModelKind
from studio.core.knowledge import Dataset, RetrievalSettings
from studio.services.kb_labels import BUILT_IN_FIELDS
from studio.services.retrieval import Record
from studio.ui.icons import icon
from studio.ui.knowledge.widgets import SEARCH_LABELS, plural, text_block
from studio.ui.theme import button, label

log = logging.getLogger(__name__)
NO_RERANK_TIP = "Add a reranking model (a cross-encoder GGUF, such as bge-reranker) on the Models page to rerank hits"
RERANK_TIP = "A cross-encoder scores each hit against the query; top-k and the threshold then apply to its scores"
OPERATORS = {"string": ("is", "is not", "contains", "not contains", "start with", "end with", "empty", "not empty"),
             "number": ("=", "≠", ">", "<", "≥", "≤", "empty", "not empty"),
             "time": ("before", "after", "empty", "not empty")}


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
        self._kinds: dict[str, str] = {}  # field name -> string, number or time
        self.filter_field = QComboBox()
        self.filter_field.setToolTip("Only search documents whose metadata passes this test (Metadata tab)")
        self.filter_field.addItem("None (all documents)", None)
        self.filter_field.setMinimumWidth(220)
        self.filter_field.currentIndexChanged.connect(lambda _i: self._filter_changed())
        self.filter_op = QComboBox()
        self.filter_value = QLineEdit()
        self.filter_value.setPlaceholderText("value")
        self.filter_value.returnPressed.connect(self.search)
        self.filter_op.currentTextChanged.connect(
            lambda op: self.filter_value.setEnabled(op not in ("empty", "not empty")))
        self._filter_changed()
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
        filters = QHBoxLayout()
        filters.addWidget(label("Metadata filter", "muted"))
        filters.addWidget(self.filter_field)
        filters.addWidget(self.filter_op)
        filters.addWidget(self.filter_value, 1)
        filters.addStretch(0)  # takes the room while no value box shows
        form.addLayout(filters)
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
            self.set_fields((dataset.id, []))
        self.dataset = dataset
        self.refresh_models()
        self.refresh_fields()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.refresh_models()  # a reranker added on the Models page shows up when the panel is next shown
        self.refresh_fields()

    def refresh_fields(self) -> None:
        """The metadata fields to filter on: the knowledge base's own, then the built-in ones when they are on."""
        if self.dataset is None:
            return
        dataset_id, knowledge = self.dataset.id, self.services.knowledge

        def read():
            dataset = knowledge.get(dataset_id, counts=False)
            own = [(f["name"], f["type"]) for f in knowledge.metadata_fields(dataset_id)]
            return dataset_id, own + (list(BUILT_IN_FIELDS) if dataset.built_in_metadata else [])
        self.bridge.call(read, self.set_fields, lambda _m: None)

    def set_fields(self, result) -> None:
        dataset_id, fields = result
        if self.dataset is None or dataset_id != self.dataset.id:
            return
        current = self.filter_field.currentData()
        self.filter_field.blockSignals(True)
        self.filter_field.clear()
        self.filter_field.addItem("None (all documents)", None)
        self._kinds = dict(fields)
        for name, kind in fields:
            self.filter_field.addItem(f"{name} ({kind})", name)
        index = self.filter_field.findData(current) if current else 0
        self.filter_field.setCurrentIndex(max(0, index))
        self.filter_field.blockSignals(False)
        self._filter_changed()

    def filter_choice(self) -> tuple[str, str] | None:
        """The field chosen to filter on and its type, or None."""
        name = self.filter_field.currentData()
        return (name, self._kinds.get(name, "string")) if name else None

    def _filter_changed(self) -> None:
        field = self.filter_choice()
        op = self.filter_op.currentText()
        self.filter_op.clear()
        if field is not None:
            self.filter_op.addItems(OPERATORS[field[1]])
            if op in OPERATORS[field[1]]:
                self.filter_op.setCurrentText(op)
            self.filter_value.setPlaceholderText({"number": "a number", "time": "a date, e.g. 2024-05-01"}.get(
                field[1], "text"))
        self.filter_op.setVisible(field is not None)
        self.filter_value.setVisible(field is not None)

    def metadata_conditions(self) -> dict | None:
        field = self.filter_choice()
        if field is None:
            return None
        op = self.filter_op.currentText()
        value = None if op in ("empty", "not empty") else self.filter_value.text().strip()
        return {"logical_operator": "and", "conditions": [{"name": field[0], "comparison_operator": op,
                                                           "value": value}]}

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
        conditions = self.metadata_conditions()
        if conditions and conditions["conditions"][0]["value"] == "":
            self._fail(f"Type a value for the {conditions['conditions'][0]['name']} filter, or set the metadata "
                       "filter to None.")
            return
        self.busy = True
        self.error.hide()
        self.search_button.setEnabled(False)
        self.status.setText("Searching…")
        ref, mode, top_k = self.dataset.id, self.mode.currentData(), self.top_k.value()
        threshold = self.threshold.value() if self.use_threshold.isChecked() else None
        settings = self.settings()
        self.bridge.call(lambda: self.services.knowledge.search(ref, query, mode=mode, top_k=top_k,
                                                                score_threshold=threshold, settings=settings,
                                                                metadata_conditions=conditions),
                         self._found, self._fail)

    def _found(self, records: list[Record]) -> None:
        self.busy = False
        self.search_button.setEnabled(True)
        self._show(records)
        reranked = f" · reranked by {self.reranker.currentText()}" if self.reranker.currentData() else ""
        conditions = self.metadata_conditions()
        where = ""
        if conditions:
            test = conditions["conditions"][0]
            where = f" · where {test['name']} {test['comparison_operator']} {test['value'] or ''}".rstrip()
        self.status.setText(f"{plural(len(records), 'result')} · {self.mode.currentText()}{reranked}{where}"
                            if records else "Nothing matched. Try other words, another search method, a lower "
                                            "threshold" + (", or another metadata filter." if where else "."))
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
