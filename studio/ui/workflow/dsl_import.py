"""Importing Dify DSL files: from a file dialog, a dropped .yml file or pasted text, on a worker thread."""

from __future__ import annotations

import logging
from pathlib import Path

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFileDialog, QMessageBox, QPlainTextEdit, QVBoxLayout, QWidget,
)

from studio.ui.theme import label
from studio.ui.workflow.node_detail import mono_font

log = logging.getLogger(__name__)
DSL_SUFFIXES = (".yml", ".yaml")
CONFIRM_MARK = "Confirm to import anyway"


def _showing(dialog: QWidget | None) -> bool:
    return dialog is not None and shiboken6.isValid(dialog) and dialog.isVisible()


def dropped_files(event) -> list[str]:
    """The local .yml/.yaml files a drag carries."""
    mime = event.mimeData()
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile().lower().endswith(DSL_SUFFIXES)]


class PasteDslDialog(QDialog):
    """A text box for a DSL copied from Dify; errors appear inside it so the text can be fixed."""

    submitted = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Paste DSL")
        self.resize(640, 520)
        self.text = QPlainTextEdit()
        self.text.setFont(mono_font())
        self.text.setPlaceholderText("app:\n  mode: workflow\n  name: …\nkind: app\nversion: 0.3.1\nworkflow: …")
        self.error = label("", "error", wrap=True)
        self.error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setProperty("primary", True)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        column = QVBoxLayout(self)
        column.addWidget(label("Paste the YAML of a Dify app (DSL) exported from Dify or Studio.", "muted"))
        column.addWidget(self.text, 1)
        column.addWidget(self.error)
        column.addWidget(self.buttons)

    def _submit(self) -> None:
        text = self.text.toPlainText()
        if not text.strip():
            self.show_error("Paste the DSL text first.")
            return
        self.import_button.setEnabled(False)
        self.error.hide()
        self.submitted.emit(text)

    def show_error(self, message: str) -> None:
        self.import_button.setEnabled(True)
        self.error.setText(message)
        self.error.show()


class DslImporter(QObject):
    """Every import goes through services.dsl on a worker; results and questions come back as dialogs."""

    imported = Signal(object)  # ImportResult
    failed = Signal(str)

    def __init__(self, services, bridge, window: QWidget) -> None:
        super().__init__(window)
        self.services, self.bridge, self.window = services, bridge, window
        self.dialog: QWidget | None = None  # the last dialog shown, for keyboard users and tests
        self.busy = 0

    # -- entry points ------------------------------------------------------------------------------
    def choose_file(self) -> QFileDialog:
        dialog = QFileDialog(self.window, "Import DSL", str(Path.home()), "Dify DSL (*.yml *.yaml);;All files (*)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.fileSelected.connect(self.import_path)
        return self._show(dialog)

    def paste(self) -> PasteDslDialog:
        dialog = PasteDslDialog(self.window)
        dialog.submitted.connect(lambda text: self.import_text(text, origin=dialog))
        return self._show(dialog)

    def import_path(self, path: str, force: bool = False) -> None:
        dsl = self.services.dsl
        self._run(lambda: dsl.import_file(path, force=force), lambda: self.import_path(path, True), None)

    def import_text(self, text: str, force: bool = False, origin: PasteDslDialog | None = None) -> None:
        dsl = self.services.dsl
        self._run(lambda: dsl.import_text(text, force=force), lambda: self.import_text(text, True, origin), origin)

    # -- internals ---------------------------------------------------------------------------------
    def _run(self, work, again, origin: PasteDslDialog | None) -> None:
        self.busy += 1
        self.bridge.call(work, lambda result: self._done(result, origin),
                         lambda message: self._failed(message, again, origin))

    def _done(self, result, origin: PasteDslDialog | None) -> None:
        self.busy -= 1
        if not shiboken6.isValid(self):
            return
        if _showing(origin):
            origin.accept()
        log.info("imported %s (%s) with %d warning(s)", result.app.name, result.app.mode.value, len(result.warnings))
        self.imported.emit(result)
        if result.warnings:
            text = f"“{result.app.name}” was imported, with {len(result.warnings)} warning(s):"
            box = QMessageBox(QMessageBox.Icon.Information, "DSL imported", text, QMessageBox.StandardButton.Ok,
                              self.window)
            box.setInformativeText("\n".join(f"• {w}" for w in result.warnings))
            self._show(box)

    def _failed(self, message: str, again, origin: PasteDslDialog | None) -> None:
        self.busy -= 1
        if not shiboken6.isValid(self):
            return
        if CONFIRM_MARK in message:
            self._confirm(message, again, origin)
            return
        self.failed.emit(message)
        if _showing(origin):
            origin.show_error(message)
            return
        self._show(QMessageBox(QMessageBox.Icon.Warning, "Could not import the DSL", message,
                               QMessageBox.StandardButton.Ok, self.window))

    def _confirm(self, message: str, again, origin: PasteDslDialog | None) -> None:
        """Dify's version check: a DSL from a newer Dify may lose fields, so the user decides."""
        reason = message.split(CONFIRM_MARK)[0].rstrip(" .")
        box = QMessageBox(QMessageBox.Icon.Question, "Import this DSL?", reason + ".",
                          QMessageBox.StandardButton.Cancel, origin if _showing(origin) else self.window)
        box.setInformativeText("Some parts may not work as they did in Dify. Import it anyway?")
        confirm = box.addButton("Import anyway", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(confirm)

        def answered(clicked) -> None:
            if clicked is confirm:
                again()
            elif _showing(origin):
                origin.show_error("Not imported.")
            else:
                self.failed.emit(reason)

        box.buttonClicked.connect(answered)
        self._show(box)

    def _show(self, dialog):
        # open(), not exec(): the window stays responsive and tests can drive the dialog.
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: self._forget(dialog))
        dialog.open()
        return dialog

    def _forget(self, dialog: QWidget) -> None:
        if self.dialog is dialog:
            self.dialog = None


class DslDropFilter(QObject):
    """Lets .yml files be dropped on the widgets it watches (the Studio page and its app grid); `on_hover(bool)`
    is told when such a drag comes and goes, so the page can highlight where it will land."""

    def __init__(self, importer: DslImporter, widgets: list[QWidget], on_hover=None) -> None:
        super().__init__(importer)
        self.importer = importer
        self.on_hover = on_hover or (lambda _active: None)
        for widget in widgets:
            widget.setAcceptDrops(True)
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if dropped_files(event):
                event.acceptProposedAction()
                self.on_hover(True)
                return True
        elif kind == QEvent.Type.DragLeave:
            self.on_hover(False)
        elif kind == QEvent.Type.Drop:
            self.on_hover(False)
            files = dropped_files(event)
            if files:
                event.acceptProposedAction()
                for path in files:
                    self.importer.import_path(path)
                return True
        return super().eventFilter(watched, event)
