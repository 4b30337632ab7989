"""Tool and knowledge-retrieval nodes reach the outside only through their ports; without one they fail clearly."""

from __future__ import annotations

import json

from studio.core.errors import StudioError
from studio.core.workflow import ToolMessage
from studio.workflow.runner import WorkflowRunner
from tests.workflows.node_support import Server, graph_of, load, load_sample, node_data, run


class Tools:
    """A ToolPort with a text tool and Dify's json_parse; records every call."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = []
        self.fail = fail

    def has_tool(self, provider_type, provider_id, tool_name) -> bool:
        return tool_name in ("reverse", "json_parse")

    def invoke(self, call, cancel):
        self.calls.append(call)
        if self.fail:
            raise StudioError("the tool's service is down")
        if call.tool_name == "json_parse":
            yield ToolMessage("variable", json.loads(call.parameters["json_string"]), name="result")
            return
        text = call.parameters["text"][::-1]
        yield ToolMessage("text", text[:2])
        yield ToolMessage("text", text[2:])
        yield ToolMessage("json", {"reversed": text})
        yield ToolMessage("variable", len(text), name="length")


class Knowledge:
    """A KnowledgePort over fixed segments; one configured knowledge base is missing."""

    def __init__(self, existing=("kb-manuals", "kb-faq")) -> None:
        self.existing = set(existing)
        self.requests = []

    def missing(self, dataset_ids):
        return [d for d in dataset_ids if d not in self.existing]

    def retrieve(self, request, cancel):
        self.requests.append(request)
        return [{"content": f"{d} says hi", "title": f"{d}.md",
                 "metadata": {"dataset_id": d, "score": 0.5 if d == "kb-manuals" else 0.9}}
                for d in request.dataset_ids]


def test_tool_parameters_call_and_outputs():
    tools = Tools()
    result = run(graph_of(load("tool_workflow")), runner=WorkflowRunner(tools=tools), inputs={"text": "abc"})
    assert result.status == "succeeded", result.finished.error
    assert result.outputs == {"text": ">cba<", "json": [{"reversed": ">cba<"}], "length": 5}
    (call,) = tools.calls
    assert (call.provider_id, call.provider_type, call.tool_name) == ("langgenius/text/text", "builtin", "reverse")
    assert call.parameters == {"text": "<abc>", "times": 2, "raw": "abc"}
    assert call.configurations == {"mode": "upper"}
    tool = result.node("tool")
    assert tool.outputs["files"] == [] and tool.metadata["tool_info"]["provider_id"] == "langgenius/text/text"
    # the tool's text streams: the End node's first chunk is out before the tool's finished event
    seq = result.sequence()
    assert seq.index(("text", ">c")) < seq.index(("done", "tool", "succeeded"))


def test_without_the_tool_the_node_fails_clearly():
    result = run(graph_of(load("tool_workflow")), inputs={"text": "abc"})
    assert result.status == "failed"
    node = result.node("tool")
    assert node.error == "tool provider not found: langgenius/text/text/reverse"
    assert node.error_type == "ToolProviderNotFoundError"
    assert result.outputs == {}


def test_a_failing_tool_is_a_node_failure():
    result = run(graph_of(load("tool_workflow")), runner=WorkflowRunner(tools=Tools(fail=True)), inputs={"text": "x"})
    assert result.node("tool").error == "Failed to invoke tool: the tool's service is down"
    assert result.node("tool").inputs == {"text": "<x>", "times": 2, "raw": "x"}


def test_dify_http_and_tool_sample():
    """Dify's http_request_with_json_tool_workflow (Dify mocks both nodes; here a real server and a tool port)."""
    graph = load_sample("http_request_with_json_tool_workflow")["workflow"]["graph"]
    body = b'{"key": "value", "number": 42}'
    with Server({"/data": lambda r: (200, {"Content-Type": "application/json"}, body)}) as server:
        tools = Tools()
        result = run(graph, runner=WorkflowRunner(tools=tools), inputs={"url": f"{server.url}/data"})
        bare = run(graph, inputs={"url": f"{server.url}/data"})
    assert result.status == "succeeded", result.finished.error
    assert result.outputs == {"status_code": 200, "parsed_data": {"key": "value", "number": 42}}
    assert tools.calls[0].parameters == {"json_string": body.decode()}  # a legacy bare-value parameter
    assert bare.status == "failed"
    assert bare.node("http_node").status.value == "succeeded"
    assert bare.node("tool_node").error == "tool provider not found: builtin/json_parse"


def test_knowledge_retrieval_through_the_port():
    knowledge = Knowledge()
    result = run(graph_of(load("knowledge_retrieval_workflow")), runner=WorkflowRunner(knowledge=knowledge),
                 inputs={"question": "how?"})
    assert result.status == "succeeded", result.finished.error
    assert [r["title"] for r in result.outputs["result"]] == ["kb-faq.md", "kb-manuals.md"]  # best score first
    assert [r["metadata"]["position"] for r in result.outputs["result"]] == [1, 2]
    (request,) = knowledge.requests
    assert request.query == "how?" and request.dataset_ids == ("kb-manuals", "kb-faq")
    assert request.top_k == 3 and request.score_threshold == 0.2 and request.mode == "multiple"
    assert request.reranking["reranking_mode"] == "weighted_score" and request.metadata_filter is None


def test_knowledge_retrieval_without_knowledge_bases_fails_clearly():
    result = run(graph_of(load("knowledge_retrieval_workflow")), inputs={"question": "how?"})
    assert result.status == "failed"
    node = result.node("kr")
    assert node.error == "knowledge base not found: kb-manuals, kb-faq"
    assert node.error_type == "KnowledgeRetrievalError"


def test_partly_missing_knowledge_bases_search_the_rest():
    knowledge = Knowledge(existing=("kb-faq",))
    result = run(graph_of(load("knowledge_retrieval_workflow")), runner=WorkflowRunner(knowledge=knowledge),
                 inputs={"question": "how?"})
    assert [r["title"] for r in result.outputs["result"]] == ["kb-faq.md"]
    assert result.node("kr").process_data["missing_dataset_ids"] == ["kb-manuals"]
    assert knowledge.requests[0].dataset_ids == ("kb-faq",)


def test_knowledge_retrieval_needs_a_query():
    graph = graph_of(load("knowledge_retrieval_workflow"))
    result = run(graph, runner=WorkflowRunner(knowledge=Knowledge()), inputs={"question": "  "})
    assert result.node("kr").error == "Query is required."
    node_data(graph, "kr")["dataset_ids"] = ["kb-gone"]
    result = run(graph, runner=WorkflowRunner(knowledge=Knowledge()), inputs={"question": "q"})
    assert result.node("kr").error == "knowledge base not found: kb-gone"
