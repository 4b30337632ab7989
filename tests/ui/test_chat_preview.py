"""Debug & Preview for Chatbots, driven through the window with the real bundled model."""

from __future__ import annotations

import sqlite3
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox

from studio.app import build
from studio.core.cancel import CancelToken
from studio.core.entities import MessageStatus
from studio.core.events import TextChunk
from studio.core.settings import Settings
from studio.ui.main_window import MainWindow

ANSWER_TIMEOUT_MS = 90_000


def create_app_through_ui(qtbot, window, name: str, mode: str = "chat"):
    window.new_app()
    dialog = window.studio_page.dialog
    qtbot.keyClicks(dialog.name, name)
    dialog.set_mode(mode)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    editor = window.studio_page.editor
    assert editor is not None and editor.app.name == name
    return editor


def transcript(panel) -> str:
    return "\n".join(label.text() for label in panel.view.widget().findChildren(QLabel))


def test_chat_streams_an_answer_with_stats(qtbot, window, services):
    editor = create_app_through_ui(qtbot, window, "Geography")
    editor.form.prompt.setPlainText("You are a helpful assistant.")
    editor.form.model.temperature.setValue(0.0)
    assert editor.save_now()
    panel = editor.debug
    qtbot.keyClicks(panel.composer, "What is the capital of France?")
    batches: list[str] = []
    with qtbot.waitSignal(panel.answer_finished, timeout=ANSWER_TIMEOUT_MS) as blocker:
        qtbot.keyClick(panel.composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert panel.generation is not None, "Ctrl+Enter did not send"
        panel.generation.text.connect(batches.append)
    finished = blocker.args[0]
    assert finished.message.status == MessageStatus.NORMAL
    assert "Paris" in panel.answer.text
    assert len(batches) > 1, "the answer arrived in one piece instead of streaming"
    assert "".join(batches) == finished.message.answer
    assert "tokens/s" in panel.answer.stats.text() and panel.answer.stats.isVisible()
    assert services.conversations.messages(panel.conversation_id)[0].answer == finished.message.answer


def test_stop_ends_generation_within_200ms(qtbot, window, services, make_app):
    app = make_app("Storyteller", temperature=0.7, max_tokens=2000)
    panel = window.studio_page.open_app(app).debug
    panel.send("Write a very long story about a dragon.")
    qtbot.waitUntil(lambda: len(panel.answer.text) > 0, timeout=ANSWER_TIMEOUT_MS)
    ended: list[float] = []
    panel.answer_finished.connect(lambda _f: ended.append(time.perf_counter()))
    with qtbot.waitSignal(panel.answer_finished, timeout=5000) as blocker:
        clicked = time.perf_counter()
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    elapsed_ms = (ended[0] - clicked) * 1000
    assert elapsed_ms < 200, f"Stop took {elapsed_ms:.0f} ms"
    message = blocker.args[0].message
    assert message.status == MessageStatus.STOPPED
    assert message.answer_tokens < 2000
    stored = services.conversations.messages(message.conversation_id)[-1]
    assert stored.status == MessageStatus.STOPPED and stored.answer == message.answer
    assert panel.answer.badge.text() == "Stopped" and not panel.answer.badge.isHidden()
    assert panel.send_button.isEnabled() and not panel.stop_button.isEnabled()


def test_escape_stops_generation(qtbot, window, services, make_app):
    app = make_app("Escapist", temperature=0.7, max_tokens=2000)
    panel = window.studio_page.open_app(app).debug
    panel.send("Write a very long story about a dragon.")
    qtbot.waitUntil(lambda: len(panel.answer.text) > 0, timeout=ANSWER_TIMEOUT_MS)
    with qtbot.waitSignal(panel.answer_finished, timeout=5000) as blocker:
        qtbot.keyClick(panel.composer, Qt.Key.Key_Escape)
    assert blocker.args[0].message.status == MessageStatus.STOPPED


def test_conversation_sidebar_new_rename_delete_reopen(qtbot, window, services, make_app):
    app = make_app("Chatty", max_tokens=16)
    panel = window.studio_page.open_app(app).debug
    sidebar = panel.sidebar
    with qtbot.waitSignal(panel.answer_finished, timeout=ANSWER_TIMEOUT_MS) as first:
        panel.send("Hello there, who are you?")
    first_id = panel.conversation_id
    first_answer = first.args[0].message.answer
    assert sidebar.list.count() == 1
    qtbot.mouseClick(sidebar.new_button, Qt.MouseButton.LeftButton)
    assert panel.conversation_id is None and "who are you" not in transcript(panel)
    with qtbot.waitSignal(panel.answer_finished, timeout=ANSWER_TIMEOUT_MS):
        panel.send("Name a colour.")
    second_id = panel.conversation_id
    assert second_id != first_id and sidebar.list.count() == 2

    sidebar.select(first_id)
    qtbot.mouseClick(sidebar.rename_button, Qt.MouseButton.LeftButton)
    sidebar.dialog.setTextValue("Introductions")
    sidebar.dialog.accept()
    assert "Introductions" in sidebar.names()
    assert services.conversations.get(first_id).name == "Introductions"

    item = sidebar.list.findItems("Introductions", Qt.MatchFlag.MatchExactly)[0]
    qtbot.mouseClick(sidebar.list.viewport(), Qt.MouseButton.LeftButton, pos=sidebar.list.visualItemRect(item).center())
    assert panel.conversation_id == first_id
    text = transcript(panel)
    assert "Hello there, who are you?" in text and first_answer.strip()[:20] in text
    assert "Name a colour." not in text

    sidebar.select(second_id)
    qtbot.mouseClick(sidebar.delete_button, Qt.MouseButton.LeftButton)
    box: QMessageBox = sidebar.dialog
    delete = next(b for b in box.buttons() if b.text() == "Delete")
    qtbot.mouseClick(delete, Qt.MouseButton.LeftButton)
    assert [c.id for c in services.conversations.list(app.id)] == [first_id]
    assert sidebar.names() == ["Introductions"]


def test_new_conversation_asks_for_inputs_and_shows_opener(qtbot, window, services, make_app):
    form = [{"text-input": {"variable": "name", "label": "Your name", "required": True, "max_length": 20}}]
    app = make_app("Greeter", prompt="Greet {{name}} warmly.", max_tokens=12, user_input_form=form,
                   opening_statement="Hi! I greet people.", suggested_questions=["Say hello"])
    panel = window.studio_page.open_app(app).debug
    assert not panel.inputs_box.isHidden()
    assert "Hi! I greet people." in transcript(panel)
    chip = panel.view.suggestions[0]
    with qtbot.waitSignal(panel.run_failed, timeout=10_000) as failed:
        qtbot.mouseClick(chip, Qt.MouseButton.LeftButton)
    assert "Your name is required" in failed.args[0]
    assert panel.inputs.error.text() == failed.args[0] and not panel.inputs.error.isHidden()
    panel.inputs.set_value("name", "Ada")
    with qtbot.waitSignal(panel.answer_finished, timeout=ANSWER_TIMEOUT_MS):
        qtbot.mouseClick(panel.view.suggestions[0], Qt.MouseButton.LeftButton)
    assert panel.inputs_box.isHidden()
    assert services.conversations.get(panel.conversation_id).inputs == {"name": "Ada"}


def test_dropped_turns_are_announced(qtbot, window, services, make_app):
    # A tiny context window and a large answer budget: the second turn cannot carry the first one along.
    services.settings.set("n_ctx", 256)
    app = make_app("Forgetful", max_tokens=220, stop=("\n",))
    panel = window.studio_page.open_app(app).debug
    for question in ("What is the capital of France?", "What is the capital of Italy?"):
        with qtbot.waitSignal(panel.answer_finished, timeout=ANSWER_TIMEOUT_MS) as done:
            panel.send(question)
    assert done.args[0].dropped_turns == 2
    assert panel.answer.note.text() == "2 earlier messages were left out to fit the context window"
    assert not panel.answer.note.isHidden()


def test_interrupted_answer_is_shown_with_its_partial_text(qtbot, services, make_app, tmp_path):

    app = make_app("Crashy", temperature=0.7, max_tokens=2000)
    cancel = CancelToken()
    events = services.chat.send(app.id, "Write a very long story about a dragon.", cancel=cancel)
    partial = ""
    for event in events:  # stream until some text has been saved, then "crash" (never finish the generator)
        if isinstance(event, TextChunk):
            partial += event.text
            stored = services.conversations.recent_messages(app.id)[0]
            if stored.answer:
                break
    cancel.cancel()  # the model thread stops; the suspended stream never records an end, as after a crash
    with sqlite3.connect(tmp_path / "studio.db") as db:  # and the process that wrote it is gone
        db.execute("update messages set owner = 'a-process-that-crashed' where status = 'running'")
    restarted = build(Settings(home=tmp_path, n_threads=1))  # a new start marks the unfinished answer as interrupted
    try:
        window = MainWindow(restarted)
        qtbot.addWidget(window)
        panel = window.studio_page.open_app(app).debug
        conversation = restarted.conversations.list(app.id)[0]
        panel.open_conversation(conversation.id)
        bubble = panel.answer_bubbles()[-1]
        assert bubble.badge.text() == "Interrupted" and not bubble.badge.isHidden()
        assert bubble.text and partial.startswith(bubble.text)
        assert "Studio stopped before this answer finished" in bubble.error.text()
        window.close()
    finally:
        events.close()
        restarted.close()


def test_failed_answer_is_shown_as_an_error(qtbot, window, services, make_app):
    services.settings.set("n_ctx", 256)
    app = make_app("Overwhelmed")
    panel = window.studio_page.open_app(app).debug
    with qtbot.waitSignal(panel.answer_finished, timeout=ANSWER_TIMEOUT_MS) as done:
        panel.send("Please summarise this. " + "The quick brown fox jumps over the lazy dog. " * 60)
    message = done.args[0].message
    assert message.status == MessageStatus.ERROR and "context window" in message.error
    bubble = panel.answer
    assert bubble.badge.text() == "Error" and not bubble.badge.isHidden()
    assert bubble.error.text() == message.error and bubble.frame.property("bubble") == "error"
    assert "Traceback" not in transcript(panel)
