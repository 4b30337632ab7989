"""Export rules and import corner cases: user edits survive while untouched keys stay as written, secrets stay home,
modes are not mixed, unknown models and knowledge bases are flagged, and the CLI writes files atomically."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from studio.core.errors import StudioError

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "dsl-samples"
OWN = Path(__file__).resolve().parent / "files"
STUDIO = str(Path(sys.executable).with_name("studio"))

SECRET_WORKFLOW = """
version: '0.5.0'
kind: app
app: {name: Secretive, mode: workflow, icon: "🔐", icon_background: '#FFEAD5', description: ''}
workflow:
  environment_variables:
  - {id: v1, name: api_token, value: tok-123-very-secret, value_type: secret, description: '', selector: [env, api_token]}
  - {id: v2, name: region, value: eu, value_type: string, description: '', selector: [env, region]}
  conversation_variables: []
  features: {}
  graph:
    edges:
    - {id: e1, source: start, target: end, sourceHandle: source, targetHandle: target}
    nodes:
    - id: start
      data: {type: start, title: Start, variables: []}
      position: {x: 0, y: 0}
    - id: kr
      data: {type: knowledge-retrieval, title: Search, query_variable_selector: [sys, query],
             dataset_ids: [0b7e1c56-3b1e-4a7b-9d3e-0c9d1b2a3f4e], retrieval_mode: multiple,
             multiple_retrieval_config: {top_k: 2}}
      position: {x: 100, y: 100}
    - id: tool
      data: {type: tool, title: Clock, provider_id: time, provider_type: builtin, provider_name: time,
             tool_name: current_time, tool_parameters: {}, tool_configurations: {}, credential_id: cred-42}
      position: {x: 150, y: 150}
    - id: end
      data: {type: end, title: End, outputs: [{variable: region, value_selector: [env, region]}]}
      position: {x: 200, y: 0}
"""


def test_user_edits_are_exported_and_untouched_keys_stay_as_written(services):
    original = yaml.safe_load((OWN / "chat_app.yml").read_text())
    app = services.dsl.import_text((OWN / "chat_app.yml").read_text()).app
    config = dict(app.config, pre_prompt="You answer in French.", opening_statement="Bonjour !")
    services.apps.update(app.id, config=config)
    services.apps.rename(app.id, "Géographie")
    exported = yaml.safe_load(services.dsl.export_text(app.id).text)
    assert exported["app"]["name"] == "Géographie"
    assert exported["model_config"]["pre_prompt"] == "You answer in French."
    assert exported["model_config"]["opening_statement"] == "Bonjour !"
    for key in ("model", "user_input_form", "dataset_configs", "file_upload", "agent_mode"):
        assert exported["model_config"][key] == original["model_config"][key], key


def test_secrets_and_credentials_stay_home_unless_asked(services):
    result = services.dsl.import_text(SECRET_WORKFLOW)
    assert "0b7e1c56-3b1e-4a7b-9d3e-0c9d1b2a3f4e" in result.missing_datasets
    assert any("Knowledge bases not found here" in w for w in result.warnings)
    blank = services.dsl.export_text(result.app.id)
    assert "tok-123-very-secret" not in blank.text and "cred-42" not in blank.text
    assert blank.warnings == ["The secret environment variable api_token was left blank"]
    env = {v["name"]: v["value"] for v in yaml.safe_load(blank.text)["workflow"]["environment_variables"]}
    assert env == {"api_token": "", "region": "eu"}
    dataset_ids = [n["data"].get("dataset_ids") for n in yaml.safe_load(blank.text)["workflow"]["graph"]["nodes"]]
    assert ["0b7e1c56-3b1e-4a7b-9d3e-0c9d1b2a3f4e"] in dataset_ids  # kept, not silently dropped

    full = services.dsl.export_text(result.app.id, include_secrets=True)
    assert "tok-123-very-secret" in full.text and "cred-42" in full.text
    assert full.warnings == ["The secret environment variable api_token is written in plain text"]
    assert services.dsl.problems(result.app.id) == [
        "Knowledge base 0b7e1c56-3b1e-4a7b-9d3e-0c9d1b2a3f4e is not here"]


def test_a_file_of_another_mode_is_refused_for_an_existing_app(services):
    chatflow = services.dsl.import_file(SAMPLES / "basic_chatflow.yml").app
    workflow = services.dsl.import_file(SAMPLES / "simple_passthrough_workflow.yml").app
    chat = services.dsl.import_file(OWN / "chat_app.yml").app
    before = {a.id: a.config for a in services.apps.list()}
    with pytest.raises(StudioError, match="is a advanced-chat app but .* is a workflow app|file is a advanced-chat"):
        services.dsl.import_file(SAMPLES / "basic_chatflow.yml", into=workflow.id)
    with pytest.raises(StudioError, match="only workflow and chatflow apps can be overwritten"):
        services.dsl.import_file(OWN / "chat_app.yml", into=chat.id)
    assert {a.id: a.config for a in services.apps.list()} == before
    replaced = services.dsl.import_file(SAMPLES / "answer_end_with_text.yml", into=chatflow.id)
    assert replaced.app.id == chatflow.id and len(services.apps.list()) == 3
    graph = replaced.app.config["workflow"]["graph"]
    assert graph == yaml.safe_load((SAMPLES / "answer_end_with_text.yml").read_text())["workflow"]["graph"]


def test_an_unknown_model_is_kept_flagged_and_cleared_by_a_replacement(services):
    result = services.dsl.import_file(OWN / "agent_chat_app.yml")
    app = result.app
    assert app.config["model"]["name"] == "gpt-4o-mini"
    assert services.dsl.problems(app.id) == [
        "Model langgenius/openai/openai/gpt-4o-mini (the app) is not installed; choose a replacement"]
    local = services.models.default_chat_model()
    services.apps.update(app.id, config=dict(app.config, model=dict(app.config["model"], provider="llamacpp",
                                                                    name=local.id)))
    assert services.dsl.problems(app.id) == []


def test_duplicate_is_an_export_imported_again(services):
    app = services.dsl.import_text(SECRET_WORKFLOW).app
    copy = services.dsl.duplicate(app.id).app
    assert copy.name == "Secretive (2)" and copy.id != app.id
    assert copy.config == app.config  # secrets included: the copy stays on this machine


def test_cli_export_import_round_trip_and_refusals(home, tmp_path):
    env = dict(os.environ, STUDIO_HOME=str(home))

    def studio(*args, stdin=None):
        return subprocess.run([STUDIO, *args], capture_output=True, text=True, env=env, input=stdin, timeout=120)

    app_id = studio("import", str(SAMPLES / "iteration_flatten_output_enabled_workflow.yml")).stdout.strip()
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / "flow.yml"
    done = studio("export", app_id, "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(out.read_text())["workflow"]["graph"] == yaml.safe_load(
        (SAMPLES / "iteration_flatten_output_enabled_workflow.yml").read_text())["workflow"]["graph"]
    assert [p.name for p in folder.iterdir()] == ["flow.yml"]  # no temporary file left behind
    piped = studio("import", "-", stdin=out.read_text())
    assert piped.returncode == 0 and piped.stdout.strip() != app_id
    printed = studio("export", app_id)
    assert yaml.safe_load(printed.stdout) == yaml.safe_load(out.read_text())

    newer = out.read_text().replace("version: 0.5.0", "version: 1.0.0")
    refused = studio("import", "-", stdin=newer)
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert studio("import", "-", "--force", stdin=newer).returncode == 0
    bad = studio("import", "-", stdin="app: [unclosed\n")
    assert bad.returncode == 1 and "at line 2, column 1" in bad.stderr and "Traceback" not in bad.stderr
    missing = studio("export", "no-such-app", "-o", str(tmp_path / "x.yml"))
    assert missing.returncode == 1 and "No app with id or name 'no-such-app'" in missing.stderr
    into_folder = studio("export", app_id, "-o", str(folder))
    assert into_folder.returncode == 1 and "is a folder" in into_folder.stderr
