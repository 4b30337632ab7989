"""The Settings page: preferences kept by the services (validated there, errors shown inline) and where data lives."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFormLayout, QFrame, QHBoxLayout, QLineEdit, QScrollArea, QSpinBox, QVBoxLayout, QWidget,
)

import studio
from studio.ui.theme import button, label, set_role

log = logging.getLogger(__name__)

# The everyday preferences, with words for them; key: (caption, help, widget maximum, text for the minimum)
PREFERENCES = {
    "n_ctx": ("Context size (tokens)", "How much text a local model sees at once: prompt, history and answer. "
              "Larger needs more memory.", 1_000_000, ""),
    "n_threads": ("CPU threads", "Threads llama.cpp uses; Automatic leaves one core free for the rest of the machine.", 4096, "Automatic"),
    "stream_batch_ms": ("Stream refresh (ms)", "How often streamed text is drawn while a model writes.", 100_000, ""),
}
GROUPS = (("workflow_", "Workflows"), ("sandbox_", "Code sandbox"), ("code_", "Code node results"), ("", "Other"))


def _caption(key: str) -> str:
    words = key.split("_")
    units = {"s": "(s)", "mb": "(MB)", "bytes": "(bytes)", "ms": "(ms)"}
    if words[-1] in units:
        words[-1] = units[words[-1]]
    return " ".join(words).capitalize()


class SettingsPage(QWidget):
    preference_saved = Signal(str, object)

    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PageRoot")
        self.services, self.bridge = services, bridge
        self.spins: dict[str, QSpinBox] = {}
        self.lines: dict[str, QLineEdit] = {}  # the advanced preferences, typed as text and checked by the services
        self.errors: dict[str, object] = {}
        self.saved_values: dict[str, object] = {}
        self.status = label("", "muted")
        self.loaded_once = False
        canvas = QWidget()
        canvas.setObjectName("FormCanvas")
        self.column = QVBoxLayout(canvas)
        self.column.setContentsMargins(24, 20, 24, 16)
        self.column.setSpacing(14)
        self.column.addWidget(label("Settings", "title"))
        self.column.addWidget(self._preferences())
        self.column.addWidget(self._about())
        self.advanced, self.advanced_form = self._card("ADVANCED")
        self.advanced.hide()
        self.column.addWidget(self.advanced)
        self.column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(canvas)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

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
            self.spins[key] = spin
            form.addRow(caption, self._cell(key, spin, hint))
        form.addRow("", self.status)
        return frame

    def _cell(self, key: str, editor: QWidget, hint: str = "") -> QVBoxLayout:
        error = label("", "error", wrap=True)
        error.hide()
        self.errors[key] = error
        cell = QVBoxLayout()
        cell.setSpacing(3)
        cell.addWidget(editor, 0, Qt.AlignmentFlag.AlignLeft)
        if hint:
            cell.addWidget(label(hint, "hint", wrap=True))
        cell.addWidget(error)
        return cell

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
        form.setVerticalSpacing(10)
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
        self._fill_advanced({k: v for k, v in values.items() if k not in self.spins})

    def _fill_advanced(self, values: dict) -> None:
        """Every other preference the services know, grouped by what it limits; new ones appear on their own."""
        remaining = dict(values)
        for prefix, title in GROUPS:
            keys = [k for k in remaining if k.startswith(prefix)]
            if keys:
                self.advanced_form.addRow(label(title.upper(), "hint"))
            for key in keys:
                line = QLineEdit(str(remaining.pop(key)))
                line.setMinimumWidth(220)
                line.editingFinished.connect(lambda k=key: self.save(k))
                self.lines[key] = line
                self.saved_values[key] = line.text()
                self.advanced_form.addRow(_caption(key), self._cell(key, line))
        self.advanced.setVisible(bool(self.lines))

    def _load_failed(self, message: str) -> None:
        self.status.setText(message)

    def save(self, key: str) -> None:
        """Saving may reload the model with new limits, so it runs on a worker."""
        editor = self.spins.get(key) or self.lines[key]
        value = editor.value() if isinstance(editor, QSpinBox) else editor.text().strip()
        if not self.loaded_once:
            return
        if self.saved_values.get(key) == value:
            self._clear_error(key)  # typed back to what is stored: nothing to save, nothing wrong
            return
        self.status.setText("Saving…")
        self.bridge.call(lambda: self.services.settings.set(key, value),
                         lambda saved: self._saved(key, saved), lambda message: self._rejected(key, message))

    def _saved(self, key: str, value) -> None:
        editor = self.spins.get(key) or self.lines[key]
        self.saved_values[key] = value if key in self.spins else str(value)
        if key in self.lines:
            editor.setText(str(value))
        self._clear_error(key)
        self.status.setText("Saved. Models reload with the new settings on next use.")
        self.preference_saved.emit(key, value)

    def _clear_error(self, key: str) -> None:
        self.errors[key].hide()
        set_role(self.spins.get(key) or self.lines[key], "invalid", False)

    def _rejected(self, key: str, message: str) -> None:
        self.errors[key].setText(message)
        self.errors[key].show()
        set_role(self.spins.get(key) or self.lines[key], "invalid", True)
        self.status.setText("")
