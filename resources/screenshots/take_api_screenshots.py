"""Takes the API Access screenshots: run it under a display, e.g.
`xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python resources/screenshots/take_api_screenshots.py`.
It builds Studio on a temp home and grabs the empty page, the page with the server running, keys and a chat
app's examples, and the dialog that shows a new key once."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from PySide6.QtCore import Qt

from studio.core.app_config import default_config
from studio.core.entities import AppMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from take_screenshots import in_window, pause, wait  # noqa: E402 - a sibling script, not a package

HERE = Path(__file__).resolve().parent
DEFAULT_PORT = 5001


def port_to_show() -> int:
    """Dify's port when it is free, so the picture shows the usual address; otherwise any free port."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", DEFAULT_PORT))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(services) -> None:
    cfg = default_config(AppMode.CHAT, "You are a travel guide. Answer in one sentence.")
    cfg["user_input_form"] = [{"select": {"variable": "language", "label": "Language", "required": False,
                                          "options": ["English", "French"]}}]
    services.apps.create("Travel guide", "chat", icon="🌍", icon_background="#E0F2FE", config=cfg)
    writer = default_config(AppMode.COMPLETION, "Write a product description for {{product}}.")
    writer["user_input_form"] = [{"text-input": {"variable": "product", "label": "Product", "required": True}}]
    services.apps.create("Product writer", "completion", icon="✍️", config=writer)


def shoot(window, services, out: Path) -> None:
    page = window.api_page
    window.show_page("api")
    wait(lambda: page.server.loaded and page.keys.loaded_once and page.keys.busy == 0)
    pause(300)
    window.grab().save(str(out / "api-empty.png"))
    seed(services)
    page.refresh()
    wait(lambda: page.keys.busy == 0 and len(page.keys.apps) == 2)
    picker = page.keys.app_picker
    picker.setCurrentIndex(picker.findText("Travel guide", Qt.MatchFlag.MatchStartsWith))
    page.server.port.setValue(port_to_show())
    page.server.set_on(True)
    wait(lambda: not page.server.busy)
    for _ in range(2):
        page.keys.create_key()
        wait(lambda: page.keys.dialog is not None and page.keys.dialog.isVisible())
        dialog = page.keys.dialog
        pause(200)
        dialog.grab().save(str(out / "api-key-created.png"))
        dialog.accept()
        wait(lambda: page.keys.busy == 0)
    page.keys.create_knowledge_key()
    wait(lambda: page.keys.dialog is not None and page.keys.dialog.isVisible())
    page.keys.dialog.accept()
    wait(lambda: page.keys.busy == 0 and len(page.keys.keys) == 3)
    pause(300)
    window.grab().save(str(out / "api-access.png"))
    page.server.set_on(False)
    wait(lambda: not page.server.busy)


def main() -> int:
    return in_window(lambda window, services, args, home, _: shoot(window, services, args.out), __doc__, HERE)


if __name__ == "__main__":
    sys.exit(main())
