"""Server bundles from the window: the app list's context menu and the open app's ⋯ menu, a folder dialog, the
export on a worker with progress and Cancel, and plain messages (never a traceback) when it cannot be done."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QPushButton

from studio.core.app_config import default_config
from studio.core.entities import AppMode
from studio.ui.dsl.bundle_export import target_for

TIMEOUT = 30_000


def chat_app(services, name: str = "Helper", datasets: tuple[str, ...] = ()):
    config = default_config(AppMode.CHAT, "You are a helpful assistant.")
    config["dataset_configs"] = {"datasets": {"datasets": [{"dataset": {"enabled": True, "id": d}}
                                                           for d in datasets]}}
    return services.apps.create(name, "chat", config=copy.deepcopy(config))


def context_action(page, app, text: str):
    page.grid.setCurrentItem(page.grid.item_for(app.id))
    page._context_menu(page.grid.visualItemRect(page.grid.item_for(app.id)).center())
    return next(a for a in page.context_menu.actions() if a.text() == text)


def choose_folder(qtbot, exporter, folder: Path, signal):
    dialog = exporter.dialog
    assert isinstance(dialog, QFileDialog) and dialog.fileMode() == QFileDialog.FileMode.Directory
    dialog.selectFile(str(folder))
    with qtbot.waitSignal(signal, timeout=TIMEOUT) as blocker:
        dialog.accept()
        if isinstance(exporter.dialog, QMessageBox):  # an earlier bundle there: the replace question
            next(b for b in exporter.dialog.buttons() if b.text() == "Replace").click()
    return blocker.args


def test_export_from_the_list_and_from_the_open_app(qtbot, window, services, tmp_path):
    app = chat_app(services)
    page = window.studio_page
    page.refresh()
    context_action(page, app, "Export server bundle…").trigger()
    out = tmp_path / "out"
    out.mkdir()
    path, result = choose_folder(qtbot, page.bundle_exporter, out, page.bundle_exporter.exported)
    assert Path(path) == out and result.app.id == app.id
    manifest = json.loads((out / "bundle.json").read_text())
    assert manifest["app"]["name"] == "Helper" and (out / "Dockerfile").is_file()
    assert page.toast.isVisible() and "Exported the server bundle of “Helper”" in page.toast.text()
    assert page.bundle_exporter.progress is None, "the progress dialog closes when the export ends"
    editor = page.open_app(app)
    [action] = [a for a in editor.app_menu.menu().actions() if a.text() == "Export server bundle…"]
    (out / "Dockerfile").write_text("stale")
    action.trigger()
    choose_folder(qtbot, page.bundle_exporter, out, page.bundle_exporter.exported)
    assert (out / "Dockerfile").read_text() != "stale", "the earlier bundle was replaced after asking"
    assert target_for("Helper", tmp_path) == tmp_path / "Helper-server"


def test_failure_is_a_plain_message_and_cancel_leaves_nothing(qtbot, window, services, tmp_path):
    exporter = window.studio_page.bundle_exporter
    broken = chat_app(services, "Broken", datasets=("gone-kb",))
    with qtbot.waitSignal(exporter.failed, timeout=TIMEOUT) as blocker:
        exporter.export_to(broken, tmp_path / "x")
    assert "knowledge base gone-kb, which is not in this Studio" in blocker.args[0]
    box = exporter.dialog
    assert isinstance(box, QMessageBox) and "gone-kb" in box.text() and "Traceback" not in box.text()
    box.accept()
    app = chat_app(services, "Fine")
    with qtbot.waitSignal(exporter.failed, timeout=TIMEOUT) as blocker:
        exporter.export_to(app, tmp_path / "y")
        assert isinstance(exporter.progress, QProgressDialog)
        exporter.progress.findChild(QPushButton).click()  # its Cancel button
    assert "cancelled" in blocker.args[0] and "cancelled" in window.studio_page.toast.text()
    assert not (tmp_path / "y").exists() and not list(tmp_path.glob(".*"))
