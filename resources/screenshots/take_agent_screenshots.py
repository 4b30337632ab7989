"""Takes the Agent screenshot: run it under a display, e.g.
`xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python resources/screenshots/take_agent_screenshots.py`.
It builds Studio on a temp home, imports a small agent (Current Time and maths tools) as Dify DSL, asks it two
questions in Debug & Preview, unfolds one tool step and the Tools section's settings, and grabs the window
(agent-chat.png, here)."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml


sys.path.insert(0, str(Path(__file__).resolve().parent))
from take_screenshots import in_window, pause, wait  # noqa: E402 - a sibling script, not a package

HERE = Path(__file__).resolve().parent
TOOLS = [
    {"provider_type": "builtin", "provider_id": "time", "tool_name": "current_time", "enabled": True,
     "tool_parameters": {"format": "%Y-%m-%d %H:%M", "timezone": "Europe/Paris"}},
    {"provider_type": "builtin", "provider_id": "maths", "tool_name": "eval_expression", "enabled": True,
     "tool_parameters": {}},
]


def agent_dsl() -> str:
    return yaml.safe_dump({
        "version": "0.5.0", "kind": "app",
        "app": {"name": "Desk helper", "mode": "agent-chat", "icon": "🧮", "icon_background": "#E0F2FE",
                "description": "Tells the time in Paris and does sums with its tools."},
        "model_config": {
            "pre_prompt": "You are a helpful assistant. Use the tools.", "user_input_form": [],
            # the bundled 135M model copies its earlier answers when it sees them: each question stands alone
            "memory": {"window": {"enabled": False, "size": 10}},
            "model": {"provider": "local", "name": "smollm2-135m-instruct.q4_1", "mode": "chat",
                      "completion_params": {"temperature": 0.0, "max_tokens": 64}},
            "agent_mode": {"enabled": True, "strategy": "function_call", "max_iteration": 5, "tools": TOOLS},
        },
    }, sort_keys=False, allow_unicode=True)


def shoot(window, services, out: Path) -> None:
    app = services.dsl.import_text(agent_dsl()).app
    window.studio_page.refresh()
    editor = window.studio_page.open_app(app)
    wait(lambda: len(editor.form.tools.available) > 0)
    panel = editor.debug
    finished = []
    panel.answer_finished.connect(finished.append)
    for n, question in enumerate(("What time is it?", "What is 12 * 7? Use the tool."), 1):
        panel.send(question)
        wait(lambda n=n: len(finished) == n)
    bubbles = panel.answer_bubbles()
    if bubbles and bubbles[0].steps.rows:
        bubbles[0].steps.rows[0].set_expanded(True)
    rows = editor.form.tools.tool_rows
    if rows:
        rows[0].settings.setChecked(True)  # the Current Time settings: its format and time zone
    pause(200)
    editor.form_scroll.ensureWidgetVisible(editor.form.tools, 0, 160)
    pause(400)
    window.grab().save(str(out))


def main() -> int:
    return in_window(lambda window, services, args, home, _: shoot(window, services, args.out), __doc__,
                     HERE / "agent-chat.png")


if __name__ == "__main__":
    sys.exit(main())
