"""How node types and run statuses look: Dify's labels and colours, and small white-on-colour type icons."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPixmap
from PySide6.QtSvg import QSvgRenderer

BLUE, INDIGO, GREEN, CYAN, ORANGE, VIOLET, GREY = ("#2E90FA", "#6172F3", "#16B364", "#06AED4", "#F79009",
                                                  "#875BF7", "#667085")
_SHAPES = {
    "play": '<path d="M8 5.5v13L18.5 12z"/>',
    "flag": '<path d="M6 21V4M6 4.5h11l-2.5 4 2.5 4H6"/>',
    "bubble": '<path d="M4 5h16v11H9l-5 4z"/>',
    "spark": '<path d="M12 3.5l2 5.5 5.5 2-5.5 2-2 5.5-2-5.5-5.5-2 5.5-2z"/>',
    "branch": '<path d="M6 4v16M6 10c6 0 10-1 12-6M6 14c6 0 10 1 12 6"/>',
    "code": '<path d="M9 7l-5 5 5 5M15 7l5 5-5 5"/>',
    "text": '<path d="M5 6h14M12 6v13"/>',
    "globe": '<circle cx="12" cy="12" r="8.5"/><path d="M3.5 12h17M12 3.5c3 3 3 14 0 17M12 3.5c-3 3-3 14 0 17"/>',
    "merge": '<path d="M5 5l7 7-7 7M12 12h8"/>',
    "repeat": '<path d="M17 3l3 3-3 3M4 11V9.5A3.5 3.5 0 0 1 7.5 6H20"/>'
              '<path d="M7 21l-3-3 3-3M20 13v1.5A3.5 3.5 0 0 1 16.5 18H4"/>',
    "loop": '<path d="M20 11a8 8 0 1 0-2.3 5.7"/><path d="M20 4v7h-7"/>',
    "pen": '<path d="M4 20h4L19 9l-4-4L4 16z"/>',
    "book": '<path d="M4 5h6a2 2 0 0 1 2 2v13a2 2 0 0 0-2-2H4zM20 5h-6a2 2 0 0 0-2 2v13a2 2 0 0 1 2-2h6z"/>',
    "tag": '<path d="M4 4h8l8 8-8 8-8-8z"/><circle cx="8.5" cy="8.5" r="1"/>',
    "braces": '<path d="M9 4H8a2 2 0 0 0-2 2v4l-2 2 2 2v4a2 2 0 0 0 2 2h1"/>'
              '<path d="M15 4h1a2 2 0 0 1 2 2v4l2 2-2 2v4a2 2 0 0 1-2 2h-1"/>',
    "tool": '<path d="M14.5 4a5 5 0 0 0-5.6 6.6L4 15.5 8.5 20l4.9-4.9A5 5 0 0 0 20 9.5l-3 3-3.5-1-1-3.5z"/>',
    "list": '<path d="M8 6h12M8 12h12M8 18h12M4 6h.5M4 12h.5M4 18h.5"/>',
    "doc": '<path d="M6 3h8l4 4v14H6z"/><path d="M14 3v4h4M9 12h6M9 16h6"/>',
    "stop": '<rect x="6" y="6" width="12" height="12" rx="2"/>',
    "dot": '<circle cx="12" cy="12" r="4"/>',
}
# type -> (label, colour, shape), after Dify's block list.
NODE_TYPES: dict[str, tuple[str, str, str]] = {
    "start": ("Start", "#2970FF", "play"),
    "end": ("End", ORANGE, "flag"),
    "answer": ("Answer", ORANGE, "bubble"),
    "llm": ("LLM", INDIGO, "spark"),
    "knowledge-retrieval": ("Knowledge Retrieval", GREEN, "book"),
    "question-classifier": ("Question Classifier", GREEN, "tag"),
    "if-else": ("IF/ELSE", CYAN, "branch"),
    "code": ("Code", BLUE, "code"),
    "template-transform": ("Template", BLUE, "text"),
    "http-request": ("HTTP Request", VIOLET, "globe"),
    "variable-aggregator": ("Variable Aggregator", BLUE, "merge"),
    "variable-assigner": ("Variable Aggregator", BLUE, "merge"),
    "assigner": ("Variable Assigner", BLUE, "pen"),
    "iteration": ("Iteration", CYAN, "repeat"),
    "loop": ("Loop", CYAN, "loop"),
    "loop-end": ("Exit Loop", CYAN, "stop"),
    "parameter-extractor": ("Parameter Extractor", BLUE, "braces"),
    "list-operator": ("List Operator", CYAN, "list"),
    "document-extractor": ("Doc Extractor", GREEN, "doc"),
    "tool": ("Tool", INDIGO, "tool"),
}
HIDDEN_TYPES = ("iteration-start", "loop-start")  # Dify draws these as container handles, never as nodes
CONTAINER_TYPES = ("iteration", "loop")

# status -> (text colour, what the user reads)
STATUS_STYLES = {
    "running": ("#155EEF", "running"),
    "succeeded": ("#079455", "succeeded"),
    "partial-succeeded": ("#B54708", "partial-succeeded"),
    "failed": ("#D92D20", "failed"),
    "exception": ("#B54708", "exception"),
    "stopped": ("#667085", "stopped"),
}


def type_label(node_type: str) -> str:
    return NODE_TYPES.get(node_type, (node_type.replace("-", " ").title() or "Node", GREY, "dot"))[0]


def status_color(status: str) -> QColor:
    return QColor(STATUS_STYLES.get(status, (GREY, status))[0])


def format_ms(ms: float | None) -> str:
    if ms is None:
        return ""
    if ms < 1:
        return "<1 ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.2f} s"


@lru_cache(maxsize=64)
def node_icon(node_type: str) -> QIcon:
    """A rounded square in the type's colour with a white line glyph, like Dify's block icons."""
    _label, colour, shape = NODE_TYPES.get(node_type, ("", GREY, "dot"))
    result = QIcon()
    for size in (16, 20, 24, 32):
        pixmap = _pixmap(colour, shape, size)
        result.addPixmap(pixmap, QIcon.Mode.Normal)
        result.addPixmap(pixmap, QIcon.Mode.Selected)  # no tint: the colour is the node's identity
    return result


def _pixmap(colour: str, shape: str, size: int) -> QPixmap:
    pixmap = QPixmap(QSize(size, size))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    path = QPainterPath()
    path.addRoundedRect(QRectF(0, 0, size, size), size * 0.25, size * 0.25)
    painter.fillPath(path, QColor(colour))
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g fill="none" stroke="#FFFFFF" '
           f'stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round">{_SHAPES[shape]}</g></svg>')
    inset = size * 0.18
    QSvgRenderer(QByteArray(svg.encode())).render(painter, QRectF(inset, inset, size - 2 * inset, size - 2 * inset))
    painter.end()
    return pixmap
