"""The run-time input form built from an app's `user_input_form`, as a user of the app would fill it."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

from studio.core.app_config import InputField, parse_config
from studio.core.errors import StudioError
from studio.ui.theme import label, set_role

log = logging.getLogger(__name__)


def app_inputs(config: dict) -> list[InputField]:
    try:
        return parse_config(config).inputs()
    except StudioError as exc:  # a saved config is valid; this only guards against hand-edited databases
        log.warning("cannot build the input form: %s", exc.message)
        return []


class InputsForm(QWidget):
    """values() returns what the user typed; the services validate it and name the field that is wrong."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields: list[InputField] = []
        self.widgets: dict[str, QWidget] = {}
        self._form = QFormLayout()
        self._form.setContentsMargins(0, 0, 0, 0)
        self.error = label("", "error", wrap=True)
        self.error.hide()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(self._form)
        column.addWidget(self.error)

    def set_fields(self, fields: list[InputField]) -> None:
        old = self.values()
        while self._form.rowCount():
            self._form.removeRow(0)
        self.fields, self.widgets = list(fields), {}
        for field in self.fields:
            widget = self._widget_for(field)
            self.widgets[field.variable] = widget
            caption = (field.label or field.variable) + (" *" if field.required else "")
            self._form.addRow(caption, widget)
            if old.get(field.variable) not in (None, ""):
                self.set_value(field.variable, old[field.variable])
        self.set_error("")
        self.setVisible(bool(self.fields))

    @staticmethod
    def _widget_for(field: InputField) -> QWidget:
        if field.type == "select":
            combo = QComboBox()
            combo.addItem("Choose…" if field.required else "—", "")
            for option in field.options:
                combo.addItem(option, option)
            return combo
        if field.type == "paragraph":
            edit = QPlainTextEdit()
            edit.setFixedHeight(64)
            edit.setTabChangesFocus(True)
            return edit
        line = QLineEdit()
        if field.type == "number":
            line.setValidator(QDoubleValidator())
            line.setPlaceholderText("A number")
        elif field.max_length:
            line.setMaxLength(field.max_length)
        return line

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, widget in getattr(self, "widgets", {}).items():
            if isinstance(widget, QComboBox):
                values[name] = widget.currentData() or ""
            elif isinstance(widget, QPlainTextEdit):
                values[name] = widget.toPlainText()
            else:
                values[name] = widget.text().strip()
        return values

    def set_value(self, name: str, value: Any) -> None:
        widget = self.widgets[name]
        if isinstance(widget, QComboBox):
            widget.setCurrentIndex(max(0, widget.findData(str(value))))
        elif isinstance(widget, QPlainTextEdit):
            widget.setPlainText(str(value))
        else:
            widget.setText(str(value))

    def set_error(self, message: str) -> None:
        """Show a service's validation message and outline the field it names."""
        self.error.setText(message)
        self.error.setVisible(bool(message))
        for field in self.fields:
            named = bool(message) and message.startswith(field.label or field.variable)
            widget = self.widgets[field.variable]
            set_role(widget, "invalid", named)
            if named:
                widget.setFocus()
