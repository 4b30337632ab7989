"""The Create knowledge dialog: name, description, chunking, embedding model and search method, with inline errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QPlainTextEdit, QSpinBox, QVBoxLayout,
    QWidget,
)

from studio.core.entities import ModelInfo, ModelKind
from studio.core.knowledge import MAX_CHUNK, MIN_CHUNK, EmbeddingChoice, ProcessRule, RetrievalSettings, Segmentation
from studio.ui.knowledge.widgets import SEARCH_LABELS
from studio.ui.theme import label, set_role

SEPARATORS = (("\\n\\n (paragraphs)", "\\n\\n"), ("\\n (lines)", "\\n"), ("。 (sentences)", "。"), (". (sentences)", ". "))
DEFAULT_EMBEDDING = EmbeddingChoice().model
ENDPOINT = "openai_api_compatible"  # the embedding box's last item: a server instead of a local model


def unescape(text: str) -> str:
    """The separator box shows \\n as two characters, as Dify's form does."""
    return text.replace("\\n", "\n").replace("\\t", "\t")


class CreateKnowledgeDialog(QDialog):
    """Collects the settings; `submit(values)` runs on a worker and the caller reports back with show_error/accept."""

    def __init__(self, submit: Callable[[dict[str, Any]], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._submit = submit
        self.setWindowTitle("Create knowledge")
        self.setMinimumWidth(500)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Product manual")
        self.description = QPlainTextEdit()
        self.description.setPlaceholderText("What is in it? (optional; helps you pick it in an app later)")
        self.description.setFixedHeight(60)
        self.chunk_size = self._spin(MIN_CHUNK, MAX_CHUNK, 500, " characters")
        self.overlap = self._spin(0, MAX_CHUNK - 1, 50, " characters")
        self.separator = QComboBox()
        self.separator.setEditable(True)
        for text, value in SEPARATORS:
            self.separator.addItem(text, value)
        self.parent_child = QCheckBox("Parent-child chunks")
        self.parent_child.setToolTip("Small child chunks are searched; their larger parent chunk is what the "
                                     "model reads (Dify's parent-child mode)")
        self.embedding = QComboBox()
        self.embedding.addItem(DEFAULT_EMBEDDING, DEFAULT_EMBEDDING)
        self.embedding.addItem("OpenAI-compatible endpoint…", ENDPOINT)
        self.endpoint_url = QLineEdit()
        self.endpoint_url.setPlaceholderText("http://127.0.0.1:8080/v1")
        self.endpoint_url.setToolTip("The base URL of an OpenAI-compatible /v1/embeddings server (llama.cpp "
                                     "server, Ollama, vLLM, LM Studio…). No API key is sent: use an endpoint that "
                                     "needs none.")
        self.endpoint_model = QLineEdit()
        self.endpoint_model.setPlaceholderText("e.g. nomic-embed-text")
        self.endpoint_model.setToolTip("The model name the endpoint serves")
        self.embedding.currentIndexChanged.connect(lambda _i: self._show_endpoint())
        self.search_method = QComboBox()
        for value, text in SEARCH_LABELS.items():
            self.search_method.addItem(text, value)
        self.search_method.setCurrentIndex(self.search_method.findData("hybrid_search"))
        self.error = label("", "error", wrap=True)
        self.error.hide()
        self._lay_out()
        self.name.setFocus()

    @staticmethod
    def _spin(low: int, high: int, value: int, suffix: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setSuffix(suffix)
        spin.setSingleStep(50)
        return spin

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("Name", self.name)
        form.addRow("Description", self.description)
        form.addRow(label("CHUNK SETTINGS", "section"))
        form.addRow("Separator", self.separator)
        form.addRow("Maximum chunk length", self.chunk_size)
        form.addRow("Chunk overlap", self.overlap)
        form.addRow("", self.parent_child)
        form.addRow(label("INDEX", "section"))
        form.addRow("Embedding model", self.embedding)
        form.addRow("Endpoint URL", self.endpoint_url)
        form.addRow("Model name", self.endpoint_model)
        self.endpoint_hint = label("No API key is sent or stored: use a local endpoint that needs none.", "hint",
                                   wrap=True)
        form.addRow("", self.endpoint_hint)
        form.addRow("Search method", self.search_method)
        self.form = form
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Create")
        self.ok_button.setProperty("primary", True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        root = QVBoxLayout(self)
        root.addLayout(form)
        root.addWidget(self.error)
        root.addWidget(buttons)
        self._show_endpoint()

    def uses_endpoint(self) -> bool:
        return self.embedding.currentData() == ENDPOINT

    def _show_endpoint(self) -> None:
        on = self.uses_endpoint()
        for widget in (self.endpoint_url, self.endpoint_model, self.endpoint_hint):
            self.form.setRowVisible(widget, on)
        if on and not self.endpoint_url.text():
            self.endpoint_url.setFocus()

    def set_models(self, models: list[ModelInfo]) -> None:
        """Embedding models arrive from a worker; the bundled default stays first."""
        current = self.embedding.currentData()
        names = [DEFAULT_EMBEDDING] + [m.id for m in models if m.kind == ModelKind.EMBEDDING and not m.error
                                       and m.id != DEFAULT_EMBEDDING]
        self.embedding.blockSignals(True)
        self.embedding.clear()
        for name in names:
            model = next((m for m in models if m.id == name), None)
            self.embedding.addItem(model.name if model else name, name)
        self.embedding.addItem("OpenAI-compatible endpoint…", ENDPOINT)
        self.embedding.setCurrentIndex(max(0, self.embedding.findData(current)))
        self.embedding.blockSignals(False)
        self._show_endpoint()

    def separator_value(self) -> str:
        index = self.separator.currentIndex()
        text = self.separator.currentText()
        if index >= 0 and self.separator.itemText(index) == text:
            return self.separator.itemData(index)
        return unescape(text)

    def values(self) -> dict[str, Any]:
        """Raw form values; chunk bounds are checked by the service, whose messages show inline."""
        separator = self.separator_value()
        rule = ProcessRule(mode="hierarchical") if self.parent_child.isChecked() else None
        if rule is not None:
            # Parents are cut by the chosen settings; children keep Dify's line-sized default.
            rule = rule.model_copy(update={"subchunk_segmentation": Segmentation(separator="\n", max_tokens=200,
                                                                                 chunk_overlap=0)})
        return {
            "name": self.name.text().strip(), "description": self.description.toPlainText().strip(),
            "process_rule": rule, "chunk_size": self.chunk_size.value(), "overlap": self.overlap.value(),
            "separator": separator,
            "embedding": self.embedding_choice(),
            "retrieval": RetrievalSettings(search_method=self.search_method.currentData()),
        }

    def embedding_choice(self) -> EmbeddingChoice:
        """The service checks the URL and model name; its message shows inline with the field outlined."""
        if self.uses_endpoint():
            return EmbeddingChoice(provider=ENDPOINT, model=self.endpoint_model.text().strip(),
                                   base_url=self.endpoint_url.text().strip())
        return EmbeddingChoice(model=self.embedding.currentData() or DEFAULT_EMBEDDING)

    def accept(self) -> None:
        self.show_error("")
        self.ok_button.setEnabled(False)
        self._submit(self.values())

    def done_ok(self) -> None:
        super().accept()

    def show_error(self, message: str) -> None:
        """A ValidationError's message, with the field it names outlined."""
        self.ok_button.setEnabled(True)
        self.error.setText(message)
        self.error.setVisible(bool(message))
        lowered = message.lower()
        fields = {self.endpoint_url: "endpoint url", self.endpoint_model: "model name", self.name: "name",
                  self.overlap: "overlap", self.chunk_size: "chunk size", self.separator: "separator"}
        flagged = None
        for widget, word in fields.items():
            bad = bool(message) and word in lowered and flagged is None
            set_role(widget, "invalid", bad)
            flagged = widget if bad else flagged
        if flagged is not None:
            flagged.setFocus()
        elif message and "knowledge base" in lowered:
            set_role(self.name, "invalid", True)
            self.name.setFocus()
