"""Engine semantics on small graphs: operators, validation, limits, stop, skips, variables."""

from __future__ import annotations

import pytest

from studio.core.cancel import CancelToken
from studio.core.workflow import NodeFinished, NodeStarted, WorkflowFinished
from studio.workflow.node import ConfigError, WorkflowLimits
from studio.workflow.runner import WorkflowRunner
from tests.workflows.graphs import answer, edge, end, graph, if_else, node, start, template, trace


@pytest.fixture(scope="module")
def runner():
    r = WorkflowRunner()
    yield r
    r.close()


def run(runner, g, inputs=None, mode="workflow", **kw):
    events = list(runner.run(g, mode=mode, inputs=inputs or {}, **kw))
    return events, events[-1]


# value, operator, expected value, result — Dify's processor semantics, including its type rules
OPERATOR_CASES = [
    ("hello world", "contains", "world", True), ("hello", "contains", "x", False), ([1, 2], "contains", 2, True),
    ("", "contains", "x", False), ("hello", "not contains", "x", True), ("", "not contains", "x", True),
    ("hello", "start with", "he", True), ("hello", "start with", "lo", False),
    ("hello", "end with", "lo", True), ("hello", "end with", "he", False),
    ("abc", "is", "abc", True), ("abc", "is", "abd", False), (True, "is", "true", True),
    ("abc", "is not", "abd", True), ("abc", "is not", "abc", False),
    ("", "empty", None, True), ([], "empty", None, True), ("x", "empty", None, False),
    ("x", "not empty", None, True), (0, "not empty", None, False),
    ("b", "in", ["a", "b"], True), ("c", "in", ["a", "b"], False), ("c", "not in", ["a", "b"], True),
    ([1, 2, 3], "all of", [1, 3], True), ([1, 2], "all of", [1, 3], False),
    (5, "=", "5", True), (5.5, "=", "5.5", True), (5, "≠", "6", True), (5, "≠", "5", False),
    (5, ">", "3", True), (3, ">", "3", False), (3, "<", "5", True), (5, "<", "5", False),
    (5, "≥", "5", True), (4, "≥", "5", False), (5, "≤", "5", True), (6, "≤", "5", False),
    (None, "null", None, True), ("x", "null", None, False), ("x", "not null", None, True),
    (None, "not null", None, False), ("x", "exists", None, True), (None, "exists", None, False),
    (None, "not exists", None, True), (0, "not exists", None, False),
]


def operator_graph(value, op, expected):
    return graph(
        [start(), node("set", "assigner", version="2", items=[
            {"variable_selector": ["conversation", "v"], "input_type": "constant", "operation": "over-write",
             "value": value}]),
         if_else("check", ("yes", op, ["conversation", "v"], expected)),
         end("end_yes", r=["check", "result"]), end("end_no", r=["check", "result"])],
        [("start", "set"), ("set", "check"), ("check", "end_yes", "yes"), ("check", "end_no", "false")])


def test_all_21_operators_are_covered():
    from studio.workflow.conditions import OPERATORS

    assert len(OPERATORS) == 21 and {c[1] for c in OPERATOR_CASES} == set(OPERATORS)


@pytest.mark.parametrize("value, op, expected, result", OPERATOR_CASES,
                         ids=[f"{c[0]!r} {c[1]} {c[2]!r}" for c in OPERATOR_CASES])
def test_if_else_operator(runner, value, op, expected, result):
    events, fin = run(runner, operator_graph(value, op, expected), conversation={"v": None})
    assert fin.status.value == "succeeded", fin.error
    assert fin.outputs == {"r": result}
    taken = "end_yes" if result else "end_no"
    skipped = "end_no" if result else "end_yes"
    assert f"start:{taken}" in trace(events) and f"start:{skipped}" not in trace(events)


def test_type_errors_fail_the_node_like_dify(runner):
    events, fin = run(runner, operator_graph("abc", ">", "1"), conversation={"v": None})
    assert fin.status.value == "failed" and "Invalid actual value type: number" in fin.error


def test_missing_variable_in_condition_fails(runner):
    g = graph([start(), if_else("check", ("yes", "is", ["start", "nope"], "x")), end()],
              [("start", "check"), ("check", "end", "yes")])
    _, fin = run(runner, g)
    assert fin.status.value == "failed" and "not found" in fin.error


def test_skip_propagates_through_a_chain_and_join_runs_once(runner):
    g = graph([start("q"), if_else("check", ("yes", "is", ["start", "q"], "a")),
               template("a1", "A"), template("a2", "A2"), template("b1", "B"),
               template("join", "{{ x or '' }}{{ y or '' }}", x=["a2", "output"], y=["b1", "output"]), end(r=["join", "output"])],
              [("start", "check"), ("check", "a1", "yes"), ("a1", "a2"), ("check", "b1", "false"),
               ("a2", "join"), ("b1", "join"), ("join", "end")])
    events, fin = run(runner, g, {"q": "b"})
    got = trace(events)
    assert fin.outputs == {"r": "B"}
    assert "start:a1" not in got and "start:a2" not in got and got.count("start:join") == 1


@pytest.mark.parametrize("g, message", [
    (graph([start(), template("a", "x"), template("b", "y")], [("start", "a"), ("a", "b"), ("b", "a")]),
     "cycle"),
    ({"nodes": [start()], "edges": [edge("start", "ghost")]}, "dangling: node 'ghost' does not exist"),
    (graph([start(), node("x", "teleport")], [("start", "x")]), "Node 'x' (x) has unknown type 'teleport'"),
    (graph([start(), template("t", "{{ a }}", a=["nowhere", "v"])], [("start", "t")]),
     "Node 't' (t) references missing variable nowhere.v"),
    (graph([start(), node("t", "template-transform", template=["not", "a", "string"])], [("start", "t")]),
     "Node 't' (t): template"),
    ({"nodes": [template("t", "x")], "edges": []}, "no Start node"),
    ({"nodes": "oops", "edges": []}, "must be lists"),
])
def test_bad_graphs_are_rejected_before_anything_runs(runner, g, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        runner.run(g)


def test_max_steps_limit():
    nodes = [start()] + [template(f"t{i}", "x") for i in range(10)]
    edges = [("start", "t0")] + [(f"t{i}", f"t{i + 1}") for i in range(9)]
    r = WorkflowRunner(limits=WorkflowLimits(max_steps=5))
    try:
        _, fin = run(r, graph(nodes, edges))
    finally:
        r.close()
    assert fin.status.value == "failed" and "Max steps 5 reached" in fin.error


def test_variable_size_limit_fails_the_node():
    r = WorkflowRunner(limits=WorkflowLimits(max_variable_bytes=100))
    try:
        _, fin = run(r, graph([start(), template("big", "{{ 'x' * 1000 }}"), end(r=["big", "output"])],
                              [("start", "big"), ("big", "end")]))
    finally:
        r.close()
    assert fin.status.value == "failed" and "limit for a variable is 100 bytes" in fin.error


def test_stop_ends_the_run_as_stopped(runner):
    nodes = [start()] + [template(f"t{i}", "x") for i in range(50)]
    edges = [("start", "t0")] + [(f"t{i}", f"t{i + 1}") for i in range(49)]
    cancel = CancelToken()
    events = []
    for ev in runner.run(graph(nodes, edges), cancel=cancel):
        events.append(ev)
        if isinstance(ev, NodeFinished) and ev.node_id == "t3":
            cancel.cancel()
    fin = events[-1]
    assert isinstance(fin, WorkflowFinished) and fin.status.value == "stopped"
    assert sum(isinstance(e, NodeStarted) for e in events) < 10


def test_assigner_operations_and_type_rules(runner):
    items = [
        {"variable_selector": ["conversation", "n"], "input_type": "constant", "operation": "+=", "value": 5},
        {"variable_selector": ["conversation", "n"], "input_type": "constant", "operation": "*=", "value": 2},
        {"variable_selector": ["conversation", "xs"], "input_type": "constant", "operation": "append", "value": 3},
        {"variable_selector": ["conversation", "xs"], "input_type": "constant", "operation": "remove-first"},
        {"variable_selector": ["conversation", "s"], "input_type": "variable", "operation": "over-write",
         "value": ["start", "q"]},
    ]
    g = graph([start("q"), node("set", "assigner", version="2", items=items)], [("start", "set")])
    _, fin = run(runner, g, {"q": "new"}, conversation={"n": 1, "xs": [1, 2], "s": "old"})
    assert fin.conversation_variables == {"n": 12, "xs": [2, 3], "s": "new"}
    bad = graph([start(), node("set", "assigner", version="2", items=[
        {"variable_selector": ["conversation", "n"], "input_type": "constant", "operation": "/=", "value": 0}])],
        [("start", "set")])
    _, fin = run(runner, bad, conversation={"n": 1})
    assert fin.status.value == "failed" and "Division by zero" in fin.error


def test_aggregator_takes_first_non_null(runner):
    g = graph([start("a", "b"), node("agg", "variable-aggregator", variables=[["start", "a"], ["start", "b"]]),
               end(r=["agg", "output"])], [("start", "agg"), ("agg", "end")])
    _, fin = run(runner, g, {"b": "second"})
    assert fin.outputs == {"r": "second"}


def test_template_is_sandboxed(runner):
    g = graph([start(), template("t", "{{ ''.__class__.__mro__ }}"), end(r=["t", "output"])],
              [("start", "t"), ("t", "end")])
    _, fin = run(runner, g)
    assert fin.status.value == "failed" and fin.outputs == {}
    assert "SecurityError" in fin.error and "unsafe" in fin.error


def test_chatflow_answer_streams_sys_query(runner):
    g = graph([start(), answer("ans", "You said: {{#sys.query#}}")], [("start", "ans")])
    events, fin = run(runner, g, mode="advanced-chat", system={"query": "hi"})
    assert fin.outputs == {"answer": "You said: hi"}
    assert [t for t in trace(events) if t.startswith("text:")] == ["text:You said: ", "text:hi"]
