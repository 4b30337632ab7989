"""The page of a Workflow or Chatflow app: the app menu, problems banner, graph overview, Debug & Preview, the live
trace and run history."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QSplitter, QVBoxLayout, QWidget

from studio.core.entities import MODE_LABELS, App, AppMode
from studio.core.errors import StudioError
from studio.core.workflow import WorkflowFinished, WorkflowRun
from studio.services.workflows import workflow_of
from studio.ui.dsl.app_menu import app_menu_button
from studio.ui.dsl.problems import GRAPH_HINT, ProblemsBanner
from studio.ui.formatting import when
from studio.ui.theme import AppIcon, back_button, button, label
from studio.ui.workflow.chatflow_panel import ChatflowPanel
from studio.ui.workflow.history import RunHistory
from studio.ui.workflow.node_detail import NodeDetail
from studio.ui.workflow.outline import outline
from studio.ui.workflow.steps import StepLog
from studio.ui.workflow.trees import GraphOverview, TraceTree
from studio.ui.workflow.workflow_panel import WorkflowPanel

log = logging.getLogger(__name__)


class WorkflowPage(QWidget):
    """Opened from the Studio page for graph apps; it has the AppEditor's outward shape (app, debug, shutdown)."""

    back_requested = Signal()
    info_requested = Signal()
    export_requested = Signal()
    duplicate_requested = Signal()
    history_loaded = Signal()
    past_run_shown = Signal(str)  # run id

    def __init__(self, services, bridge, app: App, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PageRoot")
        self.services, self.bridge, self.app = services, bridge, app
        self.log: StepLog | None = None
        self._focused = False
        self._select_after_load: str | None = None
        self._rerun_inputs: dict = {}
        self.overview = GraphOverview()
        self.history = RunHistory()
        self.trace = TraceTree()
        self.detail = NodeDetail()
        panel_type = ChatflowPanel if app.mode == AppMode.ADVANCED_CHAT else WorkflowPanel
        self.debug = panel_type(services, bridge, app)
        self.tracing = self._tracing_tab()
        self.debug.tabs.addTab(self.tracing, "Tracing")
        self.problems = ProblemsBanner(services, bridge, app.id, GRAPH_HINT)
        self.problems.watch(self)
        self._build()
        self._connect()
        self._load_outline()
        self.refresh_history()

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self._graph_panel())
        self.splitter.addWidget(self.debug)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([480, 720])
        body = QVBoxLayout()
        body.setContentsMargins(12, 12, 12, 12)
        body.addWidget(self.problems)
        body.addWidget(self.splitter, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self._header())
        column.addLayout(body, 1)

    def _header(self) -> QFrame:
        header = QFrame()
        header.setObjectName("EditorHeader")
        back = back_button("Apps", "Back to the app list (Ctrl+W)", self.back_requested)
        self.icon = AppIcon(32)
        self.name_label = label("", "subtitle")
        mode = label(MODE_LABELS.get(self.app.mode, self.app.mode.value), "badge")
        mode.setProperty("kind", "mode")
        info = button("Edit info…", tip="Name, icon and description")
        info.clicked.connect(self.info_requested)
        row = QHBoxLayout(header)
        row.setContentsMargins(12, 8, 16, 8)
        self.app_menu = app_menu_button(self, info=self.info_requested.emit,
                                        duplicate=self.duplicate_requested.emit, export=self.export_requested.emit)
        for w in (back, self.icon, self.name_label, mode, info, self.app_menu):
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(label("The graph is read-only here; edit it in Dify and import the DSL again.", "hint"))
        self.set_app_info(self.app)
        return header

    def _graph_panel(self) -> QFrame:
        panel = QFrame()
        panel.setProperty("panel", True)
        self.node_count = label("", "muted")
        top = QWidget()
        column = QVBoxLayout(top)
        column.setContentsMargins(0, 0, 0, 0)
        heading = QHBoxLayout()
        heading.addWidget(label("GRAPH", "section"))
        heading.addWidget(self.node_count)
        heading.addStretch(1)
        heading.addWidget(label("Click a node to inspect it", "hint"))
        column.addLayout(heading)
        column.addWidget(self.overview, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(top)
        split.addWidget(self.history)
        split.setSizes([420, 260])
        outer = QVBoxLayout(panel)
        outer.setContentsMargins(14, 12, 14, 14)
        outer.addWidget(split)
        panel.setMinimumWidth(380)
        return panel

    def _tracing_tab(self) -> QWidget:
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.trace)
        split.addWidget(self.detail)
        split.setSizes([220, 360])
        self.detail.clear("Run the app, then click a node here or in the graph to see what it did.")
        return split

    def _connect(self) -> None:
        self.debug.run_started.connect(self._on_run_started)
        self.debug.run_finished.connect(self._on_run_finished)
        self.debug.run_failed.connect(lambda _m: self.history.set_busy(False))
        self.overview.node_selected.connect(self.inspect_node)
        self.trace.step_selected.connect(self._on_step_selected)
        self.history.run_selected.connect(self.open_run)
        self.history.rerun_requested.connect(self.rerun)
        for keys, slot in (([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")], self.debug.trigger),
                           ([QKeySequence(Qt.Key.Key_Escape)], self.debug.stop)):
            action = QAction(self)
            action.setShortcuts(keys)
            # Window-wide while the page shows (hidden widgets' shortcuts never fire): Esc must stop a run
            # wherever the focus went, even nowhere.
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Open with the cursor where typing starts, so Ctrl+Enter and Esc work at once."""
        super().showEvent(event)
        if not self._focused:
            self._focused = True
            self.debug.focus_first()

    def set_app_info(self, app: App) -> None:
        self.app = app
        self.icon.set_icon(app.icon, app.icon_background, app.name)
        self.name_label.setText(app.name)

    def _load_outline(self) -> None:
        try:
            nodes = outline(workflow_of(self.app).get("graph") or {})
        except StudioError as exc:
            log.warning("no graph outline: %s", exc.message)
            nodes = []
        self.overview.set_outline(nodes)
        self.node_count.setText(f"{len(nodes)} node{'s' if len(nodes) != 1 else ''}")

    # -- runs --------------------------------------------------------------------------------------
    def _on_run_started(self, generation) -> None:
        self.log = StepLog()
        self.trace.set_log(self.log)
        self.overview.show_log(self.log)
        self.detail.clear("Click a node to see what it did.")
        self.history.table.clearSelection()
        self.history.set_busy(True)
        generation.events.connect(self._on_events)

    def _on_events(self, events: list) -> None:
        if self.log is None:
            return
        changed = {}
        for event in events:
            for step in self.log.apply(event):
                changed[step.seq] = step
        steps = sorted(changed.values(), key=lambda s: s.seq)
        self.trace.update_steps(steps)
        for step in steps:
            self.overview.show_step(step, self.log)
        if self.detail.step is not None and self.detail.step.seq in changed:
            self.detail.show_step(self.detail.step)

    def _on_run_finished(self, finished: WorkflowFinished) -> None:
        self.history.set_busy(False)
        self.refresh_history(select_id=finished.run_id)

    def refresh_history(self, select_id: str | None = None) -> None:
        # Callbacks are bound methods: the bridge drops them if this page is gone by the time they arrive.
        app_id, workflows = self.app.id, self.services.workflows
        self._select_after_load = select_id
        self.bridge.call(lambda: workflows.runs(app_id), self._history_loaded, self._history_error)

    def _history_loaded(self, runs: list[WorkflowRun]) -> None:
        self.history.load(runs, self._select_after_load)
        self.history_loaded.emit()

    def _history_error(self, message: str) -> None:
        self.history.empty.setText(message)

    def open_run(self, run_id: str) -> None:
        """Show a stored run: its trace in Tracing and the overview, and (Workflow) its result."""
        if self.debug.running:
            return
        workflows = self.services.workflows
        self.bridge.call(lambda: (workflows.get_run(run_id), workflows.node_runs(run_id)), self._show_run,
                         self._history_error)

    def _show_run(self, loaded) -> None:
        run, node_runs = loaded
        current = self.history.current()
        if self.debug.running or current is None or current.id != run.id:
            return  # the user moved on while it loaded
        self.log = StepLog.from_node_runs(node_runs)
        self.trace.set_log(self.log)
        self.overview.show_log(self.log)
        self.detail.clear("Click a node to see what it did in this run.")
        if isinstance(self.debug, WorkflowPanel):
            self.debug.show_past(run, f"run of {when(run.created_at)}")
        else:
            self.debug.tabs.setCurrentWidget(self.tracing)
        self.past_run_shown.emit(run.id)

    def rerun(self, run: WorkflowRun) -> None:
        if self.debug.running:
            return
        if isinstance(self.debug, WorkflowPanel):
            self.debug.run(dict(run.inputs))
            return
        workflows, run_id = self.services.workflows, run.id
        self._rerun_inputs = dict(run.inputs)

        def query() -> str:
            start = next((n for n in workflows.node_runs(run_id) if n.node_type == "start"), None)
            return str(start.outputs.get("sys.query") or "") if start else ""

        self.bridge.call(query, self._rerun_chat, self._history_error)

    def _rerun_chat(self, query: str) -> None:
        """A chatflow run is asked again in a new conversation with its inputs and the user's message."""
        if query and not self.debug.running:
            self.debug.rerun(query, self._rerun_inputs)

    # -- inspecting --------------------------------------------------------------------------------
    def inspect_node(self, node_id: str) -> None:
        """A graph row was clicked: show that node's latest step, or its configuration if it did not run."""
        self.debug.tabs.setCurrentWidget(self.tracing)
        step = self.log.latest(node_id) if self.log else None
        if step is not None:
            self.trace.select(step.seq)
            self.detail.show_step(step)
        elif node_id in self.overview.nodes:
            self.trace.tree.clearSelection()
            self.detail.show_unrun(self.overview.nodes[node_id], ran=bool(self.log and self.log.steps))

    def _on_step_selected(self, seq: int) -> None:
        step = self.log.by_seq(seq) if self.log else None
        if step is not None:
            self.detail.show_step(step)
            self.overview.select(step.node_id)

    def shutdown(self) -> None:
        """Leaving the page or closing the window stops the run; the bridge waits for its worker."""
        self.debug.shutdown()
