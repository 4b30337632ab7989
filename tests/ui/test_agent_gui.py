"""Agent apps in the window, with the real bundled model: the chat Debug & Preview with each tool step under the
answer (live and when a conversation is reopened), and the Tools section with auto-save and undo."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit

from studio.core.entities import MessageStatus
from studio.ui.debug.chat_panel import ChatPanel
from tests.agents import SEARCH, TIME, import_agent

ANSWER_TIMEOUT_MS = 90_000
SAVE_TIMEOUT_MS = 5000
CTRL = Qt.KeyboardModifier.ControlModifier


def stored_mode(services, app_id) -> dict:
    return services.apps.get(app_id).config["agent_mode"]


def tool_rows(editor) -> dict[str, ToolRow]:
    return {row.entry["tool_name"]: row for row in editor.form.tools.tool_rows}


def add_from_menu(editor, label: str) -> None:
    [action] = [a for a in editor.form.tools.menu.actions() if a.text().startswith(label)]
    assert action.isEnabled()
    action.trigger()


def test_agent_opens_in_the_chat_editor_with_its_tools(qtbot, window, services):
    app = import_agent(services)
    editor = window.studio_page.open_app(app)
    assert isinstance(editor.debug, ChatPanel) and editor.mode_label.text() == "Agent"
    tools = editor.form.tools
    assert tools.isVisibleTo(editor) and tools.max_iteration.value() == 5
    qtbot.waitUntil(lambda: tools.known, timeout=SAVE_TIMEOUT_MS)  # the registry is read on a worker
    rows = tool_rows(editor)
    assert list(rows) == ["current_time", "eval_expression"]
    assert rows["current_time"].enabled.isChecked() and "time · current_time" in _texts(rows["current_time"])
    added = {a.text().split("  (")[0]: a.isEnabled() for a in tools.menu.actions() if not a.isSeparator()}
    assert added["Current Time"] is False and added["Weekday Calculator"] is True, "added tools are greyed out"
    # a new agent made through the services starts with no tools, Dify's five iterations, and the chat panel
    blank = services.apps.create("Blank agent", "agent-chat")
    editor = window.studio_page.open_app(blank)
    assert isinstance(editor.debug, ChatPanel) and tool_rows(editor) == {} and editor.form.tools.empty.isVisibleTo(editor)


def test_create_app_makes_an_agent(qtbot, window, services):
    window.new_app()
    dialog = window.studio_page.dialog
    qtbot.keyClicks(dialog.name, "Clock")
    dialog.set_mode("agent-chat")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    editor = window.studio_page.editor
    assert editor.app.mode.value == "agent-chat" and isinstance(editor.debug, ChatPanel)
    qtbot.waitUntil(lambda: editor.form.tools.known, timeout=SAVE_TIMEOUT_MS)
    add_from_menu(editor, "Current Time")
    qtbot.waitUntil(lambda: [t["tool_name"] for t in stored_mode(services, editor.app.id)["tools"]] ==
                    ["current_time"], timeout=SAVE_TIMEOUT_MS)
    assert stored_mode(services, editor.app.id)["tools"][0]["tool_parameters"]["timezone"] == "UTC"


def test_tool_edits_autosave_and_undo(qtbot, window, services):
    app = import_agent(services)
    editor = window.studio_page.open_app(app)
    qtbot.waitUntil(lambda: editor.form.tools.known, timeout=SAVE_TIMEOUT_MS)
    add_from_menu(editor, "Weekday Calculator")
    qtbot.waitUntil(lambda: [t["tool_name"] for t in stored_mode(services, app.id)["tools"]] ==
                    ["current_time", "eval_expression", "weekday"], timeout=SAVE_TIMEOUT_MS)
    new = stored_mode(services, app.id)["tools"][-1]
    assert (new["provider_id"], new["provider_type"], new["enabled"]) == ("time", "builtin", True)

    rows = tool_rows(editor)
    qtbot.mouseClick(rows["eval_expression"].enabled, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: stored_mode(services, app.id)["tools"][1]["enabled"] is False, timeout=SAVE_TIMEOUT_MS)

    row = tool_rows(editor)["current_time"]
    qtbot.mouseClick(row.settings, Qt.MouseButton.LeftButton)
    edit = row.form.findChild(QLineEdit, "param-current_time-timezone")
    assert edit.isVisible() and edit.text() == "UTC"
    edit.selectAll()
    qtbot.keyClicks(edit, "Asia/Tokyo")
    qtbot.waitUntil(lambda: stored_mode(services, app.id)["tools"][0]["tool_parameters"]["timezone"] == "Asia/Tokyo",
                    timeout=SAVE_TIMEOUT_MS)
    qtbot.keyClick(edit, Qt.Key.Key_Z, CTRL)  # the editor's undo, not the line edit's own
    assert editor.config()["agent_mode"]["tools"][0]["tool_parameters"]["timezone"] == "UTC"
    assert tool_rows(editor)["current_time"].form.findChild(QLineEdit, "param-current_time-timezone").text() == "UTC"

    editor.form.tools.max_iteration.setValue(2)
    qtbot.waitUntil(lambda: stored_mode(services, app.id)["max_iteration"] == 2, timeout=SAVE_TIMEOUT_MS)
    qtbot.mouseClick(tool_rows(editor)["weekday"].remove, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "weekday" not in [t["tool_name"] for t in stored_mode(services, app.id)["tools"]],
                    timeout=SAVE_TIMEOUT_MS)
    editor.undo_button.click()
    assert "weekday" in tool_rows(editor)
    qtbot.waitUntil(lambda: "weekday" in [t["tool_name"] for t in stored_mode(services, app.id)["tools"]],
                    timeout=SAVE_TIMEOUT_MS)
    assert stored_mode(services, app.id)["strategy"] == "function_call"


def test_each_step_shows_under_the_answer_live_and_when_reopened(qtbot, window, services):
    app = import_agent(services)
    panel = window.studio_page.open_app(app).debug
    order: list[str] = []
    generation = panel.send("What time is it?")
    generation.thought.connect(lambda t: order.append(f"step:{t.tool}"))
    generation.text.connect(lambda _t: order.append("text"))
    with qtbot.waitSignal(panel.answer_finished, timeout=ANSWER_TIMEOUT_MS) as blocker:
        pass
    message = blocker.args[0].message
    assert message.status == MessageStatus.NORMAL
    assert order[0] == "step:current_time" and "text" in order, "the step reached the window before the answer"
    [row] = panel.answer.steps.rows
    assert row.header.text().startswith("Used current_time") and not row.expanded and panel.answer.steps.isVisible()
    qtbot.mouseClick(row.header, Qt.MouseButton.LeftButton)
    assert row.expanded and row.detail.isVisible()
    stored = services.chat.agent_thoughts([message.id])[message.id][0]
    assert row.input_text == "(nothing)" and row.output_text == stored.observation_value()
    assert row.output_text in _texts(row.detail)

    first = panel.conversation_id
    panel.new_conversation()
    assert panel.answer_bubbles() == []
    panel.open_conversation(first)
    [bubble] = panel.answer_bubbles()
    [again] = bubble.steps.rows
    assert again.header.text() == row.header.text() and again.output_text == row.output_text
    assert bubble.text == message.answer


def test_a_missing_tool_is_shown_in_the_form_and_refused_without_a_trace(qtbot, window, services):
    app = import_agent(services, tools=(TIME, SEARCH))
    editor = window.studio_page.open_app(app)
    qtbot.waitUntil(lambda: editor.form.tools.known, timeout=SAVE_TIMEOUT_MS)
    row = tool_rows(editor)["google_search"]
    assert "not available in Studio" in _texts(row)
    panel = editor.debug
    with qtbot.waitSignal(panel.run_failed, timeout=SAVE_TIMEOUT_MS) as blocker:
        panel.send("Find llamas")
    assert "google/google_search" in blocker.args[0] and "Traceback" not in blocker.args[0]
    assert panel.error.isVisible() and "google_search" in panel.error.text()
    assert panel.composer.toPlainText() == "Find llamas", "the question is given back to edit"
    qtbot.mouseClick(row.enabled, Qt.MouseButton.LeftButton)  # switched off, the agent runs
    qtbot.waitUntil(lambda: stored_mode(services, app.id)["tools"][1]["enabled"] is False, timeout=SAVE_TIMEOUT_MS)
    with qtbot.waitSignal(panel.answer_finished, timeout=ANSWER_TIMEOUT_MS) as done:
        panel.send("Hello")
    assert done.args[0].message.status == MessageStatus.NORMAL


def _texts(widget) -> str:
    return "\n".join(w.text() for w in widget.findChildren(QLabel))
