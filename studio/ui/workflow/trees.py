"""The two node trees of a graph app: the graph overview with each node's latest status, and a run's trace."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from studio.ui.workflow.node_types import CONTAINER_TYPES, format_ms, node_icon, status_color, type_label
from studio.ui.workflow.outline import OutlineNode
from studio.ui.workflow.steps import Step, StepLog

KEY_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_ROLE = Qt.ItemDataRole.UserRole + 2


def _tree(columns: tuple[str, ...], name: str) -> QTreeWidget:
    tree = QTreeWidget()
    tree.setObjectName(name)
    tree.setColumnCount(len(columns))
    tree.setHeaderLabels(list(columns))
    tree.setIconSize(QSize(18, 18))
    tree.setRootIsDecorated(True)
    tree.setUniformRowHeights(True)
    tree.setIndentation(18)
    tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    header = tree.header()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for col in range(1, len(columns)):
        header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
    return tree


def _paint_status(item: QTreeWidgetItem, column: int, status: str) -> None:
    item.setText(column, status)
    item.setData(column, STATUS_ROLE, status)
    item.setForeground(column, status_color(status))


def _time_text(step: Step) -> str:
    text = format_ms(step.elapsed_ms)
    if step.retries:
        text = f"{text} · {step.retries} retr{'y' if step.retries == 1 else 'ies'}".lstrip(" ·")
    return text


class GraphOverview(QWidget):
    """The graph's nodes in execution order; during and after a run each shows its latest status."""

    node_selected = Signal(str)  # node id
    COLUMNS = ("Node", "Type", "Status", "Time")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = _tree(self.COLUMNS, "GraphOverview")
        self.tree.itemClicked.connect(lambda item, _c: self.node_selected.emit(item.data(0, KEY_ROLE)))
        self.tree.itemActivated.connect(lambda item, _c: self.node_selected.emit(item.data(0, KEY_ROLE)))
        self.items: dict[str, QTreeWidgetItem] = {}
        self.nodes: dict[str, OutlineNode] = {}
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.tree)

    def set_outline(self, nodes: list[OutlineNode]) -> None:
        self.tree.clear()
        self.items, self.nodes = {}, {n.id: n for n in nodes}
        for node in nodes:
            parent = self.items.get(node.parent_id or "")
            item = QTreeWidgetItem(parent) if parent is not None else QTreeWidgetItem(self.tree)
            item.setIcon(0, node_icon(node.type))
            item.setText(0, node.title)
            item.setData(0, KEY_ROLE, node.id)
            item.setText(1, type_label(node.type))
            item.setForeground(1, status_color(""))
            item.setToolTip(0, f"{node.title}\n{type_label(node.type)} · {node.id}"
                               + (f"\n{node.summary}" if node.summary else ""))
            self.items[node.id] = item
        self.tree.expandAll()

    def show_log(self, log: StepLog | None) -> None:
        """The latest status of every node in this run; nodes it never reached stay blank."""
        for item in self.items.values():
            item.setText(2, "")
            item.setData(2, STATUS_ROLE, None)
            item.setText(3, "")
        for step in (log.steps if log else []):
            self.show_step(step, log)

    def show_step(self, step: Step, log: StepLog) -> None:
        item = self.items.get(step.node_id)
        if item is None:
            return
        _paint_status(item, 2, step.status)
        count = log.counts.get(step.node_id, 1)
        item.setText(3, _time_text(step) + (f" · ×{count}" if count > 1 else ""))

    def status_of(self, node_id: str) -> str | None:
        item = self.items.get(node_id)
        return item.data(2, STATUS_ROLE) if item else None

    def select(self, node_id: str) -> None:
        item = self.items.get(node_id)
        if item is not None:
            self.tree.setCurrentItem(item)


class TraceTree(QWidget):
    """One row per node execution, as Dify's Tracing tab: an iteration's or loop's steps nest under it."""

    step_selected = Signal(int)  # Step.seq
    COLUMNS = ("Node", "Status", "Time")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = _tree(self.COLUMNS, "TraceTree")
        self.tree.currentItemChanged.connect(self._current_changed)
        self.items: dict[int, QTreeWidgetItem] = {}
        self.groups: dict[tuple[int, int], QTreeWidgetItem] = {}
        self.log: StepLog | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.tree)

    def set_log(self, log: StepLog | None) -> None:
        self.tree.clear()
        self.items, self.groups, self.log = {}, {}, log
        self.update_steps(log.steps if log else [])

    def update_steps(self, steps: list[Step]) -> None:
        for step in steps:
            item = self.items.get(step.seq) or self._add(step)
            _paint_status(item, 1, step.status)
            item.setText(2, _time_text(step))
            item.setToolTip(1, step.error or step.status)

    def _add(self, step: Step) -> QTreeWidgetItem:
        parent = self._parent_item(step)
        item = QTreeWidgetItem(parent) if parent is not None else QTreeWidgetItem(self.tree)
        item.setIcon(0, node_icon(step.node_type))
        item.setText(0, step.title)
        item.setToolTip(0, f"{step.title}\n{type_label(step.node_type)} · {step.node_id}")
        item.setData(0, KEY_ROLE, step.seq)
        self.items[step.seq] = item
        if parent is not None:
            parent.setExpanded(True)
        if step.node_type in CONTAINER_TYPES:
            item.setExpanded(True)
        return item

    def _parent_item(self, step: Step) -> QTreeWidgetItem | None:
        if step.container_seq is None:
            return None
        holder = self.items.get(step.container_seq)
        if holder is None or step.group is None:
            return holder
        key = (step.container_seq, step.group)
        if key not in self.groups:
            # Parallel items start in any order; their rows stay in item order.
            before = sum(1 for (seq, n) in self.groups if seq == step.container_seq and n < step.group)
            group = QTreeWidgetItem()
            holder.insertChild(before, group)
            group.setText(0, f"{'Round' if step.group_kind == 'loop' else 'Item'} {step.group + 1}")
            group.setForeground(0, status_color(""))
            group.setFirstColumnSpanned(True)
            group.setFlags(group.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            group.setExpanded(True)
            holder.setExpanded(True)
            self.groups[key] = group
        return self.groups[key]

    def _current_changed(self, item: QTreeWidgetItem | None, _previous) -> None:
        seq = item.data(0, KEY_ROLE) if item is not None else None
        if seq is not None:
            self.step_selected.emit(seq)

    def select(self, seq: int) -> None:
        item = self.items.get(seq)
        if item is not None:
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)

    def rows(self) -> list[tuple[str, str]]:
        """(title, status) of every step row, depth first: what the user reads, for tests and screen readers."""
        result: list[tuple[str, str]] = []

        def walk(item: QTreeWidgetItem) -> None:
            if item.data(0, KEY_ROLE) is not None:
                result.append((item.text(0), item.text(1)))
            for i in range(item.childCount()):
                walk(item.child(i))

        for i in range(self.tree.topLevelItemCount()):
            walk(self.tree.topLevelItem(i))
        return result
