"""The grid of app cards on the Studio page: icon, name, mode label and description, painted by a delegate."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QStyledItemDelegate

from studio.core.entities import MODE_LABELS, App
from studio.ui.cards import PAD, paint_frame, paint_title
from studio.ui.theme import paint_app_icon

APP_ROLE = Qt.ItemDataRole.UserRole + 1
CARD = QSize(296, 140)


class AppCardDelegate(QStyledItemDelegate):
    def sizeHint(self, _option, _index) -> QSize:  # noqa: N802 - Qt override
        return CARD

    def paint(self, painter: QPainter, option, index) -> None:
        app: App | None = index.data(APP_ROLE)
        if app is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = paint_frame(painter, option)
        paint_app_icon(painter, QRectF(rect.left() + PAD, rect.top() + PAD, 40, 40), app.icon,
                       app.icon_background, app.name)
        self._paint_texts(painter, rect.toRect(), app, option.font)
        painter.restore()

    @staticmethod
    def _paint_texts(painter: QPainter, rect: QRect, app: App, base: QFont) -> None:
        paint_title(painter, rect, base, app.name, MODE_LABELS.get(app.mode, app.mode.value), bold_subtitle=True)
        body = QFont(base)
        body.setPixelSize(12)
        painter.setFont(body)
        painter.setPen(QColor("#475467" if app.description else "#98A2B3"))
        text = app.description or "No description"
        area = QRect(rect.left() + PAD, rect.top() + PAD + 52, rect.width() - 2 * PAD, rect.height() - PAD * 2 - 52)
        metrics = painter.fontMetrics()
        lines = _wrap(text, metrics, area.width(), max(1, area.height() // metrics.lineSpacing()))
        painter.drawText(area, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, "\n".join(lines))


def _wrap(text: str, metrics, width: int, max_lines: int) -> list[str]:
    """Word-wrap to at most max_lines, eliding the last one, so a long description never spills."""
    words, lines, line = " ".join(text.split()).split(" "), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if metrics.horizontalAdvance(trial) <= width or not line:
            line = trial
            continue
        lines.append(line)
        line = word
        if len(lines) == max_lines:
            break
    if line and len(lines) < max_lines:
        lines.append(line)
        line = ""
    if lines and (line or len(" ".join(lines)) < len(" ".join(words))):
        lines[-1] = metrics.elidedText(lines[-1] + " …", Qt.TextElideMode.ElideRight, width)
    return [metrics.elidedText(x, Qt.TextElideMode.ElideRight, width) for x in lines]


class AppGrid(QListWidget):
    """A wrapping grid of cards; each item carries its App."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("AppGrid")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setSpacing(6)
        self.setMouseTracking(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setItemDelegate(AppCardDelegate(self))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def set_apps(self, apps: list[App], select_id: str | None = None) -> None:
        current = select_id or (self.current_app().id if self.current_app() else None)
        self.clear()
        for app in apps:
            item = QListWidgetItem()
            item.setData(APP_ROLE, app)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, app.name)
            item.setToolTip(f"{app.name}\n{MODE_LABELS.get(app.mode, app.mode.value)}")
            item.setSizeHint(CARD)
            self.addItem(item)
            if app.id == current:
                self.setCurrentItem(item)

    def current_app(self) -> App | None:
        item = self.currentItem()
        return item.data(APP_ROLE) if item is not None and item.isSelected() else None

    def apps(self) -> list[App]:
        return [self.item(i).data(APP_ROLE) for i in range(self.count())]

    def item_for(self, app_id: str) -> QListWidgetItem | None:
        for i in range(self.count()):
            if self.item(i).data(APP_ROLE).id == app_id:
                return self.item(i)
        return None
