"""Stopping a long workflow run with Esc, and leaving its page mid-run, with the real bundled model."""

from __future__ import annotations

import yaml
from PySide6.QtCore import Qt

from studio.core.workflow import RunStatus

FIXTURE = "tests/workflows/fixtures/llm_capital_workflow.yml"
ANSWER_TIMEOUT_MS = 90_000


def storyteller(services):
    """The LLM fixture, asked for a long story with room for 2000 tokens, imported as the DSL importer does."""
    with open(FIXTURE, encoding="utf-8") as f:
        dsl = yaml.safe_load(f)
    dsl["app"]["name"] = "Storyteller"
    llm = next(n for n in dsl["workflow"]["graph"]["nodes"] if n["id"] == "llm")
    llm["data"]["model"]["completion_params"].update(max_tokens=2000, temperature=0.7)
    return services.dsl.import_text(yaml.safe_dump(dsl, sort_keys=False)).app


def start_story(qtbot, window, services):
    page = window.studio_page
    page.refresh()
    wp = page.open_app(storyteller(services))
    wp.debug.run({"question": "Write a very long story about a dragon who learns to sing."})
    qtbot.waitUntil(lambda: wp.debug.result.text.toPlainText().strip() != "", timeout=ANSWER_TIMEOUT_MS)
    return wp


def test_escape_stops_a_long_run(qtbot, window, services):
    wp = start_story(qtbot, window, services)
    assert wp.trace.rows()[-1] == ("LLM", "running")
    assert wp.overview.status_of("llm") == "running"
    with qtbot.waitSignal(wp.debug.run_finished, timeout=10_000) as blocker:
        qtbot.keyClick(wp.debug.inputs.widgets["question"], Qt.Key.Key_Escape)
    finished = blocker.args[0]
    assert finished.status == RunStatus.STOPPED
    assert wp.debug.result.badge.text() == "Stopped"
    assert dict(wp.trace.rows())["LLM"] == "stopped"
    assert wp.debug.run_button.isEnabled() and not wp.debug.stop_button.isEnabled()
    qtbot.waitUntil(lambda: len(wp.history.runs) == 1)
    assert services.workflows.get_run(finished.run_id).status == RunStatus.STOPPED


def test_leaving_the_page_stops_the_run(qtbot, window, services):
    wp = start_story(qtbot, window, services)
    app_id = wp.app.id
    window.studio_page.close_editor()
    assert window.studio_page.editor is None
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=10_000)
    assert [r.status for r in services.workflows.runs(app_id)] == [RunStatus.STOPPED]


def test_closing_the_window_stops_the_run_and_leaves_no_threads(qtbot, window, services, leftover_threads):
    wp = start_story(qtbot, window, services)
    app_id = wp.app.id
    window.close()
    assert not window.bridge.busy, "the window closed with a run still going"
    assert [r.status for r in services.workflows.runs(app_id)] == [RunStatus.STOPPED]
