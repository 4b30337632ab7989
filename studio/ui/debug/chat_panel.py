"""Debug & Preview for a Chatbot or an Agent: conversations, the input form, streamed answers with Stop, stats,
and an agent's tool steps."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QPlainTextEdit, QSplitter, QToolButton, QVBoxLayout, QWidget,
)

from studio.core.app_config import parse_config
from studio.core.entities import App, AppMode
from studio.core.errors import StudioError
from studio.core.events import AgentThought, MessageFinished, MessageStarted
from studio.ui.bridge import Generation
from studio.ui.debug.chat_view import AnswerBubble, ChatView
from studio.ui.debug.conversations import ConversationsSidebar
from studio.ui.debug.inputs_form import InputsForm, app_inputs
from studio.ui.icons import icon
from studio.ui.theme import button, label

log = logging.getLogger(__name__)


class ChatPanel(QFrame):
    answer_finished = Signal(object)  # MessageFinished
    run_failed = Signal(str)

    def __init__(self, services, bridge, app: App, *, before_run: Callable[[], object] = lambda: None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("panel", True)
        self.services, self.bridge, self.app = services, bridge, app
        self.before_run = before_run
        self.conversation_id: str | None = None
        self.generation: Generation | None = None
        self.answer: AnswerBubble | None = None
        self._pending_query = ""
        self.sidebar = ConversationsSidebar(services, app.id)
        self.view = ChatView()
        self.inputs = InputsForm()
        self.inputs_box = self._inputs_box()
        self.context = label("", "hint", wrap=True)
        self.composer = QPlainTextEdit()
        self.composer.setObjectName("Composer")
        self.composer.setFixedHeight(64)
        self.composer.installEventFilter(self)
        self.send_button = button("Send", primary=True, tip="Send (Ctrl+Enter)")
        self.send_button.setIcon(icon("send", "#FFFFFF"))
        self.stop_button = button("Stop", tip="Stop generating (Esc)")
        self.stop_button.setIcon(icon("stop", "#D92D20"))
        self.error = label("", "error", wrap=True)
        self.error.hide()
        self._build()
        self._connect()
        self.set_app(app)
        self._set_running(False)

    # -- layout ------------------------------------------------------------------------------------
    def _inputs_box(self) -> QFrame:
        box = QFrame()
        box.setProperty("section", True)
        column = QVBoxLayout(box)
        column.setContentsMargins(12, 10, 12, 10)
        column.addWidget(label("START A CONVERSATION WITH", "section"))
        column.addWidget(self.inputs)
        return box

    def _build(self) -> None:
        self.toggle = QToolButton()
        self.toggle.setIcon(icon("chat"))
        self.toggle.setToolTip("Show or hide the conversations")
        self.toggle.setCheckable(True)
        self.toggle.setChecked(True)
        self.toggle.setProperty("flat", True)
        self.new_button = button("New conversation")
        self.new_button.setIcon(icon("plus"))
        header = QHBoxLayout()
        header.addWidget(label("DEBUG & PREVIEW", "section"))
        header.addStretch(1)
        header.addWidget(self.new_button)
        header.addWidget(self.toggle)
        composer_row = QHBoxLayout()
        composer_row.addWidget(self.composer, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        composer_row.addLayout(buttons)
        chat = QWidget()
        column = QVBoxLayout(chat)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.inputs_box)
        column.addWidget(self.context)
        column.addWidget(self.view, 1)
        column.addWidget(self.error)
        column.addLayout(composer_row)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.sidebar)
        self.split.addWidget(chat)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([190, 480])
        root = QVBoxLayout(self)
        root.setContentsMargins(14, 12, 14, 14)
        root.addLayout(header)
        root.addWidget(self.split, 1)

    def _connect(self) -> None:
        self.send_button.clicked.connect(lambda: self.send())
        self.stop_button.clicked.connect(self.stop)
        self.new_button.clicked.connect(self.new_conversation)
        self.toggle.toggled.connect(self.sidebar.setVisible)
        self.sidebar.new_requested.connect(self.new_conversation)
        self.sidebar.opened.connect(self.open_conversation)
        self.sidebar.deleted.connect(lambda cid: cid == self.conversation_id and self.new_conversation())
        send = QAction(self)
        send.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        send.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        send.triggered.connect(lambda: self.send())
        self.addAction(send)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Enter sends, Shift+Enter starts a new line, as in most chat apps."""
        if watched is self.composer and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                    event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
                self.send()
                return True
        return super().eventFilter(watched, event)

    # -- state -------------------------------------------------------------------------------------
    def set_app(self, app: App) -> None:
        """The editor saved a new config: a fresh conversation shows the new form and opener at once."""
        self.app = app
        self.view.app_icon = (app.icon, app.icon_background, app.name)
        self.composer.setPlaceholderText(f"Talk to {app.name}…")
        if self.conversation_id is None and not self.running:
            self._show_welcome()

    @property
    def running(self) -> bool:
        return self.generation is not None and self.generation.running

    def _set_running(self, running: bool) -> None:
        self.send_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.new_button.setEnabled(not running)
        self.sidebar.set_busy(running)

    def _show_welcome(self) -> None:
        self.view.clear()
        self.inputs.set_fields(app_inputs(self.app.config))
        self.inputs_box.setVisible(bool(self.inputs.fields))
        self.context.hide()
        try:
            cfg = parse_config(self.app.config)
            self.view.add_opening(cfg.opening_statement, cfg.suggested_questions, self.send)
        except StudioError as exc:
            log.warning("opener not shown: %s", exc.message)

    def new_conversation(self) -> None:
        if self.running:
            return
        self.conversation_id = None
        self.sidebar.select(None)
        self.error.hide()
        self._show_welcome()
        self.composer.setFocus()

    def open_conversation(self, conversation_id: str) -> None:
        if self.running:
            return
        try:
            conv = self.services.conversations.get(conversation_id)
            messages = self.services.conversations.messages(conversation_id)
            thoughts = (self.services.chat.agent_thoughts([m.id for m in messages])
                        if self.app.mode == AppMode.AGENT_CHAT else {})
        except StudioError as exc:
            self._show_error(exc.message)
            return
        self.conversation_id = conv.id
        self.sidebar.select(conv.id)
        self.error.hide()
        self.inputs_box.hide()
        self.view.clear()
        summary = ", ".join(f"{k} = {v}" for k, v in conv.inputs.items() if v not in ("", None))
        self.context.setText(f"Started with {summary}" if summary else "")
        self.context.setVisible(bool(summary))
        for message in messages:
            self.view.add_message(message, thoughts.get(message.id))

    # -- sending -----------------------------------------------------------------------------------
    def send(self, text: str | None = None) -> Generation | None:
        query = (text if text is not None else self.composer.toPlainText()).strip()
        if not query or self.running:
            return None
        self.before_run()  # the run reads the app from the database: save what is on screen first
        inputs = self.inputs.values() if self.conversation_id is None else None
        conv_id, app_id = self.conversation_id, self.app.id

        def start(cancel):
            return self.services.chat.send(app_id, query, inputs=inputs, conversation_id=conv_id, cancel=cancel)

        self.error.hide()
        self.inputs.set_error("")
        self._pending_query = query
        self.view.hide_suggestions()
        self.view.add_user(query)
        self.answer = self.view.add_answer()
        self.composer.clear()
        generation = Generation(start, self)
        generation.started.connect(self._on_started)
        generation.text.connect(self._on_text)
        generation.thought.connect(self._on_thought)
        generation.finished.connect(self._on_finished)
        generation.failed.connect(self._on_failed)
        self.generation = self.bridge.stream(generation)
        self._set_running(True)
        return generation

    def stop(self) -> None:
        if self.generation is not None:
            self.generation.stop()

    def _on_started(self, event: MessageStarted) -> None:
        if self.conversation_id is None:
            self.conversation_id = event.conversation_id
            self.inputs_box.hide()
        self.sidebar.refresh(self.conversation_id)

    def _on_text(self, text: str) -> None:
        if self.answer is not None:
            self.answer.append(text)

    def _on_thought(self, thought: AgentThought) -> None:
        if self.answer is not None:
            self.answer.add_step(thought)

    def _on_finished(self, finished: MessageFinished) -> None:
        if self.answer is not None:
            self.answer.finish(finished)
        self._set_running(False)
        self.sidebar.refresh(self.conversation_id)
        self.answer_finished.emit(finished)

    def _on_failed(self, message: str) -> None:
        """Refused before it began (e.g. a required input is empty): undo the optimistic bubbles."""
        self._set_running(False)
        if self.conversation_id is None and self.answer is not None and not self.answer.text:
            self._show_welcome()
            self.composer.setPlainText(self._pending_query)
            if self.inputs.fields and " input form" in message:
                self.inputs.set_error(message)
            else:
                self._show_error(message)
        elif self.answer is not None:
            self.answer.fail(message)
        else:
            self._show_error(message)
        self.run_failed.emit(message)

    def answer_bubbles(self) -> list[AnswerBubble]:
        return self.view.answer_bubbles()

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def shutdown(self) -> None:
        self.stop()
