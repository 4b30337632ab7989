"""Starter templates without the model: every file is a clean Dify DSL of its kind that imports without warnings and
exports back to the same data; the service lists, finds and creates them, and a broken file is named, never fatal."""

from __future__ import annotations

import shutil
import sysconfig
import tomllib
from pathlib import Path

import pytest
import yaml

from studio.core.entities import AppMode
from studio.core.errors import NotFoundError
from studio.dsl.loader import CURRENT_DSL_VERSION
from studio.services.templates import CHECKOUT_FOLDER, TemplateError, TemplateService, bundled_folders

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "resources" / "templates"
FILES = sorted(TEMPLATES.glob("*.yml"))


def expected_after_export(original: dict) -> dict:
    """The round-trip rule of tests/dsl/test_roundtrip.py: the current version, kind, Dify's defaults for keys a
    file may lack, and no credentials."""
    want = yaml.safe_load(yaml.safe_dump(original))
    want["version"], want["kind"] = CURRENT_DSL_VERSION, "app"
    want["app"].setdefault("use_icon_as_answer_icon", False)
    want.setdefault("dependencies", [])
    if "workflow" in want:
        want["workflow"].setdefault("conversation_variables", [])
        want["workflow"].setdefault("environment_variables", [])
    for tool in ((want.get("model_config") or {}).get("agent_mode") or {}).get("tools") or []:
        tool.pop("credential_id", None)
    return want


def model_names(data: dict) -> list[str]:
    if "model_config" in data:
        return [data["model_config"]["model"]["name"]]
    return [n["data"]["model"]["name"] for n in data["workflow"]["graph"]["nodes"] if n["data"]["type"] == "llm"]


def test_there_is_a_template_of_every_app_kind():
    modes = {yaml.safe_load(p.read_text(encoding="utf-8"))["app"]["mode"] for p in FILES}
    assert modes == {m.value for m in AppMode}


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_template_is_a_clean_dsl_for_the_bundled_model(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["version"] == CURRENT_DSL_VERSION and data["kind"] == "app" and data["dependencies"] == []
    app = data["app"]
    assert app["name"].strip() and app["icon"] and app["icon_background"].startswith("#")
    assert 20 <= len(app["description"]) <= 120, "the card shows about three lines"
    assert model_names(data) and all(name == "" for name in model_names(data)), "the local default model"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_template_imports_without_warnings_and_exports_the_same_data(services, path):
    result = services.templates.create_app(path.stem)
    assert result.warnings == [] and services.dsl.problems(result.app.id) == []
    original = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert (result.app.name, result.app.mode.value) == (original["app"]["name"], original["app"]["mode"])
    exported = yaml.safe_load(services.dsl.export_text(result.app.id).text)
    assert exported == expected_after_export(original)


def test_catalog_lists_every_file_in_mode_order(services):
    templates = services.templates.list()
    assert sorted(t.path.name for t in templates) == [p.name for p in FILES]
    assert [t.mode for t in templates] == sorted((t.mode for t in templates), key=list(AppMode).index)
    chatbot = services.templates.get("chatbot")
    assert chatbot.to_dict()["mode_label"] == "Chatbot" and chatbot.to_dict()["file"].endswith("chatbot.yml")
    assert services.templates.get(chatbot.name.upper()) == chatbot, "a template is found by its name too"


def test_a_second_app_from_a_template_gets_a_free_name(services):
    first = services.templates.create_app("workflow").app
    second = services.templates.create_app("workflow").app
    assert (first.name, second.name) == ("Title maker", "Title maker (2)")
    assert first.id != second.id and len(services.apps.list()) == 2


def test_an_unknown_template_names_the_choices(services):
    with pytest.raises(NotFoundError, match="No template 'nope'; the templates are: chatbot, "):
        services.templates.create_app("nope")
    assert services.apps.list() == []


def test_broken_files_are_named_and_the_rest_still_list(services, tmp_path):
    shutil.copy(TEMPLATES / "chatbot.yml", tmp_path / "chatbot.yml")
    (tmp_path / "broken.yml").write_text("app:\n  name: [unclosed\n", encoding="utf-8")
    (tmp_path / "no-mode.yml").write_text("app: {name: X}\nmodel_config: {}\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a template", encoding="utf-8")
    bad_graph = yaml.safe_load((TEMPLATES / "workflow.yml").read_text(encoding="utf-8"))
    bad_graph["workflow"]["graph"]["nodes"][1]["data"]["type"] = "warp-drive"
    (tmp_path / "bad-graph.yml").write_text(yaml.safe_dump(bad_graph), encoding="utf-8")
    service = TemplateService(services.dsl, [tmp_path])
    catalog = service.catalog()
    assert [t.id for t in catalog.templates] == ["chatbot", "bad-graph"]
    messages = sorted(str(p) for p in catalog.problems)
    assert messages[0].startswith("Template broken.yml is not a valid Dify DSL file: Invalid YAML format at line 3")
    assert messages[1] == "Template no-mode.yml is not a valid Dify DSL file: Missing app.mode: the DSL must say " \
                          "which kind of app it is"
    with pytest.raises(TemplateError, match=r"^Template broken\.yml is not a valid"):
        service.create_app("broken")
    with pytest.raises(TemplateError, match=r"^Template bad-graph\.yml could not be imported: .*warp-drive"):
        service.create_app("bad-graph")
    assert services.apps.list() == [], "a template that fails to import leaves nothing behind"


def test_a_missing_folder_has_no_templates(services, tmp_path):
    catalog = TemplateService(services.dsl, [tmp_path / "gone"]).catalog()
    assert catalog.templates == [] and catalog.problems == []


def test_the_checkout_folder_is_used_in_a_source_checkout():
    assert CHECKOUT_FOLDER == TEMPLATES and bundled_folders() == [TEMPLATES]


def test_an_installed_studio_finds_the_copy_its_wheel_installed(tmp_path, monkeypatch):
    installed = tmp_path / "share" / "studio" / "templates"
    installed.mkdir(parents=True)
    monkeypatch.setattr(sysconfig, "get_path", lambda name, scheme=None: str(tmp_path))
    assert bundled_folders(checkout=tmp_path / "no-checkout") == [installed]


def test_pyproject_ships_every_template_where_the_service_looks():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    [(target, patterns)] = setuptools["data-files"].items()
    assert target == "share/studio/templates"
    shipped = sorted(p for pattern in patterns for p in ROOT.glob(pattern))
    assert shipped == FILES


def test_a_setting_points_studio_at_another_folder(tmp_path):
    from studio.app import build
    from studio.core.settings import Settings

    shutil.copy(TEMPLATES / "agent.yml", tmp_path / "mine.yml")
    services = build(Settings(home=tmp_path / "home", templates_dir=tmp_path))
    try:
        assert [t.id for t in services.templates.list()] == ["mine"]
    finally:
        services.close()
