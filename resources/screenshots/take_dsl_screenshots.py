"""Takes the DSL screenshots: run it under a display, e.g. `xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python
resources/screenshots/take_dsl_screenshots.py` (QT_QPA_PLATFORM=offscreen works too). It imports a Dify app whose
model is not installed, and grabs the problems banner, the app menu, an export toast and the drop highlight into
--out (this folder by default) as dsl-*.png."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent
from PySide6.QtWidgets import QApplication, QMessageBox


HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from take_screenshots import in_window, pause, seed, wait  # noqa: E402 - the same event-loop helpers as the README shots


def dify_chatbot() -> str:
    """A chatbot as Dify exports it, on OpenAI's gpt-4o, which a fresh Studio does not have."""
    return yaml.safe_dump({
        "app": {"name": "Support assistant", "mode": "chat", "icon": "🎧", "icon_background": "#FCE7F6",
                "description": "Answers support questions; exported from a Dify server."},
        "kind": "app", "version": "0.3.1",
        "model_config": {
            "model": {"provider": "langgenius/openai/openai", "name": "gpt-4o", "mode": "chat",
                      "completion_params": {"temperature": 0.2}},
            "pre_prompt": "You are a friendly support assistant for {{product}}.",
            "user_input_form": [{"text-input": {"variable": "product", "label": "Product", "required": True}}],
            "opening_statement": "Hi! What can I help you with?"},
    }, sort_keys=False, allow_unicode=True)


def shoot(widget, path: Path) -> None:
    pause(300)
    widget.grab().save(str(path))


def take(window, services, out: Path, scratch: Path) -> None:
    page = window.studio_page
    seed(services)
    page.refresh()
    source = scratch / "Support assistant.yml"
    source.write_text(dify_chatbot(), encoding="utf-8")
    page.importer.import_path(str(source))
    wait(lambda: isinstance(page.importer.dialog, QMessageBox), 30)
    page.importer.dialog.accept()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(source))])
    QApplication.sendEvent(page.grid.viewport(), QDragEnterEvent(
        QPoint(60, 60), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    shoot(window, out / "dsl-drop.png")
    page.drop_overlay.set_active(False)
    app = next(a for a in services.apps.list() if a.name == "Support assistant")
    editor = page.open_app(app)
    wait(lambda: editor.problems.isVisible(), 30)
    shoot(window, out / "dsl-problems.png")
    menu = editor.app_menu.menu()
    menu.popup(editor.app_menu.mapToGlobal(editor.app_menu.rect().bottomLeft()))
    shoot(menu, out / "dsl-app-menu.png")
    menu.hide()
    page.exporter.export_to(app, str(scratch / "export.yml"))
    wait(lambda: page.toast.isVisible(), 30)
    shoot(window, out / "dsl-exported.png")


def main() -> int:
    return in_window(lambda window, services, args, home, _: take(window, services, args.out, home), __doc__, HERE,
                     settle_ms=0)


if __name__ == "__main__":
    sys.exit(main())
