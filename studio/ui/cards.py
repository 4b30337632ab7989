"""Painting helpers shared by the card grids (apps, knowledge bases): the rounded frame and the title block."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QStyle

PAD = 16


def paint_frame(painter: QPainter, option) -> QRectF:
    """The white rounded card with a border that shows hover and selection; returns the card's rectangle."""
    rect = QRectF(option.rect).adjusted(4, 4, -4, -4)
    selected = bool(option.state & QStyle.StateFlag.State_Selected)
    hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
    path = QPainterPath()
    path.addRoundedRect(rect, 12, 12)
    painter.fillPath(path, QColor("#FFFFFF"))
    border = "#528BFF" if selected else ("#D0D5DD" if hovered else "#EAECF0")
    painter.setPen(QPen(QColor(border), 1.5 if selected else 1))
    painter.drawPath(path)
    return rect


def paint_title(painter: QPainter, rect: QRect, base: QFont, name: str, subtitle: str, *,
                subtitle_color: str = "#667085", bold_subtitle: bool = False) -> None:
    """The name (elided) and a small line under it, right of the 40 px icon badge."""
    left = rect.left() + PAD + 40 + 12
    width = rect.right() - PAD - left
    title = QFont(base)
    title.setPixelSize(14)
    title.setWeight(QFont.Weight.DemiBold)
    painter.setFont(title)
    painter.setPen(QColor("#101828"))
    shown = painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, width)
    painter.drawText(QRect(left, rect.top() + PAD, width, 20), Qt.AlignmentFlag.AlignVCenter, shown)
    small = QFont(base)
    small.setPixelSize(11)
    if bold_subtitle:
        small.setWeight(QFont.Weight.DemiBold)
    painter.setFont(small)
    painter.setPen(QColor(subtitle_color))
    painter.drawText(QRect(left, rect.top() + PAD + 21, width, 18), Qt.AlignmentFlag.AlignVCenter, subtitle)
