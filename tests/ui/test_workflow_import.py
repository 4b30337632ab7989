"""Importing Dify DSL on the Studio page: file, drop and paste, warnings, errors and the version question."""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

SAMPLES = Path("/work/shared/dsl-samples")
IF_ELSE = SAMPLES / "conditional_hello_branching_workflow.yml"
CHATFLOW = SAMPLES / "test_streaming_conversation_variables.yml"


def test_import_file_adds_a_card_with_its_mode_and_shows_warnings(qtbot, window, services):
    page = window.studio_page
    importer = page.importer
    for path, mode in ((IF_ELSE, "Workflow"), (CHATFLOW, "Chatflow")):
        with qtbot.waitSignal(importer.imported, timeout=10_000) as blocker:
            importer.import_path(str(path))
        app = blocker.args[0].app
        item = page.grid.item_for(app.id)
        assert item is not None and item.isSelected(), "the imported app is not in the grid"
        assert item.toolTip() == f"{app.name}\n{mode}"
        box = importer.dialog
        assert isinstance(box, QMessageBox) and box.isVisible()
        assert "older than 0.5.0" in box.informativeText(), "the DSL's warnings were not shown"
        box.accept()
    assert [a.name for a in page.grid.apps()] == [a.name for a in services.apps.list()]
    assert page.count_label.text() == "2 apps"


def test_bad_dsl_shows_the_error_with_line_and_column_and_adds_nothing(qtbot, window, services, tmp_path):
    bad = tmp_path / "broken.yml"
    bad.write_text("app:\n  name: broken\n  mode: [workflow\nkind: app\n", encoding="utf-8")
    importer = window.studio_page.importer
    with qtbot.waitSignal(importer.failed, timeout=10_000) as blocker:
        importer.import_path(str(bad))
    message = blocker.args[0]
    assert message.startswith("Invalid YAML format at line ") and ", column " in message
    box = importer.dialog
    assert isinstance(box, QMessageBox) and box.isVisible() and box.text() == message
    assert "Traceback" not in box.text()
    assert services.apps.list() == [] and window.studio_page.grid.count() == 0


def test_dropping_a_yml_file_on_the_studio_page_imports_it(qtbot, window, services):
    page = window.studio_page
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(IF_ELSE))])
    target = page.grid.viewport()
    enter = QDragEnterEvent(QPoint(40, 40), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "a .yml file is not accepted as a drop"
    drop = QDropEvent(QPointF(40, 40), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(page.importer.imported, timeout=10_000):
        QApplication.sendEvent(target, drop)
    assert drop.isAccepted()
    assert [a.name for a in page.grid.apps()] == ["if-else"]


def test_paste_dsl_asks_before_importing_a_newer_version(qtbot, window, services):
    importer = window.studio_page.importer
    dialog = importer.paste()
    dialog.text.setPlainText("app: {mode: workflow\n")
    with qtbot.waitSignal(importer.failed, timeout=10_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.error.text().startswith("Invalid YAML format at line ")
    dialog.text.setPlainText(IF_ELSE.read_text(encoding="utf-8").replace("version: 0.3.1", "version: 0.9.0"))
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(importer.dialog, QMessageBox) and importer.dialog.isVisible(), timeout=10_000)
    question = importer.dialog
    assert question.windowTitle() == "Import this DSL?" and "0.9.0" in question.text()
    assert services.apps.list() == [], "nothing may be imported before the user confirms"
    confirm = next(b for b in question.buttons() if b.text() == "Import anyway")
    with qtbot.waitSignal(importer.imported, timeout=10_000):
        qtbot.mouseClick(confirm, Qt.MouseButton.LeftButton)
    assert [a.name for a in services.apps.list()] == ["if-else"]
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible())
