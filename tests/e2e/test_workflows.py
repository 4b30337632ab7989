"""Graph apps end to end: DSL import, runs through the services with the run log, CLI, and bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from studio.core.errors import StudioError
from studio.core.workflow import NodeStatus, RunStatus, WorkflowFinished

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "dsl-samples"
STUDIO = str(Path(sys.executable).with_name("studio"))


def finish(events) -> WorkflowFinished:
    events = list(events)
    assert isinstance(events[-1], WorkflowFinished)
    return events[-1]


def test_import_and_run_records_the_trace(services):
    result = services.dsl.import_file(SAMPLES / "conditional_hello_branching_workflow.yml")
    assert result.app.mode.value == "workflow" and result.app.name == "if-else"
    assert any("older than" in w for w in result.warnings)
    fin = finish(services.workflows.run(result.app.id, inputs={"query": "hello there"}))
    assert fin.status == RunStatus.SUCCEEDED and fin.outputs == {"true": "hello there"}
    [run] = services.workflows.runs(result.app.id)
    assert run.id == fin.run_id and run.status == RunStatus.SUCCEEDED and run.outputs == fin.outputs
    nodes = services.workflows.node_runs(run.id)
    assert [n.node_type for n in nodes] == ["start", "if-else", "end"]
    assert all(n.status == NodeStatus.SUCCEEDED for n in nodes)
    assert nodes[1].outputs == {"result": True, "selected_case_id": "true"}
    assert nodes[0].created_at.year >= 2026


def test_chatflow_conversation_variables_persist_between_turns(services):
    app = services.dsl.import_file(SAMPLES / "test_streaming_conversation_variables.yml").app
    fin = finish(services.workflows.run(app.id, query="first"))
    assert fin.outputs == {"answer": "first"}
    [conv] = services.conversations.list(app.id)
    fin2 = finish(services.workflows.run(app.id, query="second", conversation_id=conv.id))
    assert fin2.outputs == {"answer": "second"} and fin2.conversation_variables == {"str": "second"}
    assert [(m.query, m.answer) for m in services.conversations.messages(conv.id)] == [
        ("first", "first"), ("second", "second")]


def test_missing_input_names_the_field(services):
    app = services.dsl.import_file(SAMPLES / "dual_switch_variable_aggregator_workflow.yml").app
    with pytest.raises(StudioError, match="switch2 is required in input form"):
        services.workflows.run(app.id, inputs={"switch1": 1})
    assert services.workflows.runs(app.id) == []


BAD_DSL = [
    ("", "Empty content"),
    ("- just\n- a list\n", "content must be a mapping"),
    ("app:\n  mode: workflow\n  name: [unclosed\n", "Invalid YAML format at line 4, column 1"),
    ("kind: plugin\napp: {mode: chat}\n", "Unsupported kind 'plugin'"),
    ("version: 0.5\napp: {mode: chat}\n", "Invalid version type"),
    ("app: {name: x}\n", "Missing app.mode"),
    ("app: {mode: workflow, name: x}\n", "Missing workflow data"),
    ("app: {mode: chat, name: x}\n", "Missing model_config"),
    ("version: '9.0.0'\napp: {mode: chat, name: x}\nmodel_config: {}\n", "Confirm to import anyway"),
    ("app: {mode: workflow, name: x}\nworkflow:\n  graph:\n    nodes: [{id: s, data: {type: start}},"
     " {id: w, data: {type: warp-drive, title: W}}]\n    edges: []\n", "Node 'w' (W) has unknown type 'warp-drive'"),
    ("app: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested too deeply"),
    ("app: {mode: workflow, name: x}\nworkflow:\n  graph:\n    nodes: [{id: s, data: {type: start, title: S,"
     " variables: [{type: telepathy, variable: q}]}}]\n    edges: []\n", "Node 's' (S): variables"),
    ("app: {mode: workflow, name: x}\nworkflow:\n  graph:\n    nodes: [{id: s, data: {type: start}},"
     " {id: s, data: {type: end}}]\n    edges: []\n", "Node id 's' is used by more than one node"),
]


@pytest.mark.parametrize("text, message", BAD_DSL, ids=[m for _, m in BAD_DSL])
def test_bad_dsl_is_refused_whole(services, text, message):
    with pytest.raises(StudioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        services.dsl.import_text(text)
    assert services.apps.list() == []


def test_newer_dsl_imports_with_force(services):
    text = "version: '9.0.0'\napp: {mode: chat, name: Future}\nmodel_config: {pre_prompt: hi}\n"
    result = services.dsl.import_text(text, force=True)
    assert result.app.name == "Future" and result.status.value == "pending"


def test_cli_import_and_run_json(home):
    env = {**os.environ, "STUDIO_HOME": str(home)}
    app_id = subprocess.run([STUDIO, "import", str(SAMPLES / "dual_switch_variable_aggregator_workflow.yml")],
                            env=env, capture_output=True, text=True, check=True).stdout.strip()
    out = subprocess.run([STUDIO, "run", app_id, "-i", "switch1=1", "-i", "switch2=1", "--json"],
                         env=env, capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    assert {"status", "outputs", "answer", "elapsed_ms", "node_runs"} <= set(data)
    assert data["status"] == "succeeded" and data["outputs"] == {"group1": "switch 1 on", "group2": "switch 2 on"}
    assert [n["node_type"] for n in data["node_runs"]][0] == "start" and len(data["node_runs"]) == 7
    bad = subprocess.run([STUDIO, "run", app_id], env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and "switch1 is required" in bad.stderr and "Traceback" not in bad.stderr


def test_all_nine_samples_import(services):
    for path in sorted(SAMPLES.glob("*.yml")):
        result = services.dsl.import_file(path)
        assert result.app.mode.value == yaml.safe_load(path.read_text())["app"]["mode"], path.name
    assert len(services.apps.list()) == 9


def test_kill_9_mid_run_keeps_finished_nodes_and_marks_the_run(home):
    """Finished nodes' traces are on disk within moments; a killed run is marked failed at the next start."""
    import signal
    import sqlite3
    import time

    from studio.app import build
    from studio.core.settings import Settings

    dsl = yaml.safe_load((Path(__file__).parents[1] / "workflows/fixtures/llm_capital_workflow.yml").read_text())
    llm = next(n for n in dsl["workflow"]["graph"]["nodes"] if n["id"] == "llm")
    llm["data"]["model"]["completion_params"]["max_tokens"] = 4000
    dsl["workflow"]["graph"]["nodes"].insert(1, {"id": "prep", "data": {
        "type": "template-transform", "title": "Prep", "template": "{{ q }}!",
        "variables": [{"variable": "q", "value_selector": ["start", "question"]}]}})
    for e in dsl["workflow"]["graph"]["edges"]:
        if e["source"] == "start":
            e["target"] = "prep"
    dsl["workflow"]["graph"]["edges"].append({"id": "prep-llm", "source": "prep", "target": "llm"})
    path = Path(home).parent / "long.yml"
    path.write_text(yaml.safe_dump(dsl))
    env = {**os.environ, "STUDIO_HOME": str(home)}
    app_id = subprocess.run([STUDIO, "import", str(path)], env=env, capture_output=True, text=True,
                            check=True).stdout.strip()
    proc = subprocess.Popen([STUDIO, "run", app_id, "-i", "question=Write a very long story about a dragon."],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = sqlite3.connect(Path(home) / "studio.db", timeout=30)
    deadline, done = time.monotonic() + 60, 0
    while time.monotonic() < deadline and done < 2:
        done = db.execute("select count(*) from node_executions").fetchone()[0]
        time.sleep(0.05)
    db.close()
    assert done == 2, "start and prep are recorded while the LLM node still runs"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    services = build(Settings(home=home))
    try:
        [run] = services.workflows.runs(app_id)
        assert run.status == RunStatus.FAILED and "stopped before this run finished" in run.error
        assert [n.node_id for n in services.workflows.node_runs(run.id)] == ["start", "prep"]
    finally:
        services.close()


def test_ctrl_c_on_a_chatflow_turn_stores_it_as_stopped_with_its_text(home):
    """The first Ctrl-C stops the run cleanly: the run and the message are stored as stopped, text kept."""
    import signal
    import sqlite3

    env = {**os.environ, "STUDIO_HOME": str(home)}
    subprocess.run([STUDIO, "import", str(SAMPLES / "basic_chatflow.yml")], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([STUDIO, "run", "basic_chatflow", "-q", "Write a very long essay about Rome."],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.read(20)  # the answer is streaming
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert first and proc.returncode == 130 and b"stopped" in err and b"Traceback" not in err
    db = sqlite3.connect(Path(home) / "studio.db")
    [(run_status,)] = db.execute("select status from workflow_runs").fetchall()
    [(msg_status, answer)] = db.execute("select status, answer from messages").fetchall()
    assert run_status == "stopped" and msg_status == "stopped"
    assert answer and answer.startswith((first + out).decode(errors="ignore")[:10])
