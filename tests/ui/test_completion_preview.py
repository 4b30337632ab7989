"""Debug & Preview for Text generators: input validation naming the field, and a streamed run."""

from __future__ import annotations

from PySide6.QtCore import Qt

from studio.core.entities import MessageStatus

RUN_TIMEOUT_MS = 90_000


def test_text_generator_validates_inputs_and_streams(qtbot, window, services):
    window.new_app()
    dialog = window.studio_page.dialog
    qtbot.keyClicks(dialog.name, "Haiku")
    dialog.set_mode("completion")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    editor = window.studio_page.editor
    assert editor.app.mode.value == "completion"
    editor.form.prompt.setPlainText("Write a short poem about {{topic}}.")
    qtbot.mouseClick(editor.form.add_missing, Qt.MouseButton.LeftButton)
    editor.form.model.max_tokens.setValue(40)
    panel = editor.debug
    with qtbot.waitSignal(panel.run_failed, timeout=10_000) as failed:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)  # saves first, so the form has "topic"
    assert failed.args[0] == "topic is required in input form"
    assert panel.inputs.error.text() == failed.args[0] and panel.inputs.error.isVisible()
    assert panel.inputs.widgets["topic"].property("invalid") is True

    qtbot.keyClicks(panel.inputs.widgets["topic"], "the sea")
    batches: list[str] = []
    with qtbot.waitSignal(panel.answer_finished, timeout=RUN_TIMEOUT_MS) as done:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
        panel.generation.text.connect(batches.append)
    message = done.args[0].message
    assert message.status == MessageStatus.NORMAL and message.answer.strip()
    assert len(batches) > 1 and panel.output.toPlainText() == message.answer
    assert "tokens/s" in panel.stats.text()
    assert not panel.inputs.error.isVisible()
    assert services.conversations.recent_messages(editor.app.id)[0].inputs == {"topic": "the sea"}


def test_text_generator_stop(qtbot, window, services, make_app):
    app = make_app("Rambler", "completion", prompt="Write a very long story about a dragon.", temperature=0.7,
                   max_tokens=2000)
    panel = window.studio_page.open_app(app).debug
    with qtbot.waitSignal(panel.answer_finished, timeout=RUN_TIMEOUT_MS) as done:
        panel.run()
        qtbot.waitUntil(lambda: panel.output.toPlainText() != "", timeout=RUN_TIMEOUT_MS)
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert done.args[0].message.status == MessageStatus.STOPPED
    assert panel.badge.text() == "Stopped" and "tokens/s" in panel.stats.text()
