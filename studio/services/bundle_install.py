"""Setting a server bundle up in a Studio home, idempotently: the knowledge bases rebuilt from the bundle's chunks
(only when their files changed), the app imported once and pointed at them, the bundle's model files registered,
and the API key from STUDIO_API_KEY registered by its hash. What was done is kept in server-bundle.json in the
home, so a restart (or a second container start on the same volume) finds it."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.atomic import atomic_write_text
from studio.core.entities import App
from studio.core.errors import ConflictError, NotFoundError, ValidationError
from studio.services.bundle_kb import folder_hash, restore_dataset
from studio.services.bundle_models import missing_model_hints, register_models
from studio.services.kb_intake import IngestLock
from studio.services.keys import new_token

log = logging.getLogger(__name__)
STATE_FILE = "server-bundle.json"
MAX_NAME = 40  # a knowledge base name's limit (KnowledgeService.MAX_NAME)


@dataclass
class InstallReport:
    app: App
    app_status: str  # created | updated | unchanged
    rebuilt: list[str] = field(default_factory=list)  # knowledge bases embedded now
    reused: list[str] = field(default_factory=list)  # knowledge bases found as they were
    key_status: str = "missing"  # registered | known | missing
    key_hint: str = ""
    suggested_key: str = ""  # a fresh random key to offer when STUDIO_API_KEY is not set (not registered)
    models_added: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class BundleInstaller:
    def __init__(self, apps, dsl, knowledge, models, keys, repos, home: Path, api_key: Callable[[], str]) -> None:
        self._apps, self._dsl, self._knowledge, self._models, self._keys = apps, dsl, knowledge, models, keys
        self._repo = repos.knowledge
        self._home = Path(home)
        self._api_key = api_key  # () -> the STUDIO_API_KEY value, read from the typed settings

    def install(self, folder: Path, manifest: dict[str, Any], *, api_key: str | None,
                on_step: Callable[[str], None] | None) -> InstallReport:
        say = on_step or (lambda text: None)
        token = self._api_key() if api_key is None else api_key
        if token:  # a malformed key fails before minutes of embedding, not after
            token = self._keys.check_app_token(token, source="STUDIO_API_KEY")
        lock = IngestLock(self._home / "server-bundle.lock")
        if not lock.acquire():
            raise ConflictError("Another `studio serve --bundle` is setting up this Studio home; wait for it")
        try:
            state = self._load_state()
            warnings: list[str] = []
            models_added = register_models(self._models, folder, manifest.get("models") or [], warnings)
            mapping, rebuilt, reused = {}, [], []
            for entry in manifest.get("knowledge") or []:
                mapping[entry["source_id"]] = self._knowledge_base(folder, entry, state, say, rebuilt, reused)
            app, status = self._app(folder, manifest["app"], mapping, state, say, warnings)
            report = InstallReport(app=app, app_status=status, rebuilt=rebuilt, reused=reused,
                                   models_added=models_added, warnings=warnings)
            self._model_warnings(app, manifest.get("models") or [], report)
            self._key(app, token, state, report)
            return report
        finally:
            lock.release()

    # -- knowledge bases ------------------------------------------------------------------------------------
    def _knowledge_base(self, folder: Path, entry: dict[str, Any], state: dict, say, rebuilt: list[str],
                        reused: list[str]) -> str:
        """The local id of the bundle's knowledge base: the one built before when its files are unchanged and
        fully embedded, else a new one built now (the old one is deleted once the new one is complete)."""
        path = folder / str(entry["folder"])
        try:
            digest = folder_hash(path)
        except OSError as exc:
            raise ValidationError(f"The bundle's knowledge base {entry.get('name')} is unreadable: "
                                  f"{exc.strerror or exc} ({path})") from None
        if digest != entry.get("sha256"):
            raise ValidationError(f"The files in {path} do not match the bundle's bundle.json (edited or copied "
                                  "only in part?); export the bundle again")
        known = state["datasets"].get(entry["source_id"]) or {}
        if known.get("sha256") == digest and self._complete(known.get("id")):
            reused.append(entry["name"])
            return known["id"]
        say(f"Rebuilding knowledge base {entry['name']} ({entry.get('segments', '?')} chunks)…")
        dataset = restore_dataset(self._knowledge, self._repo, path, self._free_name(entry["name"]))
        self._drop(known.get("id"))
        if dataset.name != entry["name"] and self._free_name(entry["name"]) == entry["name"]:
            dataset = self._knowledge.update(dataset.id, name=entry["name"])
        state["datasets"][entry["source_id"]] = {"id": dataset.id, "sha256": digest}
        self._save_state(state)
        rebuilt.append(dataset.name)
        return dataset.id

    def _complete(self, dataset_id: str | None) -> bool:
        if not dataset_id:
            return False
        try:
            self._knowledge.get(dataset_id, counts=False)
        except NotFoundError:
            return False
        total, indexed = self._repo.count_units(dataset_id)
        return total == indexed

    def _drop(self, dataset_id: str | None) -> None:
        if dataset_id:
            try:
                self._knowledge.delete(dataset_id)
            except NotFoundError:
                pass

    def _free_name(self, name: str) -> str:
        taken = {d.name.casefold() for d in self._knowledge.list()}
        candidate, n = name[:MAX_NAME], 2
        while candidate.casefold() in taken:
            suffix = f" ({n})"
            candidate, n = name[:MAX_NAME - len(suffix)] + suffix, n + 1
        return candidate

    # -- the app --------------------------------------------------------------------------------------------
    def _app(self, folder: Path, entry: dict[str, Any], mapping: dict[str, str], state: dict, say,
             warnings: list[str]) -> tuple[App, str]:
        path = folder / str(entry.get("dsl") or "app.yml")
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise ValidationError(f"The bundle's app file {path} is unreadable: {exc.strerror or exc}") from None
        digest = hashlib.sha256(text + json.dumps(mapping, sort_keys=True).encode()).hexdigest()
        known = state["apps"].get(entry["source_id"]) or {}
        app = self._existing_app(known.get("app_id"))
        if app is not None and known.get("sha256") == digest:
            return app, "unchanged"
        if app is not None:
            say(f"Updating app {app.name} from the bundle…")
            result, status = self._dsl.update_from_text(app.id, text, datasets=mapping), "updated"
        else:
            say(f"Importing app {entry.get('name')}…")
            result, status = self._dsl.import_text(text, datasets=mapping), "created"
        warnings += [w for w in result.warnings if not w.startswith("Model ")]  # models are reported below
        state["apps"][entry["source_id"]] = {"app_id": result.app.id, "sha256": digest}
        self._save_state(state)
        return result.app, status

    def _existing_app(self, app_id: str | None) -> App | None:
        if not app_id:
            return None
        try:
            return self._apps.get(app_id)
        except NotFoundError:
            return None

    def _model_warnings(self, app: App, entries: list[dict[str, Any]], report: InstallReport) -> None:
        hints = missing_model_hints(entries)
        for ref in self._dsl.unknown_models(app.mode, app.config):
            hint = hints.get(ref.name, "add it on this server with `studio models add FILE.gguf`")
            report.warnings.append(f"Model {ref.label} ({ref.where}) is not installed here: {hint}")

    # -- the key --------------------------------------------------------------------------------------------
    def _key(self, app: App, token: str, state: dict, report: InstallReport) -> None:
        """Register STUDIO_API_KEY for the app. When the variable changes, the key it replaced is revoked, so
        rotating the secret in the deployment really retires the old one."""
        if not token:
            report.suggested_key = new_token()
            return
        key, created = self._keys.register(app.id, token, source="STUDIO_API_KEY")
        previous = state.get("env_key")
        if created and previous and previous != key.id:
            try:
                self._keys.revoke(previous)
            except NotFoundError:
                pass
        report.key_status, report.key_hint = ("registered" if created else "known"), key.hint
        state["env_key"] = key.id
        self._save_state(state)

    # -- state ----------------------------------------------------------------------------------------------
    def _load_state(self) -> dict[str, Any]:
        path = self._home / STATE_FILE
        try:
            state = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (OSError, ValueError):
            log.warning("%s is unreadable; setting the bundle up again", path)
            state = {}
        state.setdefault("apps", {})
        state.setdefault("datasets", {})
        return state

    def _save_state(self, state: dict[str, Any]) -> None:
        atomic_write_text(self._home / STATE_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n")
