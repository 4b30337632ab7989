"""The chunk editor dialog: a chunk's (or one child chunk's) text with Qt's own undo/redo, a character count, and
Save (re-embeds)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QPlainTextEdit, QVBoxLayout, QWidget

from studio.core.knowledge import ChildChunk, Segment
from studio.ui.theme import label


class ChunkEditDialog(QDialog):
    """`submit(text)` starts the save on a worker; the caller then calls saved() or show_error()."""

    def __init__(self, segment: Segment, submit: Callable[[str], None], parent: QWidget | None = None, *,
                 child: ChildChunk | None = None) -> None:
        super().__init__(parent)
        self.segment = segment
        self.child = child
        self._submit = submit
        self.original = child.content if child else segment.content
        if child is None:
            self.setWindowTitle(f"Edit chunk {segment.position}")
            heading = f"CHUNK-{segment.position:02d}"
            hint = "Saving embeds the new text again, so searches find it at once."
        else:
            self.setWindowTitle(f"Edit child chunk C-{child.position} of chunk {segment.position}")
            heading = f"PARENT-CHUNK-{segment.position:02d} · C-{child.position}"
            hint = ("Saving embeds this child chunk again, so searches find it at once. The parent chunk keeps the "
                    "document's text; a search that matches this child returns it with its parent.")
        self.resize(640, 420)
        self.editor = QPlainTextEdit(self.original)
        self.editor.setObjectName("ChunkEdit")
        self.count = label("", "hint")
        self.status = label("", "muted")
        self.error = label("", "error", wrap=True)
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setProperty("primary", True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.editor.textChanged.connect(self._count)
        top = QHBoxLayout()
        top.addWidget(label(heading, "section"))
        top.addStretch(1)
        top.addWidget(self.count)
        column = QVBoxLayout(self)
        column.addLayout(top)
        column.addWidget(self.editor, 1)
        column.addWidget(label(hint, "hint", wrap=True))
        column.addWidget(self.error)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status)
        bottom.addStretch(1)
        bottom.addWidget(buttons)
        column.addLayout(bottom)
        self._count()
        self.editor.setFocus()

    def _count(self) -> None:
        self.count.setText(f"{len(self.editor.toPlainText()):,} characters")

    def text(self) -> str:
        return self.editor.toPlainText()

    def accept(self) -> None:
        if self.text().strip() == self.original.strip():
            super().reject()  # nothing changed: no need to embed again
            return
        self.error.hide()
        self.save_button.setEnabled(False)
        self.editor.setReadOnly(True)
        self.status.setText("Saving and embedding…")
        self._submit(self.text())

    def saved(self) -> None:
        super().accept()

    def show_error(self, message: str) -> None:
        self.status.setText("")
        self.save_button.setEnabled(True)
        self.editor.setReadOnly(False)
        self.error.setText(message)
        self.error.show()
