"""Takes the README screenshots: run it under a display, e.g. `xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python
resources/screenshots/take_screenshots.py`. It builds Studio on a temp home, fills in a few apps, opens a chatbot,
and grabs the window mid-answer (main-window-chat.png, here) plus the other pages (into --extra, /tmp by default)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from studio.app import build
from studio.core.app_config import default_config
from studio.core.entities import AppMode
from studio.core.settings import Settings
from studio.ui.main_window import MainWindow
from studio.ui.theme import apply_theme

HERE = Path(__file__).resolve().parent


def wait(condition, timeout: float = 180) -> bool:
    """Run the event loop until condition() holds. Not QTest.qWait: it keeps the GIL, starving the model threads."""
    deadline = time.monotonic() + timeout
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: (condition() or time.monotonic() > deadline) and loop.quit())
    timer.start()
    if not condition():
        loop.exec()
    timer.stop()
    return bool(condition())


def pause(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def in_window(take, description: str | None, out: Path, *, extra: bool = False, prepare=None,
              settle_ms: int = 300) -> int:
    """What every screenshot script does around its shots: parse --out (and --extra), build Studio on a throwaway
    home, let `prepare(services)` seed it, open the main window at 1400×900, then call
    `take(window, services, args, home, prepared)`, and close everything whatever happens."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=out)
    if extra:
        parser.add_argument("--extra", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    apply_theme(app)
    with tempfile.TemporaryDirectory() as home:
        services = build(Settings(home=Path(home)))
        try:
            prepared = prepare(services) if prepare else None
            window = MainWindow(services)
            window.resize(1400, 900)
            window.show()
            pause(settle_ms)
            try:
                take(window, services, args, Path(home), prepared)
            finally:
                window.close()
        finally:
            services.close()
    return 0


def seed(services):
    cfg = default_config(AppMode.CHAT, "You are a helpful assistant.")
    cfg["opening_statement"] = "Hello! I can help you plan a trip in Europe."
    cfg["suggested_questions"] = ["What should I see in Rome?", "Best time to visit Lisbon?"]
    cfg["user_input_form"] = [{"text-input": {"variable": "traveller", "label": "Your name", "required": False,
                                              "max_length": 40}}]
    cfg["model"]["completion_params"].update(temperature=0.0, max_tokens=300)
    bot = services.apps.create("Travel guide", "chat", icon="🌍", icon_background="#E0F2FE",
                               description="Suggests places to visit and answers travel questions.", config=cfg)
    services.apps.create("Email writer", "completion", icon="✍️", icon_background="#FEF0C7",
                         description="Drafts a polite email from a few bullet points.",
                         config=default_config(AppMode.COMPLETION, "Write a short email about {{topic}}."))
    services.apps.create("Support bot", "chat", icon="💬", icon_background="#D1FADF",
                         description="Answers questions about our product in a friendly tone. It keeps answers "
                                     "short and links to the docs when it can.")
    services.apps.create("Summariser", "completion", icon="📝", icon_background="#FCE7F6")
    return bot


def chat(window, bot, out: Path, extra: Path) -> None:
    editor = window.studio_page.open_app(bot)
    pause(300)
    window.grab().save(str(extra / "editor.png"))
    panel = editor.debug
    finished = []
    panel.answer_finished.connect(finished.append)
    for n, question in enumerate(("What is the capital of France?", "What are three famous sights in Paris?"), 1):
        panel.send(question)
        wait(lambda n=n: len(finished) == n)
    panel.send("Plan a two-day trip to Paris for me.")
    wait(lambda: len(panel.answer.text) > 160)
    window.grab().save(str(out))
    wait(lambda: len(finished) == 3)
    pause(200)
    window.grab().save(str(extra / "chat-finished.png"))


def pages(window, services, extra: Path) -> None:
    window.show_page("models")
    wait(lambda: window.models_page.loaded_once)
    pause(200)
    window.grab().save(str(extra / "models-page.png"))
    window.show_page("logs")
    wait(lambda: not window.logs_page.loading and window.logs_page.table.rowCount() > 0)
    window.logs_page.table.selectRow(0)
    pause(200)
    window.grab().save(str(extra / "logs-page.png"))
    window.show_page("settings")
    wait(lambda: window.settings_page.loaded_once)
    pause(200)
    window.grab().save(str(extra / "settings-page.png"))
    window.show_page("studio")
    writer = next(a for a in services.apps.list() if a.name == "Email writer")
    editor = window.studio_page.open_app(writer)
    editor.form.add_missing_variables()
    editor.save_now()
    editor.debug.inputs.set_value("topic", "the team lunch next Friday")
    finished = []
    editor.debug.answer_finished.connect(finished.append)
    editor.debug.run()
    wait(lambda: finished)
    pause(200)
    window.grab().save(str(extra / "text-generator.png"))
    dialog = window.studio_page.create_app()
    pause(200)
    dialog.grab().save(str(extra / "create-dialog.png"))
    dialog.reject()


def main() -> int:
    def take(window, services, args, home, bot) -> None:
        window.grab().save(str(args.extra / "studio-page.png"))
        chat(window, bot, args.out, args.extra)
        pages(window, services, args.extra)
    return in_window(take, __doc__, HERE / "main-window-chat.png", extra=True, prepare=seed, settle_ms=400)


if __name__ == "__main__":
    sys.exit(main())
