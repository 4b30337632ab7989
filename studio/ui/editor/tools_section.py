"""The app editor's Tools section for Agent apps: Dify's `agent_mode` (the tools, each on or off with its settings,
and the most tool calls per answer)."""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit, QMenu, QSpinBox, QToolButton,
    QVBoxLayout, QWidget,
)

from studio.services.agent import DEFAULT_MAX_ITERATION, MAX_ITERATION_LIMIT  # the run's own limits
from studio.ui.icons import icon
from studio.ui.theme import button, label

KEY = "agent_mode"


def provider_of(entry: dict[str, Any]) -> str:
    """'langgenius/time/time' and 'time' name the same provider, as in studio.tools."""
    return str(entry.get("provider_id") or entry.get("provider_name") or "").strip().rstrip("/").rsplit("/", 1)[-1]


def is_tool(entry: Any) -> bool:
    """Old-style one-key entries such as {"dataset": {...}} are knowledge, not tools: kept, never shown."""
    return isinstance(entry, dict) and bool(entry.get("tool_name"))


def new_entry(tool) -> dict[str, Any]:
    """A tool entry as Dify writes one, with the app-set (form) parameters at their defaults."""
    presets = {p.name: p.default for p in tool.parameters if p.form == "form" and p.default is not None}
    return {"provider_id": tool.provider, "provider_name": tool.provider, "provider_type": "builtin",
            "tool_name": tool.name, "tool_label": tool.label, "tool_parameters": presets, "enabled": True}


class ToolsSection(QWidget):
    """Emits changed(key) for each edit ("agent:add", "agent:remove", "agent:enable", "agent:param:…",
    "agent:max_iteration"); the editor makes it an undo step and saves it."""

    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[Any] = []  # agent_mode.tools as stored, knowledge entries included
        self.available: list = []  # the built-in tools (studio.tools.Tool), read by the editor on a worker
        self.known = False
        self.expanded: set[tuple[str, str]] = set()
        self.tool_rows: list[ToolRow] = []
        self.watch = lambda _widget: None  # ConfigForm hands Ctrl+Z in text fields to the editor's undo
        self.rows = QVBoxLayout()
        self.rows.setSpacing(6)
        self.empty = label("No tools yet. Add one and the agent can call it while it answers, e.g. Current Time "
                           "for questions about the time.", "hint", wrap=True)
        self.add_button = button("Add tool", tip="Give the agent a built-in tool")
        self.add_button.setIcon(icon("plus"))
        self.menu = QMenu(self.add_button)
        self.menu.setToolTipsVisible(True)
        self.add_button.setMenu(self.menu)
        self.max_iteration = QSpinBox()
        self.max_iteration.setRange(1, MAX_ITERATION_LIMIT)
        self.max_iteration.setValue(DEFAULT_MAX_ITERATION)
        self.max_iteration.setToolTip("The most tool calls the agent makes for one answer before it answers")
        self.max_iteration.valueChanged.connect(lambda _v: self.changed.emit("agent:max_iteration"))
        self._lay_out()
        self._rebuild()

    def _lay_out(self) -> None:
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        column.addLayout(self.rows)
        column.addWidget(self.empty)
        bottom = QHBoxLayout()
        bottom.addWidget(self.add_button)
        bottom.addStretch(1)
        bottom.addWidget(label("Max iterations", "muted"))
        bottom.addWidget(self.max_iteration)
        column.addLayout(bottom)

    # -- config in and out -------------------------------------------------------------------------
    def set_tools(self, tools: list) -> None:
        self.available, self.known = list(tools), True
        self._rebuild()

    def load(self, config: dict[str, Any]) -> None:
        mode = config.get(KEY) or {}
        entries = copy.deepcopy(list(mode.get("tools") or []))
        if entries != self.entries:
            self.entries = entries
            self._rebuild()
        self.max_iteration.blockSignals(True)
        self.max_iteration.setValue(_iterations(mode.get("max_iteration")))
        self.max_iteration.blockSignals(False)

    def apply(self, config: dict[str, Any]) -> dict[str, Any]:
        """The new `agent_mode`; what was not edited (strategy, prompt, an absent max_iteration) stays as it was."""
        before = config.get(KEY) or {}
        mode = copy.deepcopy(before)
        if self.entries != list(before.get("tools") or []):
            mode["tools"] = copy.deepcopy(self.entries)
        if self.max_iteration.value() != _iterations(before.get("max_iteration")):
            mode["max_iteration"] = self.max_iteration.value()
        if mode != before:
            mode.setdefault("enabled", True)
            mode.setdefault("strategy", "function_call")
        return mode

    # -- edits -------------------------------------------------------------------------------------
    def add_tool(self, tool) -> None:
        if self._index(tool.provider, tool.name) is not None:
            return
        self.entries.append(new_entry(tool))
        if any(p.form == "form" for p in tool.parameters):
            self.expanded.add((tool.provider, tool.name))  # its settings want a look straight away
        self._rebuild()
        self.changed.emit("agent:add")

    def remove(self, index: int) -> None:
        self.entries.pop(index)
        self._rebuild()
        self.changed.emit("agent:remove")

    def set_enabled(self, index: int, on: bool) -> None:
        self.entries[index]["enabled"] = bool(on)
        self._rebuild()
        self.changed.emit("agent:enable")

    def set_parameter(self, index: int, name: str, value: Any) -> None:
        entry = self.entries[index]
        entry["tool_parameters"] = {**(entry.get("tool_parameters") or {}), name: value}
        self.changed.emit(f"agent:param:{index}:{name}")

    def tool_names(self) -> list[str]:
        return [str(e["tool_name"]) for e in self.entries if is_tool(e)]

    def _index(self, provider: str, name: str) -> int | None:
        return next((i for i, e in enumerate(self.entries)
                     if is_tool(e) and provider_of(e) == provider and e["tool_name"] == name), None)

    def _find(self, entry: dict[str, Any]):
        return next((t for t in self.available if t.provider == provider_of(entry) and t.name == entry["tool_name"]),
                    None)

    # -- drawing -----------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        while self.rows.count():
            widget = self.rows.takeAt(0).widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self.tool_rows = [ToolRow(self, i, e, self._find(e)) for i, e in enumerate(self.entries) if is_tool(e)]
        for row in self.tool_rows:
            self.rows.addWidget(row)
        self.empty.setVisible(not self.tool_names())
        self._fill_menu()

    def _fill_menu(self) -> None:
        self.menu.clear()
        provider = None
        for tool in sorted(self.available, key=lambda t: (t.provider_label or t.provider, t.label)):
            if tool.provider != provider:
                provider = tool.provider
                self.menu.addSection(tool.provider_label or tool.provider.replace("_", " ").title())
            action = self.menu.addAction(icon("tool"), f"{tool.label}  ({tool.name})")
            action.setToolTip(tool.description)
            action.setEnabled(self._index(tool.provider, tool.name) is None)
            action.triggered.connect(lambda _=False, t=tool: self.add_tool(t))
        if not self.available:
            note = self.menu.addAction("No built-in tools" if self.known else "Reading tools…")
            note.setEnabled(False)


class ToolRow(QFrame):
    """One tool of the agent: its name, on/off, its settings (folded), and remove."""

    def __init__(self, section: ToolsSection, index: int, entry: dict[str, Any], tool) -> None:
        super().__init__()
        self.section, self.index, self.entry, self.tool = section, index, entry, tool
        self.setProperty("card", True)
        self.setObjectName(f"tool-{entry['tool_name']}")
        self.enabled = QCheckBox("On")
        self.enabled.setChecked(bool(entry.get("enabled", True)))
        self.enabled.setToolTip("A tool that is off stays in the app but the agent cannot call it")
        self.enabled.clicked.connect(lambda on: section.set_enabled(index, on))
        self.settings = _flat_button("settings", "Settings of this tool")
        self.settings.setCheckable(True)
        self.remove = _flat_button("trash", f"Remove {entry['tool_name']}")
        self.remove.clicked.connect(lambda: section.remove(index))
        self.form = self._parameters() if tool is not None and tool.parameters else None
        self.settings.setVisible(self.form is not None)
        if self.form is not None:
            key = (tool.provider, tool.name)
            self.form.setVisible(key in section.expanded)
            self.settings.setChecked(key in section.expanded)
            self.settings.toggled.connect(lambda on: self._fold(key, on))
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 6, 6, 6)
        column.addLayout(self._header())
        if self.form is not None:
            column.addWidget(self.form)

    def _header(self) -> QHBoxLayout:
        badge = QLabel()
        badge.setPixmap(icon("tool", "#155EEF" if self.enabled.isChecked() else "#98A2B3").pixmap(16, 16))
        entry = self.entry
        title = label(self.tool.label if self.tool else str(entry.get("tool_label") or entry["tool_name"]),
                      "" if self.tool else "warn")
        title.setToolTip(self.tool.description if self.tool else "")
        detail = label(f"{provider_of(entry)} · {entry['tool_name']}" if self.tool
                       else "not available in Studio: turn it off or remove it", "hint")
        line = QHBoxLayout()
        for widget in (badge, title, detail):
            line.addWidget(widget)
        line.addStretch(1)
        for widget in (self.enabled, self.settings, self.remove):
            line.addWidget(widget)
        return line

    def _fold(self, key: tuple[str, str], on: bool) -> None:
        (self.section.expanded.add if on else self.section.expanded.discard)(key)
        self.form.setVisible(on)

    def _parameters(self) -> QFrame:
        box = QFrame()
        box.setProperty("section", True)
        form = QFormLayout(box)
        form.setContentsMargins(10, 8, 10, 8)
        values = self.entry.get("tool_parameters") or {}
        for param in self.tool.parameters:
            name = param.name + (" *" if param.required and param.form == "form" else "")
            caption = label(name, "muted")
            caption.setToolTip(param.description)
            form.addRow(caption, self._field(param, _unwrap(values.get(param.name))))
        form.addRow(label(_hint(self.tool.parameters), "hint", wrap=True))
        return box

    def _field(self, param, value: Any) -> QWidget:
        set_value = lambda v: self.section.set_parameter(self.index, param.name, v)  # noqa: E731
        if param.type == "boolean":
            box = QCheckBox()
            box.setChecked(bool(param.default if value in (None, "") else _true(value)))
            box.clicked.connect(set_value)
            return box
        if param.type == "select" and param.options:
            combo = QComboBox()
            combo.addItems(["", *param.options])
            combo.setCurrentText("" if value is None else str(value))
            combo.activated.connect(lambda _i: set_value(combo.currentText()))
            return combo
        edit = QLineEdit("" if value is None else str(value))
        edit.setObjectName(f"param-{self.entry['tool_name']}-{param.name}")
        edit.setPlaceholderText(str(param.default) if param.default not in (None, "") else
                                ("filled in by the model" if param.form == "llm" else param.description))
        edit.setToolTip(param.description)
        edit.textEdited.connect(set_value)
        self.section.watch(edit)
        return edit


def _hint(parameters) -> str:
    """Set fields are fixed for every call; what an empty one means depends on who fills it."""
    by_model = any(p.form == "llm" for p in parameters)
    return ("Fields left empty are filled in by the model; a value set here is used every time." if by_model
            else "Fields left empty take their default.")


def _flat_button(name: str, tip: str) -> QToolButton:
    tool = QToolButton()
    tool.setIcon(icon(name))
    tool.setProperty("flat", True)
    tool.setToolTip(tip)
    return tool


def _unwrap(value: Any) -> Any:
    """Dify writes some presets as {"type": "mixed", "value": …}; the editor shows the value."""
    return value.get("value") if isinstance(value, dict) and "value" in value else value


def _true(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes", "on")


def _iterations(value: Any) -> int:
    try:
        return max(1, min(int(value), MAX_ITERATION_LIMIT))
    except (TypeError, ValueError):
        return DEFAULT_MAX_ITERATION
