"""The app editor's Context section: attach and detach knowledge bases (Dify's `dataset_configs`)."""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMenu, QToolButton, QVBoxLayout, QWidget

from studio.ui.icons import icon
from studio.ui.theme import button, label

KEY = "dataset_configs"


def attached_ids(config: dict[str, Any]) -> list[str]:
    """Enabled knowledge base ids in `dataset_configs.datasets.datasets`, in order."""
    block = ((config.get(KEY) or {}).get("datasets") or {}).get("datasets") or []
    ids = []
    for entry in block:
        ds = entry.get("dataset") if isinstance(entry, dict) else None
        if isinstance(ds, dict) and ds.get("id") and ds.get("enabled", True):
            ids.append(str(ds["id"]))
    return list(dict.fromkeys(ids))


def with_datasets(dataset_configs: dict[str, Any] | None, ids: list[str]) -> dict[str, Any]:
    """The block with these ids attached; retrieval settings and other keys stay as they were."""
    result = copy.deepcopy(dataset_configs) if isinstance(dataset_configs, dict) else {}
    result.setdefault("retrieval_model", "multiple")
    result["datasets"] = {**(result.get("datasets") or {}),
                          "datasets": [{"dataset": {"enabled": True, "id": i}} for i in ids]}
    return result


class ContextSection(QWidget):
    """Emits changed("dataset_configs"); the editor makes that an undo step and saves it."""

    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ids: list[str] = []
        self.available: list = []  # Dataset, read by the editor on a worker
        self.known = False
        self.rows = QVBoxLayout()
        self.rows.setSpacing(6)
        self.empty = label("No knowledge attached. Add a knowledge base so answers draw on its documents and "
                           "cite them.", "hint", wrap=True)
        self.add_button = button("Add", tip="Attach a knowledge base to this app")
        self.add_button.setIcon(icon("plus"))
        self.menu = QMenu(self.add_button)
        self.add_button.setMenu(self.menu)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        column.addLayout(self.rows)
        column.addWidget(self.empty)
        bottom = QHBoxLayout()
        bottom.addWidget(self.add_button)
        bottom.addStretch(1)
        column.addLayout(bottom)
        self._rebuild()

    def set_datasets(self, datasets: list) -> None:
        self.available, self.known = list(datasets), True
        self._rebuild()

    def load(self, config: dict[str, Any]) -> None:
        ids = attached_ids(config)
        if ids != self.ids:
            self.ids = ids
            self._rebuild()

    def apply(self, config: dict[str, Any]) -> dict[str, Any] | None:
        """The new `dataset_configs`, or None to leave the key as it is (nothing attached, nothing was)."""
        if self.ids == attached_ids(config):
            return config.get(KEY)
        return with_datasets(config.get(KEY), self.ids)

    def attach(self, dataset_id: str) -> None:
        if dataset_id not in self.ids:
            self.ids.append(dataset_id)
            self._rebuild()
            self.changed.emit(KEY)

    def detach(self, dataset_id: str) -> None:
        if dataset_id in self.ids:
            self.ids.remove(dataset_id)
            self._rebuild()
            self.changed.emit(KEY)

    # -- drawing -----------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        while self.rows.count():
            widget = self.rows.takeAt(0).widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        by_id = {d.id: d for d in self.available}
        for dataset_id in self.ids:
            self.rows.addWidget(self._row(dataset_id, by_id.get(dataset_id)))
        self.empty.setVisible(not self.ids)
        self.menu.clear()
        for dataset in self.available:
            action = self.menu.addAction(icon("knowledge"), f"{dataset.name}  ({dataset.document_count} docs)")
            action.setEnabled(dataset.id not in self.ids)
            action.triggered.connect(lambda _=False, i=dataset.id: self.attach(i))
        if not self.available:
            note = self.menu.addAction("Create a knowledge base on the Knowledge page first" if self.known
                                       else "Reading knowledge bases…")
            note.setEnabled(False)

    def _row(self, dataset_id: str, dataset) -> QFrame:
        row = QFrame()
        row.setProperty("card", True)
        line = QHBoxLayout(row)
        line.setContentsMargins(10, 6, 6, 6)
        badge = QLabel()
        badge.setPixmap(icon("knowledge", "#155EEF").pixmap(16, 16))
        name = dataset.name if dataset else ("…" if not self.known else "Missing knowledge base")
        title = label(name, "" if dataset or not self.known else "warn")
        title.setToolTip(dataset_id)
        detail = label(f"{dataset.document_count} docs · {dataset.segment_count} chunks" if dataset else
                       ("it was deleted; remove it here" if self.known else ""), "hint")
        remove = QToolButton()
        remove.setIcon(icon("trash"))
        remove.setProperty("flat", True)
        remove.setToolTip(f"Detach {name}")
        remove.setObjectName(f"detach-{dataset_id}")
        remove.clicked.connect(lambda _=False, i=dataset_id: self.detach(i))
        line.addWidget(badge)
        line.addWidget(title)
        line.addWidget(detail)
        line.addStretch(1)
        line.addWidget(remove)
        return row

