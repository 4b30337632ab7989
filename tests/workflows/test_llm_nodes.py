"""LLM, parameter-extractor and question-classifier nodes on the bundled SmolLM2 through llama.cpp, plus
scripted-model runs for the paths a 135M model cannot be steered into (reasoning tags, bad JSON)."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from studio.core.cancel import CancelToken
from studio.core.entities import GenerationChunk
from studio.core.workflow import NodeFinished, NodeStarted, WorkflowFinished, WorkflowText
from studio.workflow.runner import WorkflowRunner

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "dsl-samples"


def graph(name: str, folder: Path = FIXTURES) -> dict[str, Any]:
    doc = yaml.safe_load((folder / f"{name}.yml").read_text(encoding="utf-8"))
    return copy.deepcopy(doc["workflow"]["graph"])


def data(g: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n["data"] for n in g["nodes"] if n["id"] == node_id)


def run(runner: WorkflowRunner, g: dict[str, Any], **kwargs) -> list[Any]:
    events = list(runner.run(g, **kwargs))
    assert isinstance(events[-1], WorkflowFinished)
    return events


def finished(events: list[Any], node_id: str) -> NodeFinished:
    return next(e for e in events if isinstance(e, NodeFinished) and e.node_id == node_id)


def started_ids(events: list[Any]) -> list[str]:
    return [e.node_id for e in events if isinstance(e, NodeStarted)]


class ScriptedLLM:
    """A WorkflowLLM that replies with fixed chunks and records every call."""

    def __init__(self, *replies: str | list[str]) -> None:
        self.replies = list(replies)
        self.calls: list[dict[str, Any]] = []

    def stream(self, model, turns, cancel, *, json_schema=None, stop=()):
        self.calls.append({"model": model, "turns": [(t.role, t.content) for t in turns], "schema": json_schema})
        reply = self.replies.pop(0)
        pieces = reply if isinstance(reply, list) else [reply]
        for piece in pieces:
            yield GenerationChunk(text=piece)
        yield GenerationChunk(done=True, prompt_tokens=11, completion_tokens=len(pieces), finish_reason="stop")


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from studio.app import build
    from studio.core.settings import Settings

    services = build(Settings(home=tmp_path_factory.mktemp("studio-home")))
    yield services
    services.close()


@pytest.fixture(scope="module")
def runner(studio):
    from studio.services.workflow_llm import ModelsLLM

    r = WorkflowRunner(llm=ModelsLLM(studio.models, studio.chat._provider))
    yield r
    r.close()


def scripted(*replies) -> tuple[WorkflowRunner, ScriptedLLM]:
    llm = ScriptedLLM(*replies)
    return WorkflowRunner(llm=llm), llm


# -- llm node on the real model -------------------------------------------------------------------------
def test_llm_answers_paris_and_end_streams_it(runner):
    events = run(runner, graph("llm_capital_workflow"), inputs={"question": "What is the capital of France?"})
    llm = finished(events, "llm")
    assert "Paris" in llm.outputs["text"]
    usage = llm.outputs["usage"]
    assert usage["prompt_tokens"] > 10 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] == llm.tokens
    assert llm.outputs["finish_reason"] in ("stop", "length") and llm.outputs["reasoning_content"] == ""
    assert llm.process_data["model_mode"] == "chat"
    assert llm.process_data["prompts"] == [{"role": "system", "text": "You are a helpful assistant."},
                                           {"role": "user", "text": "What is the capital of France?"}]
    chunks = [e.text for e in events if isinstance(e, WorkflowText)]
    assert len(chunks) > 1 and "".join(chunks) == llm.outputs["text"]
    assert events[-1].outputs == {"answer": llm.outputs["text"]} and events[-1].total_tokens == llm.tokens


def test_dify_basic_chatflow_streams_answer_while_llm_runs(runner):
    g = graph("basic_chatflow", SAMPLES)
    data(g, "llm")["model"]["completion_params"]["max_tokens"] = 24  # keep the 2-core test quick
    events = run(runner, g, mode="advanced-chat", system={"query": "What is the capital of France?"})
    assert events[-1].status.value == "succeeded", events[-1].error
    llm = finished(events, "llm")
    # the empty system message is dropped; the memory query template renders sys.query and (empty) sys.files
    assert llm.process_data["prompts"] == [{"role": "user", "text": "What is the capital of France?\n\n"}]
    begin = next(i for i, e in enumerate(events) if isinstance(e, NodeStarted) and e.node_id == "llm")
    end = events.index(llm)
    texts = [(i, e.text) for i, e in enumerate(events) if isinstance(e, WorkflowText)]
    assert len(texts) > 1, "the answer streams in pieces"
    assert all(begin < i < end for i, _ in texts), "every piece arrives while the LLM node runs"
    answer = "".join(t for _, t in texts)
    assert answer == llm.outputs["text"] == finished(events, "answer").outputs["answer"]
    assert events[-1].outputs == {"answer": answer}


def test_chatflow_memory_second_turn_sees_the_first(runner):
    g = graph("llm_memory_chatflow")
    first = run(runner, g, mode="advanced-chat", system={"query": "My name is Zoltan. Remember it."})
    first_answer = first[-1].outputs["answer"]
    history = [("My name is Zoltan. Remember it.", first_answer)]
    second = run(runner, g, mode="advanced-chat", system={"query": "What is my name?"},
                 extras={"history": history})
    alone = run(runner, g, mode="advanced-chat", system={"query": "What is my name?"})
    prompts = finished(second, "llm").process_data["prompts"]
    assert prompts == [{"role": "system", "text": "You are a helpful assistant."},
                       {"role": "user", "text": "My name is Zoltan. Remember it."},
                       {"role": "assistant", "text": first_answer},
                       {"role": "user", "text": "What is my name?"}]
    assert "Zoltan" in second[-1].outputs["answer"]
    assert "Zoltan" not in alone[-1].outputs["answer"], "without the history the model cannot know the name"
    assert finished(second, "llm").outputs["usage"]["prompt_tokens"] > \
        finished(alone, "llm").outputs["usage"]["prompt_tokens"] + 10


def test_structured_output_through_grammar_with_jinja2_prompt(runner):
    events = run(runner, graph("llm_structured_workflow"), inputs={"country": "France"})
    llm = finished(events, "llm")
    assert llm.process_data["prompts"][1] == {"role": "user", "text": "What is the capital of France?"}
    assert llm.outputs["structured_output"] == {"capital": "Paris"}
    assert events[-1].outputs["capital"] == "Paris"


def test_stop_cancels_generation_quickly(runner):
    g = graph("llm_capital_workflow")
    data(g, "llm")["model"]["completion_params"]["max_tokens"] = 400
    cancel = CancelToken()
    events, stopped_at = [], None
    for event in runner.run(g, inputs={"question": "Write a very long story about a dragon."}, cancel=cancel):
        events.append(event)
        if isinstance(event, WorkflowText) and stopped_at is None:
            stopped_at = time.perf_counter()
            cancel.cancel()
    assert time.perf_counter() - stopped_at < 5
    assert events[-1].status.value == "stopped"
    assert finished(events, "llm").status.value == "stopped"
    assert "end" not in started_ids(events)


def test_missing_model_and_missing_runtime_fail_clearly(runner):
    g = graph("llm_capital_workflow")
    data(g, "llm")["model"]["name"] = "no-such-model"
    events = run(runner, g, inputs={"question": "hi"})
    assert events[-1].status.value == "failed"
    assert "not installed" in finished(events, "llm").error and finished(events, "llm").error_type == "ModelError"
    assert finished(events, "llm").process_data["prompts"][1] == {"role": "user", "text": "hi"}
    events = run(WorkflowRunner(), graph("llm_capital_workflow"), inputs={"question": "hi"})
    assert finished(events, "llm").error == "No model runtime available"


# -- parameter extractor and question classifier on the real model ---------------------------------------
def test_parameter_extractor_extracts_typed_values(runner):
    events = run(runner, graph("parameter_extractor_workflow"),
                 inputs={"text": "My name is Alice and I am 30 years old. I like tennis."})
    out = finished(events, "extract").outputs
    assert out["__is_success"] == 1 and out["__reason"] is None
    assert out["name"] == "Alice" and out["age"] == 30
    assert isinstance(out["adult"], bool) and isinstance(out["hobbies"], list)
    assert all(isinstance(h, str) for h in out["hobbies"])
    assert out["__usage"]["total_tokens"] == finished(events, "extract").tokens > 0
    assert events[-1].outputs == {"name": "Alice", "age": 30, "ok": 1}


@pytest.mark.parametrize(("query", "branch", "other", "name"), [
    ("Will it rain tomorrow?", "weather", "cooking", "weather"),
    ("How do I bake bread?", "cooking", "weather", "cooking"),
])
def test_question_classifier_takes_the_chosen_edge(runner, query, branch, other, name):
    events = run(runner, graph("question_classifier_chatflow"), mode="advanced-chat", system={"query": query})
    qc = finished(events, "qc")
    assert qc.outputs["class_id"] in ("1", "2")
    assert qc.outputs["class_name"] == name and qc.outputs["usage"]["total_tokens"] > 0
    assert branch in started_ids(events) and other not in started_ids(events)
    assert events[-1].outputs["answer"].endswith(f"({name})")


# -- scripted model: exact semantics ------------------------------------------------------------------------
def test_separated_reasoning_is_moved_out_of_the_streamed_text():
    g = graph("llm_capital_workflow")
    data(g, "llm")["reasoning_format"] = "separated"
    r, _ = scripted(["<th", "ink>Paris is in", " France.</thi", "nk>\n\nThe capital", " is Paris."])
    events = run(r, g, inputs={"question": "?"})
    llm = finished(events, "llm")
    assert llm.outputs["text"] == "The capital is Paris."
    assert llm.outputs["reasoning_content"] == "Paris is in France."
    assert "".join(e.text for e in events if isinstance(e, WorkflowText)) == "The capital is Paris."
    data(g, "llm")["reasoning_format"] = "tagged"
    r, _ = scripted(["<think>x</think>", "Paris"])
    llm = finished(run(r, g, inputs={"question": "?"}), "llm")
    assert llm.outputs["text"] == "<think>x</think>Paris" and llm.outputs["reasoning_content"] == ""


def test_think_splitter_holds_partial_tags_and_keeps_unclosed_blocks():
    from studio.workflow.nodes.llm.invoke import ThinkSplitter

    splitter = ThinkSplitter()
    pieces = [splitter.feed(p) for p in ["1 <", " 2 <b>x</b> <", "think a=1>why", "</think> done <thi"]]
    assert "".join(pieces) + splitter.flush() == "1 < 2 <b>x</b>  done <thi"
    assert splitter.reasoning == "why"
    assert ThinkSplitter.strip("<think>unclosed") == "<think>unclosed"


def test_structured_output_parse_failure_fails_the_node():
    r, llm = scripted("sorry, no JSON here")
    events = run(r, graph("llm_structured_workflow"), inputs={"country": "France"})
    node = finished(events, "llm")
    assert node.status.value == "failed" and node.error_type == "OutputParserError"
    assert llm.calls[0]["schema"]["required"] == ["capital"]
    assert node.process_data["prompts"], "the failed node's trace still shows its prompts"


def test_context_window_and_completion_histories():
    g = graph("llm_memory_chatflow")
    node = data(g, "llm")
    node["context"] = {"enabled": True, "variable_selector": ["conversation", "docs"]}
    node["prompt_template"][0]["text"] = "Use this:\n{{#context#}}"
    node["memory"]["window"]["size"] = 1
    docs = [{"content": "Lyon is big.", "metadata": {"_source": "knowledge"}}, "Nice is sunny."]
    history = [("q1", "a1"), ("q2", "a2")]
    r, llm = scripted("ok")
    run(r, g, mode="advanced-chat", system={"query": "q3"}, conversation={"docs": docs}, extras={"history": history})
    assert llm.calls[0]["turns"] == [("system", "Use this:\nLyon is big.\nNice is sunny."),
                                     ("user", "q2"), ("assistant", "a2"), ("user", "q3")]
    node["prompt_template"] = {"text": "Chat:\n{{#histories#}}\nHuman: {{#sys.query#}}\nAssistant:"}
    node["memory"]["window"] = {"enabled": False}
    node["memory"]["role_prefix"] = {"user": "U", "assistant": "A"}
    r, llm = scripted("ok")
    run(r, g, mode="advanced-chat", system={"query": "q3"}, conversation={"docs": []}, extras={"history": history})
    assert llm.calls[0]["turns"] == [("user", "Chat:\nU: q1\nA: a1\nU: q2\nA: a2\nHuman: q3\nAssistant:")]


def test_parameter_extractor_checks_and_converts_like_dify():
    g = graph("parameter_extractor_workflow")
    r, llm = scripted('{"name": "Bob", "age": "42", "adult": 1, "hobbies": null}')
    out = finished(run(r, g, inputs={"text": "Bob, 42"}), "extract").outputs
    assert (out["age"], out["adult"], out["hobbies"]) == (42, True, [])
    assert out["__is_success"] == 0 and "age" in out["__reason"]
    schema = llm.calls[0]["schema"]
    assert schema["required"] == ["name", "age", "adult", "hobbies"]
    assert schema["properties"]["age"] == {"type": "number"}
    assert schema["properties"]["hobbies"] == {"anyOf": [{"type": "array", "items": {"type": "string"}},
                                                         {"type": "null"}]}
    r, _ = scripted('{"age": 3, "adult": false, "hobbies": ["chess", 5]}')
    out = finished(run(r, g, inputs={"text": "x"}), "extract").outputs
    assert out["__is_success"] == 0 and out["__reason"] == "Parameter name is required"
    assert (out["name"], out["age"], out["hobbies"]) == ("", 3, ["chess"])
    r, _ = scripted("no json at all")
    out = finished(run(r, g, inputs={"text": "x"}), "extract").outputs
    assert out["__is_success"] == 0 and (out["name"], out["age"], out["adult"]) == ("", 0, False)


def test_classifier_schema_is_an_enum_and_falls_back_to_the_first_class():
    g = graph("question_classifier_chatflow")
    r, llm = scripted("???")
    events = run(r, g, mode="advanced-chat", system={"query": "hello"})
    assert llm.calls[0]["schema"]["properties"] == {"category_name": {"enum": ["weather", "cooking"]}}
    assert finished(events, "qc").outputs["class_id"] == "1" and "weather" in started_ids(events)
    data(g, "qc")["classes"] = [{"id": "a", "name": "same"}, {"id": "b", "name": "same"}]
    g["edges"][1]["sourceHandle"], g["edges"][2]["sourceHandle"] = "a", "b"
    r, llm = scripted('{"category_id": "b"}')
    events = run(r, g, mode="advanced-chat", system={"query": "hello"})
    assert llm.calls[0]["schema"]["properties"] == {"category_id": {"enum": ["a", "b"]}}
    assert finished(events, "qc").outputs["class_id"] == "b" and "cooking" in started_ids(events)
