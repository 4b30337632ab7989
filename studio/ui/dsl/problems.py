"""The problems banner of an app page: models and knowledge bases the app names that this machine lacks."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout, QWidget

from studio.ui.theme import button, label

log = logging.getLogger(__name__)
STYLE = """
QFrame#ProblemsBanner { background: #FFFAEB; border: 1px solid #FEDF89; border-radius: 8px; }
QFrame#ProblemsBanner QLabel { background: transparent; border: none; color: #B54708; }
QFrame#ProblemsBanner QLabel#ProblemsTitle { font-weight: 600; color: #93370D; }
QFrame#ProblemsBanner QLabel#ProblemsMark { font-size: 16px; }
"""
EDITOR_HINT = "Pick an installed model under Model below (or add one on the Models page, Ctrl+3)."
GRAPH_HINT = ("Add the model on the Models page (Ctrl+3), or change the node in Dify and import the DSL again; "
              "until then those nodes fail when they run.")


class ProblemsBanner(QFrame):
    """Hidden while the app is fine. It asks services.dsl.problems on a worker when its page is shown and
    whenever `check()` is called (the editor calls it after each save), so a fix clears it at once."""

    checked = Signal(list)  # the problems found, after each check

    def __init__(self, services, bridge, app_id: str, hint: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ProblemsBanner")
        self.setStyleSheet(STYLE)
        self.services, self.bridge, self.app_id = services, bridge, app_id
        self.problems: list[str] = []
        self._ticket = 0  # checks can overlap (two quick saves): only the latest answer counts
        mark = label("⚠")
        mark.setObjectName("ProblemsMark")
        self.title = label("")
        self.title.setObjectName("ProblemsTitle")
        self.items = label("", wrap=True)
        self.hint = label(hint, wrap=True)
        self.fix_button = button("Choose a model")
        self.fix_button.hide()
        self._fix = None
        texts = QVBoxLayout()
        texts.setSpacing(3)
        for w in (self.title, self.items, self.hint):
            texts.addWidget(w)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 12, 8)
        row.addWidget(mark, 0)
        row.addLayout(texts, 1)
        row.addWidget(self.fix_button, 0)
        self.hide()

    def on_fix(self, slot) -> None:
        """Offer "Choose a model" while a model is missing; `slot` takes the user to the picker."""
        self._fix = slot
        self.fix_button.clicked.connect(slot)

    def watch(self, page: QWidget) -> None:
        """Check again whenever `page` is shown: a model may have been added on the Models page meanwhile."""
        page.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Show:
            self.check()
        return super().eventFilter(watched, event)

    def check(self, *_args) -> None:
        self._ticket += 1
        ticket, dsl, app_id = self._ticket, self.services.dsl, self.app_id
        self.bridge.call(lambda: (ticket, dsl.problems(app_id)), self._checked, self._failed)

    def _checked(self, answer: tuple[int, list[str]]) -> None:
        ticket, problems = answer
        if ticket == self._ticket:
            self.set_problems(problems)

    def _failed(self, message: str) -> None:
        # Not worth a dialog: the app still opens, and running it reports the same trouble in context.
        log.warning("could not check the app's models and knowledge bases: %s", message)

    def set_problems(self, problems: list[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        self.title.setText("This app needs attention" if count == 1 else f"This app needs attention ({count} issues)")
        self.items.setText("\n".join(f"• {p}" for p in self.problems))
        # services.dsl.problems words each missing model "Model …"; only those have a picker to go to.
        self.fix_button.setVisible(self._fix is not None and any(p.startswith("Model ") for p in self.problems))
        self.setVisible(bool(self.problems))
        self.checked.emit(self.problems)
