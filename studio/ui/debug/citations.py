"""The Citations row under an answer: one chip per cited document; a click shows the quoted chunks."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.ui.theme import label

MAX_NAME = 32
MAX_QUOTE = 900  # characters of a chunk shown; the whole chunk is in the tooltip


def group_by_document(resources: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Dify groups citations by document: one chip per document, its chunks in retrieval order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in resources:
        if isinstance(item, dict):
            groups.setdefault(str(item.get("document_name") or "Untitled"), []).append(item)
    return groups


def _quote_header(item: dict[str, Any]) -> str:
    parts = []
    if item.get("segment_position") is not None:
        parts.append(f"Chunk-{int(item['segment_position']):02d}")
    if item.get("page"):
        parts.append(f"page {item['page']}")
    if item.get("score") is not None:
        parts.append(f"score {float(item['score']):.2f}")
    if item.get("dataset_name"):
        parts.append(str(item["dataset_name"]))
    return " · ".join(parts)


class CitationsRow(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.groups: dict[str, list[dict[str, Any]]] = {}
        self.chips: list[QPushButton] = []
        self.chip_row = QHBoxLayout()
        self.chip_row.setSpacing(6)
        self.chip_row.addWidget(label("CITATIONS", "section"))
        self.chip_row.addStretch(1)
        self.detail = QFrame()
        self.detail.setProperty("citation", True)
        self.quotes = QVBoxLayout(self.detail)
        self.quotes.setContentsMargins(10, 8, 10, 8)
        self.quotes.setSpacing(2)
        self.detail.hide()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 2, 0, 0)
        column.setSpacing(6)
        column.addLayout(self.chip_row)
        column.addWidget(self.detail)
        self.hide()

    def set_resources(self, resources: list[dict[str, Any]] | None) -> None:
        for chip in self.chips:
            self.chip_row.removeWidget(chip)
            chip.deleteLater()
        self.chips = []
        self.groups = group_by_document(list(resources or []))
        for name, items in self.groups.items():
            shown = name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…"
            chip = QPushButton(f"{shown}" + (f"  ×{len(items)}" if len(items) > 1 else ""))
            chip.setProperty("citation", True)
            chip.setCheckable(True)
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.setToolTip(f"{name}: {len(items)} quoted chunk(s). Click to show them.")
            chip.toggled.connect(lambda on, n=name: self.expand(n if on else None))
            self.chip_row.insertWidget(self.chip_row.count() - 1, chip)
            self.chips.append(chip)
        self.detail.hide()
        self.setVisible(bool(self.groups))

    def expand(self, name: str | None) -> None:
        """Show the quoted chunks of one document (None folds them away)."""
        for chip, key in zip(self.chips, self.groups):
            chip.blockSignals(True)
            chip.setChecked(key == name)
            chip.blockSignals(False)
        while self.quotes.count():
            widget = self.quotes.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        if name is None or name not in self.groups:
            self.detail.hide()
            return
        for n, item in enumerate(self.groups[name]):
            header = label(_quote_header(item), "hint")
            header.setContentsMargins(0, 8 if n else 0, 0, 0)  # a little air between quotes
            self.quotes.addWidget(header)
            self.quotes.addWidget(self._quote(str(item.get("content") or "")))
        self.detail.show()

    @staticmethod
    def _quote(text: str) -> QLabel:
        widget = QLabel(text if len(text) <= MAX_QUOTE else text[:MAX_QUOTE].rstrip() + " …")
        widget.setWordWrap(True)
        widget.setTextFormat(Qt.TextFormat.PlainText)
        widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        widget.setToolTip(text[:4000] if len(text) > MAX_QUOTE else "")
        widget.setProperty("role", "quote")
        return widget
