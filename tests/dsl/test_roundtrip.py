"""Round trip: every Dify sample and our own chat, completion and agent files import, run, and export to the same
data apart from the allowed changes (the version, and secrets and credentials left out)."""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from studio.core.entities import MessageStatus
from studio.core.events import MessageFinished
from studio.core.workflow import RunStatus, WorkflowFinished
from studio.dsl.loader import CURRENT_DSL_VERSION

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "dsl-samples"
OWN = Path(__file__).resolve().parent / "files"


class _Json(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = json.dumps({"ok": True, "items": [1, 2, 3]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def json_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Json)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/data"
    server.shutdown()


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from studio.app import build
    from studio.core.settings import Settings

    services = build(Settings(home=tmp_path_factory.mktemp("dsl-home")))
    yield services
    services.close()


GRAPH_RUNS = {  # sample -> (inputs, query) for one run
    "answer_end_with_text.yml": ({}, "hello"),
    "basic_chatflow.yml": ({}, "What is the capital of France?"),
    "conditional_hello_branching_workflow.yml": ({"query": "hello world"}, ""),
    "dual_switch_variable_aggregator_workflow.yml": ({"switch1": 1, "switch2": 0}, ""),
    "http_request_with_json_tool_workflow.yml": ({"url": None}, ""),
    "increment_loop_with_break_condition_workflow.yml": ({}, ""),
    "iteration_flatten_output_enabled_workflow.yml": ({}, ""),
    "simple_passthrough_workflow.yml": ({"query": "pass me"}, ""),
    "test_streaming_conversation_variables.yml": ({}, "first"),
}

def test_every_sample_is_covered():
    assert sorted(p.name for p in SAMPLES.glob("*.yml")) == sorted(GRAPH_RUNS)


def expected_after_export(original: dict) -> dict:
    """What a faithful export of `original` looks like: the current version, kind, and Dify's defaults for
    keys an older file may lack; secrets and credentials left out."""
    want = copy.deepcopy(original)
    want["version"] = CURRENT_DSL_VERSION
    want["kind"] = "app"
    want["app"].setdefault("use_icon_as_answer_icon", False)
    want.setdefault("dependencies", [])
    if "workflow" in want:
        want["workflow"].setdefault("conversation_variables", [])
        want["workflow"].setdefault("environment_variables", [])
    for tool in ((want.get("model_config") or {}).get("agent_mode") or {}).get("tools") or []:
        tool.pop("credential_id", None)
    return want


@pytest.mark.parametrize("name", sorted(GRAPH_RUNS))
def test_sample_imports_runs_and_exports_the_same_data(studio, json_url, name):
    text = (SAMPLES / name).read_text()
    result = studio.dsl.import_text(text)
    inputs, query = GRAPH_RUNS[name]
    inputs = {k: json_url if v is None else v for k, v in inputs.items()}
    finished = list(studio.workflows.run(result.app.id, inputs=inputs, query=query))[-1]
    assert isinstance(finished, WorkflowFinished)
    assert finished.status == RunStatus.SUCCEEDED, finished.error
    exported = yaml.safe_load(studio.dsl.export_text(result.app.id).text)
    assert exported == expected_after_export(yaml.safe_load(text))


def _easy_run(studio, app):
    if app.mode.value == "completion":
        events = list(studio.chat.complete(app.id, {"text": "Good morning"}))
    else:
        events = list(studio.chat.send(app.id, "What is the capital of France?"))
    finished = events[-1]
    assert isinstance(finished, MessageFinished)
    return finished.message


@pytest.mark.parametrize("name", ["chat_app.yml", "completion_app.yml"])
def test_easy_app_imports_runs_and_exports_the_same_data(studio, name):
    text = (OWN / name).read_text()
    result = studio.dsl.import_text(text)
    assert result.warnings == []
    message = _easy_run(studio, result.app)
    assert message.status == MessageStatus.NORMAL and message.answer.strip()
    exported = yaml.safe_load(studio.dsl.export_text(result.app.id).text)
    assert exported == expected_after_export(yaml.safe_load(text))


def test_agent_app_keeps_its_tools_but_never_its_credentials(studio):
    text = (OWN / "agent_chat_app.yml").read_text()
    result = studio.dsl.import_text(text)
    warnings = " | ".join(result.warnings)
    assert "Plugin dependency kept but not installed: langgenius/time:0.0.1@" in warnings
    assert "Model langgenius/openai/openai/gpt-4o-mini (the app) is not available locally" in warnings
    exported_text = studio.dsl.export_text(result.app.id).text
    assert "6c0f3e2a" not in exported_text and "credential_id" not in exported_text
    exported = yaml.safe_load(exported_text)
    assert exported == expected_after_export(yaml.safe_load(text))
    assert exported["model_config"]["model"] == {"completion_params": {"max_tokens": 64, "stop": [],
                                                                       "temperature": 0.2},
                                                 "mode": "chat", "name": "gpt-4o-mini",
                                                 "provider": "langgenius/openai/openai"}
