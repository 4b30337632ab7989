"""Running graph apps from their page: outputs, live node statuses, validation, history and Re-run, chatflows."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.ui.workflow.chatflow_panel import ChatflowPanel
from studio.ui.workflow.workflow_page import WorkflowPage
from studio.ui.workflow.workflow_panel import WorkflowPanel

SAMPLES = Path("/work/shared/dsl-samples")
IF_ELSE = SAMPLES / "conditional_hello_branching_workflow.yml"
CHATFLOW = SAMPLES / "test_streaming_conversation_variables.yml"
CTRL = Qt.KeyboardModifier.ControlModifier
RUN_TIMEOUT_MS = 30_000


def open_sample(qtbot, window, path: Path) -> WorkflowPage:
    """Import through the Studio page's importer (what the file dialog calls), then open the app."""
    page = window.studio_page
    with qtbot.waitSignal(page.importer.imported, timeout=10_000) as blocker:
        page.importer.import_path(str(path))
    if isinstance(page.importer.dialog, QMessageBox):
        page.importer.dialog.accept()  # the warnings
        window.activateWindow()  # a window manager would; the offscreen platform leaves no window active
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    editor = page.open_app(page.grid.current_app())
    assert isinstance(editor, WorkflowPage) and editor.app.id == blocker.args[0].app.id
    return editor


def run_with_query(qtbot, wp: WorkflowPage, query: str):
    panel = wp.debug
    field = panel.inputs.widgets["query"]
    field.clear()
    qtbot.mouseClick(field, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(field, query)
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        qtbot.keyClick(field, Qt.Key.Key_Return, CTRL)
    return blocker.args[0]


def test_workflow_runs_from_the_form_with_live_node_statuses(qtbot, window, services):
    wp = open_sample(qtbot, window, IF_ELSE)
    assert window.windowTitle() == "if-else — Studio"
    assert [(n.title, n.type) for n in wp.overview.nodes.values()] == [
        ("Start", "start"), ("IF/ELSE", "if-else"), ("End", "end"), ("End 2", "end")]
    assert isinstance(wp.debug, WorkflowPanel)
    finished = run_with_query(qtbot, wp, "hello world")
    assert finished.status.value == "succeeded"
    assert json.loads(wp.debug.result.outputs_text()) == {"true": "hello world"}
    assert wp.debug.result.badge.text() == "Succeeded"
    assert "3 steps" in wp.debug.result.facts.text() and "tokens" in wp.debug.result.facts.text()
    rows = wp.trace.rows()
    assert [title for title, _ in rows] == ["Start", "IF/ELSE", "End"]
    assert all(status == "succeeded" for _, status in rows), rows
    ids = {n.title: n.id for n in wp.overview.nodes.values()}
    assert wp.overview.status_of(ids["End"]) == "succeeded" and wp.overview.status_of(ids["End 2"]) is None
    # Clicking a node in the graph shows what it did.
    item = wp.overview.items[ids["End"]]
    tree = wp.overview.tree
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())
    assert wp.debug.tabs.currentWidget() is wp.tracing
    assert json.loads(wp.detail.blocks["outputs"].value_text()) == {"true": "hello world"}
    assert wp.detail.status.text() == "succeeded" and wp.detail.error.isHidden()
    wp.inspect_node(ids["End 2"])
    assert "not reached in this run" in wp.detail.facts.text() and wp.detail.blocks["config"].isVisible()
    # An earlier history read can land first (the run's row exists from its start); the one after the finish
    # selects the run.
    qtbot.waitUntil(lambda: wp.history.current() is not None, timeout=10_000)
    assert len(wp.history.runs) == 1 and wp.history.current().id == finished.run_id


def test_missing_required_input_names_the_field_and_runs_nothing(qtbot, window, services):
    wp = open_sample(qtbot, window, IF_ELSE)
    panel = wp.debug
    with qtbot.waitSignal(panel.run_failed, timeout=10_000) as blocker:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] == "query is required in input form"
    assert panel.inputs.error.text() == "query is required in input form" and panel.inputs.error.isVisible()
    assert panel.inputs.widgets["query"].property("invalid") is True
    assert services.workflows.runs(wp.app.id) == [] and wp.trace.rows() == []
    assert panel.run_button.isEnabled() and not panel.stop_button.isEnabled()


def test_a_past_run_shows_its_trace_and_reruns_with_its_inputs(qtbot, window, services):
    wp = open_sample(qtbot, window, IF_ELSE)
    first = run_with_query(qtbot, wp, "hello world")
    qtbot.waitUntil(lambda: len(wp.history.runs) == 1)
    wp.debug.inputs.set_value("query", "something else")
    wp.detail.clear()
    wp.history.table.clearSelection()
    with qtbot.waitSignal(wp.past_run_shown, timeout=10_000):
        wp.history.table.selectRow(0)
    assert [s for _, s in wp.trace.rows()] == ["succeeded"] * 3
    assert json.loads(wp.debug.result.outputs_text()) == {"true": "hello world"}
    assert wp.history.rerun_button.isEnabled()
    with qtbot.waitSignal(wp.debug.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(wp.history.rerun_button, Qt.MouseButton.LeftButton)
    assert wp.debug.inputs.values() == {"query": "hello world"}
    qtbot.waitUntil(lambda: len(wp.history.runs) == 2)
    runs = services.workflows.runs(wp.app.id)
    assert {r.id for r in runs} == {first.run_id, blocker.args[0].run_id}
    assert all(r.inputs == {"query": "hello world"} and r.outputs == {"true": "hello world"} for r in runs)


def test_chatflow_answers_and_continues_the_conversation(qtbot, window, services):
    wp = open_sample(qtbot, window, CHATFLOW)
    panel = wp.debug
    assert isinstance(panel, ChatflowPanel)
    qtbot.keyClicks(panel.composer, "hi")
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_TIMEOUT_MS):
        qtbot.keyClick(panel.composer, Qt.Key.Key_Return)
    assert panel.answer_texts() == ["hi"]
    conversation = panel.conversation_id
    assert conversation
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_TIMEOUT_MS):
        panel.send("and again")
    assert panel.answer_texts() == ["hi", "and again"] and panel.conversation_id == conversation
    assert [m.answer for m in services.conversations.messages(conversation)] == ["hi", "and again"]
    assert [s for _, s in wp.trace.rows()] == ["succeeded"] * 3
    qtbot.mouseClick(panel.new_button, Qt.MouseButton.LeftButton)
    assert panel.conversation_id is None and panel.answer_texts() == []
    qtbot.waitUntil(lambda: len(wp.history.runs) == 2)
