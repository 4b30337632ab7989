"""Server bundles: `studio export APP --server DIR` writes an app, its knowledge bases, its models' manifest,
Studio's source and a Dockerfile/compose file into one folder, atomically; `studio serve --bundle DIR` sets the
bundle up in a Studio home (see bundle_install.py) and serves it."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import studio
from studio.core.cancel import CancelToken
from studio.core.entities import App
from studio.core.errors import CancelledError, ConflictError, NotFoundError, StudioError, ValidationError
from studio.core.knowledge import Dataset
from studio.dsl.refs import dataset_ids
from studio.services import bundle_source
from studio.services.bundle_install import BundleInstaller, InstallReport
from studio.services.bundle_kb import dump_dataset
from studio.services.bundle_models import MODELS_DIR, file_sha256, model_entries

log = logging.getLogger(__name__)
MANIFEST = "bundle.json"
KIND = "studio-server-bundle"
FORMAT = 1
DSL_FILE = "app.yml"
KEY_ENV = "STUDIO_API_KEY"
PORT = 5001
KEEP_ON_REPLACE = ("home", MODELS_DIR)  # what a local `serve --bundle` added to an old bundle: moved over, not lost


@dataclass
class BundleProgress:
    step: str
    done: int
    total: int


@dataclass
class BundleResult:
    path: Path
    app: App
    knowledge: list[str] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The bundle.json of a bundle folder, or a ValidationError that says why the folder is not a bundle."""
    path = Path(folder).expanduser() / MANIFEST
    if not path.is_file():
        raise ValidationError(f"{path.parent} is not a Studio server bundle (it has no {MANIFEST}); make one with "
                              "`studio export APP --server DIR`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"{path} cannot be read: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise ValidationError(f"{path} is not a Studio server bundle manifest")
    if data.get("format") != FORMAT:
        raise ValidationError(f"{path} is bundle format {data.get('format')}; this Studio reads format {FORMAT}")
    return data


class BundleService:
    def __init__(self, apps, dsl, knowledge, models, keys, repos, home: Path, api_key: Callable[[], str]) -> None:
        self._apps, self._dsl, self._knowledge, self._models = apps, dsl, knowledge, models
        self._installer = BundleInstaller(apps, dsl, knowledge, models, keys, repos, home, api_key)

    # -- serve ----------------------------------------------------------------------------------------------
    def install(self, folder: str | Path, *, api_key: str | None = None,
                on_step: Callable[[str], None] | None = None) -> InstallReport:
        """Import the bundle's app and rebuild its knowledge bases here, once (a restart finds them), and register
        the API key (STUDIO_API_KEY unless `api_key` is given)."""
        folder = Path(folder).expanduser().resolve()
        return self._installer.install(folder, read_manifest(folder), api_key=api_key, on_step=on_step)

    # -- export ---------------------------------------------------------------------------------------------
    def export(self, app_ref: str, target: str | Path, *, force: bool = False, include_models: bool = False,
               on_progress: Callable[[BundleProgress], None] | None = None,
               cancel: CancelToken | None = None) -> BundleResult:
        """Write the bundle into a temporary folder beside `target`, then rename it into place: an error or a
        cancel leaves nothing half-written. A non-empty `target` is refused unless `force` and it is a bundle."""
        app = self._apps.resolve(app_ref)
        datasets = self._datasets(app)
        target = self._check_target(Path(target).expanduser(), force)
        temp = self._temp_folder(target)
        result = BundleResult(path=target, app=app, knowledge=[d.name for d in datasets])
        steps = _Steps(on_progress, cancel or CancelToken(), total=len(datasets) + 4)
        try:
            manifest = self._write(temp, app, datasets, include_models, steps, result)
            steps.next("Writing the Dockerfile, compose file and README")
            bundle_source.render_templates(temp, bundle_source.template_context(manifest))
            (temp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            steps.check()
            self._swap(temp, target)
        except OSError as exc:
            shutil.rmtree(temp, ignore_errors=True)
            raise StudioError(f"Could not write the bundle to {target}: {exc.strerror or exc}") from None
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        steps.finish()
        log.info("exported %s as a server bundle to %s", app.name, target)
        return result

    def _datasets(self, app: App) -> list[Dataset]:
        found = []
        for ref in dataset_ids(app.mode, app.config):
            try:
                dataset = self._knowledge.get(ref, counts=False)
            except NotFoundError:
                raise ValidationError(f"{app.name} uses knowledge base {ref}, which is not in this Studio; remove "
                                      "it from the app's context (or its knowledge-retrieval node) and export "
                                      "again") from None
            if self._knowledge.is_ingesting(dataset.id) or self._knowledge.ingesting_elsewhere(dataset.id):
                raise ConflictError(f"Knowledge base {dataset.name} is being indexed; export when it has finished")
            found.append(dataset)
        return found

    def _write(self, temp: Path, app: App, datasets: list[Dataset], include_models: bool, steps: _Steps,
               result: BundleResult) -> dict[str, Any]:
        steps.next("Writing the app's DSL")
        exported = self._dsl.export_file(app.id, temp / DSL_FILE)
        result.warnings += exported.warnings
        knowledge = []
        for n, dataset in enumerate(datasets, start=1):
            steps.next(f"Writing knowledge base {dataset.name}")
            folder = temp / "knowledge" / f"{n:02d}-{bundle_source.slug(dataset.name)}"
            entry = dump_dataset(self._knowledge, dataset, folder, result.warnings)
            knowledge.append({**entry, "folder": f"knowledge/{folder.name}"})
        (temp / "knowledge").mkdir(exist_ok=True)  # the Dockerfile copies it, even when empty
        steps.next("Copying Studio's source")
        bundle_source.copy_source(temp / "source")
        steps.next("Listing the models")
        (temp / MODELS_DIR).mkdir()
        result.models = model_entries(self._models, app, datasets, temp if include_models else None,
                                      result.warnings)
        app_entry = {"source_id": app.id, "name": app.name, "mode": app.mode.value, "dsl": DSL_FILE,
                     "sha256": file_sha256(temp / DSL_FILE)}
        return {"kind": KIND, "format": FORMAT, "studio_version": studio.__version__,
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "app": app_entry,
                "knowledge": knowledge, "models": result.models, "key_env": KEY_ENV, "port": PORT}

    # -- the target folder ----------------------------------------------------------------------------------
    @staticmethod
    def _check_target(target: Path, force: bool) -> Path:
        target = target.absolute()
        if target.exists() and not target.is_dir():
            raise ValidationError(f"{target} is a file; give a folder for the bundle")
        if not target.parent.is_dir():
            raise ValidationError(f"The folder {target.parent} does not exist")
        if target.resolve().is_relative_to(bundle_source.package_dir()):
            raise ValidationError("The bundle cannot go inside Studio's own package folder")
        if target.is_dir() and any(target.iterdir()):
            if not force:
                raise ValidationError(f"{target} is not empty; choose an empty or new folder, or replace the bundle "
                                      "there with --force")
            if not (target / MANIFEST).is_file():
                raise ValidationError(f"{target} is not empty and holds no Studio server bundle, so it is not "
                                      "replaced even with --force; choose an empty or new folder")
        return target

    @staticmethod
    def _temp_folder(target: Path) -> Path:
        try:
            temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
            temp.chmod(0o755)  # mkdtemp's 0700 would hide the bundle from a Docker build or a service account
        except OSError as exc:
            raise ValidationError(f"Cannot write in {target.parent}: {exc.strerror or exc}") from None
        return temp

    @staticmethod
    def _swap(temp: Path, target: Path) -> None:
        """Rename the finished bundle into place. An old bundle is renamed aside first and deleted after; what a
        local serve added to it (its home, mounted models) moves into the new one."""
        if not target.exists():
            os.rename(temp, target)
            return
        if not any(target.iterdir()):
            os.rmdir(target)
            os.rename(temp, target)
            return
        for name in KEEP_ON_REPLACE:
            old, new = target / name, temp / name
            if old.exists() and (not new.exists() or not any(new.iterdir())):
                shutil.rmtree(new, ignore_errors=True)
                os.rename(old, new)
        aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        os.rename(target, aside / "bundle")
        os.rename(temp, target)
        shutil.rmtree(aside, ignore_errors=True)


class _Steps:
    """Progress through the export's steps, and the place the cancel token is checked."""

    def __init__(self, on_progress, cancel: CancelToken, total: int) -> None:
        self.notify, self.cancel, self.total, self.done = on_progress or (lambda p: None), cancel, total, 0

    def check(self) -> None:
        if self.cancel.cancelled:
            raise CancelledError("The export was cancelled; nothing was written")

    def next(self, step: str) -> None:
        self.check()
        self.notify(BundleProgress(step, self.done, self.total))
        self.done += 1

    def finish(self) -> None:
        self.notify(BundleProgress("Done", self.total, self.total))
