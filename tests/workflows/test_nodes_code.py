"""Code node: the real sandbox runs `main()`, outputs are the declared keys, and the trace shows what happened."""

from __future__ import annotations

import pytest
from tests.workflows.node_support import graph_of, load, node_data, run

from studio.core.code import CodeLimits
from studio.sandbox import SandboxRunner
from studio.workflow.runner import WorkflowRunner


@pytest.fixture(scope="module")
def sandbox():
    runner = SandboxRunner()
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def runner(sandbox):
    wf = WorkflowRunner(code=sandbox)
    yield wf
    wf.close()


def test_python_code_outputs_and_trace(runner):
    result = run(graph_of(load("code_python_workflow")), runner=runner, inputs={"x": 3, "name": "bob"})
    assert result.status == "succeeded", result.finished.error
    assert result.outputs == {"double": 6, "greeting": "hi bob", "name_length": 3}
    # the End node's text is released as the code node settles, before its finished event (Dify's order)
    assert result.sequence() == [
        ("start", "start"), ("done", "start", "succeeded"), ("start", "code"), ("text", "6"), ("text", "\n"),
        ("text", "hi bob"), ("text", "\n"), ("text", "3"), ("done", "code", "succeeded"), ("start", "end"),
        ("done", "end", "succeeded")]
    code = result.node("code")
    assert code.inputs == {"x": 3, "name": "bob"}
    assert code.outputs["info"] == {"len": 3, "tags": ["a", "b"]}
    assert code.process_data["stdout"] == "computing 3\n"
    assert code.process_data["duration_ms"] > 0 and code.process_data["peak_memory_kb"] > 0
    assert code.metadata["code"]["language"] == "python3"


def test_exception_takes_the_fail_branch_and_keeps_the_trace(runner):
    result = run(graph_of(load("code_fail_branch_workflow")), runner=runner, inputs={"mode": "raise"})
    assert result.status == "partial-succeeded"
    assert "bad input" in result.outputs["error_message"]
    assert result.outputs["error_type"] == "CodeExecutionError"
    code = result.node("code")
    assert code.status.value == "exception"
    assert code.process_data["stdout"] == "mode is raise\n"  # the failed run's output is still in the trace
    assert "end_ok" not in {e[1] for e in result.sequence() if e[0] == "start"}


def test_missing_declared_output_is_an_output_validation_error(runner):
    result = run(graph_of(load("code_fail_branch_workflow")), runner=runner, inputs={"mode": "missing"})
    assert result.outputs["error_type"] == "OutputValidationError"
    assert "result" in result.outputs["error_message"]


def test_success_takes_the_normal_branch(runner):
    result = run(graph_of(load("code_fail_branch_workflow")), runner=runner, inputs={"mode": "fine"})
    assert result.status == "succeeded"
    assert result.outputs == {"result": "ok"}


def test_javascript_code(runner):
    graph = graph_of(load("code_python_workflow"))
    data = node_data(graph, "code")
    data["code_language"] = "javascript"
    data["code"] = ("function main({x, name}) {\n  console.log('js', x);\n"
                    "  return {double: x * 2, greeting: 'hi ' + name, info: {len: name.length, tags: ['a', 'b']}};\n}\n")
    result = run(graph, runner=runner, inputs={"x": 4, "name": "ada"})
    assert result.status == "succeeded", result.finished.error
    assert result.outputs == {"double": 8, "greeting": "hi ada", "name_length": 3}
    assert "js 4" in result.node("code").process_data["stdout"]


def test_no_code_executor_fails_clearly():
    result = run(graph_of(load("code_python_workflow")), inputs={"x": 1, "name": "a"})
    assert result.status == "failed"
    assert result.node("code").error == "Code execution is not available"
    assert "Code execution is not available" in result.finished.error


def test_a_limit_hit_shows_in_the_trace():
    sandbox = SandboxRunner(limits=CodeLimits(wall_time_s=1.0, cpu_time_s=1), pool_size=0)
    graph = graph_of(load("code_python_workflow"))
    node_data(graph, "code")["code"] = "def main(x, name):\n    while True:\n        pass\n"
    try:
        result = run(graph, runner=WorkflowRunner(code=sandbox), inputs={"x": 1, "name": "a"})
    finally:
        sandbox.close()
    assert result.status == "failed"
    code = result.node("code")
    assert code.process_data["limit"] in ("cpu_time", "wall_time")
    assert code.metadata["code"]["limit"] == code.process_data["limit"]
