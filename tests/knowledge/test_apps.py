"""Apps that use knowledge: a chatbot with attached knowledge bases answers with citations, and the workflow
knowledge-retrieval node returns Dify's result items from the same retrieval."""

from __future__ import annotations

import copy

import pytest

from studio.core.entities import AppMode, MessageStatus
from studio.core.errors import ValidationError
from studio.core.events import MessageFinished
from studio.core.workflow import WorkflowFinished

pytestmark = pytest.mark.slow

WORKFLOW = """
kind: app
version: 0.5.0
app: {name: kb-flow, mode: workflow}
workflow:
  graph:
    nodes:
    - id: start
      data: {type: start, title: Start, variables: [{variable: q, label: q, type: text-input, required: true}]}
    - id: kr
      data:
        type: knowledge-retrieval
        title: Knowledge
        query_variable_selector: [start, q]
        dataset_ids: [DATASET]
        retrieval_mode: multiple
        multiple_retrieval_config: {top_k: 2, reranking_enable: false, reranking_mode: weighted_score,
          weights: {vector_setting: {vector_weight: 0.6}, keyword_setting: {keyword_weight: 0.4}}}
    - id: end
      data: {type: end, title: End, outputs: [{variable: result, value_selector: [kr, result]}]}
    edges:
    - {id: e1, source: start, target: kr, sourceHandle: source, targetHandle: target}
    - {id: e2, source: kr, target: end, sourceHandle: source, targetHandle: target}
"""


@pytest.fixture
def zoo(services, tmp_path):
    (tmp_path / "zoo.md").write_text(
        "---\ntitle: Zoo guide\nkeeper: Ana\n---\n# Zoo guide\n\nThe penguin enclosure opens at nine in the "
        "morning.\n\nThe reptile house closes early on Sundays.\n")
    (tmp_path / "cafe.md").write_text("# Cafe\n\nThe cafe sells herring sandwiches and hot cocoa.\n")
    dataset = services.knowledge.create("zoo", chunk_size=100, overlap=0)
    services.knowledge.add("zoo", [tmp_path])
    assert not services.knowledge.ingest("zoo").failed
    return dataset


def _chat_app(services, dataset_id):
    app = services.apps.create(name="Guide", mode=AppMode.CHAT, prompt="You are a zoo guide.")
    cfg = copy.deepcopy(app.config)
    cfg["dataset_configs"] = {"retrieval_model": "multiple", "top_k": 2, "datasets": {"datasets": [
        {"dataset": {"enabled": True, "id": dataset_id}}]}}
    cfg["model"]["completion_params"]["max_tokens"] = 8
    return services.apps.update(app.id, config=cfg)


def test_chat_answers_carry_citations(services, zoo):
    app = _chat_app(services, zoo.id)
    events = list(services.chat.send(app.id, "When does the penguin enclosure open?"))
    final = next(e for e in events if isinstance(e, MessageFinished)).message
    assert final.status == MessageStatus.NORMAL
    cites = final.retriever_resources
    assert cites and cites[0]["document_name"] == "zoo.md" and "penguin" in cites[0]["content"]
    assert cites[0]["dataset_id"] == zoo.id and cites[0]["position"] == 1
    stored = services.conversations.messages(final.conversation_id)[-1]
    assert stored.retriever_resources == cites


def test_chat_with_a_deleted_knowledge_base_is_a_clear_error(services, zoo):
    app = _chat_app(services, zoo.id)
    services.knowledge.delete(zoo.id)
    with pytest.raises(ValidationError, match="does not exist"):
        services.chat.send(app.id, "hi")


def test_workflow_node_returns_dify_result_items(services, zoo):
    app = services.dsl.import_text(WORKFLOW.replace("DATASET", zoo.id)).app
    events = list(services.workflows.run(app.id, inputs={"q": "reptile house Sunday"}))
    done = next(e for e in events if isinstance(e, WorkflowFinished))
    run = services.workflows.get_run(done.run_id)
    assert run.status.value == "succeeded", run.error
    items = run.outputs["result"]
    assert 1 <= len(items) <= 2 and "reptile" in items[0]["content"]
    meta = items[0]["metadata"]
    assert meta["_source"] == "knowledge" and meta["dataset_id"] == zoo.id and meta["dataset_name"] == "zoo"
    assert meta["document_name"] == "zoo.md" and meta["retriever_from"] == "workflow"
    assert meta["doc_metadata"]["keeper"] == "Ana" and items[0]["title"] == "Zoo guide"
    assert meta["position"] == 1 and meta["score"] > 0


def test_a_cloud_reranker_named_by_an_imported_app_falls_back_to_fusion(services, zoo):
    cloud = WORKFLOW.replace("DATASET", zoo.id).replace(
        "reranking_enable: false, reranking_mode: weighted_score,",
        "reranking_enable: true, reranking_mode: reranking_model,\n"
        "          reranking_model: {provider: cohere, model: rerank-english-v3.0},")
    assert "rerank-english" in cloud
    app = services.dsl.import_text(cloud).app
    events = list(services.workflows.run(app.id, inputs={"q": "reptile house Sunday"}))
    run = services.workflows.get_run(next(e for e in events if isinstance(e, WorkflowFinished)).run_id)
    assert run.status.value == "succeeded", run.error
    assert "reptile" in run.outputs["result"][0]["content"]


CHATFLOW = """
kind: app
version: 0.5.0
app: {name: kb-chat, mode: advanced-chat}
workflow:
  graph:
    nodes:
    - id: start
      data: {type: start, title: Start, variables: []}
    - id: kr
      data:
        type: knowledge-retrieval
        title: Knowledge
        query_variable_selector: [sys, query]
        dataset_ids: [DATASET]
        retrieval_mode: multiple
        multiple_retrieval_config: {top_k: 1, reranking_enable: false}
    - id: answer
      data: {type: answer, title: Answer, answer: "{{#kr.result#}}"}
    edges:
    - {id: e1, source: start, target: kr, sourceHandle: source, targetHandle: target}
    - {id: e2, source: kr, target: answer, sourceHandle: source, targetHandle: target}
"""


def test_a_chatflow_message_keeps_its_citations(services, zoo):
    app = services.dsl.import_text(CHATFLOW.replace("DATASET", zoo.id)).app
    events = list(services.workflows.run(app.id, query="When does the penguin enclosure open?"))
    done = next(e for e in events if isinstance(e, WorkflowFinished))
    run = services.workflows.get_run(done.run_id)
    assert run.status.value == "succeeded", run.error
    [msg] = services.conversations.messages(run.conversation_id)
    [cite] = msg.retriever_resources
    assert cite["position"] == 1 and cite["dataset_id"] == zoo.id and "penguin" in cite["content"]
    assert cite["document_name"] == "zoo.md" and cite["retriever_from"] == "workflow"
