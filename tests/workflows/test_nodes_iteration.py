"""Iteration node: items in order or in parallel, error modes, flattening, nested events, conversation variables."""

from __future__ import annotations

import pytest

from studio.core.workflow import ContainerNext, NodeFinished, NodeStarted
from studio.sandbox import SandboxRunner
from studio.workflow.node import WorkflowLimits
from studio.workflow.runner import WorkflowRunner
from tests.workflows.node_support import graph_of, load, load_sample, node_data, run

WORDS = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def runner():
    sandbox = SandboxRunner()
    wf = WorkflowRunner(code=sandbox)
    yield wf
    wf.close()
    sandbox.close()


def item_blocks(result) -> list[int]:
    """The iteration_index of each inner finished event, in stream order."""
    return [e.metadata["iteration_index"] for e in result.events
            if isinstance(e, NodeFinished) and e.parent_id == "iter"]


def test_dify_sample_flattens_lists(runner):
    """Dify's iteration_flatten_output_enabled_workflow: [1, 2, 3] → [item, item*2] each → flattened."""
    doc = load_sample("iteration_flatten_output_enabled_workflow")
    result = run(doc["workflow"]["graph"], runner=runner)
    assert result.status == "succeeded", result.finished.error
    assert result.outputs == {"output": [1, 2, 2, 4, 3, 6]}
    assert result.sequence() == [
        ("start", "start_node"), ("done", "start_node", "succeeded"), ("start", "code_node"),
        ("done", "code_node", "succeeded"), ("start", "iteration_node"), ("next", "iteration_node", 0),
        ("start", "code_inner_node"), ("done", "code_inner_node", "succeeded"), ("next", "iteration_node", 1),
        ("start", "code_inner_node"), ("done", "code_inner_node", "succeeded"), ("next", "iteration_node", 2),
        ("start", "code_inner_node"), ("done", "code_inner_node", "succeeded"),
        ("text", "[1, 2, 2, 4, 3, 6]"), ("done", "iteration_node", "succeeded"),
        ("start", "end_node"), ("done", "end_node", "succeeded")]


def test_dify_sample_without_flatten_keeps_nesting(runner):
    graph = load_sample("iteration_flatten_output_enabled_workflow")["workflow"]["graph"]
    node_data(graph, "iteration_node")["flatten_output"] = False
    assert run(graph, runner=runner).outputs == {"output": [[1, 2], [2, 4], [3, 6]]}


def test_inner_events_carry_the_iteration_and_the_start_node_is_hidden(runner):
    result = run(graph_of(load("iteration_parallel_workflow")), runner=runner, inputs={"words": WORDS[:2]})
    inner = [e for e in result.events if isinstance(e, (NodeStarted, NodeFinished)) and e.parent_id == "iter"]
    assert {e.node_id for e in inner} == {"shout"}  # iteration-start is never reported
    assert sorted(e.extras["iteration_index"] for e in inner if isinstance(e, NodeStarted)) == [0, 1]
    assert all(e.metadata["iteration_id"] == "iter" for e in inner if isinstance(e, NodeFinished))
    nexts = [e for e in result.events if isinstance(e, ContainerNext)]
    assert [(e.node_type, e.index, e.parent_id) for e in nexts] == [("iteration", 0, None), ("iteration", 1, None)]
    it = result.node("iter")
    assert it.inputs == {"iterator_selector": ["a", "b"]}
    assert it.metadata["iteration_length"] == 2 and set(it.metadata["iteration_duration_map"]) == {"0", "1"}


def test_parallel_items_keep_output_order_and_stream_whole(runner):
    result = run(graph_of(load("iteration_parallel_workflow")), runner=runner, inputs={"words": WORDS})
    assert result.status == "succeeded", result.finished.error
    assert result.outputs == {"shouted": ["0:A", "1:B", "2:C", "3:D"]}
    seq = result.sequence()
    first_inner = seq.index(("start", "shout"))
    assert seq[seq.index(("start", "iter")) + 1:first_inner] == [("next", "iter", i) for i in range(4)]
    # each item's events arrive together, as the item finishes: the slowest (item 0) comes last
    assert all(seq[i] == ("start", "shout") and seq[i + 1] == ("done", "shout", "succeeded")
               for i in range(first_inner, first_inner + 8, 2))
    blocks = item_blocks(result)
    assert sorted(blocks) == [0, 1, 2, 3] and blocks[-1] == 0


def test_sequential_items_run_one_after_another(runner):
    graph = graph_of(load("iteration_parallel_workflow"))
    node_data(graph, "iter")["is_parallel"] = False
    result = run(graph, runner=runner, inputs={"words": WORDS})
    assert result.outputs == {"shouted": ["0:A", "1:B", "2:C", "3:D"]}
    assert item_blocks(result) == [0, 1, 2, 3]
    assert [e for e in result.sequence() if e[0] == "next"] == [("next", "iter", i) for i in range(4)]


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("mode, status, outputs", [
    ("terminated", "failed", {}),
    ("continue-on-error", "succeeded", {"results": [10.0, None, 5.0]}),
    ("remove-abnormal-output", "succeeded", {"results": [10.0, 5.0]}),
])
def test_error_handle_modes(runner, parallel, mode, status, outputs):
    graph = graph_of(load("iteration_error_modes_workflow"))
    node_data(graph, "iter").update(error_handle_mode=mode, is_parallel=parallel)
    result = run(graph, runner=runner, inputs={"numbers": [1, 0, 2]})
    assert result.status == status
    assert result.outputs == outputs
    if mode == "terminated":
        assert "ZeroDivisionError" in result.node("iter").error
        assert "end" not in [e[1] for e in result.sequence() if e[0] == "start"]
    else:
        failed = [e for e in result.events if isinstance(e, NodeFinished) and e.node_id == "divide"
                  and e.status.value == "failed"]
        assert [e.metadata["iteration_index"] for e in failed] == [1]


def test_sequential_terminated_stops_at_the_failed_item(runner):
    result = run(graph_of(load("iteration_error_modes_workflow")), runner=runner, inputs={"numbers": [1, 0, 2, 4]})
    assert item_blocks(result) == [0, 1]


@pytest.mark.parametrize("value", [[], None])
def test_empty_or_null_iterator_gives_an_empty_output(value):
    result = run(graph_of(load("iteration_error_modes_workflow")), inputs={"numbers": value})
    assert result.status == "succeeded"
    assert result.outputs == {"results": []}
    assert not [e for e in result.events if isinstance(e, ContainerNext)]


def test_a_non_list_iterator_fails():
    result = run(graph_of(load("iteration_error_modes_workflow")), inputs={"numbers": "12"})
    assert result.status == "failed"
    assert result.node("iter").error_type == "InvalidIteratorValueError"


def test_too_many_items_fail_by_the_limit():
    runner = WorkflowRunner(limits=WorkflowLimits(max_iterations=2))
    result = run(graph_of(load("iteration_error_modes_workflow")), runner=runner, inputs={"numbers": [1, 2, 3]})
    assert result.status == "failed"
    assert "limit is 2" in result.node("iter").error


def test_conversation_variable_written_inside_reaches_the_answer():
    """Dify's test_update_conversation_variable_iteration: the updated value flows to the final answer."""
    query = "ensure conversation variable syncs"
    result = run(graph_of(load("iteration_conversation_chatflow")), mode="advanced-chat", system={"query": query},
                 conversation={"answer": ""}, inputs={"items": [1]})
    assert result.status == "succeeded", result.finished.error
    assert result.outputs == {"answer": query}
    assert result.finished.conversation_variables == {"answer": query}
    seq = result.sequence()
    assert seq.index(("text", query)) > seq.index(("done", "assign", "succeeded"))  # not the stale ""


def test_parallel_items_write_conversation_variables_back():
    graph = graph_of(load("iteration_conversation_chatflow"))
    node_data(graph, "iter").update(is_parallel=True, parallel_nums=3)
    result = run(graph, mode="advanced-chat", system={"query": "q"}, conversation={"answer": "old"},
                 inputs={"items": [1, 2, 3]})
    assert result.outputs == {"answer": "q"}
