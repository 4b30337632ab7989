"""The ingestion progress strip: a bar with the phase, current file, chunks done and ETA, and a Cancel button."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QProgressBar, QVBoxLayout, QWidget

from studio.services.ingestion import IngestProgress, IngestReport
from studio.ui.icons import icon
from studio.ui.knowledge.widgets import PHASES, eta_text, plural
from studio.ui.theme import button, label, set_role

SCALE = 1000  # progress bar steps


def describe(p: IngestProgress) -> str:
    parts = []
    if p.files_total:
        parts.append(f"file {min(p.files_done + (p.phase == 'reading'), p.files_total)} of {p.files_total}"
                     if p.phase == "reading" else plural(p.files_total, "file"))
    if p.current_file and p.phase in ("reading", "embedding"):
        parts.append(p.current_file)
    if p.chunks_total:
        parts.append(f"{p.chunks_done:,} / {p.chunks_total:,} chunks")
    eta = eta_text(p.eta_s) if p.phase == "embedding" and p.chunks_done else ""
    if eta:
        parts.append(eta)
    return " · ".join(parts)


def report_text(report: IngestReport) -> tuple[str, bool]:
    """(summary, is a problem) for the strip once a run ends."""
    if report.cancelled:
        return "Cancelled. Unfinished documents are paused; Resume carries on where it stopped.", True
    text = f"Done: {plural(report.chunks, 'chunk')} embedded in {report.elapsed_s:.1f} s."
    if report.failed:
        names = ", ".join(name for name, _ in report.failed[:3])
        more = f" and {len(report.failed) - 3} more" if len(report.failed) > 3 else ""
        return f"{text} {plural(len(report.failed), 'file')} could not be read: {names}{more}.", True
    return text, False


class ProgressStrip(QFrame):
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("section", True)
        self.bar = QProgressBar()
        self.bar.setRange(0, SCALE)
        self.bar.setTextVisible(False)
        self.phase = label("", "subtle")
        self.percent = label("", "muted")
        self.detail = label("", "muted")
        self.detail.setMinimumWidth(80)
        self.errors = label("", "note", wrap=True)
        self.errors.hide()
        self.cancel_button = button("Cancel", tip="Stop indexing; what is done stays, the rest is paused")
        self.cancel_button.setIcon(icon("stop", "#D92D20"))
        self.cancel_button.clicked.connect(self.cancel_requested)
        top = QHBoxLayout()
        top.addWidget(self.phase)
        top.addWidget(self.percent)
        top.addStretch(1)
        top.addWidget(self.cancel_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(12, 8, 12, 10)
        column.setSpacing(6)
        column.addLayout(top)
        column.addWidget(self.bar)
        column.addWidget(self.detail)
        column.addWidget(self.errors)
        self.hide()

    def starting(self) -> None:
        self.bar.setRange(0, 0)  # busy until the first report
        self.phase.setText("Starting…")
        self.percent.setText("")
        self.detail.setText("")
        self.errors.hide()
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.running()
        self.show()

    def show_progress(self, p: IngestProgress) -> None:
        self.bar.setRange(0, SCALE)
        self.bar.setValue(int(p.fraction * SCALE))
        self.phase.setText(PHASES.get(p.phase, p.phase.capitalize()))
        self.percent.setText(f"{p.fraction:.0%}")
        self.detail.setText(describe(p))
        self._show_errors(p.errors)
        self.show()

    def cancelling(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")

    def finished(self, report: IngestReport) -> None:
        self.bar.setRange(0, SCALE)
        text, problem = report_text(report)
        if not report.cancelled:
            self.bar.setValue(SCALE)
        self.phase.setText("Cancelled" if report.cancelled else "Finished")
        self.percent.setText("")
        self.detail.setText(text)
        set_role(self.detail, "role", "warn" if problem else "muted")
        self._show_errors(report.failed)
        self.cancel_button.hide()

    def failed(self, message: str) -> None:
        self.bar.setRange(0, SCALE)
        self.phase.setText("Stopped")
        self.percent.setText("")
        self.detail.setText("")
        self.errors.setText(message)
        self.errors.show()
        self.cancel_button.hide()
        self.show()

    def running(self) -> None:
        set_role(self.detail, "role", "muted")
        self.cancel_button.show()

    def _show_errors(self, errors: list[tuple[str, str]]) -> None:
        if not errors:
            self.errors.hide()
            return
        lines = [msg if msg.startswith(name) else f"{name}: {msg}" for name, msg in errors[:5]]
        extra = f"\n… and {len(errors) - 5} more" if len(errors) > 5 else ""
        self.errors.setText("\n".join(lines) + extra)
        self.errors.setToolTip("\n".join(f"{n}: {m}" for n, m in errors))
        self.errors.show()
