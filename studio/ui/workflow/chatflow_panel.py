"""Debug & Preview of a Chatflow: a chat whose answers stream from the graph, one conversation at a time."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPlainTextEdit, QVBoxLayout, QWidget

from studio.core.entities import App, MessageStatus
from studio.core.errors import StudioError
from studio.core.workflow import RunStatus, WorkflowFinished
from studio.services.workflows import start_variables, workflow_of
from studio.ui.debug.chat_view import AnswerBubble, ChatView
from studio.ui.debug.inputs_form import InputsForm
from studio.ui.icons import icon
from studio.ui.theme import button, label
from studio.ui.workflow.run_job import ConversationKnown, with_conversation
from studio.ui.workflow.run_panel import RunPanel, run_facts, start_fields

log = logging.getLogger(__name__)
MESSAGE_STATUS = {RunStatus.STOPPED: MessageStatus.STOPPED, RunStatus.FAILED: MessageStatus.ERROR}


class ChatflowPanel(RunPanel):
    def __init__(self, services, bridge, app: App, parent: QWidget | None = None) -> None:
        super().__init__(services, bridge, app, parent)
        self.conversation_id: str | None = None
        self.answer: AnswerBubble | None = None
        self._pending_query = ""
        self.new_button = button("New conversation", tip="Start over with a new conversation")
        self.new_button.setIcon(icon("plus"))
        self.new_button.clicked.connect(self.new_conversation)
        self.header.addWidget(self.new_button)
        self.inputs = InputsForm()
        self.view = ChatView()
        self.error = label("", "error", wrap=True)
        self.error.hide()
        self.composer = QPlainTextEdit()
        self.composer.setObjectName("Composer")
        self.composer.setFixedHeight(64)
        self.composer.installEventFilter(self)
        self.send_button = button("Send", primary=True, tip="Send (Enter or Ctrl+Enter)")
        self.send_button.setIcon(icon("send", "#FFFFFF"))
        self.send_button.clicked.connect(lambda: self.send())
        self.stop_button = button("Stop", tip="Stop the answer (Esc)")
        self.stop_button.setIcon(icon("stop", "#D92D20"))
        self.stop_button.clicked.connect(self.stop)
        self.tabs.addTab(self._chat_tab(), "Chat")
        self.set_app(app)
        self._set_running(False)

    def _chat_tab(self) -> QWidget:
        self.inputs_box = QFrame()
        self.inputs_box.setProperty("section", True)
        box = QVBoxLayout(self.inputs_box)
        box.setContentsMargins(12, 10, 12, 10)
        box.addWidget(label("START A CONVERSATION WITH", "section"))
        box.addWidget(self.inputs)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        composer = QHBoxLayout()
        composer.addWidget(self.composer, 1)
        composer.addLayout(buttons)
        tab = QWidget()
        column = QVBoxLayout(tab)
        column.setContentsMargins(0, 8, 0, 0)
        column.addWidget(self.inputs_box)
        column.addWidget(self.view, 1)
        column.addWidget(self.error)
        column.addLayout(composer)
        return tab

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Enter sends, Shift+Enter starts a new line, as in the Chatbot preview."""
        if watched is self.composer and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                    event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
                self.send()
                return True
        return super().eventFilter(watched, event)

    def set_app(self, app: App) -> None:
        super().set_app(app)
        self.view.app_icon = (app.icon, app.icon_background, app.name)
        self.composer.setPlaceholderText(f"Talk to {app.name}…")
        try:
            variables = start_variables(workflow_of(app).get("graph") or {})
        except StudioError as exc:
            log.warning("no start form: %s", exc.message)
            variables = []
        self.inputs.set_fields(start_fields(variables))
        self.inputs_box.setVisible(bool(self.inputs.fields) and self.conversation_id is None)

    def new_conversation(self) -> None:
        if self.running:
            return
        self.conversation_id = None
        self.answer = None
        self.view.clear()
        self.error.hide()
        self.inputs_box.setVisible(bool(self.inputs.fields))
        self.composer.setFocus()

    def focus_first(self) -> None:
        self.composer.setFocus()

    def trigger(self) -> None:
        self.send()

    def send(self, text: str | None = None):
        query = (text if text is not None else self.composer.toPlainText()).strip()
        if not query or self.running:
            return None
        inputs = self.inputs.values() if self.conversation_id is None else None
        app_id, conv_id, services = self.app.id, self.conversation_id, self.services

        def start(cancel):
            events = services.workflows.run(app_id, inputs=inputs, query=query, conversation_id=conv_id,
                                            cancel=cancel)
            return with_conversation(events, services)

        self.error.hide()
        self.inputs.set_error("")
        self._pending_query = query
        self.view.add_user(query)
        self.answer = self.view.add_answer()
        self.composer.clear()
        return self._launch(start)

    def rerun(self, query: str, inputs: dict[str, Any]) -> None:
        """Ask the same question again in a new conversation started with the same inputs."""
        self.new_conversation()
        for name in self.inputs.widgets:
            value = inputs.get(name)
            self.inputs.set_value(name, "" if value is None else value)
        self.send(query)

    def _set_running(self, running: bool) -> None:
        if self.send_button.hasFocus():
            self.composer.setFocus()
        self.send_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.new_button.setEnabled(not running)

    def _on_events(self, events: list) -> None:
        for event in events:
            if isinstance(event, ConversationKnown) and self.conversation_id is None:
                self.conversation_id = event.conversation_id
                self.inputs_box.hide()

    def _on_text(self, text: str) -> None:
        if self.answer is not None:
            self.answer.append(text)

    def _on_finished(self, finished: WorkflowFinished) -> None:
        if self.answer is not None:
            bubble = self.answer
            if not bubble.text:
                bubble.body.setText("(no answer)" if finished.status == RunStatus.SUCCEEDED else "")
                bubble.body.setVisible(bool(bubble.body.text()))
            bubble.set_status(MESSAGE_STATUS.get(finished.status, MessageStatus.NORMAL), finished.error)
            bubble.stats.setText(run_facts(finished.elapsed_s, finished.total_tokens, finished.total_steps))
            bubble.stats.show()
        super()._on_finished(finished)

    def _on_failed(self, message: str) -> None:
        """Refused before it began: take the question back into the composer and say what to fix."""
        if self.answer is not None and not self.answer.text and self.conversation_id is None:
            self.view.clear()
            self.composer.setPlainText(self._pending_query)
            if any(message.startswith(f.label or f.variable) for f in self.inputs.fields):
                self.inputs.set_error(message)
            else:
                self.error.setText(message)
                self.error.show()
        elif self.answer is not None:
            self.answer.fail(message)
        self.answer = None
        super()._on_failed(message)

    def answer_texts(self) -> list[str]:
        return [b.text for b in self.view.answer_bubbles()]
