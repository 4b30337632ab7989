"""The main window and its pages: navigation, the app list, Logs, Settings, remembered state, and error handling."""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from studio.core.entities import MessageStatus
from studio.ui.errors import ExceptionHook
from studio.ui.main_window import MainWindow

CTRL = Qt.KeyboardModifier.ControlModifier


def test_cold_start_is_fast_and_loads_no_model(qtbot, services, make_app):
    make_app("Existing")
    started = time.perf_counter()
    window = MainWindow(services)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert time.perf_counter() - started < 1.5
    assert [a.name for a in window.studio_page.grid.apps()] == ["Existing"]
    assert not [t for t in threading.enumerate() if t.name.startswith("model-")], "a model was loaded at start-up"
    assert [window.nav.item(i).text() for i in range(window.nav.count())] == ["Studio", "Knowledge", "Models", "Logs",
                                                                           "Settings", "API Access"]
    window.close()


def test_pages_switch_with_ctrl_number(qtbot, window):
    for key, page in ((Qt.Key.Key_4, "logs"), (Qt.Key.Key_5, "settings"), (Qt.Key.Key_3, "models"),
                      (Qt.Key.Key_2, "knowledge"), (Qt.Key.Key_1, "studio")):
        qtbot.keyClick(window, key, CTRL)
        assert window.current_page() == page
        assert window.stack.currentWidget() is window.pages[page]


def test_window_state_is_remembered(qtbot, services, tmp_path):
    first = MainWindow(services)
    qtbot.addWidget(first)
    first.show()
    first.resize(1111, 777)
    first.show_page("logs")
    first.close()
    assert (tmp_path / "ui.ini").is_file(), "state must live in the Studio home"
    second = MainWindow(services)
    qtbot.addWidget(second)
    second.show()
    assert second.current_page() == "logs"
    assert (second.width(), second.height()) == (1111, 777)
    second.close()


def test_app_list_create_rename_duplicate_delete(qtbot, window, services):
    page = window.studio_page
    assert page.empty_label.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_N, CTRL)
    dialog = page.dialog
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.error.text() == "App name must not be empty" and dialog.isVisible()
    qtbot.keyClicks(dialog.name, "Helper")
    dialog.description.setPlainText("Answers questions about the office.")
    dialog.icon_edit.setText("🦉")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert page.editor is not None and window.windowTitle().startswith("Helper")
    qtbot.keyClick(window, Qt.Key.Key_W, CTRL)
    assert page.editor is None and page.currentIndex() == 0
    [app] = page.grid.apps()
    assert (app.name, app.icon, app.description) == ("Helper", "🦉", "Answers questions about the office.")

    page.grid.setCurrentRow(0)
    qtbot.mouseClick(page.rename_button, Qt.MouseButton.LeftButton)
    page.dialog.setTextValue("Office helper")
    page.dialog.accept()
    assert services.apps.get(app.id).name == "Office helper"

    page._context_menu(page.grid.visualItemRect(page.grid.item(0)).center())
    duplicate = next(a for a in page.context_menu.actions() if a.text() == "Duplicate")
    with qtbot.waitSignal(page.duplicated, timeout=10_000):  # an export imported again, on a worker
        duplicate.trigger()
    assert sorted(a.name for a in services.apps.list()) == ["Office helper", "Office helper (2)"]
    assert page.editor is not None and page.editor.app.name == "Office helper (2)"  # the copy opens
    qtbot.keyClick(window, Qt.Key.Key_W, CTRL)

    copy = next(a for a in page.grid.apps() if a.name.endswith("(2)"))
    page.grid.setCurrentItem(page.grid.item_for(copy.id))
    qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
    box: QMessageBox = page.dialog
    cancel = box.button(QMessageBox.StandardButton.Cancel)
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert len(services.apps.list()) == 2
    page.grid.setCurrentItem(page.grid.item_for(copy.id))
    qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
    delete = next(b for b in page.dialog.buttons() if b.text() == "Delete")
    qtbot.mouseClick(delete, Qt.MouseButton.LeftButton)
    assert [a.name for a in services.apps.list()] == ["Office helper"]
    assert [a.name for a in page.grid.apps()] == ["Office helper"]


def test_logs_page_lists_filters_and_shows_a_message(qtbot, window, services, make_app):
    chat = make_app("Logged", max_tokens=8)
    other = make_app("Quiet", max_tokens=8)
    for app, query in ((chat, "Say hi"), (other, "Say bye")):
        events = list(services.chat.send(app.id, query))
        assert events[-1].message.status == MessageStatus.NORMAL
    qtbot.keyClick(window, Qt.Key.Key_4, CTRL)
    page = window.logs_page
    qtbot.waitUntil(lambda: page.table.rowCount() == 2 and not page.loading, timeout=10_000)
    assert {page.table.item(r, 1).text() for r in range(2)} == {"Logged", "Quiet"}
    page.app_filter.setCurrentIndex(page.app_filter.findData(chat.id))
    qtbot.waitUntil(lambda: page.table.rowCount() == 1 and not page.loading, timeout=10_000)
    assert page.table.item(0, 2).text() == "Say hi" and page.table.item(0, 4).text() == "normal"
    page.table.selectRow(0)
    detail = page.detail.toPlainText()
    message = services.conversations.recent_messages(chat.id)[0]
    assert "Say hi" in detail and message.answer.strip()[:15] in detail and "tokens/s" in detail


def test_settings_page_saves_and_shows_validation_inline(qtbot, window, services, tmp_path):
    qtbot.keyClick(window, Qt.Key.Key_5, CTRL)
    page = window.settings_page
    qtbot.waitUntil(lambda: page.loaded_once, timeout=10_000)
    assert page.spins["n_ctx"].value() == 4096
    assert str(tmp_path) in page.info["Studio home"].as_posix() or page.info["Studio home"] == tmp_path
    assert page.info["Database"] == tmp_path / "studio.db"
    page.spins["n_ctx"].setValue(100)
    page.save("n_ctx")
    qtbot.waitUntil(lambda: page.errors["n_ctx"].isVisible(), timeout=10_000)
    assert page.errors["n_ctx"].text() == "n_ctx must be between 256 and 131072"
    assert services.settings.get("n_ctx") == 4096
    page.spins["n_ctx"].setValue(2048)
    page.save("n_ctx")
    qtbot.waitUntil(lambda: services.settings.get("n_ctx") == 2048, timeout=10_000)
    qtbot.waitUntil(lambda: not page.errors["n_ctx"].isVisible(), timeout=10_000)

    steps = page.lines["workflow_max_steps"]  # an advanced preference, edited as text
    assert page.advanced.isVisible() and steps.text() == "500"
    steps.setText("0")
    steps.editingFinished.emit()
    qtbot.waitUntil(lambda: page.errors["workflow_max_steps"].isVisible(), timeout=10_000)
    assert page.errors["workflow_max_steps"].text() == "workflow_max_steps must be between 1 and 100000"
    steps.setText("250")
    steps.editingFinished.emit()
    qtbot.waitUntil(lambda: services.settings.get("workflow_max_steps") == 250, timeout=10_000)
    qtbot.waitUntil(lambda: not page.errors["workflow_max_steps"].isVisible(), timeout=10_000)


def test_exception_hook_logs_traceback_and_shows_friendly_dialog(qtbot, caplog):
    hook = ExceptionHook("/tmp/studio.log")
    try:
        raise KeyError("missing-thing")
    except KeyError as exc:
        with caplog.at_level(logging.ERROR):
            hook.handle(type(exc), exc, exc.__traceback__)
    assert "Traceback" in caplog.text and "missing-thing" in caplog.text
    dialog = hook.last_dialog
    assert dialog is not None and dialog.isVisible()
    assert "KeyError" in dialog.text() and "Traceback" not in dialog.text() and "/tmp/studio.log" in dialog.text()
    dialog.close()


def test_closing_the_window_cancels_a_running_generation(qtbot, window, services, make_app):
    app = make_app("Long", temperature=0.7, max_tokens=2000)
    panel = window.studio_page.open_app(app).debug
    panel.send("Write a very long story about a dragon.")
    qtbot.waitUntil(lambda: len(panel.answer.text) > 0, timeout=60_000)
    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 2.0
    assert not window.bridge.busy
    [message] = services.conversations.recent_messages(app.id)
    assert message.status == MessageStatus.STOPPED


def test_thread_check_notices_a_leftover_thread(leftover_threads):
    before = set(threading.enumerate())
    release = threading.Event()
    worker = threading.Thread(target=release.wait, name="leaky", daemon=True)
    worker.start()
    assert [t.name for t in leftover_threads(before, grace=0.05)] == ["leaky"]
    release.set()
    worker.join()
    assert leftover_threads(before, grace=0.05) == []
