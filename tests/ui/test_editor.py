"""The app editor: auto-save through the services, one undo history, inline validation errors."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

CTRL = Qt.KeyboardModifier.ControlModifier
SAVE_TIMEOUT_MS = 5000


def stored(services, app_id):
    return services.apps.get(app_id).config


def test_prompt_edits_autosave_and_undo_redo(qtbot, window, services, make_app):
    app = make_app("Writer", prompt="You are terse.", x_custom={"kept": [1, 2]})
    editor = window.studio_page.open_app(app)
    prompt = editor.form.prompt
    prompt.setFocus()
    prompt.moveCursor(prompt.textCursor().MoveOperation.End)
    qtbot.keyClicks(prompt, " Use {{tone}}.")
    assert editor.status.text() == "Unsaved changes"
    qtbot.waitUntil(lambda: stored(services, app.id)["pre_prompt"] == "You are terse. Use {{tone}}.",
                    timeout=SAVE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: editor.status.text().startswith("Saved"))
    config = stored(services, app.id)
    assert config["x_custom"] == {"kept": [1, 2]}, "an unknown key was lost on save"
    assert config["sensitive_word_avoidance"] == app.config["sensitive_word_avoidance"]
    assert "{x} tone" in editor.form.prompt_vars.text() and not editor.form.add_missing.isHidden()

    qtbot.keyClick(prompt, Qt.Key.Key_Z, CTRL)
    assert prompt.toPlainText() == "You are terse."
    qtbot.waitUntil(lambda: stored(services, app.id)["pre_prompt"] == "You are terse.", timeout=SAVE_TIMEOUT_MS)
    qtbot.keyClick(prompt, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert prompt.toPlainText() == "You are terse. Use {{tone}}."

    qtbot.mouseClick(editor.form.add_missing, Qt.MouseButton.LeftButton)
    assert editor.form.variables.variable_names() == ["tone"]
    qtbot.waitUntil(lambda: [next(iter(i.values()))["variable"] for i in stored(services, app.id)["user_input_form"]]
                    == ["tone"], timeout=SAVE_TIMEOUT_MS)
    editor.undo_button.click()
    assert editor.form.variables.variable_names() == []


def test_invalid_value_shows_error_inline_and_is_not_saved(qtbot, window, services, make_app):
    app = make_app("Strict")
    editor = window.studio_page.open_app(app)
    editor.form.variables.add_variable("city")
    qtbot.waitUntil(lambda: len(stored(services, app.id)["user_input_form"]) == 1, timeout=SAVE_TIMEOUT_MS)
    name_edit: QLineEdit = editor.form.variables.detail.name
    assert name_edit.isVisible() and name_edit.text() == "city"
    name_edit.selectAll()
    qtbot.keyClicks(name_edit, "1city")
    qtbot.waitUntil(lambda: editor.form.error.isVisible(), timeout=SAVE_TIMEOUT_MS)
    assert "not a valid variable name" in editor.form.error.text()
    assert "Traceback" not in editor.form.error.text()
    assert editor.status.text().startswith("Not saved")
    assert next(iter(stored(services, app.id)["user_input_form"][0].values()))["variable"] == "city"
    name_edit.selectAll()
    qtbot.keyClicks(name_edit, "town")
    qtbot.waitUntil(lambda: not editor.form.error.isVisible(), timeout=SAVE_TIMEOUT_MS)
    assert next(iter(stored(services, app.id)["user_input_form"][0].values()))["variable"] == "town"


def test_model_parameters_and_memory_are_saved(qtbot, window, services, make_app):
    app = make_app("Tuned")
    editor = window.studio_page.open_app(app)
    qtbot.waitUntil(lambda: editor.form.model.model.count() > 1, timeout=SAVE_TIMEOUT_MS)  # models listed on a worker
    editor.form.model.model.setCurrentIndex(1)
    editor.form.model.max_tokens.setValue(99)
    editor.form.model.stop.setText(r"\n\n, User:")
    editor.form.model.stop.textEdited.emit(editor.form.model.stop.text())
    editor.form.memory.size.setValue(3)
    editor.form.opening.setPlainText("Welcome!")
    editor.form.questions.setPlainText("First?\n\nSecond?")
    assert editor.save_now()
    config = stored(services, app.id)
    assert config["model"]["name"] == "smollm2-135m-instruct.q4_1"
    assert config["model"]["completion_params"]["max_tokens"] == 99
    assert config["model"]["completion_params"]["stop"] == ["\n\n", "User:"]
    assert config["memory"]["window"] == {"enabled": True, "size": 3}
    assert config["opening_statement"] == "Welcome!" and config["suggested_questions"] == ["First?", "Second?"]
    editor.form.model.stop.setText("a, b, c, d, e")
    editor.form.model.stop.textEdited.emit(editor.form.model.stop.text())
    assert not editor.save_now()
    assert "stop" in editor.form.error.text()


def test_completion_editor_has_no_chat_only_sections(qtbot, window, make_app):
    app = make_app("Summariser", "completion", prompt="Summarise {{text}}")
    editor = window.studio_page.open_app(app)
    assert not editor.form.chat
    assert editor.form.opening.parent() is None or not editor.form.opening.isVisible()
    assert not editor.form.memory.isVisible()
    editor.form.prompt.setPlainText("Summarise {{text}} briefly")
    assert editor.save_now()
    assert "memory" not in editor.app.config and "opening_statement" not in editor.app.config
