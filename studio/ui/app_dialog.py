"""The Create app / Edit app info dialog: name, mode, icon, icon colour and description (and, when creating, a way
over to the template gallery)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup, QDialog, QDialogButtonBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
    QPlainTextEdit, QRadioButton, QToolButton, QVBoxLayout, QWidget,
)

from studio.core.entities import MODE_LABELS, AppMode
from studio.ui.theme import ICON_BACKGROUNDS, ICON_CHOICES, AppIcon, icon_text, label

MODE_HINTS = {
    AppMode.CHAT: "A chat assistant that remembers the conversation.",
    AppMode.AGENT_CHAT: "A chat assistant that calls tools (time, maths, JSON) step by step before it answers.",
    AppMode.COMPLETION: "Fills a prompt template from a form and writes one answer.",
}
# Dify's order in its Create app dialog.
CREATE_MODES = (AppMode.CHAT, AppMode.AGENT_CHAT, AppMode.COMPLETION)


class AppDialog(QDialog):
    """Collects app details; `submit(values)` saves them and returns an error message to show, or None."""

    def __init__(self, submit: Callable[[dict[str, Any]], str | None], *, app=None,
                 parent: QWidget | None = None, on_templates: Callable[[], Any] | None = None) -> None:
        super().__init__(parent)
        self._submit = submit
        self._on_templates = on_templates
        self._editing = app is not None
        self.setWindowTitle("Edit app info" if app else "Create app")
        self.setMinimumWidth(460)
        self.name = QLineEdit(app.name if app else "")
        self.name.setPlaceholderText("Give your app a name")
        self.name.setMaxLength(255)
        self.description = QPlainTextEdit(app.description if app else "")
        self.description.setPlaceholderText("What is this app for? (optional)")
        self.description.setFixedHeight(70)
        self.icon_edit = QLineEdit(app.icon if app else ICON_CHOICES[0])
        self.icon_edit.setMaxLength(8)
        self.icon_edit.setFixedWidth(60)
        self.background = app.icon_background if app else ICON_BACKGROUNDS[0]
        self.preview = AppIcon(48)
        self.modes = QButtonGroup(self)
        self.error = label("", "error", wrap=True)
        self.error.hide()
        self._layout(app)
        self.name.setFocus()
        self.icon_edit.textChanged.connect(self._refresh_preview)
        self.name.textChanged.connect(self._refresh_preview)
        self._refresh_preview()

    # -- layout ------------------------------------------------------------------------------------
    def _layout(self, app) -> None:
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        if not self._editing:
            form.addRow("Type", self._mode_picker())
        else:
            form.addRow("Type", label(MODE_LABELS.get(app.mode, app.mode.value), "muted"))
        form.addRow("Name", self.name)
        form.addRow("Icon", self._icon_picker())
        form.addRow("Description", self.description)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Save" if self._editing else "Create")
        self.ok_button.setProperty("primary", True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        if self._on_templates is not None and not self._editing:
            self.templates_button = buttons.addButton("Start from a template…", QDialogButtonBox.ButtonRole.ResetRole)
            self.templates_button.setToolTip("Pick a ready-made app that runs on the bundled model")
            self.templates_button.setAutoDefault(False)
            self.templates_button.clicked.connect(self._to_templates)
        root = QVBoxLayout(self)
        root.addLayout(form)
        root.addWidget(self.error)
        root.addWidget(buttons)

    def _mode_picker(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        for i, mode in enumerate(CREATE_MODES):
            radio = QRadioButton(MODE_LABELS[mode])
            radio.setProperty("mode", mode.value)
            radio.setChecked(i == 0)
            self.modes.addButton(radio, i)
            column.addWidget(radio)
            column.addWidget(label(MODE_HINTS[mode], "hint"))
        return box

    def _icon_picker(self) -> QWidget:
        box = QWidget()
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        grid.addWidget(self.preview, 0, 0, 2, 1)
        for i, emoji in enumerate(ICON_CHOICES):
            chooser = QToolButton()
            chooser.setText(icon_text(emoji, "?"))
            chooser.setProperty("flat", True)
            chooser.setToolTip(emoji)
            chooser.clicked.connect(lambda _=False, e=emoji: self.icon_edit.setText(e))
            grid.addWidget(chooser, i // 8, 1 + i % 8)
        colours = QHBoxLayout()
        colours.setSpacing(4)
        self.swatches: dict[str, QToolButton] = {}
        for colour in ICON_BACKGROUNDS:
            swatch = QToolButton()
            swatch.setFixedSize(22, 22)
            swatch.setToolTip(colour)
            swatch.clicked.connect(lambda _=False, c=colour: self._set_background(c))
            colours.addWidget(swatch)
            self.swatches[colour] = swatch
        colours.addStretch(1)
        colours.addWidget(QLabel("or type one:"))
        colours.addWidget(self.icon_edit)
        grid.addLayout(colours, 2, 0, 1, 9)
        return box

    # -- behaviour ---------------------------------------------------------------------------------
    def _set_background(self, colour: str) -> None:
        self.background = colour
        self._refresh_preview()

    def _refresh_preview(self) -> None:
        self.preview.set_icon(self.icon_edit.text().strip() or "🤖", self.background, self.name.text())
        for colour, swatch in self.swatches.items():
            ring = "2px solid #155EEF" if colour.lower() == self.background.lower() else "1px solid #D0D5DD"
            swatch.setStyleSheet(f"QToolButton {{ background: {colour}; border: {ring}; border-radius: 11px; }}")

    def values(self) -> dict[str, Any]:
        values = {
            "name": self.name.text().strip(),
            "icon": self.icon_edit.text().strip() or "🤖",
            "icon_background": self.background,
            "description": self.description.toPlainText().strip(),
        }
        if not self._editing:
            checked = self.modes.checkedButton()
            values["mode"] = checked.property("mode") if checked else AppMode.CHAT.value
        return values

    def set_mode(self, mode: str) -> None:
        for radio in self.modes.buttons():
            radio.setChecked(radio.property("mode") == mode)

    def _to_templates(self) -> None:
        self.reject()
        self._on_templates()

    def accept(self) -> None:
        message = self._submit(self.values())
        if message:
            self.error.setText(message)
            self.error.show()
            self.name.setFocus()
            return
        super().accept()
