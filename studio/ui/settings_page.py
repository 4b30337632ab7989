"""The Settings page: preferences kept by the services (validated there, errors shown inline) and where data lives."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFormLayout, QFrame, QHBoxLayout, QSpinBox, QVBoxLayout, QWidget

import studio
from studio.ui.theme import button, label, set_role

log = logging.getLogger(__name__)

# key: (caption, help, widget maximum, special text for the minimum)
PREFERENCES = {
    "n_ctx": ("Context size (tokens)", "How much text a local model sees at once: prompt, history and answer. "
              "Larger needs more memory.", 1_000_000, ""),
    "n_threads": ("CPU threads", "Threads llama.cpp uses; Automatic uses every core.", 4096, "Automatic"),
    "stream_batch_ms": ("Stream refresh (ms)", "How often streamed text is drawn while a model writes.", 100_000, ""),
}


class SettingsPage(QWidget):
    preference_saved = Signal(str, object)

    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PageRoot")
        self.services, self.bridge = services, bridge
        self.spins: dict[str, QSpinBox] = {}
        self.errors: dict[str, object] = {}
        self.saved_values: dict[str, int] = {}
        self.status = label("", "muted")
        column = QVBoxLayout(self)
        column.setContentsMargins(24, 20, 24, 16)
        column.setSpacing(14)
        column.addWidget(label("Settings", "title"))
        column.addWidget(self._preferences())
        column.addWidget(self._about())
        column.addStretch(1)
        self.loaded_once = False

    def _preferences(self) -> QFrame:
        frame, form = self._card("PREFERENCES")
        for key, (caption, hint, maximum, special) in PREFERENCES.items():
            spin = QSpinBox()
            spin.setRange(0, maximum)
            spin.setGroupSeparatorShown(True)
            spin.setMinimumWidth(140)
            if special:
                spin.setSpecialValueText(special)
            spin.setKeyboardTracking(False)
            spin.editingFinished.connect(lambda k=key: self.save(k))
            error = label("", "error", wrap=True)
            error.hide()
            cell = QVBoxLayout()
            cell.setSpacing(3)
            cell.addWidget(spin, 0, Qt.AlignmentFlag.AlignLeft)
            cell.addWidget(label(hint, "hint", wrap=True))
            cell.addWidget(error)
            form.addRow(caption, cell)
            self.spins[key], self.errors[key] = spin, error
        form.addRow("", self.status)
        return frame

    def _about(self) -> QFrame:
        frame, form = self._card("ABOUT THIS INSTALLATION")
        startup = self.services.settings.startup
        self.info = {
            "Studio home": Path(startup.home),
            "Database": Path(startup.db_path),
            "Models folder": Path(startup.models_dir),
            "Logs folder": Path(startup.logs_dir),
        }
        for caption, path in self.info.items():
            row = QHBoxLayout()
            text = label(str(path), "muted")
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            row.addWidget(text, 1)
            if caption != "Database":
                show = button("Open")
                show.clicked.connect(lambda _=False, p=path: QDesktopServices.openUrl(QUrl.fromLocalFile(str(p))))
                row.addWidget(show)
            form.addRow(caption, row)
        self.version_label = label(studio.__version__, "muted")
        form.addRow("Version", self.version_label)
        return frame

    @staticmethod
    def _card(title: str) -> tuple[QFrame, QFormLayout]:
        frame = QFrame()
        frame.setProperty("panel", True)
        column = QVBoxLayout(frame)
        column.setContentsMargins(18, 14, 18, 16)
        column.addWidget(label(title, "section"))
        form = QFormLayout()
        form.setHorizontalSpacing(24)
        form.setVerticalSpacing(12)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        column.addLayout(form)
        return frame, form

    # -- values ------------------------------------------------------------------------------------
    def activated(self) -> None:
        if not self.loaded_once:
            self.bridge.call(self.services.settings.all, self._loaded, self._load_failed)

    def _loaded(self, values: dict) -> None:
        self.loaded_once = True
        for key, spin in self.spins.items():
            if key in values:
                spin.blockSignals(True)
                spin.setValue(int(values[key]))
                spin.blockSignals(False)
                self.saved_values[key] = int(values[key])

    def _load_failed(self, message: str) -> None:
        self.status.setText(message)

    def save(self, key: str) -> None:
        """Saving may reload the model with new limits, so it runs on a worker."""
        value = self.spins[key].value()
        if self.saved_values.get(key) == value or not self.loaded_once:
            return
        self.status.setText("Saving…")
        self.bridge.call(lambda: self.services.settings.set(key, value),
                         lambda saved: self._saved(key, saved), lambda message: self._rejected(key, message))

    def _saved(self, key: str, value) -> None:
        self.saved_values[key] = int(value)
        self.errors[key].hide()
        set_role(self.spins[key], "invalid", False)
        self.status.setText("Saved. Models reload with the new settings on next use.")
        self.preference_saved.emit(key, value)

    def _rejected(self, key: str, message: str) -> None:
        self.errors[key].setText(message)
        self.errors[key].show()
        set_role(self.spins[key], "invalid", True)
        self.status.setText("")
