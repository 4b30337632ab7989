"""The trace of a run: iteration steps nest by item, live and from history; retries and stops show on the rows."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QTreeWidgetItem

from studio.core.workflow import (
    NodeFinished, NodeRetry, NodeStarted, NodeStatus, RunStatus, WorkflowFinished, WorkflowStarted,
)
from studio.ui.workflow.steps import StepLog
from studio.ui.workflow.trees import TraceTree

ITERATION = Path("/work/shared/dsl-samples/iteration_flatten_output_enabled_workflow.yml")


def shape(item: QTreeWidgetItem) -> list:
    """(text, status, children) of an item and what nests under it."""
    return [item.text(0), item.text(1), [shape(item.child(i)) for i in range(item.childCount())]]


def tree_shape(trace) -> list:
    return [shape(trace.tree.topLevelItem(i)) for i in range(trace.tree.topLevelItemCount())]


EXPECTED = [
    ["Start", "succeeded", []],
    ["Generate Array", "succeeded", []],
    ["Iteration with Flatten Enabled", "succeeded", [
        [f"Item {n}", "", [["Generate Pair", "succeeded", []]]] for n in (1, 2, 3)]],
    ["End", "succeeded", []],
]


def test_iteration_steps_nest_by_item_live_and_in_history(qtbot, window, services):
    app = services.dsl.import_file(ITERATION).app
    window.studio_page.refresh(select_id=app.id)
    wp = window.studio_page.open_app(app)
    assert [(n.title, n.level) for n in wp.overview.nodes.values()] == [
        ("Start", 0), ("Generate Array", 0), ("Iteration with Flatten Enabled", 0), ("Generate Pair", 1), ("End", 0)]
    with qtbot.waitSignal(wp.debug.run_finished, timeout=30_000) as blocker:
        wp.debug.run()
    assert blocker.args[0].outputs == {"output": [1, 2, 2, 4, 3, 6]}
    assert tree_shape(wp.trace) == EXPECTED
    inner = next(n.id for n in wp.overview.nodes.values() if n.title == "Generate Pair")
    assert wp.overview.items[inner].text(3).endswith("×3")
    wp.inspect_node(inner)
    assert "item 3" in wp.detail.facts.text()
    assert json.loads(wp.detail.blocks["inputs"].value_text()) == {"arg1": 3}
    qtbot.waitUntil(lambda: len(wp.history.runs) == 1)
    wp.trace.set_log(None)
    wp.history.table.clearSelection()
    with qtbot.waitSignal(wp.past_run_shown, timeout=10_000):
        wp.history.table.selectRow(0)
    assert tree_shape(wp.trace) == EXPECTED


def test_retries_and_a_stopped_run_show_on_the_step_rows(qtbot):
    log, trace = StepLog(), TraceTree()
    qtbot.addWidget(trace)
    trace.set_log(log)
    events = [WorkflowStarted("r1", {}), NodeStarted("http", "http-request", "Fetch", 1),
              NodeRetry("http", "http-request", "Fetch", 1, "timed out"),
              NodeRetry("http", "http-request", "Fetch", 2, "timed out"),
              NodeFinished("http", "http-request", "Fetch", 1, NodeStatus.SUCCEEDED, {}, {}, {"status_code": 200},
                           elapsed_s=0.25),
              NodeStarted("llm", "llm", "Answer", 2)]
    for event in events:
        trace.update_steps(log.apply(event))
    assert trace.rows() == [("Fetch", "succeeded"), ("Answer", "running")]
    assert trace.items[0].text(2) == "250 ms · 2 retries"
    trace.update_steps(log.apply(WorkflowFinished("r1", RunStatus.STOPPED, {})))
    assert trace.rows() == [("Fetch", "succeeded"), ("Answer", "stopped")]
