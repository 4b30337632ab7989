"""Property-based: mangled DSL (cut, spliced, keys dropped, values of the wrong type) either imports cleanly or is
refused with a StudioError that names the problem; nothing else escapes and no half-made app is left behind."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core.errors import StudioError

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "dsl-samples"
OWN = Path(__file__).resolve().parent / "files"
TEXTS = [p.read_text() for p in sorted(SAMPLES.glob("*.yml")) + sorted(OWN.glob("*.yml"))]
ODD_VALUES = st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20), st.booleans(),
                       st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                                            max_size=3))


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from studio.app import build
    from studio.core.settings import Settings

    services = build(Settings(home=tmp_path_factory.mktemp("mangled-home")))
    yield services
    services.close()


def _paths(data, prefix=()):
    """Every key path in a nested document, so a mutation can aim anywhere."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield (*prefix, i)
            yield from _paths(value, (*prefix, i))


def _mutate(data, path, action, value):
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    if action == "drop":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


def _import_is_clean(studio, text) -> None:
    before = {a.id for a in studio.apps.list()}
    try:
        result = studio.dsl.import_text(text, force=True)
    except StudioError as exc:
        assert exc.message.strip()
        assert {a.id for a in studio.apps.list()} == before, "a refused import left an app behind"
        return
    after = {a.id for a in studio.apps.list()}
    assert after - before == {result.app.id}
    studio.dsl.export_text(result.app.id)  # what imported must export
    studio.apps.delete(result.app.id)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(range(len(TEXTS))), st.data())
def test_structurally_mangled_documents(studio, index, data):
    doc = yaml.safe_load(TEXTS[index])
    paths = list(_paths(doc))
    for _ in range(data.draw(st.integers(1, 4))):
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        action = data.draw(st.sampled_from(["drop", "replace"]))
        mutated = copy.deepcopy(doc)
        try:
            _mutate(mutated, path, action, data.draw(ODD_VALUES))
        except (KeyError, IndexError, TypeError):
            continue
        doc, paths = mutated, list(_paths(mutated))
    _import_is_clean(studio, yaml.safe_dump(doc, allow_unicode=True))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(range(len(TEXTS))), st.data())
def test_textually_mangled_files(studio, index, data):
    text = TEXTS[index]
    cut = data.draw(st.integers(0, len(text)))
    kind = data.draw(st.sampled_from(["truncate", "splice", "bytes"]))
    if kind == "truncate":
        mangled: str | bytes = text[:cut]
    elif kind == "splice":
        mangled = text[:cut] + data.draw(st.text(max_size=30)) + text[cut:]
    else:
        mangled = text.encode()[:cut] + data.draw(st.binary(max_size=8)) + text.encode()[cut:]
    _import_is_clean(studio, mangled)


@pytest.mark.parametrize("name", ["chat_app.yml", "agent_chat_app.yml", "completion_app.yml"])
def test_every_model_config_block_of_the_wrong_type(studio, name):
    """A sweep the random test once found a crash in (agent_mode: 1 imported, then export failed): every key of
    model_config, and every key one level down, replaced by a value of each wrong kind."""
    doc = yaml.safe_load((OWN / name).read_text())
    config = doc["model_config"]
    paths = [(k,) for k in config] + [(k, sub) for k, v in config.items() if isinstance(v, dict) for sub in v]
    for path in paths:
        for odd in (1, "x", [1], None, {"a": 1}):
            mangled = copy.deepcopy(doc)
            _mutate(mangled["model_config"], path, "replace", odd)
            _import_is_clean(studio, yaml.safe_dump(mangled, allow_unicode=True))


WORKFLOW = (Path(__file__).resolve().parents[2] / "resources" / "templates" / "workflow.yml").read_text()


def _with_workflow(**changes) -> str:
    data = yaml.safe_load(WORKFLOW)
    data["workflow"].update(changes)
    return yaml.safe_dump(data)


@pytest.mark.parametrize(("changes", "words"), [
    ({"environment_variables": [{"name": 5, "value_type": "string", "value": "x"}]},
     "workflow.environment_variables[0]: name must be a non-empty string"),
    ({"environment_variables": [7]}, "workflow.environment_variables[0] must be a mapping"),
    ({"environment_variables": {"a": 1}}, "workflow.environment_variables must be a list"),
    ({"environment_variables": [{"name": "k", "value_type": "spaceship", "value": "x"}]},
     "(k): value_type must be one of string, secret, number"),
    ({"environment_variables": [{"name": "k", "value_type": "number", "value": "ten"}]},
     "(k): the value 'ten' is not of type number"),
    ({"conversation_variables": [{"name": "c", "value_type": "object", "value": [1]},]},
     "workflow.conversation_variables[0] (c): the value [1] is not of type object"),
    ({"conversation_variables": [{"name": "c", "value_type": "string", "value": ""},
                                 {"name": "c", "value_type": "string", "value": ""}]}, "(c): the name is used twice"),
])
def test_malformed_variable_declarations_are_refused_by_name(studio, changes, words):
    before = {a.id for a in studio.apps.list()}
    with pytest.raises(StudioError) as err:
        studio.dsl.import_text(_with_workflow(**changes))
    assert words in err.value.message
    assert {a.id for a in studio.apps.list()} == before


def test_well_formed_variables_import(studio):
    env = [{"name": "region", "value_type": "string", "value": "eu"}, {"name": "n", "value_type": "number",
                                                                       "value": 3},
           {"name": "token", "value_type": "secret", "value": ""}]
    app = studio.dsl.import_text(_with_workflow(environment_variables=env)).app
    studio.apps.delete(app.id)


@pytest.mark.parametrize("text", [
    # "Billion laughs": nine levels of nine aliases stand for 9**9 values in a few hundred bytes.
    "kind: app\nversion: '0.5.0'\napp: {name: lol, mode: workflow}\n"
    + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]\n" for i in range(9))
    + "workflow: {graph: {nodes: [], edges: []}, environment_variables: *l8}\n",
    # An alias inside itself: a cycle that any walk or JSON dump would follow forever.
    "kind: app\nversion: '0.5.0'\napp: {name: cyc, mode: workflow}\n"
    "workflow: &w {graph: {nodes: [], edges: []}, features: {again: *w}}\n",
])
def test_alias_bombs_and_cycles_are_refused_quickly(studio, text):
    before = {a.id for a in studio.apps.list()}
    with pytest.raises(StudioError, match="aliases"):
        studio.dsl.import_text(text)
    assert {a.id for a in studio.apps.list()} == before


@pytest.mark.parametrize(("extra", "words"), [
    ("extra: !!set {a, b}", "extra is a YAML set value"),
    ("extra: !!binary aGVsbG8=", "extra is a YAML bytes value"),
    ("extra: .nan", "extra is nan"),
    ("extra: [1, .inf]", "is inf"),
])
def test_yaml_values_json_cannot_hold_are_refused(studio, extra, words):
    before = {a.id for a in studio.apps.list()}
    with pytest.raises(StudioError) as err:
        studio.dsl.import_text(WORKFLOW + extra + "\n")
    assert words in err.value.message and "Invalid YAML format" in err.value.message
    assert {a.id for a in studio.apps.list()} == before


def test_yaml_dates_become_text(studio):
    app = studio.dsl.import_text(WORKFLOW + "extra: {made: 2024-01-31, at: 2024-01-31 10:00:00}\n").app
    assert yaml.safe_load(studio.dsl.export_text(app.id).text)["extra"] == {"made": "2024-01-31",
                                                                          "at": "2024-01-31T10:00:00"}
    studio.apps.delete(app.id)
