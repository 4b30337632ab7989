"""A knowledge base's Settings tab (Dify's knowledge settings page): name and description, the retrieval settings
apps use, and the index (embedding model, chunking, dimension) with Rebuild index…."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFrame, QGridLayout, QHBoxLayout,
    QLineEdit, QPlainTextEdit, QRadioButton, QScrollArea, QSlider, QSpinBox, QVBoxLayout, QWidget,
)

from studio.core.entities import ModelInfo, ModelKind
from studio.core.knowledge import Dataset, EmbeddingChoice, RetrievalSettings
from studio.ui.icons import icon
from studio.ui.knowledge.hit_testing import NO_RERANK_TIP, RERANK_TIP
from studio.ui.knowledge.widgets import plural
from studio.ui.theme import button, label, set_role

log = logging.getLogger(__name__)
METHODS = (("semantic_search", "Vector search",
            "Embeds the query and finds the chunks whose meaning is closest."),
           ("full_text_search", "Full-text search",
            "Finds the chunks that share the query's words (BM25 keyword ranking)."),
           ("hybrid_search", "Hybrid search",
            "Runs both searches and merges their hits: the best default for most knowledge bases."))
FUSIONS = (("weighted_score", "Weighted score",
            "Adds the vector and keyword scores with the weights below."),
           ("reciprocal_rank_fusion", "Reciprocal rank fusion",
            "Merges the two rankings by position, ignoring their raw scores."))
LABEL_WIDTH = 170
MAX_WIDTH = 820
RUNNING_TIP = "Indexing is running: wait for it to finish or cancel it on the Documents tab first"


def embedding_text(dataset: Dataset) -> str:
    emb = dataset.embedding
    if emb.provider == "local":
        return f"{emb.model} (local)"
    return f"{emb.model} at {emb.base_url}"


def chunk_text(dataset: Dataset) -> str:
    rule = dataset.process_rule
    seg = rule.segmentation
    sep = seg.separator.encode("unicode_escape").decode() or "none"
    if rule.mode == "hierarchical":
        child = rule.subchunk_segmentation
        parent = "whole document" if rule.parent_mode == "full-doc" else f"up to {seg.max_tokens} characters"
        return (f"Parent-child: parents {parent}, children up to {child.max_tokens} characters "
                f"(separator {child.separator.encode('unicode_escape').decode() or 'none'})")
    cleaning = [w for on, w in ((rule.remove_extra_spaces, "extra spaces removed"),
                                (rule.remove_urls_emails, "URLs and e-mails removed")) if on]
    text = (f"{rule.mode.capitalize()}: up to {seg.max_tokens} characters, {seg.chunk_overlap} overlap, "
            f"separator {sep}")
    return text + (f"; {', '.join(cleaning)}" if cleaning else "")


class RebuildDialog(QDialog):
    """Confirms a rebuild and offers another local embedding model; `choice()` is None to keep the current one."""

    def __init__(self, dataset: Dataset, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset = dataset
        self.setWindowTitle("Rebuild index")
        self.setMinimumWidth(480)
        self.embedding = QComboBox()
        self.set_models([])
        text = label(f"Drop the vector and full-text index of “{dataset.name}” and embed all of its "
                     f"{plural(dataset.segment_count, 'chunk')} again. The chunks and your edits to them are kept; "
                     "searches find nothing until the new index is built.", wrap=True)
        hint = label("Switching the embedding model changes the index's dimension: every chunk is embedded with "
                     "the new model.", "hint", wrap=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Rebuild")
        self.ok_button.setProperty("primary", True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(label("Embedding model", "muted"))
        row.addWidget(self.embedding, 1)
        column = QVBoxLayout(self)
        column.setSpacing(10)
        column.addWidget(text)
        column.addLayout(row)
        column.addWidget(hint)
        column.addWidget(buttons)

    def set_models(self, models: list[ModelInfo]) -> None:
        current = self.embedding.currentData()
        emb = self.dataset.embedding
        self.embedding.clear()
        keep = f"{emb.model} (current)" if emb.provider == "local" else f"{emb.model} at {emb.base_url} (current)"
        self.embedding.addItem(keep, "")
        for model in models:
            if model.kind == ModelKind.EMBEDDING and not model.error and not (
                    emb.provider == "local" and model.id == emb.model):
                self.embedding.addItem(f"{model.name} (local)", model.id)
        self.embedding.setCurrentIndex(max(0, self.embedding.findData(current)))

    def choice(self) -> EmbeddingChoice | None:
        model_id = self.embedding.currentData()
        return EmbeddingChoice(model=model_id) if model_id else None


class SettingsPanel(QWidget):
    saved = Signal(object)  # the updated Dataset
    rebuilt = Signal(object)  # the Dataset with its index dropped: ingestion should start now

    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.bridge = services, bridge
        self.dataset: Dataset | None = None
        self.saving = self.rebuilding = self.running = False
        self.dialog: QWidget | None = None
        self._loaded_state: tuple | None = None
        self._models: list[ModelInfo] = []
        self._make_widgets()
        self._lay_out()
        save = QAction(self)
        save.setShortcut(QKeySequence(QKeySequence.StandardKey.Save))
        save.setShortcutContext(Qt.ShortcutContext.WindowShortcut)  # only while this tab is visible
        save.triggered.connect(self.save)
        self.addAction(save)
        self.save_action = save

    # -- widgets -----------------------------------------------------------------------------------
    def _make_widgets(self) -> None:
        self.name = QLineEdit()
        self.name.setMaxLength(80)  # the service's limit (40) is reported inline, not silently cut
        self.description = QPlainTextEdit()
        self.description.setPlaceholderText("What is in it? Apps and people pick knowledge bases by this")
        self.description.setFixedHeight(64)
        self.name_error = label("", "error", wrap=True)
        self.name_error.hide()
        self.method_group = QButtonGroup(self)
        self.methods: dict[str, QRadioButton] = {}
        for i, (value, text, _tip) in enumerate(METHODS):
            radio = QRadioButton(text)
            self.methods[value] = radio
            self.method_group.addButton(radio, i)
        self.fusion_group = QButtonGroup(self)
        self.fusions: dict[str, QRadioButton] = {}
        for i, (value, text, tip) in enumerate(FUSIONS):
            radio = QRadioButton(text)
            radio.setToolTip(tip)
            self.fusions[value] = radio
            self.fusion_group.addButton(radio, i)
        self.weight = QSlider(Qt.Orientation.Horizontal)
        self.weight.setRange(0, 100)
        self.weight.setSingleStep(5)
        self.weight.setPageStep(10)
        self.weight.setToolTip("Drag towards Semantic to favour meaning, towards Keyword to favour exact words")
        self.vector_label = label("", "subtle")
        self.keyword_label = label("", "subtle")
        self.keyword_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.reranker = QComboBox()
        self.reranker.setMinimumWidth(260)
        self.reranker.addItem("No rerank", "")
        self.rerank_hint = label("", "hint", wrap=True)
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 100)
        self.top_k.setToolTip("How many chunks a search returns at most")
        self.use_threshold = QCheckBox("Only chunks scoring at least")
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setDecimals(2)
        self.threshold.setSingleStep(0.05)
        self.use_threshold.toggled.connect(self.threshold.setEnabled)
        self.embedding_info = label("", wrap=True)
        self.embedding_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.chunk_info = label("", wrap=True)
        self.dimension_info = label("")
        self.contents_info = label("")
        self.rebuild_button = button("Rebuild index…", tip="Embed every chunk again, optionally with another "
                                                           "embedding model")
        self.rebuild_button.setIcon(icon("refresh"))
        self.rebuild_button.clicked.connect(self.confirm_rebuild)
        self.index_message = label("", "muted", wrap=True)
        self.index_message.hide()
        self.status = label("", "muted")
        self.error = label("", "error", wrap=True)
        self.error.hide()
        self.discard_button = button("Discard", tip="Go back to the saved settings")
        self.discard_button.clicked.connect(self.discard)
        self.save_button = button("Save", primary=True, tip="Save the settings (Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        for signal in (self.name.textChanged, self.description.textChanged, self.method_group.idToggled,
                       self.fusion_group.idToggled, self.weight.valueChanged, self.reranker.currentIndexChanged,
                       self.top_k.valueChanged, self.use_threshold.toggled, self.threshold.valueChanged):
            signal.connect(self._changed)
        self.name.textChanged.connect(lambda _t: self._clear_name_error())

    @staticmethod
    def _section(title: str, hint: str) -> tuple[QFrame, QGridLayout]:
        frame = QFrame()
        frame.setProperty("card", True)
        column = QVBoxLayout(frame)
        column.setContentsMargins(20, 16, 20, 18)
        column.setSpacing(4)
        column.addWidget(label(title, "subtitle"))
        column.addWidget(label(hint, "hint", wrap=True))
        column.addSpacing(10)
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(12)
        grid.setColumnMinimumWidth(0, LABEL_WIDTH)
        grid.setColumnStretch(1, 1)
        column.addLayout(grid)
        return frame, grid

    @staticmethod
    def _row(grid: QGridLayout, text: str, widget, tip: str = "", *, field: bool = True) -> None:
        row = grid.rowCount()
        name = label(text, "subtle")
        name.setToolTip(tip)
        if field:
            name.setContentsMargins(0, 6, 0, 0)  # level with the text inside an input box
        grid.addWidget(name, row, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        if isinstance(widget, QWidget):
            grid.addWidget(widget, row, 1)
        else:
            grid.addLayout(widget, row, 1)

    def _lay_out(self) -> None:
        basic, grid = self._section("Basic information", "How this knowledge base is named and described.")
        self._row(grid, "Name", self.name)
        grid.addWidget(self.name_error, grid.rowCount(), 1)
        self._row(grid, "Description", self.description)

        retrieval, grid = self._section("Retrieval settings", "How apps, the chat context and the workflow "
                                        "Knowledge retrieval node search this knowledge base.")
        methods = QVBoxLayout()
        methods.setSpacing(8)
        for value, _text, tip in METHODS:
            methods.addWidget(self._option(self.methods[value], tip))
        self._row(grid, "Search method", methods)
        self.fusion_box = QFrame()
        self.fusion_box.setProperty("section", True)
        fusion = QVBoxLayout(self.fusion_box)
        fusion.setContentsMargins(12, 10, 12, 12)
        fusion.setSpacing(8)
        choices = QHBoxLayout()
        for value, _text, _tip in FUSIONS:
            choices.addWidget(self.fusions[value])
        choices.addStretch(1)
        fusion.addLayout(choices)
        self.weights_row = QWidget()
        weights = QGridLayout(self.weights_row)
        weights.setContentsMargins(0, 0, 0, 0)
        weights.addWidget(self.weight, 0, 0, 1, 2)
        weights.addWidget(self.vector_label, 1, 0)
        weights.addWidget(self.keyword_label, 1, 1)
        fusion.addWidget(self.weights_row)
        self.fusion_hint = label("", "hint", wrap=True)
        fusion.addWidget(self.fusion_hint)
        self._row(grid, "Hybrid merging", self.fusion_box)
        self.fusion_row_label = grid.itemAtPosition(grid.rowCount() - 1, 0).widget()
        rerank = QVBoxLayout()
        rerank.setSpacing(4)
        picker = QHBoxLayout()
        picker.addWidget(self.reranker)
        picker.addStretch(1)
        rerank.addLayout(picker)
        rerank.addWidget(self.rerank_hint)
        self._row(grid, "Rerank model", rerank)
        top = QHBoxLayout()
        top.addWidget(self.top_k)
        top.addStretch(1)
        self._row(grid, "Top K", top, "How many chunks a search returns at most")
        threshold = QHBoxLayout()
        threshold.setSpacing(10)
        threshold.addWidget(self.use_threshold)
        threshold.addWidget(self.threshold)
        threshold.addStretch(1)
        self._row(grid, "Score threshold", threshold, "Leave out chunks scoring below this (0–1)")

        index, grid = self._section("Index", "How the chunks are embedded and stored. Changing the embedding "
                                    "model means embedding every chunk again.")
        self._row(grid, "Embedding model", field=False, widget=self.embedding_info)
        self._row(grid, "Chunk settings", field=False, widget=self.chunk_info)
        self._row(grid, "Dimension", field=False, widget=self.dimension_info)
        self._row(grid, "Contents", field=False, widget=self.contents_info)
        actions = QHBoxLayout()
        actions.addWidget(self.rebuild_button)
        actions.addStretch(1)
        self._row(grid, "", actions)
        grid.addWidget(self.index_message, grid.rowCount(), 1)

        canvas = QWidget()
        canvas.setObjectName("FormCanvas")
        outer = QHBoxLayout(canvas)
        outer.setContentsMargins(0, 0, 8, 12)
        inner = QWidget()
        inner.setMaximumWidth(MAX_WIDTH)
        stack = QVBoxLayout(inner)
        stack.setContentsMargins(0, 0, 0, 0)
        stack.setSpacing(14)
        for frame in (basic, retrieval, index):
            stack.addWidget(frame)
        stack.addStretch(1)
        outer.addWidget(inner, 1)
        outer.addStretch(0)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(canvas)

        bar = QHBoxLayout()
        bar.addWidget(self.status)
        bar.addWidget(self.error, 1)
        bar.addStretch(0)
        bar.addWidget(self.discard_button)
        bar.addWidget(self.save_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(10)
        column.addWidget(self.scroll, 1)
        column.addLayout(bar)

    @staticmethod
    def _option(radio: QRadioButton, tip: str) -> QFrame:
        """A Dify-style option card: the choice in bold with a line on what it does; a click anywhere picks it."""
        frame = QFrame()
        frame.setProperty("section", True)
        column = QVBoxLayout(frame)
        column.setContentsMargins(12, 8, 12, 10)
        column.setSpacing(2)
        column.addWidget(radio)
        hint = label(tip, "hint", wrap=True)
        hint.setContentsMargins(24, 0, 0, 0)
        column.addWidget(hint)
        frame.mousePressEvent = lambda _e: radio.setChecked(True)  # noqa: ARG005 - Qt passes the event
        return frame

    # -- loading -----------------------------------------------------------------------------------
    def set_dataset(self, dataset: Dataset) -> None:
        """A new knowledge base (or fresh data for this one with nothing unsaved) fills the form."""
        same = self.dataset is not None and self.dataset.id == dataset.id
        dirty = same and self.is_dirty()
        self.dataset = dataset
        self._show_index(dataset)
        if not same:
            self.error.hide()
            self.index_message.hide()
            self._clear_name_error()
            self.refresh_models()
        if not dirty and not self.saving:
            self._fill(dataset)

    def _fill(self, dataset: Dataset) -> None:
        settings = dataset.retrieval
        widgets = (self.name, self.description, self.method_group, self.fusion_group, self.weight, self.reranker,
                   self.top_k, self.use_threshold, self.threshold)
        for w in widgets:
            w.blockSignals(True)
        try:
            self.name.setText(dataset.name)
            self.description.setPlainText(dataset.description)
            self.methods.get(settings.search_method, self.methods["hybrid_search"]).setChecked(True)
            model_id = self._configured_reranker(settings)
            fusion = "weighted_score" if model_id else settings.reranking_mode
            self.fusions.get(fusion, self.fusions["weighted_score"]).setChecked(True)
            self.weight.setValue(round(settings.vector_weight * 100))
            self._offer_rerankers(self._models, model_id)
            self.top_k.setValue(settings.top_k)
            self.use_threshold.setChecked(settings.score_threshold_enabled)
            self.threshold.setValue(settings.score_threshold)
        finally:
            for w in widgets:
                w.blockSignals(False)
        self.threshold.setEnabled(self.use_threshold.isChecked())
        self._loaded_state = self.state()
        self._changed()

    @staticmethod
    def _configured_reranker(settings: RetrievalSettings) -> str:
        if settings.reranking_enable and settings.reranking_mode == "reranking_model":
            return str(settings.reranking_model.get("reranking_model_name") or "")
        return ""

    def _show_index(self, dataset: Dataset) -> None:
        self.embedding_info.setText(embedding_text(dataset))
        self.embedding_info.setToolTip("An OpenAI-compatible endpoint" if dataset.embedding.provider != "local"
                                       else "A local GGUF embedding model")
        self.chunk_info.setText(chunk_text(dataset))
        self.dimension_info.setText(str(dataset.dimension) if dataset.dimension else
                                    "Not known yet: set when the first chunk is embedded")
        self.contents_info.setText(f"{plural(dataset.document_count, 'document')} · "
                                   f"{plural(dataset.segment_count, 'chunk')}")
        self._update_rebuild()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.refresh_models()  # a reranker added on the Models page shows up when the tab is next shown

    def refresh_models(self) -> None:
        """Listing models reads GGUF headers, so it runs on a worker."""
        if self.dataset is not None:
            self.bridge.call(self.services.models.list, self.set_models, lambda _m: None)

    def set_models(self, models: list[ModelInfo]) -> None:
        self._models = list(models)
        dirty = self.is_dirty()
        current = self.reranker.currentData() or ""
        self.reranker.blockSignals(True)
        self._offer_rerankers(models, current)
        self.reranker.blockSignals(False)
        if not dirty and self.dataset is not None:
            self._loaded_state = self.state()  # a new model list is no unsaved change
        self._changed()

    def _offer_rerankers(self, models: list[ModelInfo], current: str) -> None:
        choices = [(m.name, m.id) for m in models if m.kind == ModelKind.RERANK and not m.error]
        if current and current not in [i for _, i in choices]:
            choices.append((f"{current} (not installed)", current))
        self.reranker.clear()
        self.reranker.addItem("No rerank", "")
        for name, model_id in choices:
            self.reranker.addItem(name, model_id)
        self.reranker.setCurrentIndex(max(0, self.reranker.findData(current)))
        self.reranker.setEnabled(bool(choices))
        self.reranker.setToolTip(RERANK_TIP if choices else NO_RERANK_TIP)
        self.rerank_hint.setText("A cross-encoder rescores the best hits; top-k and the threshold then apply to "
                                 "its scores." if choices else
                                 "No reranking model installed: add one (such as bge-reranker) on the Models page.")

    # -- editing -----------------------------------------------------------------------------------
    def method(self) -> str:
        return next((v for v, r in self.methods.items() if r.isChecked()), "hybrid_search")

    def fusion(self) -> str:
        return next((v for v, r in self.fusions.items() if r.isChecked()), "weighted_score")

    def weights(self) -> tuple[float, float]:
        vector = round(self.weight.value() / 100, 2)
        return vector, round(1 - vector, 2)

    def state(self) -> tuple:
        return (self.name.text(), self.description.toPlainText(), self.method(), self.fusion(), self.weight.value(),
                self.reranker.currentData() or "", self.top_k.value(), self.use_threshold.isChecked(),
                round(self.threshold.value(), 2))

    def is_dirty(self) -> bool:
        return self._loaded_state is not None and self.state() != self._loaded_state

    def _changed(self, *_args) -> None:
        hybrid = self.method() == "hybrid_search"
        reranked = bool(self.reranker.currentData())
        self.fusion_box.setVisible(hybrid)
        self.fusion_row_label.setVisible(hybrid)
        rrf = self.fusions["reciprocal_rank_fusion"]
        rrf.setEnabled(not reranked)
        if reranked and rrf.isChecked():
            self.fusions["weighted_score"].setChecked(True)  # re-enters through the group's signal
            return
        self.weights_row.setVisible(self.fusion() == "weighted_score")
        vector, keyword = self.weights()
        self.vector_label.setText(f"Semantic {vector:.2f}")
        self.keyword_label.setText(f"{keyword:.2f} Keyword")
        self.fusion_hint.setText("With a rerank model the two searches' hits are merged by weighted score, then "
                                 "reranked." if reranked else dict((v, t) for v, _n, t in FUSIONS)[self.fusion()])
        dirty = self.is_dirty()
        self.save_button.setEnabled(dirty and not self.saving and self.dataset is not None)
        self.discard_button.setEnabled(dirty and not self.saving)
        if self.saving:
            return
        if dirty:
            self.status.setText("● Unsaved changes")
            set_role(self.status, "status", "unsaved")
        elif self.status.property("status") == "unsaved":
            self.status.setText("")
            set_role(self.status, "status", "")

    def retrieval_settings(self) -> RetrievalSettings:
        """The form's retrieval settings, on top of the saved ones (fields the form does not show are kept)."""
        assert self.dataset is not None
        vector, keyword = self.weights()
        model_id = self.reranker.currentData() or ""
        update = {"search_method": self.method(), "top_k": self.top_k.value(),
                  "score_threshold_enabled": self.use_threshold.isChecked(),
                  "score_threshold": round(self.threshold.value(), 2), "vector_weight": vector,
                  "keyword_weight": keyword}
        if model_id:
            update.update(reranking_enable=True, reranking_mode="reranking_model",
                          reranking_model={"reranking_provider_name": "studio", "reranking_model_name": model_id})
        else:
            update.update(reranking_enable=False, reranking_mode=self.fusion(), reranking_model={})
        return RetrievalSettings(**{**self.dataset.retrieval.model_dump(), **update})

    def discard(self) -> None:
        if self.dataset is not None:
            self.error.hide()
            self._clear_name_error()
            self._fill(self.dataset)

    def save(self) -> None:
        if self.dataset is None or self.saving or not self.is_dirty():
            return
        self.saving = True
        self.error.hide()
        self._clear_name_error()
        self.status.setText("Saving…")
        set_role(self.status, "status", "")
        self._changed()
        ref, name, description = self.dataset.id, self.name.text(), self.description.toPlainText().strip()
        retrieval = self.retrieval_settings()
        saved_state = self.state()
        self.bridge.call(lambda: self.services.knowledge.update(ref, name=name, description=description,
                                                                retrieval=retrieval),
                         lambda dataset: self._saved(dataset, saved_state), self._save_failed)

    def _saved(self, dataset: Dataset, saved_state: tuple) -> None:
        self.saving = False
        edited_meanwhile = self.state() != saved_state
        self.dataset = dataset
        self._show_index(dataset)
        if edited_meanwhile:
            self._loaded_state = saved_state
        else:
            self._fill(dataset)  # shows the name as the service stored it (trimmed, normalised)
        self.status.setText("Saved")
        set_role(self.status, "status", "saved")
        self._changed()
        self.saved.emit(dataset)

    def _save_failed(self, message: str) -> None:
        self.saving = False
        self.status.setText("")
        lowered = message.lower()
        if "name" in lowered or "knowledge base" in lowered:
            self.name_error.setText(message)
            self.name_error.show()
            set_role(self.name, "invalid", True)
            self.scroll.ensureWidgetVisible(self.name)
            self.name.setFocus()
        else:
            self.error.setText(message)
            self.error.show()
        self._changed()

    def _clear_name_error(self) -> None:
        if self.name_error.isVisible() or self.name.property("invalid"):
            self.name_error.hide()
            set_role(self.name, "invalid", False)

    # -- the index ---------------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        """While ingestion runs a rebuild would cancel it; the button waits."""
        self.running = running
        self._update_rebuild()

    def _update_rebuild(self) -> None:
        self.rebuild_button.setEnabled(self.dataset is not None and not self.running and not self.rebuilding)
        self.rebuild_button.setToolTip(RUNNING_TIP if self.running else
                                       "Embed every chunk again, optionally with another embedding model")

    def confirm_rebuild(self) -> RebuildDialog | None:
        if self.dataset is None or self.running or self.rebuilding:
            return None
        dialog = RebuildDialog(self.dataset, self)
        dialog.accepted.connect(lambda: self.rebuild(dialog.choice()))
        self.bridge.call(self.services.models.list, dialog.set_models, lambda _m: None)
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def rebuild(self, embedding: EmbeddingChoice | None) -> None:
        """Dropping the index and resetting the documents touches disk (and may wait for a run to stop)."""
        if self.dataset is None or self.rebuilding:
            return
        self.rebuilding = True
        self._update_rebuild()
        self.index_message.setText("Dropping the index…")
        set_role(self.index_message, "role", "muted")
        self.index_message.show()
        ref = self.dataset.id
        self.bridge.call(lambda: self.services.knowledge.rebuild(ref, embedding), self._rebuilt,
                         self._rebuild_failed)

    def _rebuilt(self, dataset: Dataset) -> None:
        self.rebuilding = False
        self.index_message.setText(f"Re-indexing with {embedding_text(dataset)}: progress shows on the Documents "
                                   "tab.")
        if self.dataset is not None and self.dataset.id == dataset.id:
            self.dataset = dataset
            self._show_index(dataset)
        self._update_rebuild()
        self.rebuilt.emit(dataset)

    def _rebuild_failed(self, message: str) -> None:
        self.rebuilding = False
        self.index_message.setText(message)
        set_role(self.index_message, "role", "error")
        self.index_message.show()
        self._update_rebuild()
