"""The Studio page: the app list with create (blank or from a template), import, export, rename, duplicate and
delete, and the open app's page."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout, QInputDialog, QLineEdit, QMenu, QMessageBox, QStackedWidget, QVBoxLayout, QWidget,
)

from studio.core.entities import App
from studio.core.errors import StudioError
from studio.services.workflows import GRAPH_MODES
from studio.ui.app_cards import APP_ROLE, AppGrid
from studio.ui.app_dialog import AppDialog
from studio.ui.dsl.app_menu import DUPLICATE_KEYS, EXPORT_KEYS, add_bundle_action
from studio.ui.dsl.bundle_export import BundleExporter
from studio.ui.dsl.drop_overlay import DropOverlay
from studio.ui.dsl.exporter import DslExporter
from studio.ui.dsl.toast import Toast
from studio.ui.editor.app_editor import AppEditor
from studio.ui.icons import icon
from studio.ui.template_gallery import TemplateCreator, TemplateGallery, TemplateStarter
from studio.ui.theme import button, label
from studio.ui.workflow.dsl_import import DslDropFilter, DslImporter
from studio.ui.workflow.workflow_page import WorkflowPage

log = logging.getLogger(__name__)
TEMPLATE_KEYS = QKeySequence("Ctrl+Shift+N")


class StudioPage(QStackedWidget):
    """Index 0 is the app list; index 1 the editor of one app."""

    title_changed = Signal(str)
    duplicated = Signal(object)  # the new App, once it is listed and open

    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.bridge = services, bridge
        self.editor: AppEditor | WorkflowPage | None = None
        self.dialog: QWidget | None = None  # the open create/rename/delete dialog, if any
        self.importer = DslImporter(services, bridge, self)
        self.importer.imported.connect(self._imported)
        self.toast = Toast(self)
        self.exporter = DslExporter(services, bridge, self, self.toast)
        self.bundle_exporter = BundleExporter(services, bridge, self, self.toast)
        self.templates = TemplateCreator(services, bridge, self)
        self.templates.created.connect(self._template_created)
        self.templates.failed.connect(lambda message: self.toast.show_message(message))
        self.list_page = self._build_list()
        self.addWidget(self.list_page)
        self.template_starter = TemplateStarter(self.templates, self.grid)  # the empty list invites with templates
        self.template_starter.load(bridge, services)
        self.drop_overlay = DropOverlay(self.grid)
        DslDropFilter(self.importer, [self.list_page, self.grid, self.grid.viewport()], self.drop_overlay.set_active)
        self._add_page_actions()
        self.refresh()

    # -- the list ----------------------------------------------------------------------------------
    def _build_list(self) -> QWidget:
        page = QWidget()
        page.setObjectName("PageRoot")
        self.grid = AppGrid()
        self.count_label = label("", "muted")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search apps")
        self.search.setClearButtonEnabled(True)
        self.search.setFixedWidth(220)
        self.search.textChanged.connect(lambda _t: self.refresh())
        self.create_button = button("Create app", primary=True,
                                    tip="Create a blank app (Ctrl+N) or start from a template (Ctrl+Shift+N)")
        self.create_button.setIcon(icon("plus", "#FFFFFF"))
        create_menu = QMenu(self.create_button)
        # The keys are shown after a tab, not set: as shortcuts they would collide with the window's own actions.
        create_menu.addAction("Blank app…\tCtrl+N", self.create_app)
        create_menu.addAction("From template…\tCtrl+Shift+N", self.create_from_template)
        self.create_button.setMenu(create_menu)
        self.import_button = button("Import DSL", tip="Import a Dify DSL file (Ctrl+O), or drop a .yml file here")
        import_menu = QMenu(self.import_button)
        import_menu.addAction("From file…", self.importer.choose_file)
        import_menu.addAction("Paste DSL…", self.importer.paste)
        self.import_button.setMenu(import_menu)
        self.open_button, self.rename_button = button("Open"), button("Rename")
        self.duplicate_button, self.delete_button = button("Duplicate"), button("Delete", danger=True)
        self.export_button = button("Export DSL…", tip="Save the app as a Dify DSL file (Ctrl+Shift+E)")
        self.duplicate_button.setToolTip("Make a copy of the app and open it (Ctrl+D)")
        self.open_button.clicked.connect(lambda: self._with_current(self.open_app))
        self.export_button.clicked.connect(lambda: self._with_current(self.export_app))
        self.rename_button.clicked.connect(lambda: self._with_current(self.rename_app))
        self.duplicate_button.clicked.connect(lambda: self._with_current(self.duplicate_app))
        self.delete_button.clicked.connect(lambda: self._with_current(self.delete_app))
        self.empty_label = label("No apps yet. Start from a template below, create a blank app, or drop a Dify DSL "
                                 "(.yml) file here.", "muted")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grid.itemActivated.connect(lambda item: self.open_app(item.data(APP_ROLE)))
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.grid.itemSelectionChanged.connect(self._update_buttons)
        self._add_list_actions(page)
        return self._lay_out_list(page)

    def _lay_out_list(self, page: QWidget) -> QWidget:
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(label("Studio", "title"))
        titles.addWidget(self.count_label)
        header.addLayout(titles)
        header.addStretch(1)
        header.addWidget(self.search)
        header.addWidget(self.import_button)
        header.addWidget(self.create_button)
        actions = QHBoxLayout()
        for b in self._list_buttons():
            actions.addWidget(b)
        actions.addStretch(1)
        actions.addWidget(label("Double-click a card to open it; right-click for more.", "hint"))
        column = QVBoxLayout(page)
        column.setContentsMargins(24, 20, 24, 12)
        column.setSpacing(12)
        column.addLayout(header)
        column.addLayout(actions)
        column.addWidget(self.empty_label)
        column.addWidget(self.grid, 1)
        return page

    def _add_list_actions(self, page: QWidget) -> None:
        for keys, slot in ((QKeySequence(Qt.Key.Key_F2), self.rename_app),
                           (QKeySequence(QKeySequence.StandardKey.Delete), self.delete_app),
                           (DUPLICATE_KEYS, self.duplicate_app)):
            action = QAction(page)
            action.setShortcut(keys)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _=False, s=slot: self._with_current(s))
            page.addAction(action)
        import_file = QAction(page)
        import_file.setShortcut(QKeySequence(QKeySequence.StandardKey.Open))
        import_file.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        import_file.triggered.connect(self.importer.choose_file)
        page.addAction(import_file)
        from_template = QAction(page)
        from_template.setShortcut(TEMPLATE_KEYS)
        from_template.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        from_template.triggered.connect(self.create_from_template)
        page.addAction(from_template)

    def _add_page_actions(self) -> None:
        """Ctrl+Shift+E works on the list (the selected app) and in an open app; hidden pages' shortcuts never
        fire, so it is window-wide only while Studio shows."""
        export = QAction(self)
        export.setShortcut(EXPORT_KEYS)
        export.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        export.triggered.connect(self.export_current)
        self.addAction(export)

    def refresh(self, select_id: str | None = None) -> None:
        """Listing apps is one quick indexed query, so it runs here rather than on a worker."""
        try:
            apps = self.services.apps.list()
        except StudioError as exc:
            self.count_label.setText(exc.message)
            return
        needle = self.search.text().strip().lower()
        shown = [a for a in apps if not needle or needle in a.name.lower() or needle in a.description.lower()]
        self.grid.set_apps(shown, select_id)
        self.count_label.setText(f"{len(apps)} app{'s' if len(apps) != 1 else ''}")
        self.empty_label.setVisible(not apps)
        self.template_starter.set_wanted(not apps)
        self._update_buttons()

    def _update_buttons(self) -> None:
        has = self.grid.current_app() is not None
        for b in self._list_buttons():
            b.setEnabled(has)

    def _list_buttons(self) -> tuple:
        return self.open_button, self.rename_button, self.duplicate_button, self.export_button, self.delete_button

    def _with_current(self, action) -> None:
        app = self.grid.current_app()
        if app is not None:
            action(app)

    def _context_menu(self, pos) -> None:
        item = self.grid.itemAt(pos)
        if item is None:
            menu = QMenu(self)
            menu.addAction("Create app…", self.create_app)
            menu.addAction("Create from template…", self.create_from_template)
            menu.addAction("Import DSL file…", self.importer.choose_file)
            menu.addAction("Paste DSL…", self.importer.paste)
            menu.popup(self.grid.viewport().mapToGlobal(pos))
            self.context_menu = menu
            return
        self.grid.setCurrentItem(item)
        app = self.grid.current_app()
        menu = QMenu(self)
        menu.addAction("Open", lambda: self.open_app(app))
        menu.addAction("Rename…", lambda: self.rename_app(app))
        menu.addAction("Duplicate", lambda: self.duplicate_app(app)).setShortcut(DUPLICATE_KEYS)
        menu.addAction("Export DSL…", lambda: self.export_app(app)).setShortcut(EXPORT_KEYS)
        menu.addAction("Export server bundle…", lambda: self.export_bundle(app))
        menu.addSeparator()
        menu.addAction("Delete…", lambda: self.delete_app(app))
        menu.popup(self.grid.viewport().mapToGlobal(pos))
        self.context_menu = menu

    # -- actions -----------------------------------------------------------------------------------
    def create_app(self) -> AppDialog:
        def submit(values: dict) -> str | None:
            try:
                app = self.services.apps.create(values.pop("name"), values.pop("mode"), **values)
            except StudioError as exc:
                return exc.message
            self.refresh(select_id=app.id)
            self.open_app(app)
            return None

        self.setCurrentIndex(0)
        return self._show_dialog(AppDialog(submit, parent=self, on_templates=self.create_from_template))

    def create_from_template(self) -> TemplateGallery:
        """The gallery; a picked card becomes an app on a worker, which then opens (see _template_created)."""
        self.setCurrentIndex(0)
        return self._show_dialog(TemplateGallery(self.services, self.bridge, self.templates, self))

    def _template_created(self, result) -> None:
        self.search.clear()  # the new card must not hide behind a search
        self.refresh(select_id=result.app.id)
        if self.open_app(result.app) is not None:
            notes = f" ({'; '.join(result.warnings)})" if result.warnings else ""
            self.toast.show_message(f"Created “{result.app.name}” from a template{notes}")

    def edit_app_info(self, app: App) -> AppDialog:
        def submit(values: dict) -> str | None:
            try:
                updated = self.services.apps.update(app.id, **values)
            except StudioError as exc:
                return exc.message
            self.refresh(select_id=updated.id)
            if self.editor is not None and self.editor.app.id == updated.id:
                self.editor.set_app_info(updated)
                self.editor.debug.set_app(updated)
                self.title_changed.emit(updated.name)
            return None

        return self._show_dialog(AppDialog(submit, app=app, parent=self))

    def rename_app(self, app: App) -> QInputDialog:
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Rename app")
        dialog.setLabelText("New name:")
        dialog.setTextValue(app.name)
        dialog.textValueSelected.connect(lambda name: self._rename(app, name))
        return self._show_dialog(dialog)

    def _rename(self, app: App, name: str) -> None:
        try:
            self.services.apps.rename(app.id, name)
        except StudioError as exc:
            self._warn("Could not rename the app", exc.message)
        self.refresh(select_id=app.id)

    def duplicate_app(self, app: App) -> None:
        """Dify's way (export, then import as "<name> (2)"), on a worker; the copy then opens."""
        self._save_open_app(app)
        dsl, app_id = self.services.dsl, app.id
        self.bridge.call(lambda: dsl.duplicate(app_id), self._duplicated,
                         lambda message: self._warn("Could not duplicate the app", message))

    def _duplicated(self, result) -> None:
        self.search.clear()
        self.refresh(select_id=result.app.id)
        if self.open_app(result.app) is not None:
            self.toast.show_message(f"Duplicated as “{result.app.name}”")
        self.duplicated.emit(result.app)

    def export_app(self, app: App) -> QWidget:
        """The secrets question or the save dialog, whichever comes first; pending edits are saved before."""
        self._save_open_app(app)
        try:
            app = self.services.apps.get(app.id)  # the card may be stale; the export reads the stored app
        except StudioError as exc:
            self._warn("Could not export the app", exc.message)
            return self.dialog
        return self.exporter.export_app(app)

    def export_bundle(self, app: App) -> QWidget:
        """The folder dialog of a server bundle export; pending edits are saved first."""
        self._save_open_app(app)
        try:
            app = self.services.apps.get(app.id)
        except StudioError as exc:
            self._warn("Could not export the app", exc.message)
            return self.dialog
        return self.bundle_exporter.export_app(app)

    def export_current(self) -> None:
        """Ctrl+Shift+E: the open app, else the selected card."""
        if self.editor is not None and self.currentWidget() is self.editor:
            self.export_app(self.editor.app)
        elif self.grid.current_app() is not None:
            self.export_app(self.grid.current_app())
        else:
            self.toast.show_message("Select an app to export first")

    def _save_open_app(self, app: App) -> None:
        if self.editor is not None and self.editor.app.id == app.id and hasattr(self.editor, "save_now"):
            self.editor.save_now()

    def delete_app(self, app: App) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Warning, "Delete app",
                          f"Delete “{app.name}” with all its conversations and logs?\nThis cannot be undone.",
                          QMessageBox.StandardButton.Cancel, self)
        confirm = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(lambda clicked: clicked is confirm and self._delete(app))
        return self._show_dialog(box)

    def _delete(self, app: App) -> None:
        try:
            self.services.apps.delete(app.id)
        except StudioError as exc:
            self._warn("Could not delete the app", exc.message)
        if self.editor is not None and self.editor.app.id == app.id:
            self.close_editor()
        self.refresh()

    def _imported(self, result) -> None:
        self.search.clear()  # the new card must not hide behind a search
        self.refresh(select_id=result.app.id)
        if not result.warnings:  # warnings come in the importer's own dialog
            self.toast.show_message(f"Imported “{result.app.name}”")

    def _show_dialog(self, dialog):
        # open(), not exec(): the window stays responsive and tests can drive the dialog.
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _warn(self, title: str, message: str) -> None:
        self._show_dialog(QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self))

    # -- the editor --------------------------------------------------------------------------------
    def open_app(self, app: App | None) -> AppEditor | None:
        if app is None:
            return None
        self.close_editor()
        try:
            app = self.services.apps.get(app.id)  # the card may be stale
        except StudioError as exc:
            self._warn("Could not open the app", exc.message)
            self.refresh()
            return None
        page_type = WorkflowPage if app.mode in GRAPH_MODES else AppEditor
        self.editor = page_type(self.services, self.bridge, app, self)
        self.editor.back_requested.connect(self.close_editor)
        self.editor.info_requested.connect(lambda: self.edit_app_info(self.editor.app))
        self.editor.export_requested.connect(lambda: self.export_app(self.editor.app))
        self.editor.duplicate_requested.connect(lambda: self.duplicate_app(self.editor.app))
        add_bundle_action(self.editor.app_menu, lambda: self.export_bundle(self.editor.app))
        self.addWidget(self.editor)
        self.setCurrentWidget(self.editor)
        self.title_changed.emit(app.name)
        return self.editor

    def close_editor(self) -> None:
        if self.editor is None:
            return
        editor, self.editor = self.editor, None
        editor.shutdown()
        self.removeWidget(editor)
        editor.deleteLater()
        self.setCurrentIndex(0)
        self.refresh()
        self.title_changed.emit("")

    def shutdown(self) -> None:
        if self.editor is not None:
            self.editor.shutdown()
