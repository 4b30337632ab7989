"""The model picker with its generation parameters, and the chat memory window, as parts of the app editor."""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLineEdit, QSpinBox, QWidget,
)

from studio.core.entities import ModelInfo, ModelKind
from studio.ui.theme import label

DEFAULTS = {"temperature": 0.7, "top_p": 1.0, "max_tokens": 512}


def format_stops(stops: list[str]) -> str:
    return ", ".join(s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace(",", "\\,")
                     for s in stops)


def parse_stops(text: str) -> list[str]:
    """Comma-separated; `\\n`, `\\t`, `\\,` and `\\\\` are escapes so a stop can be a newline or hold a comma."""
    stops, current, i = [], "", 0
    escapes = {"n": "\n", "t": "\t", ",": ",", "\\": "\\"}
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in escapes:
            current += escapes[text[i + 1]]
            i += 2
            continue
        if ch == ",":
            stops.append(current.strip(" "))
            current = ""
        else:
            current += ch
        i += 1
    stops.append(current.strip(" "))
    return [s for s in stops if s]


class ModelSection(QWidget):
    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = QComboBox()
        self.model.setMinimumWidth(180)
        self.model.addItem("Default model", "")
        self.temperature = self._spin(QDoubleSpinBox(), 0.0, 2.0, 0.1, "temperature")
        self.top_p = self._spin(QDoubleSpinBox(), 0.0, 1.0, 0.05, "top_p")
        self.max_tokens = self._spin(QSpinBox(), 1, 32768, 64, "max_tokens")
        self.stop = QLineEdit()
        self.stop.setPlaceholderText(r"e.g. \n\n, User:  (up to 4, comma-separated)")
        self.stop.textEdited.connect(lambda _t: self.changed.emit("stop"))
        self.model.currentIndexChanged.connect(lambda _i: self.changed.emit("model"))
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Model", self.model)
        form.addRow("Temperature", self._with_hint(self.temperature, "Higher is more varied; 0 always picks the likeliest word."))
        form.addRow("Top P", self._with_hint(self.top_p, "Sample only from the most likely words adding up to P."))
        form.addRow("Max tokens", self._with_hint(self.max_tokens, "The longest answer, in tokens."))
        form.addRow("Stop sequences", self.stop)
        self._models: list[ModelInfo] = []

    @staticmethod
    def _with_hint(widget: QWidget, hint: str) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        widget.setMinimumWidth(90)
        row.addWidget(widget)
        row.addWidget(label(hint, "hint", wrap=True), 1)
        return box

    def _spin(self, spin, low, high, step, key: str):
        spin.setRange(low, high)
        spin.setSingleStep(step)
        if isinstance(spin, QDoubleSpinBox):
            spin.setDecimals(2)
        spin.valueChanged.connect(lambda _v: self.changed.emit(key))
        return spin

    def set_models(self, models: list[ModelInfo], default: ModelInfo | None = None) -> None:
        """Fill the combo once the catalog has been read on a worker; the app's choice is kept."""
        current = self.model.currentData()
        self._models = [m for m in models if m.kind == ModelKind.CHAT]
        self.model.blockSignals(True)
        self.model.clear()
        self.model.addItem(f"Default ({default.name})" if default else "Default model", "")
        for m in self._models:
            self.model.addItem(m.name + (f" — {m.error}" if m.error else ""), m.id)
        self._select(current)
        self.model.blockSignals(False)

    def _select(self, name: str) -> None:
        index = self.model.findData(name)
        if index < 0:
            for i, m in enumerate(self._models):
                if name == m.name:
                    index = i + 1
        if index < 0 and name:
            self.model.addItem(f"{name} (not installed)", name)
            index = self.model.count() - 1
        self.model.setCurrentIndex(max(index, 0))

    def load(self, model: dict[str, Any]) -> None:
        params = model.get("completion_params") or {}
        widgets = (self.model, self.temperature, self.top_p, self.max_tokens, self.stop)
        for w in widgets:
            w.blockSignals(True)
        self._select(str(model.get("name") or ""))
        self.temperature.setValue(float(params.get("temperature", DEFAULTS["temperature"])))
        self.top_p.setValue(float(params.get("top_p", DEFAULTS["top_p"])))
        self.max_tokens.setValue(int(params.get("max_tokens", DEFAULTS["max_tokens"])))
        stops = list(params.get("stop") or [])
        if parse_stops(self.stop.text()) != stops:
            self.stop.setText(format_stops(stops))
        for w in widgets:
            w.blockSignals(False)

    def apply(self, model: dict[str, Any] | None) -> dict[str, Any]:
        model = copy.deepcopy(model or {})
        model["name"] = self.model.currentData() or ""
        params = dict(model.get("completion_params") or {})
        params.update(temperature=round(self.temperature.value(), 2), top_p=round(self.top_p.value(), 2),
                      max_tokens=self.max_tokens.value(), stop=parse_stops(self.stop.text()))
        model["completion_params"] = params
        return model


class MemorySection(QWidget):
    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.enabled = QCheckBox("Send earlier messages with each question")
        self.size = QSpinBox()
        self.size.setRange(1, 200)
        self.size.setSuffix(" messages")
        self.enabled.toggled.connect(lambda on: (self.size.setEnabled(on), self.changed.emit("memory")))
        self.size.valueChanged.connect(lambda _v: self.changed.emit("memory_size"))
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.enabled)
        form.addRow("Window", self.size)

    def load(self, memory: dict[str, Any] | None) -> None:
        window = (memory or {}).get("window") or {}
        for w in (self.enabled, self.size):
            w.blockSignals(True)
        self.enabled.setChecked(bool(window.get("enabled", True)))
        self.size.setValue(int(window.get("size", 10)))
        self.size.setEnabled(self.enabled.isChecked())
        for w in (self.enabled, self.size):
            w.blockSignals(False)

    def apply(self, memory: dict[str, Any] | None) -> dict[str, Any]:
        memory = copy.deepcopy(memory or {})
        window = dict(memory.get("window") or {})
        window.update(enabled=self.enabled.isChecked(), size=self.size.value())
        memory["window"] = window
        return memory
