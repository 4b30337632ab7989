"""The Logs page: recent messages across apps with their status, tokens and latency, filterable by app."""

from __future__ import annotations

import html
import json
import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QFrame, QHBoxLayout, QHeaderView, QSplitter, QTableWidget, QTableWidgetItem,
    QTextBrowser, QVBoxLayout, QWidget,
)

from studio.core.entities import App, Message, MessageStatus
from studio.core.events import MessageFinished
from studio.ui.debug.chat_view import format_stats
from studio.ui.formatting import preview, when
from studio.ui.theme import ERROR_COLOR, MUTED_COLOR, button, label

log = logging.getLogger(__name__)
COLUMNS = ("Time", "App", "Query", "Answer", "Status", "Tokens", "Latency", "Model")
ID_ROLE = Qt.ItemDataRole.UserRole + 1
LIMIT = 200


class LogsPage(QWidget):
    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PageRoot")
        self.services, self.bridge = services, bridge
        self.messages: list[Message] = []
        self.app_names: dict[str, str] = {}
        self.loading = self._again = False
        self.app_filter = QComboBox()
        self.app_filter.setMinimumWidth(200)
        self.app_filter.addItem("All apps", None)
        self.app_filter.currentIndexChanged.connect(lambda _i: self.refresh())
        self.refresh_button = button("Refresh", tip="Reload (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        self.count_label = label("", "muted")
        self.table = self._make_table()
        self.detail = QTextBrowser()
        self.detail.setObjectName("MessageDetail")
        self.detail.setOpenLinks(False)
        self.detail.setPlaceholderText("Select a message to see it in full.")
        self._lay_out()

    def _make_table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS))
        table.setHorizontalHeaderLabels(COLUMNS)
        table.verticalHeader().setVisible(False)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        table.itemSelectionChanged.connect(self._show_selected)
        return table

    def _lay_out(self) -> None:
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(label("Logs", "title"))
        titles.addWidget(self.count_label)
        header.addLayout(titles)
        header.addStretch(1)
        header.addWidget(label("App", "muted"))
        header.addWidget(self.app_filter)
        header.addWidget(self.refresh_button)
        pane = QFrame()
        pane.setProperty("panel", True)
        pane_column = QVBoxLayout(pane)
        pane_column.setContentsMargins(14, 12, 14, 14)
        pane_column.addWidget(label("MESSAGE", "section"))
        pane_column.addWidget(self.detail, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.table)
        split.addWidget(pane)
        split.setSizes([360, 300])
        column = QVBoxLayout(self)
        column.setContentsMargins(24, 20, 24, 16)
        column.setSpacing(12)
        column.addLayout(header)
        column.addWidget(split, 1)

    # -- loading -----------------------------------------------------------------------------------
    def activated(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        if self.loading:
            self._again = True  # the filter changed mid-load: load once more when this one lands
            return
        self.loading, self._again = True, False
        app_id = self.app_filter.currentData()
        self.bridge.call(lambda: (self.services.apps.list(), self.services.conversations.recent_messages(app_id, LIMIT)),
                         self._loaded, self._failed)

    def _failed(self, message: str) -> None:
        self.loading = self._again = False
        self.count_label.setText(message)

    def _loaded(self, result: tuple[list[App], list[Message]]) -> None:
        self.loading = False
        if self._again:
            self.refresh()
            return
        apps, self.messages = result
        self.app_names = {a.id: a.name for a in apps}
        self._fill_filter(apps)
        selected = self.selected_message()
        self.table.setRowCount(0)
        for message in self.messages:
            self._add_row(message)
        self.count_label.setText(f"{len(self.messages)} recent message{'s' if len(self.messages) != 1 else ''}"
                                 + (f" (the latest {LIMIT})" if len(self.messages) >= LIMIT else ""))
        ids = [m.id for m in self.messages]
        if selected and selected.id in ids:
            self.table.selectRow(ids.index(selected.id))
        elif not self.messages:
            self.detail.clear()

    def _fill_filter(self, apps: list[App]) -> None:
        current = self.app_filter.currentData()
        self.app_filter.blockSignals(True)
        self.app_filter.clear()
        self.app_filter.addItem("All apps", None)
        for app in apps:
            self.app_filter.addItem(app.name, app.id)
        index = self.app_filter.findData(current)
        self.app_filter.setCurrentIndex(max(index, 0))
        self.app_filter.blockSignals(False)

    def _add_row(self, m: Message) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        values = (when(m.created_at), self.app_names.get(m.app_id, "(deleted app)"),
                  preview(m.query, 60), preview(m.answer or m.error), m.status.value,
                  str(m.message_tokens + m.answer_tokens), f"{m.latency_ms / 1000:.2f} s", m.model_id or "—")
        for col, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setData(ID_ROLE, m.id)
            if col == 4 and m.status in (MessageStatus.ERROR, MessageStatus.INTERRUPTED):
                item.setForeground(ERROR_COLOR)
            elif col == 4 and m.status == MessageStatus.STOPPED:
                item.setForeground(MUTED_COLOR)
            self.table.setItem(row, col, item)

    def selected_message(self) -> Message | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        message_id = self.table.item(rows[0].row(), 0).data(ID_ROLE)
        return next((m for m in self.messages if m.id == message_id), None)

    def _show_selected(self) -> None:
        m = self.selected_message()
        self.detail.setHtml(self.message_html(m) if m else "")

    def message_html(self, m: Message) -> str:
        esc = html.escape
        rows = [("App", self.app_names.get(m.app_id, m.app_id)), ("Status", m.status.value),
                ("Time", when(m.created_at)), ("Model", m.model_id or "—"),
                ("Usage", f"{m.message_tokens} prompt + {format_stats(MessageFinished(message=m))}"),
                ("Conversation", m.conversation_id), ("Message", m.id)]
        if m.inputs:
            rows.insert(4, ("Inputs", json.dumps(m.inputs, ensure_ascii=False)))
        table = "".join(f"<tr><td style='color:#667085;padding-right:12px'>{esc(k)}</td><td>{esc(v)}</td></tr>"
                        for k, v in rows)
        error = f"<p style='color:#D92D20'><b>Error:</b> {esc(m.error)}</p>" if m.error else ""
        return (f"<table>{table}</table>{error}<h4>Query</h4><p style='white-space:pre-wrap'>{esc(m.query)}</p>"
                f"<h4>Answer</h4><p style='white-space:pre-wrap'>{esc(m.answer) or '<i>(empty)</i>'}</p>")
