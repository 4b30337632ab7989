"""Starter templates: the Dify DSL files Studio ships, listed for the gallery and imported as new apps."""

from __future__ import annotations

import logging
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.entities import MODE_LABELS, AppMode
from studio.core.errors import NotFoundError, StudioError
from studio.dsl.loader import parse

log = logging.getLogger(__name__)
SUFFIXES = (".yml", ".yaml")
# Where a wheel puts resources/templates (pyproject.toml's data-files), under the install scheme's data path.
INSTALLED_SUBDIR = Path("share") / "studio" / "templates"
MODE_ORDER = {mode: i for i, mode in enumerate(AppMode)}
CHECKOUT_FOLDER = Path(__file__).resolve().parents[2] / "resources" / "templates"


class TemplateError(StudioError):
    """A template file that cannot be read or imported; the message names the file."""

    code = "invalid_template"


@dataclass(frozen=True)
class Template:
    """What the gallery shows of one template file; `id` is the file name without its suffix."""

    id: str
    name: str
    mode: AppMode
    description: str
    icon: str
    icon_background: str
    path: Path

    @property
    def mode_label(self) -> str:
        return MODE_LABELS.get(self.mode, self.mode.value)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "mode": self.mode.value, "mode_label": self.mode_label,
                "description": self.description, "icon": self.icon, "icon_background": self.icon_background,
                "file": str(self.path)}


@dataclass(frozen=True)
class TemplateProblem:
    """A template file left out of the list; `message` names the file and says what is wrong."""

    path: Path
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class TemplateCatalog:
    templates: list[Template] = field(default_factory=list)
    problems: list[TemplateProblem] = field(default_factory=list)


def bundled_folders(checkout: Path = CHECKOUT_FOLDER) -> list[Path]:
    """Studio's own templates: the checkout's resources/templates (an editable install, `make run`), else the
    copy a wheel installed under the environment's (or the user's) data folder."""
    candidates = [checkout]
    for scheme in dict.fromkeys((sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user"))):
        try:
            candidates.append(Path(sysconfig.get_path("data", scheme)) / INSTALLED_SUBDIR)
        except KeyError:  # a scheme this platform does not define
            continue
    return [next((c for c in candidates if c.is_dir()), checkout)]


def read_template(path: Path) -> Template:
    """The gallery's view of one file, checked the way an import checks it first; TemplateError names the file."""
    try:
        doc = parse(path.read_bytes())
    except OSError as exc:
        raise TemplateError(f"Template {path.name} cannot be read: {exc.strerror or exc}") from None
    except StudioError as exc:
        raise TemplateError(f"Template {path.name} is not a valid Dify DSL file: {exc.message}") from None
    app = doc.app
    name = str(app.get("name") or "").strip()
    if not name:
        raise TemplateError(f"Template {path.name} has no app.name")
    return Template(id=path.stem, name=name, mode=doc.mode, description=str(app.get("description") or "").strip(),
                    icon=str(app.get("icon") or "🤖"), icon_background=str(app.get("icon_background") or "#FFEAD5"),
                    path=path)


class TemplateService:
    """Reads the folders each time it is asked (a handful of small files), so an edited template shows at once."""

    def __init__(self, dsl, folders: Sequence[Path]) -> None:
        self._dsl = dsl
        self.folders = [Path(f) for f in folders]

    def catalog(self) -> TemplateCatalog:
        """Every readable template, chats first and workflows last; a broken file is a problem, not a failure."""
        found = TemplateCatalog()
        seen: set[str] = set()
        for path in self._files():
            if path.stem in seen:  # an earlier folder's template of the same id wins
                continue
            try:
                template = read_template(path)
            except TemplateError as exc:
                log.info("%s", exc.message)  # the caller shows it; a log line on every listing would repeat it
                found.problems.append(TemplateProblem(path, exc.message))
                continue
            seen.add(template.id)
            found.templates.append(template)
        found.templates.sort(key=lambda t: (MODE_ORDER[t.mode], t.name.casefold()))
        return found

    def list(self) -> list[Template]:
        return self.catalog().templates

    def get(self, ref: str) -> Template:
        """A template by id (its file name without .yml) or by its app name, in any case."""
        catalog = self.catalog()
        wanted = (ref or "").strip().casefold()
        for template in catalog.templates:
            if wanted in (template.id.casefold(), template.name.casefold()):
                return template
        broken = next((p for p in catalog.problems if p.path.stem.casefold() == wanted), None)
        if broken is not None:
            raise TemplateError(str(broken))
        names = ", ".join(t.id for t in catalog.templates) or "none found"
        raise NotFoundError(f"No template {ref!r}; the templates are: {names}")

    def create_app(self, ref: str | Template):
        """A new app from the template (an id, a name, or a listed Template), through the DSL import (all or
        nothing), named after the template ("Name (2)" when that name is taken). Returns the ImportResult."""
        template = ref if isinstance(ref, Template) else self.get(ref)
        try:
            text = template.path.read_bytes()
        except OSError as exc:
            raise TemplateError(f"Template {template.path.name} cannot be read: {exc.strerror or exc}") from None
        try:
            return self._dsl.import_text(text)
        except StudioError as exc:
            raise TemplateError(f"Template {template.path.name} could not be imported: {exc.message}") from None

    def _files(self) -> list[Path]:
        files: list[Path] = []
        for folder in self.folders:
            try:
                files += sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
            except OSError as exc:  # a missing folder simply has no templates
                log.info("no templates in %s: %s", folder, exc)
        return files
