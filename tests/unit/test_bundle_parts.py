"""The parts a server bundle is made of: remapping an app's knowledge base ids, registering a key made elsewhere,
the settings a deployment supplies, and updating an app in place from a DSL file."""

from __future__ import annotations

import copy

import pytest

from studio.core.entities import AppMode
from studio.core.errors import ConflictError, ValidationError
from studio.dsl.loader import DslError
from studio.core.settings import Settings
from studio.dsl.refs import dataset_ids, remap_dataset_ids
from studio.services.keys import new_token

CHAT = {"dataset_configs": {"datasets": {"datasets": [{"dataset": {"enabled": True, "id": "a"}},
                                                      {"dataset": {"enabled": True, "id": "x"}}]}},
        "agent_mode": {"tools": [{"dataset": {"enabled": True, "id": "b"}}, {"provider_id": "time"}]}}
FLOW = {"workflow": {"graph": {"nodes": [
    {"id": "kr", "data": {"type": "knowledge-retrieval", "dataset_ids": ["a", "b", "x"]}},
    {"id": "llm", "data": {"type": "llm", "dataset_ids": ["a"]}}]}}}


def test_dataset_ids_include_old_style_agent_tools_and_remap_changes_only_what_is_mapped():
    config = copy.deepcopy(CHAT)
    assert dataset_ids(AppMode.CHAT, config) == ["a", "x", "b"]
    assert remap_dataset_ids(AppMode.CHAT, config, {"a": "A", "b": "B"}) == 2
    assert dataset_ids(AppMode.CHAT, config) == ["A", "x", "B"]
    flow = copy.deepcopy(FLOW)
    assert remap_dataset_ids(AppMode.WORKFLOW, flow, {"a": "A", "b": "B"}) == 2
    nodes = flow["workflow"]["graph"]["nodes"]
    assert nodes[0]["data"]["dataset_ids"] == ["A", "B", "x"] and nodes[1]["data"]["dataset_ids"] == ["a"]


def test_register_a_key_made_elsewhere(services):
    app = services.apps.create("Served")
    other = services.apps.create("Other")
    token = new_token()
    key, created = services.keys.register("Served", token)
    assert created and key.app_id == app.id and key.hint == f"app-…{token[-4:]}"
    assert services.keys.register(app.id, f" {token}\n") == (key, False)
    assert services.keys.authenticate(token).id == key.id
    with pytest.raises(ConflictError, match="another app"):
        services.keys.register(other.id, token)
    with pytest.raises(ValidationError, match="not a valid app key") as bad:
        services.keys.register(app.id, "app-tooShortSecret", source="STUDIO_API_KEY")
    assert "tooShortSecret" not in bad.value.message and "STUDIO_API_KEY" in bad.value.message
    with pytest.raises(ValidationError):
        services.keys.register(app.id, new_token("dataset"))


def test_deployment_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    monkeypatch.setenv("STUDIO_API_KEY", "app-secret-value")
    monkeypatch.setenv("STUDIO_ALLOWED_HOSTS", " studio, llm.example.com ,")
    settings = Settings()
    assert settings.home_from_environment and settings.api_key.get_secret_value() == "app-secret-value"
    assert "app-secret-value" not in repr(settings) and settings.extra_hosts == ["studio", "llm.example.com"]
    monkeypatch.delenv("STUDIO_HOME")
    assert not Settings().home_from_environment


def test_update_from_text_keeps_the_app_and_points_it_at_new_knowledge_bases(services):
    app = services.apps.create("Guide", prompt="old prompt")
    cfg = copy.deepcopy(app.config)
    cfg["dataset_configs"] = {"datasets": {"datasets": [{"dataset": {"enabled": True, "id": "old-kb"}}]}}
    services.apps.update(app.id, config=cfg)
    text = services.dsl.export_text(app.id).text.replace("old prompt", "new prompt")
    result = services.dsl.update_from_text(app.id, text, datasets={"old-kb": "new-kb"})
    assert result.app.id == app.id and result.app.name == "Guide" and len(services.apps.list()) == 1
    assert result.app.config["pre_prompt"] == "new prompt"
    assert dataset_ids(AppMode.CHAT, result.app.config) == ["new-kb"]
    other_mode = services.dsl.export_text(app.id).text.replace("mode: chat", "mode: completion")
    with pytest.raises(DslError, match="completion app but Guide is a chat app"):
        services.dsl.update_from_text(app.id, other_mode)
