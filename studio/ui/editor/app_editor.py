"""The app editor page: header with the app menu, a problems banner, the config form with one undo history and
debounced auto-save, and Debug & Preview."""

from __future__ import annotations

import copy
import logging
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QSplitter, QToolButton, QVBoxLayout, QWidget

from studio.core.entities import MODE_LABELS, App, AppMode
from studio.core.errors import ModelError, StudioError
from studio.ui.debug.chat_panel import ChatPanel
from studio.ui.debug.completion_panel import CompletionPanel
from studio.ui.dsl.app_menu import app_menu_button
from studio.ui.dsl.problems import EDITOR_HINT, ProblemsBanner
from studio.ui.editor.config_form import ConfigForm
from studio.ui.icons import icon
from studio.ui.theme import AppIcon, back_button, button, label, set_role

log = logging.getLogger(__name__)
AUTOSAVE_MS = 600
MERGE_SECONDS = 1.5  # typing bursts in one field become one undo step
UNMERGEABLE = {"var:add", "var:remove", "var:move", "var:required", "model", "memory", "dataset_configs", "agent:add",
               "agent:remove", "agent:enable"}
CHAT_MODES = (AppMode.CHAT, AppMode.AGENT_CHAT)  # an agent answers in a chat, with its tool steps


class ConfigCommand(QUndoCommand):
    """One edit as a pair of whole-config snapshots; configs are small, so snapshots beat diffs."""

    def __init__(self, editor: AppEditor, old: dict, new: dict, key: str) -> None:
        super().__init__(f"Edit {key}")
        self.editor, self.old, self.new, self.key = editor, old, new, key
        self.stamp = time.monotonic()
        self._first = True

    def id(self) -> int:
        return 1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt override
        if (not isinstance(other, ConfigCommand) or other.key != self.key or self.key in UNMERGEABLE
                or other.stamp - self.stamp > MERGE_SECONDS):
            return False
        self.new, self.stamp = other.new, other.stamp
        self.setObsolete(self.new == self.old)
        return True

    def redo(self) -> None:
        self.editor.show_config(self.new, reload=not self._first)
        self._first = False

    def undo(self) -> None:
        self.editor.show_config(self.old, reload=True)


class AppEditor(QWidget):
    back_requested = Signal()
    info_requested = Signal()
    export_requested = Signal()
    duplicate_requested = Signal()
    saved = Signal(object)  # the App as stored

    def __init__(self, services, bridge, app: App, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PageRoot")
        self.services, self.bridge, self.app = services, bridge, app
        self._config = copy.deepcopy(app.config)
        self.dirty = False
        self.undo_stack = QUndoStack(self)
        self.autosave = QTimer(self)
        self.autosave.setSingleShot(True)
        self.autosave.setInterval(AUTOSAVE_MS)
        self.autosave.timeout.connect(self.save_now)
        self.form = ConfigForm(app.mode)
        self.form.load(self._config)
        self.form.changed.connect(self._on_form_changed)
        self.form.undo_requested.connect(self.undo_stack.undo)
        self.form.redo_requested.connect(self.undo_stack.redo)
        panel_type = ChatPanel if app.mode in CHAT_MODES else CompletionPanel
        self.debug = panel_type(services, bridge, app, before_run=self.save_now)
        self.problems = ProblemsBanner(services, bridge, app.id, EDITOR_HINT)
        self.problems.watch(self)
        self.saved.connect(self.problems.check)  # a replacement model clears the banner as soon as it is saved
        self.problems.on_fix(self.focus_model)
        self._build()
        self._add_actions()
        self._set_status("saved", "Saved")
        self.bridge.call(self._read_models, self._models_read, lambda _m: None)

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        header = self._header()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self._form_panel())
        self.splitter.addWidget(self.debug)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 6)
        body = QVBoxLayout()
        body.setContentsMargins(12, 12, 12, 12)
        body.addWidget(self.problems)
        body.addWidget(self.splitter, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(header)
        column.addLayout(body, 1)

    def _header(self) -> QFrame:
        header = QFrame()
        header.setObjectName("EditorHeader")
        row = QHBoxLayout(header)
        row.setContentsMargins(12, 8, 16, 8)
        back = back_button("Apps", "Back to the app list (Ctrl+W)", self.back_requested)
        self.icon = AppIcon(32)
        self.name_label = label("", "subtitle")
        self.mode_label = label(MODE_LABELS.get(self.app.mode, self.app.mode.value), "badge")
        self.mode_label.setProperty("kind", "mode")
        info = button("Edit info…", tip="Name, icon and description")
        info.clicked.connect(self.info_requested)
        self.status = label("", "muted")
        self.undo_button, self.redo_button = self._tool("undo", "Undo (Ctrl+Z)"), self._tool("redo", "Redo (Ctrl+Shift+Z)")
        self.undo_button.clicked.connect(self.undo_stack.undo)
        self.redo_button.clicked.connect(self.undo_stack.redo)
        self.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        self.app_menu = app_menu_button(self, info=self.info_requested.emit,
                                        duplicate=self.duplicate_requested.emit, export=self.export_requested.emit)
        for w in (back, self.icon, self.name_label, self.mode_label, info, self.app_menu):
            row.addWidget(w)
        row.addStretch(1)
        for w in (self.status, self.undo_button, self.redo_button):
            row.addWidget(w)
        self.set_app_info(self.app)
        return header

    def _tool(self, name: str, tip: str) -> QToolButton:
        tool = QToolButton()
        tool.setIcon(icon(name))
        tool.setToolTip(tip)
        tool.setProperty("flat", True)
        return tool

    def _form_panel(self) -> QWidget:
        panel = QFrame()
        panel.setProperty("panel", True)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.form)
        self.form_scroll = scroll
        scroll.viewport().setAutoFillBackground(False)
        column = QVBoxLayout(panel)
        column.setContentsMargins(14, 14, 8, 14)
        column.addWidget(label("ORCHESTRATE", "section"))
        column.addWidget(scroll, 1)
        panel.setMinimumWidth(420)
        return panel

    def _add_actions(self) -> None:
        def add(keys: list, slot) -> QAction:
            action = QAction(self)
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
            return action

        add([QKeySequence(QKeySequence.StandardKey.Undo)], self.undo_stack.undo)
        add([QKeySequence("Ctrl+Shift+Z"), QKeySequence(QKeySequence.StandardKey.Redo)], self.undo_stack.redo)
        add([QKeySequence(Qt.Key.Key_Escape)], self.debug.stop)
        add([QKeySequence(QKeySequence.StandardKey.Save)], self.save_now)

    def focus_model(self) -> None:
        """The problems banner's "Choose a model": bring the picker into view with the cursor on it."""
        self.form_scroll.ensureWidgetVisible(self.form.model.model)
        self.form.model.model.setFocus(Qt.FocusReason.OtherFocusReason)

    def set_app_info(self, app: App) -> None:
        self.app = app
        self.icon.set_icon(app.icon, app.icon_background, app.name)
        self.name_label.setText(app.name)

    # -- editing -----------------------------------------------------------------------------------
    def config(self) -> dict:
        return copy.deepcopy(self._config)

    def _on_form_changed(self, key: str) -> None:
        new = self.form.apply(self._config)
        if new != self._config:
            self.undo_stack.push(ConfigCommand(self, copy.deepcopy(self._config), new, key))

    def show_config(self, config: dict, *, reload: bool) -> None:
        """Called by undo commands: make config current, show it, and schedule a save."""
        self._config = copy.deepcopy(config)
        if reload:
            self.form.load(self._config)
        self.dirty = True
        self._set_status("unsaved", "Unsaved changes")
        self.autosave.start()

    def save_now(self) -> bool:
        """Save at once (also before a debug run, so the run uses what is on screen). False on error."""
        self.autosave.stop()
        if not self.dirty:
            return True
        try:
            app = self.services.apps.update(self.app.id, config=self._config)
        except StudioError as exc:
            self.form.set_error(exc.message)
            self._set_status("error", "Not saved: fix the error above")
            self.status.setToolTip(exc.message)
            return False
        self.dirty = False
        self.app = app
        self.form.set_error("")
        self.status.setToolTip("")
        self._set_status("saved", f"Saved {time.strftime('%H:%M:%S')}")
        self.debug.set_app(app)
        self.saved.emit(app)
        return True

    def _set_status(self, kind: str, text: str) -> None:
        self.status.setText(text)
        set_role(self.status, "status", kind)

    # -- models ------------------------------------------------------------------------------------
    def _read_models(self):
        models = self.services.models.list()
        try:
            default = self.services.models.default_chat_model()
        except ModelError:
            default = None
        try:
            datasets = self.services.knowledge.list()
        except StudioError as exc:
            log.warning("knowledge bases not listed: %s", exc.message)
            datasets = []
        tools = self.services.chat.builtin_tools() if self.app.mode == AppMode.AGENT_CHAT else []
        return models, default, datasets, tools

    def _models_read(self, result) -> None:
        models, default, datasets, tools = result
        self.form.model.set_models(models, default)
        self.form.context.set_datasets(datasets)
        if self.form.agent:
            self.form.tools.set_tools(tools)

    def shutdown(self) -> None:
        """Keep the last edit and stop any generation; called before the editor closes."""
        self.save_now()
        self.debug.shutdown()
