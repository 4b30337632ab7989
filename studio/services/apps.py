"""App use cases: create, edit, duplicate and delete Chatbot, Agent and Text generator apps."""

from __future__ import annotations

from typing import Any

from studio.core.app_config import default_config, normalise_config
from studio.core.entities import App, AppMode
from studio.core.errors import NotFoundError, ValidationError

EDITABLE_MODES = (AppMode.CHAT, AppMode.AGENT_CHAT, AppMode.COMPLETION)
MAX_NAME = 255


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("App name must not be empty")
    if len(name) > MAX_NAME:
        raise ValidationError(f"App name must be at most {MAX_NAME} characters")
    return name


class AppService:
    def __init__(self, repos) -> None:
        self._apps = repos.apps

    def list(self) -> list[App]:
        return self._apps.list()

    def get(self, app_id: str) -> App:
        return self._apps.get(app_id)

    def resolve(self, ref: str) -> App:
        """An app by id, or else by its unique name."""
        return resolve_app(self._apps, ref)

    def create(self, name: str, mode: AppMode | str = AppMode.CHAT, *, prompt: str = "", icon: str = "🤖",
               icon_background: str = "#FFEAD5", description: str = "",
               config: dict[str, Any] | None = None) -> App:
        try:
            mode = AppMode(mode)
        except ValueError:
            raise ValidationError(
                f"Unknown app mode {mode!r}; use one of: {', '.join(m.value for m in EDITABLE_MODES)}"
            ) from None
        if mode not in EDITABLE_MODES:
            raise ValidationError(f"Apps of mode {mode.value!r} are not supported yet")
        cfg = normalise_config(config if config is not None else default_config(mode, prompt))
        return self._apps.create(name=_clean_name(name), mode=mode, icon=icon or "🤖",
                                 icon_background=icon_background, description=description or "", config=cfg)

    def update(self, app_id: str, *, name: str | None = None, icon: str | None = None,
               icon_background: str | None = None, description: str | None = None,
               config: dict[str, Any] | None = None) -> App:
        fields: dict[str, Any] = {}
        if name is not None:
            fields["name"] = _clean_name(name)
        if icon is not None:
            fields["icon"] = icon or "🤖"
        if icon_background is not None:
            fields["icon_background"] = icon_background
        if description is not None:
            fields["description"] = description
        if config is not None:
            fields["config"] = normalise_config(config)
        return self._apps.update(app_id, **fields)

    def rename(self, app_id: str, name: str) -> App:
        return self.update(app_id, name=name)

    def duplicate(self, app_id: str) -> App:
        app = self._apps.get(app_id)
        taken = self._apps.names()
        name = f"{app.name} (copy)"
        n = 2
        while name in taken:
            name = f"{app.name} (copy {n})"
            n += 1
        return self._apps.create(name=name, mode=app.mode, icon=app.icon, icon_background=app.icon_background,
                                 description=app.description, config=app.config)

    def delete(self, app_id: str) -> None:
        self._apps.delete(app_id)


def resolve_app(repo, ref: str) -> App:
    """An app by id, or else by its unique name; the error suggests a name that differs only in case."""
    try:
        return repo.get(ref)
    except NotFoundError:
        app = repo.find_by_name(ref)
        if app is None:
            close = [n for n in repo.names() if n.casefold() == str(ref).casefold()]
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise NotFoundError(f"No app with id or name {ref!r}{hint}") from None
        return app
