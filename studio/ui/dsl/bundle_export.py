"""Exporting an app as a server bundle from the window: a folder dialog, the question before an old bundle is
replaced, the export on a worker with a progress dialog and Cancel, and a toast or an error message at the end."""

from __future__ import annotations

import logging
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

from studio.core.cancel import CancelToken
from studio.core.entities import App
from studio.ui.dsl.exporter import file_name
from studio.ui.dsl.toast import Toast
from studio.ui.window_state import ui_settings

log = logging.getLogger(__name__)
FOLDER_KEY = "bundle/export_folder"
MANIFEST = "bundle.json"  # what marks a folder as a server bundle (the service's MANIFEST)


def target_for(app_name: str, folder: Path) -> Path:
    """Where the bundle goes: an empty folder, or an earlier bundle (replaced after asking), takes it as it is;
    otherwise a new "<app>-server" folder inside it (the first free one, or an earlier bundle of that name)."""
    if folder.is_dir() and (not any(folder.iterdir()) or (folder / MANIFEST).is_file()):
        return folder
    stem = file_name(app_name).removesuffix(".yml") + "-server"
    candidate, n = folder / stem, 2
    while candidate.exists() and any(candidate.iterdir()) and not (candidate / MANIFEST).is_file():
        candidate, n = folder / f"{stem}-{n}", n + 1
    return candidate


class BundleExporter(QObject):
    """One per Studio page; `dialog` is the step waiting for the user, `progress` the running export's dialog."""

    exported = Signal(str, object)  # path, BundleResult
    failed = Signal(str)

    def __init__(self, services, bridge, window: QWidget, toast: Toast) -> None:
        super().__init__(window)
        self.services, self.bridge, self.window, self.toast = services, bridge, window, toast
        self.dialog: QWidget | None = None
        self.progress: QProgressDialog | None = None
        self.state = ui_settings(services)

    def export_app(self, app: App) -> QFileDialog:
        """Start with the folder dialog (callers save pending edits first)."""
        folder = Path(str(self.state.value(FOLDER_KEY, "") or Path.home()))
        dialog = QFileDialog(self.window, f"Export “{app.name}” as a server bundle: choose a folder",
                             str(folder if folder.is_dir() else Path.home()))
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(lambda path: self.choose_target(app, Path(path)))
        return self._show(dialog)

    def choose_target(self, app: App, folder: Path) -> QWidget | None:
        target = target_for(app.name, folder)
        if (target / MANIFEST).is_file():
            return self._ask_replace(app, target)
        self.export_to(app, target)
        return self.progress

    def _ask_replace(self, app: App, target: Path) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Question, "Replace the server bundle?",
                          f"{target} already holds a server bundle.", QMessageBox.StandardButton.Cancel, self.window)
        box.setInformativeText("Replace it with a new export of “{}”? A Studio home that a local `studio serve "
                               "--bundle` made inside it is kept.".format(app.name))
        replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
        box.buttonClicked.connect(lambda clicked: clicked is replace and self.export_to(app, target, force=True))
        return self._show(box)

    def export_to(self, app: App, target: Path, force: bool = False) -> None:
        """Export on a worker; its progress reaches the dialog through the bridge, and Cancel stops it between
        steps (nothing is left behind: the service writes into a temporary folder)."""
        token = CancelToken()
        progress = QProgressDialog(f"Exporting “{app.name}”…", "Cancel", 0, 1, self.window)
        progress.setWindowTitle("Export server bundle")
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        progress.setMinimumDuration(0)
        progress.canceled.connect(lambda: token.cancel("cancelled in the window"))
        self.progress = progress
        progress.open()
        bundles, app_id = self.services.bundles, app.id
        report = lambda p: self.bridge.post(self._step, progress, p)  # noqa: E731 - called on the worker
        self.bridge.call(lambda: bundles.export(app_id, target, force=force, on_progress=report, cancel=token),
                         lambda result: self._done(progress, result),
                         lambda message: self._failed(progress, message, token.cancelled))

    def _step(self, progress: QProgressDialog, p) -> None:
        if shiboken6.isValid(progress) and not progress.wasCanceled():
            progress.setMaximum(p.total)
            progress.setValue(p.done)
            progress.setLabelText(p.step)

    def _done(self, progress: QProgressDialog, result) -> None:
        self._close(progress)
        if not shiboken6.isValid(self):
            return
        self.state.setValue(FOLDER_KEY, str(result.path.parent))
        log.info("exported %s as a server bundle to %s", result.app.name, result.path)
        self.exported.emit(str(result.path), result)
        title = f"Exported the server bundle of “{result.app.name}” to {result.path}"
        hint = f"Run it with `docker compose up --build` there, or `studio serve --bundle {result.path}`"
        if result.warnings:
            self.toast.show_message(title, [hint, *result.warnings], kind="warning", seconds=None)
        else:
            self.toast.show_message(title, [hint], seconds=8)

    def _failed(self, progress: QProgressDialog, message: str, cancelled: bool) -> None:
        self._close(progress)
        if not shiboken6.isValid(self):
            return
        self.failed.emit(message)
        if cancelled:
            self.toast.show_message("The server bundle export was cancelled; nothing was written")
            return
        self._show(QMessageBox(QMessageBox.Icon.Warning, "Could not export the server bundle", message,
                               QMessageBox.StandardButton.Ok, self.window))

    def _close(self, progress: QProgressDialog) -> None:
        if shiboken6.isValid(progress):
            progress.close()
            progress.deleteLater()
        if self.progress is progress:
            self.progress = None

    def _show(self, dialog):
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: self._forget(dialog))
        dialog.open()
        return dialog

    def _forget(self, dialog: QWidget) -> None:
        if self.dialog is dialog:
            self.dialog = None
