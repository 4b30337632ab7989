"""The server bundle's build files, checked without a Docker engine: hadolint on the Dockerfile, its instructions
read with dockerfile-parse against the Makefile's build flags, compose.yaml, the pyproject of the bundled source,
and the README. (The image is linted here, never built: there is no Docker engine on this machine.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

REPO = Path(__file__).resolve().parents[2]
HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))


def make_var(name: str) -> str:
    match = re.search(rf"^{name}\s*:=\s*(.+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert match, name
    return match.group(1).strip()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """A bundle of a chat app without knowledge bases (the e2e test covers those)."""
    from studio.app import build
    from studio.core.settings import Settings

    root = tmp_path_factory.mktemp("files")
    services = build(Settings(home=root / "home"))
    try:
        services.apps.create(name="Plain bot", prompt="Be brief.")
        result = services.bundles.export("Plain bot", root / "bundle")
    finally:
        services.close()
    return result.path


def stages(bundle: Path) -> list[list[dict]]:
    """The Dockerfile's instructions, one list per FROM."""
    out: list[list[dict]] = []
    for item in DockerfileParser(path=str(bundle / "Dockerfile")).structure:
        if item["instruction"] == "FROM":
            out.append([])
        if out and item["instruction"] != "COMMENT":
            out[-1].append(item)
    return out


def values(stage: list[dict], instruction: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == instruction]


def test_hadolint_finds_nothing(bundle):
    proc = subprocess.run([HADOLINT, "--no-color", "Dockerfile"], cwd=bundle, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_the_image_builds_llama_cpp_like_the_makefile_and_installs_the_bundled_models(bundle):
    build, final = stages(bundle)
    assert values(build, "ENV") == [f'CMAKE_ARGS="{make_var("LLAMA_CMAKE_ARGS")}"']
    assert "-DGGML_NATIVE=OFF" in make_var("LLAMA_CMAKE_ARGS")
    llama = f"llama-cpp-python=={make_var('LLAMA_VERSION')}"
    assert any(llama in run and "--no-binary llama-cpp-python" in run for run in values(build, "RUN"))
    assert llama in (REPO / "pyproject.toml").read_text()
    installs = " ".join(values(final, "RUN"))
    assert f"--no-deps {make_var('STARTER_MODELS')}" in installs and '"studio==' in installs
    assert installs.index("/wheels/llama_cpp_python-") < installs.index('"studio=='), "the wheel built here first"
    for stage in (build, final):
        image = values(stage, "FROM")[0].split()[0]
        assert ":" in image and not image.endswith(":latest"), image


def test_the_image_runs_the_bundle_unprivileged_with_state_on_a_volume(bundle):
    final = stages(bundle)[-1]
    assert re.fullmatch(r"\d+:\d+", values(final, "USER")[-1]) and not values(final, "USER")[-1].startswith("0")
    parsed = DockerfileParser(path=str(bundle / "Dockerfile"))
    assert parsed.envs["STUDIO_HOME"] == "/data" and json.loads(values(final, "VOLUME")[0]) == ["/data"]
    cmd = json.loads(parsed.cmd)
    assert cmd[:5] == ["studio", "serve", "--headless", "--bundle", "/bundle"]
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0" and "--public" in cmd
    assert values(final, "EXPOSE") == [cmd[cmd.index("--port") + 1]]
    for copy in values(final, "COPY") + values(stages(bundle)[0], "COPY"):
        if copy.startswith("--from"):
            continue
        *sources, _dest = copy.split()
        for source in sources:
            assert (bundle / source).exists(), f"COPY {source}: not in the bundle"
    ignored = (bundle / ".dockerignore").read_text().split()
    assert "home/" in ignored and "models/" in ignored


def test_compose_runs_the_same_command_with_the_key_from_the_environment(bundle):
    compose = yaml.safe_load((bundle / "compose.yaml").read_text())
    service = compose["services"]["studio"]
    assert service["command"] == json.loads(DockerfileParser(path=str(bundle / "Dockerfile")).cmd)
    assert service["build"] == "."
    assert service["environment"]["STUDIO_API_KEY"].startswith("${STUDIO_API_KEY:?")
    assert service["environment"]["STUDIO_ALLOWED_HOSTS"] == "${STUDIO_ALLOWED_HOSTS:-studio}"
    assert service["ports"] == ["127.0.0.1:5001:5001"]
    assert "studio-data:/data" in service["volumes"] and "./models:/bundle/models:ro" in service["volumes"]
    assert "studio-data" in compose["volumes"] and re.fullmatch(r"studio-[a-z0-9-]+", compose["name"])


def test_the_bundled_source_installs_studio_without_qt(bundle):
    project = tomllib.loads((bundle / "source" / "pyproject.toml").read_text())
    deps = project["project"]["dependencies"]
    assert not [d for d in deps if d.lower().startswith("pyside6")]
    assert "llama-cpp-python==0.3.36" in deps and any(d.startswith("fastapi") for d in deps)
    assert project["project"]["scripts"] == {"studio": "studio.main:main"}
    packages = project["tool"]["setuptools"]["packages"]
    assert "studio.store.migrations.versions" in packages and "studio.workflow.nodes.llm" in packages
    data = project["tool"]["setuptools"]["package-data"]
    assert "server_bundle/Dockerfile" in data["studio.services"] and "*.js" in data["studio.sandbox"]
    assert not list((bundle / "source").rglob("__pycache__")) and not list((bundle / "source").rglob("*.pyc"))


def test_the_readme_says_how_to_run_it(bundle):
    text = (bundle / "README.md").read_text()
    for needle in ("docker compose up --build", "studio serve --bundle .", "STUDIO_API_KEY", "STUDIO_ALLOWED_HOSTS",
                   "/v1/chat-messages", "Import DSL file", "SmolLM2-135M-Instruct.Q4_1"):
        assert needle in text, needle
    assert "{{" not in text and "{%" not in text
