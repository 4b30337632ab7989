"""Takes the template screenshots: run it under a display, e.g. `xvfb-run -a -s "-screen 0 1400x900x24"
.venv/bin/python resources/screenshots/take_template_screenshots.py` (QT_QPA_PLATFORM=offscreen works too). On a
fresh home it grabs the empty app list inviting with the templates (templates-empty.png), then makes one app from a
template and grabs the Create from template gallery over the window (templates.png), into --out (this folder by
default)."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QColor, QPainter, QPen


HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from take_screenshots import in_window, pause, wait  # noqa: E402 - the same event-loop helpers as the README shots


def window_with_dialog(window, dialog):
    """The window, dimmed, with the dialog drawn where it sits (a dialog is its own top-level window, and Xvfb has
    no window manager to draw its frame)."""
    shot = window.grab()
    painter = QPainter(shot)
    painter.fillRect(shot.rect(), QColor(16, 24, 40, 90))
    offset = dialog.geometry().topLeft() - window.geometry().topLeft()
    painter.drawPixmap(offset, dialog.grab())
    painter.setPen(QPen(QColor("#D0D5DD"), 1))
    painter.drawRect(offset.x(), offset.y(), dialog.width() - 1, dialog.height() - 1)
    painter.end()
    return shot


def take(window, out: Path) -> None:
    page = window.studio_page
    wait(lambda: page.template_starter.isVisible(), 30)
    pause(300)
    window.grab().save(str(out / "templates-empty.png"))
    page.templates.create(page.template_starter.grid.templates()[0])
    wait(lambda: page.editor is not None, 30)
    page.close_editor()
    gallery = page.create_from_template()
    wait(lambda: gallery.grid.count() > 0, 30)
    gallery.grid.setCurrentRow(2)
    gallery.move(window.geometry().center() - gallery.rect().center())
    pause(300)
    window_with_dialog(window, gallery).save(str(out / "templates.png"))
    gallery.reject()


def main() -> int:
    return in_window(lambda window, services, args, home, _: take(window, args.out), __doc__, HERE, settle_ms=0)


if __name__ == "__main__":
    sys.exit(main())
