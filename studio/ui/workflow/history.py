"""The run history of a graph app: its stored runs, newest first, to inspect or run again."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QTableWidgetItem, QVBoxLayout, QWidget

from studio.core.workflow import WorkflowRun
from studio.ui.formatting import preview, when
from studio.ui.icons import icon
from studio.ui.theme import button, label, row_table
from studio.ui.workflow.node_types import format_ms, status_color

ID_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("Started", "Status", "Time", "Steps", "Inputs")


def inputs_preview(run: WorkflowRun) -> str:
    return preview(", ".join(f"{k}={v}" for k, v in run.inputs.items()) or "—", 60)


class RunHistory(QWidget):
    run_selected = Signal(str)  # run id
    rerun_requested = Signal(object)  # WorkflowRun

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[WorkflowRun] = []
        self.busy = False
        self.table = row_table(COLUMNS)
        self.table.setObjectName("RunHistory")
        self.table.setShowGrid(False)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.rerun_button = button("Re-run", tip="Run again with this run's inputs")
        self.rerun_button.setIcon(icon("refresh"))
        self.rerun_button.clicked.connect(self._rerun)
        self.count = label("", "muted")
        self.empty = label("No runs yet.", "hint")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        header_row = QHBoxLayout()
        header_row.addWidget(label("RUN HISTORY", "section"))
        header_row.addWidget(self.count)
        header_row.addStretch(1)
        header_row.addWidget(self.rerun_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        column.addLayout(header_row)
        column.addWidget(self.empty, 1)
        column.addWidget(self.table, 1)
        self._update()

    def load(self, runs: list[WorkflowRun], select_id: str | None = None) -> None:
        self.table.blockSignals(True)
        self.runs = list(runs)
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            cells = (when(run.created_at), run.status.value, format_ms(run.elapsed_ms), str(run.total_steps),
                     inputs_preview(run))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(ID_ROLE, run.id)
                if col == 1:
                    item.setForeground(status_color(run.status.value))
                if col == 4:
                    item.setToolTip(text)
                self.table.setItem(row, col, item)
        self.table.clearSelection()
        self.table.blockSignals(False)
        if select_id:
            self.select(select_id, quiet=True)
        self.count.setText(f"{len(self.runs)}" if self.runs else "")
        self._update()

    def select(self, run_id: str, quiet: bool = False) -> None:
        for row, run in enumerate(self.runs):
            if run.id == run_id:
                self.table.blockSignals(quiet)
                self.table.selectRow(row)
                self.table.blockSignals(False)
        self._update()

    def current(self) -> WorkflowRun | None:
        rows = self.table.selectionModel().selectedRows()
        return self.runs[rows[0].row()] if rows and rows[0].row() < len(self.runs) else None

    def set_busy(self, busy: bool) -> None:
        """While a run goes on, past runs stay visible but cannot be opened or re-run."""
        self.busy = busy
        self.table.setEnabled(not busy)
        self._update()

    def _update(self) -> None:
        self.empty.setVisible(not self.runs)
        self.table.setVisible(bool(self.runs))
        self.rerun_button.setEnabled(not self.busy and self.current() is not None)

    def _selection_changed(self) -> None:
        self._update()
        run = self.current()
        if run is not None:
            self.run_selected.emit(run.id)

    def _rerun(self) -> None:
        run = self.current()
        if run is not None and not self.busy:
            self.rerun_requested.emit(run)
