"""Every starter template runs on the real bundled SmolLM2 model: chat and agent through services.chat, the text
generator through the completion service, the chatflow and the workflow through services.workflows; and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.core.entities import MessageStatus
from studio.core.events import MessageFinished
from studio.core.workflow import NodeStatus, RunStatus, WorkflowFinished

STUDIO = str(Path(sys.executable).with_name("studio"))
TEXT = "Solar panels turn sunlight into electricity. Prices have fallen, so many families now put panels on the roof."


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from studio.app import build
    from studio.core.settings import Settings

    services = build(Settings(home=tmp_path_factory.mktemp("templates-home")))
    yield services
    services.close()


def answered(events):
    events = list(events)
    assert isinstance(events[-1], MessageFinished)
    message = events[-1].message
    assert message.status == MessageStatus.NORMAL, message.error
    assert message.answer.strip(), "the model wrote nothing"
    return message


def finished(events) -> WorkflowFinished:
    events = list(events)
    assert isinstance(events[-1], WorkflowFinished)
    assert events[-1].status == RunStatus.SUCCEEDED, events[-1].error
    return events[-1]


def test_chatbot_answers(studio):
    app = studio.templates.create_app("chatbot").app
    message = answered(studio.chat.send(app.id, "What is the capital of France?"))
    follow_up = answered(studio.chat.send(app.id, "And of Spain?", conversation_id=message.conversation_id))
    assert follow_up.conversation_id == message.conversation_id


def test_text_generator_writes_from_its_form(studio):
    app = studio.templates.create_app("text-generator").app
    message = answered(studio.chat.complete(app.id, {"product": "a reusable water bottle"}))
    assert message.inputs == {"product": "a reusable water bottle", "style": "fun"}, "the select's default is used"


@pytest.mark.parametrize("query, tool, seen", [
    ("What is 12 * 7?", "eval_expression", "84"),
    ("What time is it now?", "current_time", "20"),  # the observation is the date and time, e.g. 2026-01-31 …
])
def test_agent_calls_its_tool(studio, query, tool, seen):
    app = studio.templates.create_app("agent").app
    message = answered(studio.chat.send(app.id, query))
    steps = studio.chat.agent.thoughts([message.id])[message.id]
    calls = [s for s in steps if s.tool]
    assert calls and calls[0].tool == tool, f"the agent did not call {tool}: {[s.tool for s in steps]}"
    assert seen in json.loads(calls[0].observation)[tool]


def test_chatflow_answers_and_remembers(studio):
    app = studio.templates.create_app("chatflow").app
    first = finished(studio.workflows.run(app.id, query="What is the capital of France?"))
    assert first.outputs["answer"].strip()
    nodes = studio.workflows.node_runs(first.run_id)
    assert [n.node_type for n in nodes] == ["start", "template-transform", "llm", "answer"]
    assert all(n.status == NodeStatus.SUCCEEDED for n in nodes)
    assert nodes[1].outputs["output"].startswith("What is the capital of France?\nAnswer in one or two")
    [conversation] = studio.conversations.list(app.id)
    second = finished(studio.workflows.run(app.id, query="And of Spain?", conversation_id=conversation.id))
    assert second.outputs["answer"].strip()
    prompts = studio.workflows.node_runs(second.run_id)[2].process_data["prompts"]
    assert any("capital of France" in p["text"] for p in prompts), "the first turn is in the second's memory"


def test_workflow_counts_words_and_titles_the_text(studio):
    app = studio.templates.create_app("workflow").app
    result = finished(studio.workflows.run(app.id, inputs={"text": TEXT}))
    assert result.outputs["words"] == len(TEXT.split())
    assert result.outputs["title"].strip() and "\n" not in result.outputs["title"]
    nodes = studio.workflows.node_runs(result.run_id)
    assert [n.node_type for n in nodes] == ["start", "code", "template-transform", "llm", "end"]


def test_cli_lists_templates_and_creates_an_app_from_one(tmp_path):
    env = {**os.environ, "STUDIO_HOME": str(tmp_path / "home")}

    def studio_cli(*args, check=True):
        return subprocess.run([STUDIO, *args], env=env, capture_output=True, text=True, check=check)

    listed = json.loads(studio_cli("templates", "list", "--json").stdout)
    assert [t["id"] for t in listed] == ["chatbot", "text-generator", "agent", "chatflow", "workflow"]
    assert {"name", "mode", "mode_label", "description", "icon"} <= set(listed[0])
    assert "Title maker" in studio_cli("templates", "list").stdout
    app_id = studio_cli("apps", "create", "--template", "workflow").stdout.strip()
    run = json.loads(studio_cli("run", app_id, "--input", f"text={TEXT}", "--json").stdout)
    assert run["status"] == "succeeded" and run["outputs"]["words"] == len(TEXT.split())
    renamed = studio_cli("apps", "create", "--template", "Friendly chatbot", "--name", "Geo", "--json").stdout
    assert json.loads(renamed)["name"] == "Geo" and json.loads(renamed)["mode"] == "chat"
    missing = studio_cli("apps", "create", "--template", "nope", check=False)
    assert missing.returncode == 1 and "No template 'nope'" in missing.stderr and "Traceback" not in missing.stderr


def test_cli_names_a_broken_template_and_lists_the_rest(tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "broken.yml").write_text("app: [unclosed\n", encoding="utf-8")
    source = Path(__file__).resolve().parents[2] / "resources" / "templates" / "chatbot.yml"
    (folder / "chatbot.yml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    env = {**os.environ, "STUDIO_HOME": str(tmp_path / "home"), "STUDIO_TEMPLATES_DIR": str(folder)}
    listed = subprocess.run([STUDIO, "templates", "list"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and "Friendly chatbot" in listed.stdout
    assert "warning: Template broken.yml is not a valid Dify DSL file: Invalid YAML format" in listed.stderr
    made = subprocess.run([STUDIO, "apps", "create", "--template", "broken"], env=env, capture_output=True, text=True)
    assert made.returncode == 1 and "Template broken.yml" in made.stderr and "Traceback" not in made.stderr
