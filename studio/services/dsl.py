"""DSL import use case: a Dify DSL file becomes a new app, all or nothing, with Dify's warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studio.core.app_config import LOCAL_PROVIDER, normalise_config
from studio.core.entities import App, AppMode
from studio.core.errors import ModelError, StudioError, ValidationError
from studio.dsl.loader import GRAPH_MODES, DslError, ImportStatus, parse


@dataclass
class ImportResult:
    app: App
    status: ImportStatus
    warnings: list[str] = field(default_factory=list)


class DslService:
    def __init__(self, repos, models, runner) -> None:
        self._apps = repos.apps
        self._models = models
        self._runner = runner

    def import_file(self, path: str | Path, *, force: bool = False) -> ImportResult:
        p = Path(path).expanduser()
        if p.is_dir():
            raise ValidationError(f"{p} is a folder; give the path of a DSL .yml file")
        if not p.is_file():
            raise ValidationError(f"DSL file not found: {p}")
        return self.import_text(p.read_bytes(), force=force)

    def import_text(self, text: str | bytes, *, force: bool = False) -> ImportResult:
        doc = parse(text)
        if doc.status == ImportStatus.PENDING and not force:
            raise DslError(f"{doc.warnings[-1]}. Confirm to import anyway (CLI: --force).")
        app_data = doc.app
        warnings = list(doc.warnings)
        if doc.mode in GRAPH_MODES:
            workflow = doc.data["workflow"]
            self._runner.validate(workflow.get("graph") or {})  # ConfigError names the node
            config = {"workflow": workflow, "dependencies": doc.data.get("dependencies") or []}
        else:
            config = self._easy_config(doc.data["model_config"], warnings)
            if doc.mode == AppMode.AGENT_CHAT:
                warnings.append("Agent apps are kept for export; running them is not supported yet")
        app = self._apps.create(
            name=self._free_name(str(app_data.get("name") or "Imported app")), mode=doc.mode,
            icon=str(app_data.get("icon") or "🤖"), icon_background=str(app_data.get("icon_background") or "#FFEAD5"),
            description=str(app_data.get("description") or ""), config=config)
        return ImportResult(app=app, status=doc.status, warnings=warnings)

    def _easy_config(self, model_config: dict, warnings: list[str]) -> dict:
        try:
            config = normalise_config(model_config)
        except StudioError as exc:
            raise DslError(f"model_config: {exc.message}") from None
        model = config.get("model") or {}
        name = str(model.get("name") or "")
        if name and model.get("provider") not in ("", LOCAL_PROVIDER):
            try:
                self._models.resolve_chat_model(name)
            except ModelError:
                warnings.append(f"Model {model.get('provider')}/{name} is not available locally; "
                                "choose a replacement in the app's model settings")
        return config

    def _free_name(self, name: str) -> str:
        taken = self._apps.names()
        candidate, n = name, 2
        while candidate in taken:
            candidate, n = f"{name} ({n})", n + 1
        return candidate
