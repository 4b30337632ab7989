"""Exporting an app as a Dify DSL file: the secrets question, a save dialog, the write on a worker, and a toast."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from studio.core.entities import App
from studio.services.workflows import GRAPH_MODES
from studio.ui.dsl.toast import Toast
from studio.ui.window_state import ui_settings

log = logging.getLogger(__name__)
FOLDER_KEY = "dsl/export_folder"
UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def secret_names(app: App) -> list[str]:
    """The secret environment variables that hold a value (Dify blanks these unless asked to keep them)."""
    if app.mode not in GRAPH_MODES:
        return []
    workflow = (app.config or {}).get("workflow") or {}
    return [str(v.get("name") or "?") for v in workflow.get("environment_variables") or []
            if isinstance(v, dict) and v.get("value_type") == "secret" and v.get("value")]


def file_name(app_name: str) -> str:
    """"<app name>.yml", without the characters file systems refuse."""
    stem = UNSAFE.sub("-", app_name).strip(" .-") or "app"
    return f"{stem}.yml"


class DslExporter(QObject):
    """One per Studio page. Each step opens a dialog with open() rather than exec(), so the window stays live
    and tests can answer it; `dialog` is the step waiting for the user."""

    exported = Signal(str, object)  # path, ExportResult
    failed = Signal(str)

    def __init__(self, services, bridge, window: QWidget, toast: Toast) -> None:
        super().__init__(window)
        self.services, self.bridge, self.window, self.toast = services, bridge, window, toast
        self.dialog: QWidget | None = None
        self.state = ui_settings(services)

    def export_app(self, app: App) -> QWidget:
        """Start exporting `app` (as stored: callers save pending edits first)."""
        names = secret_names(app)
        if names:
            return self._ask_secrets(app, names)
        return self.choose_path(app, include_secrets=False)

    def _ask_secrets(self, app: App, names: list[str]) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Question, "Export secrets?",
                          f"“{app.name}” has secret environment variables: {', '.join(names)}.",
                          QMessageBox.StandardButton.Cancel, self.window)
        box.setInformativeText("Leave them blank in the file (recommended), or include their values? Anyone "
                               "who gets the file can read included secrets.")
        blank = box.addButton("Leave blank", QMessageBox.ButtonRole.AcceptRole)
        include = box.addButton("Include secrets", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(blank)

        def answered(clicked) -> None:
            if clicked is blank or clicked is include:
                self.choose_path(app, include_secrets=clicked is include)

        box.buttonClicked.connect(answered)
        return self._show(box)

    def choose_path(self, app: App, include_secrets: bool) -> QFileDialog:
        folder = Path(str(self.state.value(FOLDER_KEY, "") or Path.home()))
        if not folder.is_dir():
            folder = Path.home()
        dialog = QFileDialog(self.window, "Export DSL", str(folder / file_name(app.name)),
                             "Dify DSL (*.yml *.yaml);;All files (*)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix("yml")
        dialog.selectFile(file_name(app.name))
        dialog.fileSelected.connect(lambda path: self.export_to(app, path, include_secrets))
        return self._show(dialog)

    def export_to(self, app: App, path: str, include_secrets: bool = False) -> None:
        """Write the file on a worker; the toast or an error dialog reports back."""
        dsl, app_id = self.services.dsl, app.id
        self.bridge.call(lambda: dsl.export_file(app_id, path, include_secrets=include_secrets),
                         lambda result: self._done(app, path, result), self._failed)

    def _done(self, app: App, path: str, result) -> None:
        if not shiboken6.isValid(self):
            return
        self.state.setValue(FOLDER_KEY, str(Path(path).parent))
        log.info("exported %s to %s with %d warning(s)", app.name, path, len(result.warnings))
        self.exported.emit(path, result)
        title = f"Exported “{app.name}” to {Path(path).name}"
        if result.warnings:
            self.toast.show_message(title, result.warnings, kind="warning", seconds=None)
        else:
            self.toast.show_message(title)

    def _failed(self, message: str) -> None:
        if not shiboken6.isValid(self):
            return
        self.failed.emit(message)
        self._show(QMessageBox(QMessageBox.Icon.Warning, "Could not export the DSL", message,
                               QMessageBox.StandardButton.Ok, self.window))

    def _show(self, dialog):
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: self._forget(dialog))
        dialog.open()
        return dialog

    def _forget(self, dialog: QWidget) -> None:
        if self.dialog is dialog:
            self.dialog = None
