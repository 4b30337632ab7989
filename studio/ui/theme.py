"""Look and feel: the stylesheet, the palette of app icon colours, and small helpers for styled widgets."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QRectF, Qt, QTemporaryDir
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPainter, QPainterPath
from PySide6.QtWidgets import (
    QAbstractItemView, QApplication, QHeaderView, QLabel, QMessageBox, QProxyStyle, QPushButton, QStyle, QTableWidget,
    QToolButton, QWidget,
)

log = logging.getLogger(__name__)
STYLESHEET = Path(__file__).with_name("studio.qss")

ICON_BACKGROUNDS = ("#FFEAD5", "#E0F2FE", "#D1FADF", "#FEF0C7", "#FCE7F6", "#EBE9FE", "#D5F5F6", "#F2F4F7")
ICON_CHOICES = ("🤖", "💬", "🧠", "✍️", "📚", "🔎", "🧑‍💻", "🌍", "📝", "🎯", "💡", "🦉", "🧪", "📈", "🎨", "🛠️")
ERROR_COLOR = QColor("#D92D20")
MUTED_COLOR = QColor("#667085")


# Stylesheets can only draw arrows from image files, so these few are written out once per run.
ASSETS = {
    "arrow-down.svg": '<path d="M2 4l4 4 4-4" fill="none" stroke="#667085" stroke-width="1.6" stroke-linecap="round"/>',
    "arrow-up.svg": '<path d="M2 8l4-4 4 4" fill="none" stroke="#667085" stroke-width="1.6" stroke-linecap="round"/>',
}
_assets_dir: QTemporaryDir | None = None


def _assets() -> str:
    global _assets_dir
    if _assets_dir is None:
        _assets_dir = QTemporaryDir()
        for name, body in ASSETS.items():
            svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="12" height="12" viewBox="0 0 12 12">{body}</svg>'
            Path(_assets_dir.path(), name).write_text(svg, encoding="utf-8")
    return Path(_assets_dir.path()).as_posix()


class _StudioStyle(QProxyStyle):
    """Fusion without the stock icons on dialog buttons, which clash with the flat look."""

    def styleHint(self, hint, option=None, widget=None, data=None) -> int:  # noqa: N802 - Qt override
        if hint == QStyle.StyleHint.SH_DialogButtonBox_ButtonsHaveIcons:
            return 0
        return super().styleHint(hint, option, widget, data)


def apply_theme(app: QApplication) -> None:
    """Fusion as the base style so the stylesheet looks the same on every platform."""
    app.setStyle(_StudioStyle("Fusion"))
    try:
        sheet = STYLESHEET.read_text(encoding="utf-8")
    except OSError:
        log.warning("stylesheet %s is missing; using the plain style", STYLESHEET)
        return
    app.setStyleSheet(sheet.replace("@ASSETS@", _assets()))


def set_role(widget: QWidget, name: str, value: str | bool) -> QWidget:
    """Set a dynamic property the stylesheet selects on, and re-polish so it takes effect now."""
    widget.setProperty(name, value)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    return widget


def label(text: str = "", role: str | None = None, *, wrap: bool = False) -> QLabel:
    widget = QLabel(text)
    if role:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    return widget


def button(text: str, *, primary: bool = False, danger: bool = False, tip: str = "") -> QPushButton:
    widget = QPushButton(text)
    if primary:
        widget.setProperty("primary", True)
    if danger:
        widget.setProperty("danger", True)
    if tip:
        widget.setToolTip(tip)
    return widget


def row_table(columns: list[str], stretch: int = -1) -> QTableWidget:
    """A read-only table of rows picked one at a time; columns fit their contents and `stretch` takes the rest."""
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.verticalHeader().setVisible(False)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch % len(columns), QHeaderView.ResizeMode.Stretch)
    return table


def back_button(text: str, tip: str = "", on_click=None) -> QToolButton:
    """The flat "‹ Back" button at the left of an editor's header."""
    from studio.ui.icons import icon

    back = QToolButton()
    back.setIcon(icon("back"))
    back.setText(text)
    if tip:
        back.setToolTip(tip)
    back.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    back.setProperty("flat", True)
    if on_click is not None:
        back.clicked.connect(on_click)
    return back


def emoji_font_available() -> bool:
    """Whether some installed font draws colour emoji; without one, icons fall back to a letter."""
    return any("emoji" in family.lower() for family in QFontDatabase.families())


def icon_text(icon: str, name: str) -> str:
    if icon and (emoji_font_available() or icon.isascii()):
        return icon
    return (name.strip()[:1] or "?").upper()


def paint_app_icon(painter: QPainter, rect: QRectF, icon: str, background: str, name: str = "") -> None:
    """An app's emoji on its coloured rounded square, as Dify draws app icons."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    path = QPainterPath()
    path.addRoundedRect(rect, rect.width() * 0.22, rect.height() * 0.22)
    painter.fillPath(path, QColor(background or ICON_BACKGROUNDS[0]))
    font = QFont(painter.font())
    font.setPixelSize(max(8, int(rect.height() * 0.52)))
    painter.setFont(font)
    painter.setPen(QColor("#344054"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, icon_text(icon, name))
    painter.restore()


class AppIcon(QWidget):
    """A fixed-size square showing an app icon."""

    def __init__(self, size: int = 40, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(size, size)
        self._icon, self._background, self._name = "🤖", ICON_BACKGROUNDS[0], ""

    def set_icon(self, icon: str, background: str, name: str = "") -> None:
        self._icon, self._background, self._name = icon, background, name
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        paint_app_icon(painter, QRectF(self.rect()), self._icon, self._background, self._name)


def confirm_box(parent: QWidget, title: str, text: str, action: str, on_confirm,
                icon: QMessageBox.Icon = QMessageBox.Icon.Warning) -> QMessageBox:
    """A window-modal question with Cancel (the default) and a destructive `action` button that calls on_confirm().
    Not yet shown: the caller opens it (open(), never exec(), so nothing waits on it); it deletes itself on close."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Cancel, parent)
    confirm = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.buttonClicked.connect(lambda clicked: clicked is confirm and on_confirm())
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return box
