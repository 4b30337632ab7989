"""Loop node: loop variables, break conditions before and after rounds, loop-end, answers inside, limits, stop."""

from __future__ import annotations

import threading
import time

from studio.core.cancel import CancelToken
from studio.core.workflow import ContainerNext, NodeFinished, NodeStarted, ToolMessage
from studio.workflow.node import WorkflowLimits
from studio.workflow.runner import WorkflowRunner
from tests.workflows.node_support import Run, graph_of, load, load_sample, node_data

LOOP, ASSIGN = "1754827949615", "1754827988715"


def sample_graph():
    return load_sample("increment_loop_with_break_condition_workflow")["workflow"]["graph"]


def run(graph, *, runner=None, **kwargs) -> Run:
    return Run(list((runner or WorkflowRunner()).run(graph, **kwargs)))


def test_dify_sample_counts_to_five():
    """Dify's test_loop_with_break_condition: num starts at 1, += 1 per round, break when num ≥ 5."""
    result = run(sample_graph())
    assert result.status == "succeeded", result.finished.error
    assert result.outputs == {"num": 5}
    assert [e for e in result.sequence() if e[0] != "text"] == [
        ("start", "1754827922555"), ("done", "1754827922555", "succeeded"), ("start", LOOP),
        ("start", ASSIGN), ("done", ASSIGN, "succeeded"), ("next", LOOP, 1),
        ("start", ASSIGN), ("done", ASSIGN, "succeeded"), ("next", LOOP, 2),
        ("start", ASSIGN), ("done", ASSIGN, "succeeded"), ("next", LOOP, 3),
        ("start", ASSIGN), ("done", ASSIGN, "succeeded"),
        ("done", LOOP, "succeeded"), ("start", "1754828005059"), ("done", "1754828005059", "succeeded")]
    loop = result.node(LOOP)
    assert loop.outputs == {"num": 5, "loop_round": 4}
    assert loop.inputs == {"loop_count": 10, "num": 1}
    assert loop.metadata["completed_reason"] == "loop_break"
    assert loop.metadata["loop_variable_map"] == {"0": {"num": 2}, "1": {"num": 3}, "2": {"num": 4}, "3": {"num": 5}}
    inner = [e for e in result.events if isinstance(e, NodeFinished) and e.parent_id == LOOP]
    assert [e.metadata["loop_index"] for e in inner] == [0, 1, 2, 3]
    assert all(e.metadata["loop_id"] == LOOP for e in inner)
    nexts = [e for e in result.events if isinstance(e, ContainerNext)]
    assert nexts[0].output == {"num": 2, "loop_round": 1} and nexts[0].node_type == "loop"


def test_break_condition_true_before_the_first_round_runs_no_round():
    graph = sample_graph()
    node_data(graph, LOOP)["loop_variables"][0]["value"] = "7"
    result = run(graph)
    assert result.outputs == {"num": 7}
    assert result.node(LOOP).outputs == {"num": 7, "loop_round": 0}
    assert not [e for e in result.events if isinstance(e, (NodeStarted, ContainerNext)) and e.node_id == ASSIGN]


def test_loop_count_is_capped_by_the_limit():
    graph = sample_graph()
    node_data(graph, LOOP)["break_conditions"][0]["value"] = "50"
    result = run(graph, runner=WorkflowRunner(limits=WorkflowLimits(max_loop_count=3)))
    assert result.node(LOOP).outputs == {"num": 4, "loop_round": 3}
    assert result.node(LOOP).metadata["completed_reason"] == "loop_completed"


def test_loop_count_bounds_the_rounds():
    graph = sample_graph()
    node_data(graph, LOOP).update(loop_count=2)
    assert run(graph).outputs == {"num": 3}


def test_inner_steps_do_not_count_against_the_run():
    """As in Dify, an item's or round's nodes run on their own step budget; the run counts its own nodes."""
    result = run(sample_graph(), runner=WorkflowRunner(limits=WorkflowLimits(max_steps=3)))
    assert result.status == "succeeded"
    assert result.finished.total_steps == 3


def test_loop_end_node_breaks_and_variables_can_come_from_inputs():
    result = run(graph_of(load("loop_end_node_workflow")), inputs={"first": 0})
    assert result.status == "succeeded", result.finished.error
    assert result.outputs == {"count": 3, "seen": [0, 1, 2], "rounds": 3}
    assert result.node("loop").metadata["completed_reason"] == "loop_break"
    assert [e[2] for e in result.sequence() if e[0] == "next"] == [1, 2]
    once = run(graph_of(load("loop_end_node_workflow")), inputs={"first": 5})
    assert once.outputs == {"count": 6, "seen": [5], "rounds": 1}


def test_answers_inside_a_loop_stream_each_round_then_the_answer_after_it():
    """Dify's test_loop_contains_answer / test_answer_in_loop_streams_each_round."""
    result = run(graph_of(load("loop_answer_chatflow")), mode="advanced-chat", system={"query": "hi"})
    assert result.status == "succeeded", result.finished.error
    assert result.outputs == {"answer": "1\n2\nhi + 2"}
    assert result.sequence() == [
        ("start", "start"), ("done", "start", "succeeded"), ("start", "loop"),
        ("start", "inc"), ("text", "1"), ("text", "\n"), ("done", "inc", "succeeded"),
        ("start", "say"), ("done", "say", "succeeded"), ("next", "loop", 1),
        ("start", "inc"), ("text", "2"), ("text", "\n"), ("done", "inc", "succeeded"),
        ("start", "say"), ("done", "say", "succeeded"),
        ("text", "hi"), ("text", " + "), ("text", "2"), ("done", "loop", "succeeded"),
        ("start", "final"), ("done", "final", "succeeded")]


def test_iteration_inside_a_loop():
    result = run(graph_of(load("nested_loop_iteration_workflow")), inputs={"words": ["a", "b"]})
    assert result.status == "succeeded", result.finished.error
    assert result.outputs == {"acc": ["1:a", "1:b", "2:a", "2:b"], "n": 2}
    iter_starts = [e for e in result.events if isinstance(e, NodeStarted) and e.node_id == "iter"]
    assert [(e.parent_id, e.extras["loop_index"]) for e in iter_starts] == [("loop", 0), ("loop", 1)]
    labels = [e for e in result.events if isinstance(e, NodeFinished) and e.node_id == "label"]
    assert [(e.parent_id, e.metadata["iteration_index"], e.outputs["output"]) for e in labels] == [
        ("iter", 0, "1:a"), ("iter", 1, "1:b"), ("iter", 0, "2:a"), ("iter", 1, "2:b")]
    assert "loop_id" not in labels[0].metadata  # only the nearest container marks an event
    nexts = [(e.node_id, e.index, e.parent_id) for e in result.events if isinstance(e, ContainerNext)]
    assert nexts == [("iter", 0, "loop"), ("iter", 1, "loop"), ("loop", 1, None), ("iter", 0, "loop"),
                     ("iter", 1, "loop"), ("loop", 2, None)]


def test_a_failing_break_condition_after_a_round_fails_the_loop():
    graph = sample_graph()
    node_data(graph, LOOP)["break_conditions"][0]["variable_selector"] = [ASSIGN, "missing"]
    result = run(graph)
    assert result.status == "failed"
    assert result.node(LOOP).status.value == "failed"
    assert len([e for e in result.events if isinstance(e, NodeFinished) and e.node_id == ASSIGN]) == 1


def test_an_invalid_constant_fails_the_loop():
    graph = sample_graph()
    node_data(graph, LOOP)["loop_variables"][0]["value"] = "many"
    result = run(graph)
    assert result.status == "failed"
    assert "Invalid value for loop variable num" in result.node(LOOP).error


class SlowTools:
    """A tool port whose one tool takes a while and honours the cancel token."""

    def __init__(self) -> None:
        self.calls = 0

    def has_tool(self, provider_type, provider_id, tool_name) -> bool:
        return tool_name == "slow"

    def invoke(self, call, cancel):
        self.calls += 1
        cancel.wait(0.1)
        yield ToolMessage("text", "tick")


def test_stop_during_a_loop():
    graph = sample_graph()
    node_data(graph, LOOP).update(loop_count=50, break_conditions=[])
    graph["nodes"].append({"id": "slow", "parentId": LOOP, "data": {
        "type": "tool", "title": "Slow", "provider_id": "test", "provider_type": "builtin", "provider_name": "test",
        "tool_name": "slow", "tool_label": "Slow", "tool_configurations": {}, "tool_parameters": {}}})
    graph["edges"].append({"id": "assign-slow", "source": ASSIGN, "target": "slow", "sourceHandle": "source"})
    tools = SlowTools()
    cancel = CancelToken()
    events = []
    started = time.monotonic()
    for event in WorkflowRunner(tools=tools).run(graph, cancel=cancel):
        events.append(event)
        if isinstance(event, ContainerNext) and not cancel.cancelled:
            threading.Timer(0.05, cancel.cancel).start()
    result = Run(events)
    assert result.status == "stopped"
    assert result.node(LOOP).status.value == "stopped"
    assert tools.calls < 5 and time.monotonic() - started < 3
