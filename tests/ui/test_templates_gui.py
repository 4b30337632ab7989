"""Create from template in the window: the empty list's cards, the gallery from the Create app menu (keyboard and
mouse), the Agent mode of the blank dialog, and broken templates shown as messages, not tracebacks."""

from __future__ import annotations

import shutil
from pathlib import Path

import shiboken6
import yaml
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from studio.core.entities import AppMode
from studio.ui.template_gallery import TemplateGallery
from studio.ui.workflow.workflow_page import WorkflowPage

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
TIMEOUT = 10_000
LEFT = Qt.MouseButton.LeftButton


def click_card(qtbot, grid, row: int) -> None:
    rect = grid.visualItemRect(grid.item(row))
    qtbot.mouseClick(grid.viewport(), LEFT, pos=rect.center())


def open_gallery(qtbot, page) -> TemplateGallery:
    [action] = [a for a in page.create_button.menu().actions() if a.text().startswith("From template…")]
    action.trigger()
    gallery = page.dialog
    assert isinstance(gallery, TemplateGallery) and gallery.isVisible()
    qtbot.waitUntil(lambda: gallery.grid.count() > 0, timeout=TIMEOUT)
    return gallery


def test_the_empty_list_invites_with_templates_and_one_click_opens_the_app(qtbot, window, services):
    page = window.studio_page
    starter = page.template_starter
    qtbot.waitUntil(starter.isVisible, timeout=TIMEOUT)
    assert page.empty_label.isVisible() and "template" in page.empty_label.text()
    cards = starter.grid.templates()
    assert [t.mode for t in cards] == [AppMode.CHAT, AppMode.COMPLETION, AppMode.AGENT_CHAT, AppMode.ADVANCED_CHAT,
                                       AppMode.WORKFLOW]
    assert starter.grid.currentItem() is None, "nothing is preselected on the list"
    row = next(i for i, t in enumerate(cards) if t.id == "workflow")
    with qtbot.waitSignal(page.templates.created, timeout=TIMEOUT):
        click_card(qtbot, starter.grid, row)
    assert isinstance(page.editor, WorkflowPage) and window.windowTitle().startswith("Title maker")
    [app] = services.apps.list()
    assert (app.name, app.mode) == ("Title maker", AppMode.WORKFLOW)
    page.close_editor()
    assert not starter.isVisible() and [a.name for a in page.grid.apps()] == ["Title maker"]


def test_gallery_from_the_create_menu_is_keyboard_driven(qtbot, window, services):
    page = window.studio_page
    assert [a.text() for a in page.create_button.menu().actions()] == ["Blank app…\tCtrl+N",
                                                                       "From template…\tCtrl+Shift+N"]
    gallery = open_gallery(qtbot, page)
    grid = gallery.grid
    assert grid.hasFocus() or gallery.focusWidget() is grid
    assert grid.current_template().id == "chatbot", "Enter works at once on the first card"
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    assert grid.current_template().id == "agent"
    with qtbot.waitSignal(page.templates.created, timeout=TIMEOUT) as blocker:
        qtbot.keyClick(grid, Qt.Key.Key_Return)
    assert blocker.args[0].app.mode == AppMode.AGENT_CHAT and blocker.args[0].warnings == []
    assert not gallery.isVisible() and page.editor is not None and page.editor.app.name == "Time and maths agent"
    assert [a.name for a in services.apps.list()] == ["Time and maths agent"]


def test_escape_closes_the_gallery_without_making_anything(qtbot, window, services):
    page = window.studio_page
    page.grid.setFocus()
    qtbot.keyClick(page.grid, Qt.Key.Key_N, CTRL | SHIFT)
    gallery = page.dialog
    assert isinstance(gallery, TemplateGallery)
    qtbot.waitUntil(lambda: gallery.grid.count() == 5, timeout=TIMEOUT)
    qtbot.keyClick(gallery.grid, Qt.Key.Key_Escape)
    assert gallery.result() == QDialog.DialogCode.Rejected and not gallery.isVisible()
    assert services.apps.list() == [] and page.editor is None
    qtbot.waitUntil(lambda: not shiboken6.isValid(gallery), timeout=TIMEOUT)
    with qtbot.waitSignal(page.templates.created, timeout=TIMEOUT):  # the closed gallery must not be called back
        click_card(qtbot, page.template_starter.grid, 0)
    assert page.editor is not None and page.editor.app.name == "Friendly chatbot"


def test_a_second_app_from_the_same_template_gets_a_free_name(qtbot, window, services):
    page = window.studio_page
    services.templates.create_app("chatbot")
    page.refresh()
    assert not page.template_starter.isVisible(), "the invitation is only for an empty list"
    gallery = open_gallery(qtbot, page)
    with qtbot.waitSignal(page.templates.created, timeout=TIMEOUT) as blocker:
        click_card(qtbot, gallery.grid, 0)
    assert blocker.args[0].app.name == "Friendly chatbot (2)"
    assert page.grid.current_app().id == blocker.args[0].app.id


def test_the_blank_dialog_offers_agent_and_the_templates(qtbot, window, services):
    page = window.studio_page
    dialog = page.create_app()
    assert [b.text() for b in dialog.modes.buttons()] == ["Chatbot", "Agent", "Text generator"]
    qtbot.mouseClick(dialog.templates_button, LEFT)
    assert not dialog.isVisible() and isinstance(page.dialog, TemplateGallery)
    page.dialog.reject()
    dialog = page.create_app()
    dialog.set_mode("agent-chat")
    qtbot.keyClicks(dialog.name, "Helper agent")
    qtbot.mouseClick(dialog.ok_button, LEFT)
    [app] = services.apps.list()
    assert app.mode == AppMode.AGENT_CHAT and page.editor is not None
    assert app.config["agent_mode"]["enabled"] is True and app.config["agent_mode"]["tools"] == []


def test_broken_templates_are_named_and_a_failed_import_leaves_the_gallery_usable(qtbot, window, services, tmp_path):
    shutil.copy(TEMPLATES / "chatbot.yml", tmp_path / "chatbot.yml")
    (tmp_path / "broken.yml").write_text("app: [unclosed\n", encoding="utf-8")
    bad = yaml.safe_load((TEMPLATES / "workflow.yml").read_text(encoding="utf-8"))
    bad["workflow"]["graph"]["nodes"][1]["data"]["type"] = "warp-drive"
    (tmp_path / "bad-graph.yml").write_text(yaml.safe_dump(bad), encoding="utf-8")
    services.templates.folders = [tmp_path]
    page = window.studio_page
    gallery = open_gallery(qtbot, page)
    status = gallery.picker.status
    assert status.isVisible() and "Template broken.yml is not a valid Dify DSL file" in status.text()
    assert [t.id for t in gallery.grid.templates()] == ["chatbot", "bad-graph"]
    with qtbot.waitSignal(page.templates.failed, timeout=TIMEOUT) as blocker:
        click_card(qtbot, gallery.grid, 1)
    assert blocker.args[0].startswith("Template bad-graph.yml could not be imported")
    assert gallery.isVisible() and gallery.grid.isEnabled() and status.text() == blocker.args[0]
    assert "Traceback" not in status.text() and services.apps.list() == []
