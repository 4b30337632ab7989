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
