"""Create from template: the gallery dialog and the empty app list's invitation, both grids of template cards that
create the app in one click (or Enter) on a worker thread."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QDialogButtonBox, QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget,
)

from studio.ui.app_cards import APP_ROLE, CARD, AppCardDelegate
from studio.ui.theme import label, set_role

GRID_STYLE = "QListWidget#TemplateGrid { background: transparent; border: none; }"
HINT = "Each one runs on the bundled model, offline. Click a card (or press Enter) to create the app and open it."


class TemplateGrid(QListWidget):
    """Template cards drawn like app cards (icon, name, mode label, description); arrows move, a click or
    Enter picks."""

    picked = Signal(object)  # Template

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TemplateGrid")
        self.setStyleSheet(GRID_STYLE)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setSpacing(6)
        self.setMouseTracking(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setItemDelegate(AppCardDelegate(self))  # a template has the fields an app card paints
        self.setAccessibleName("Templates")
        # itemClicked, not itemActivated: a double click must not make two apps, and Enter is handled below.
        self.itemClicked.connect(lambda item: self.picked.emit(item.data(APP_ROLE)))

    def set_templates(self, templates: list, *, select_first: bool = True) -> None:
        self.clear()
        for template in templates:
            item = QListWidgetItem()
            item.setData(APP_ROLE, template)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{template.name}, {template.mode_label}")
            item.setToolTip(f"{template.name} ({template.mode_label})\n{template.description}")
            item.setSizeHint(CARD)
            self.addItem(item)
        if templates and select_first:
            self.setCurrentRow(0)

    def templates(self) -> list:
        return [self.item(i).data(APP_ROLE) for i in range(self.count())]

    def current_template(self):
        item = self.currentItem()
        return item.data(APP_ROLE) if item is not None else None

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.current_template() is not None:
            event.accept()  # taken here, so the dialog's default button never sees it
            self.picked.emit(self.current_template())
            return
        super().keyPressEvent(event)


class TemplateCreator(QObject):
    """Makes an app from a template on a worker, one at a time, and says how it went."""

    started = Signal(object)  # Template
    created = Signal(object)  # ImportResult
    failed = Signal(str)

    def __init__(self, services, bridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services, self.bridge = services, bridge
        self.busy = False

    def create(self, template) -> bool:
        if self.busy or template is None:
            return False
        self.busy = True
        self.started.emit(template)
        templates = self.services.templates
        self.bridge.call(lambda: templates.create_app(template), self._created, self._failed)
        return True

    def _created(self, result) -> None:
        self.busy = False
        self.created.emit(result)

    def _failed(self, message: str) -> None:
        self.busy = False
        self.failed.emit(message)


class TemplatePicker(QWidget):
    """The grid with its status line: loading, creating, and the problems of broken template files."""

    def __init__(self, creator: TemplateCreator, parent: QWidget | None = None, *, title: str = "",
                 select_first: bool = True) -> None:
        super().__init__(parent)
        self.creator, self.select_first = creator, select_first
        self.grid = TemplateGrid()
        self.grid.picked.connect(creator.create)
        self.status = label("Loading templates…", "muted", wrap=True)
        self.loaded = False
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        if title:
            column.addWidget(label(title, "section"))
        column.addWidget(label(HINT, "hint", wrap=True))
        column.addWidget(self.grid, 1)
        column.addWidget(self.status)
        creator.started.connect(self._started)
        creator.failed.connect(self.show_error)
        creator.created.connect(self._finished)

    def load(self, bridge, services) -> None:
        """The folder is read on a worker: the main thread never waits on the disk."""
        bridge.call(services.templates.catalog, self.set_catalog, self._load_failed)

    def set_catalog(self, catalog) -> None:
        self.loaded = True
        self.grid.set_templates(catalog.templates, select_first=self.select_first)
        problems = [str(p) for p in catalog.problems]
        if problems:
            self._say("\n".join(problems), "error")
        else:
            self._say("" if catalog.templates else "No templates were found.", "muted")

    def _load_failed(self, message: str) -> None:
        self.loaded = True
        self.show_error(f"The templates could not be read: {message}")

    def show_error(self, message: str) -> None:
        self.grid.setEnabled(True)
        self._say(message, "error")

    def _started(self, template) -> None:
        self.grid.setEnabled(False)
        self._say(f"Creating “{template.name}”…", "muted")

    def _finished(self, _result) -> None:
        self.grid.setEnabled(True)
        self._say("", "muted")

    def _say(self, text: str, role: str) -> None:
        set_role(self.status, "role", role)
        self.status.setText(text)
        self.status.setVisible(bool(text))


class TemplateGallery(QDialog):
    """The "Create from template" dialog: the cards; Esc closes it, and it closes itself once the app exists."""

    def __init__(self, services, bridge, creator: TemplateCreator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Create from template")
        self.resize(980, 450)
        self.picker = TemplatePicker(creator, self, title="Start from a template")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.close_button = buttons.button(QDialogButtonBox.StandardButton.Close)
        self.close_button.setAutoDefault(False)
        column = QVBoxLayout(self)
        column.setContentsMargins(20, 16, 20, 12)
        column.addWidget(self.picker, 1)
        column.addWidget(buttons)
        creator.created.connect(self._created)
        self.picker.load(bridge, services)
        self.picker.grid.setFocus()

    @property
    def grid(self) -> TemplateGrid:
        return self.picker.grid

    def _created(self, _result) -> None:
        self.accept()


class TemplateStarter(TemplatePicker):
    """Laid over the empty app list (a child of the grid), so a new user sees the templates first; a DSL file
    dragged over it still lands on the grid below, which shows its drop highlight on top."""

    def __init__(self, creator: TemplateCreator, host: QWidget) -> None:
        # Nothing preselected: on the list a highlighted card would read as an app already chosen.
        super().__init__(creator, host, title="Start from a template", select_first=False)
        self.setObjectName("TemplateStarter")
        self.wanted = False
        host.installEventFilter(self)
        self.hide()

    def set_wanted(self, wanted: bool) -> None:
        """Shown while there are no apps at all (not merely none matching a search) and there is something
        to show."""
        self.wanted = wanted
        self._update()

    def set_catalog(self, catalog) -> None:
        super().set_catalog(catalog)
        self._update()

    def _load_failed(self, message: str) -> None:
        super()._load_failed(message)
        self._update()

    def _update(self) -> None:
        show = self.wanted and self.loaded and (self.grid.count() > 0 or self.status.isVisibleTo(self))
        if show:
            self.setGeometry(self.parentWidget().rect().adjusted(8, 4, -8, -4))
        self.setVisible(show)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.parentWidget().rect().adjusted(8, 4, -8, -4))
        return super().eventFilter(watched, event)
