"""DSL in the GUI: export from the app list and the app header, duplicate, drop-to-import and the problems banner."""

from __future__ import annotations

from pathlib import Path

import yaml
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from studio.core.app_config import default_config
from studio.core.entities import AppMode, ModelKind
from studio.ui.workflow.workflow_page import WorkflowPage

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "dsl-samples"
IF_ELSE = SAMPLES / "conditional_hello_branching_workflow.yml"
CHATFLOW = SAMPLES / "basic_chatflow.yml"
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
TIMEOUT = 10_000
GPT4O = "Model langgenius/openai/openai/gpt-4o (the app) is not installed; choose a replacement"


def context_action(page, app, text: str):
    page.grid.setCurrentItem(page.grid.item_for(app.id))
    page._context_menu(page.grid.visualItemRect(page.grid.item_for(app.id)).center())
    return next(a for a in page.context_menu.actions() if a.text() == text)


def menu_action(editor, text: str):
    return next(a for a in editor.app_menu.menu().actions() if a.text() == text)


def save_through_dialog(qtbot, exporter, target: Path):
    """Answer the save dialog the way a user does: type the name, press Save."""
    dialog = exporter.dialog
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    dialog.selectFile(str(target))
    with qtbot.waitSignal(exporter.exported, timeout=TIMEOUT) as blocker:
        dialog.accept()
    return blocker.args


def secret_workflow(services):
    data = yaml.safe_load(IF_ELSE.read_text(encoding="utf-8"))
    data["app"]["name"] = "Keeper"
    data["workflow"]["environment_variables"] = [
        {"id": "a1", "name": "api_key", "value": "s3cret-value", "value_type": "secret", "description": ""}]
    return services.dsl.import_text(yaml.safe_dump(data), force=True).app


def chat_app(services, app_name: str = "Helper", **model):
    config = default_config(AppMode.CHAT, "You are a helpful assistant.")
    config["model"].update(model)
    return services.apps.create(app_name, "chat", config=config)


def test_export_from_the_app_list_writes_what_the_service_exports(qtbot, window, services, tmp_path):
    app = chat_app(services, "Office helper")
    page = window.studio_page
    page.refresh()
    context_action(page, app, "Export DSL…").trigger()
    dialog = page.exporter.dialog
    assert isinstance(dialog, QFileDialog), "no secrets here, so the save dialog comes first"
    assert Path(dialog.selectedFiles()[0]).name == "Office helper.yml"
    target = tmp_path / "out" / "Office helper.yml"
    target.parent.mkdir()
    path, result = save_through_dialog(qtbot, page.exporter, target)
    assert Path(path) == target and result.warnings == []
    text = target.read_text(encoding="utf-8")
    assert text == services.dsl.export_text(app.id).text
    data = yaml.safe_load(text)
    assert (data["kind"], data["app"]["name"], data["app"]["mode"]) == ("app", "Office helper", "chat")
    assert page.toast.isVisible() and "Exported “Office helper” to Office helper.yml" in page.toast.text()
    page.export_button.click()  # the list's button, and the folder is remembered
    assert Path(page.exporter.dialog.selectedFiles()[0]) == target
    page.exporter.dialog.reject()
    window.activateWindow()  # the window manager's part once the dialogs are gone
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_E, CTRL | SHIFT)  # on the list: the selected app
    assert isinstance(page.exporter.dialog, QFileDialog) and page.exporter.dialog.isVisible()
    page.exporter.dialog.reject()


def test_export_from_an_open_workflow_asks_about_secrets(qtbot, window, services, tmp_path):
    app = secret_workflow(services)
    page = window.studio_page
    editor = page.open_app(app)
    assert isinstance(editor, WorkflowPage)
    menu_action(editor, "Export DSL…").trigger()
    box = page.exporter.dialog
    assert isinstance(box, QMessageBox) and "api_key" in box.text()
    assert box.defaultButton().text() == "Leave blank"
    qtbot.mouseClick(box.defaultButton(), Qt.MouseButton.LeftButton)
    save_through_dialog(qtbot, page.exporter, tmp_path / "blank.yml")
    [var] = yaml.safe_load((tmp_path / "blank.yml").read_text(encoding="utf-8"))["workflow"]["environment_variables"]
    assert var["name"] == "api_key" and var["value"] == ""
    assert page.toast.property("kind") == "warning" and "left blank" in page.toast.text()

    window.activateWindow()  # the window manager's part once the dialogs are gone
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_E, CTRL | SHIFT)
    box = page.exporter.dialog
    assert isinstance(box, QMessageBox), "Ctrl+Shift+E exports the open app"
    include = next(b for b in box.buttons() if b.text() == "Include secrets")
    qtbot.mouseClick(include, Qt.MouseButton.LeftButton)
    _path, result = save_through_dialog(qtbot, page.exporter, tmp_path / "full.yml")
    [var] = yaml.safe_load((tmp_path / "full.yml").read_text(encoding="utf-8"))["workflow"]["environment_variables"]
    assert var["value"] == "s3cret-value"
    assert any("plain text" in w for w in result.warnings)
    assert page.toast.isVisible() and "plain text" in page.toast.text() and not page.toast.timer.isActive()


def test_export_failure_is_a_plain_message(qtbot, window, services, tmp_path):
    app = chat_app(services)
    exporter = window.studio_page.exporter
    with qtbot.waitSignal(exporter.failed, timeout=TIMEOUT) as blocker:
        exporter.export_to(app, str(tmp_path / "missing" / "x.yml"))
    assert blocker.args[0] == f"The folder {tmp_path / 'missing'} does not exist"
    box = exporter.dialog
    assert isinstance(box, QMessageBox) and box.isVisible() and box.text() == blocker.args[0]
    assert "Traceback" not in box.text()
    box.accept()


def test_duplicate_from_the_list_and_the_header_opens_the_copy(qtbot, window, services):
    app = chat_app(services, "Office helper")
    page = window.studio_page
    page.refresh()
    with qtbot.waitSignal(page.duplicated, timeout=TIMEOUT) as blocker:
        context_action(page, app, "Duplicate").trigger()
    copy = blocker.args[0]
    assert copy.name == "Office helper (2)" and copy.mode == AppMode.CHAT
    assert copy.config == services.apps.get(app.id).config
    assert page.editor is not None and page.editor.app.id == copy.id and page.currentWidget() is page.editor
    assert page.grid.current_app().id == copy.id
    with qtbot.waitSignal(page.duplicated, timeout=TIMEOUT) as blocker:
        menu_action(page.editor, "Duplicate").trigger()
    assert blocker.args[0].name == "Office helper (2) (2)" and page.editor.app.id == blocker.args[0].id
    page.close_editor()
    page.grid.setCurrentItem(page.grid.item_for(app.id))
    page.grid.setFocus()
    with qtbot.waitSignal(page.duplicated, timeout=TIMEOUT) as blocker:
        qtbot.keyClick(page.grid, Qt.Key.Key_D, CTRL)
    assert blocker.args[0].name == "Office helper (3)"
    assert sorted(a.name for a in services.apps.list()) == [
        "Office helper", "Office helper (2)", "Office helper (2) (2)", "Office helper (3)"]


def test_dropping_a_sample_on_the_app_list_imports_it(qtbot, window, services):
    page = window.studio_page
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(CHATFLOW))])
    target = page.grid.viewport()
    enter = QDragEnterEvent(QPoint(30, 30), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted() and page.drop_overlay.isVisible(), "the list does not show where the file will land"
    QApplication.sendEvent(target, QDragLeaveEvent())
    assert not page.drop_overlay.isVisible()
    QApplication.sendEvent(target, enter)
    drop = QDropEvent(QPointF(30, 30), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(page.importer.imported, timeout=TIMEOUT) as blocker:
        QApplication.sendEvent(target, drop)
    assert drop.isAccepted() and not page.drop_overlay.isVisible()
    app = blocker.args[0].app
    assert (app.name, app.mode) == ("basic_chatflow", AppMode.ADVANCED_CHAT)
    assert page.grid.current_app().id == app.id
    box = page.importer.dialog  # the sample is an older DSL version, so Dify's warning is shown
    assert isinstance(box, QMessageBox) and "older than" in box.informativeText()
    box.accept()


def test_problems_banner_shows_until_an_installed_model_is_chosen(qtbot, window, services):
    app = chat_app(services, "Imported bot", provider="langgenius/openai/openai", name="gpt-4o")
    assert services.dsl.problems(app.id) == [GPT4O]
    editor = window.studio_page.open_app(app)
    qtbot.waitUntil(lambda: editor.problems.isVisible(), timeout=TIMEOUT)
    assert GPT4O in editor.problems.items.text()
    combo = editor.form.model.model
    assert editor.problems.fix_button.isVisible()
    qtbot.mouseClick(editor.problems.fix_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(combo.hasFocus)
    installed = next(m for m in services.models.list() if m.kind == ModelKind.CHAT and not m.error)
    qtbot.waitUntil(lambda: combo.findData(installed.id) >= 0, timeout=TIMEOUT)
    with qtbot.waitSignal(editor.problems.checked, timeout=TIMEOUT) as blocker:
        combo.setCurrentIndex(combo.findData(installed.id))  # auto-saves, then checks again
    assert blocker.args[0] == [] and not editor.problems.isVisible()
    assert services.apps.get(app.id).config["model"]["name"] == installed.id


def test_problems_banner_on_a_chatflow_names_the_node(qtbot, window, services):
    data = yaml.safe_load(CHATFLOW.read_text(encoding="utf-8"))
    llm = next(n for n in data["workflow"]["graph"]["nodes"] if n["data"]["type"] == "llm")
    llm["data"]["model"].update(provider="langgenius/openai/openai", name="gpt-4o")
    app = services.dsl.import_text(yaml.safe_dump(data), force=True).app
    page = window.studio_page.open_app(app)
    qtbot.waitUntil(lambda: page.problems.isVisible(), timeout=TIMEOUT)
    assert ("Model langgenius/openai/openai/gpt-4o (node LLM) is not installed; choose a replacement"
            in page.problems.items.text())
    assert not page.problems.fix_button.isVisible(), "a graph's models are not picked on this page"
    ok = window.studio_page.open_app(services.dsl.import_file(CHATFLOW).app)
    with qtbot.waitSignal(ok.problems.checked, timeout=TIMEOUT) as blocker:
        ok.problems.check()
    assert blocker.args[0] == [] and not ok.problems.isVisible()
