"""Ingestion runs seen from the UI: worker progress callbacks coalesced into throttled signals on the main thread."""

from __future__ import annotations

import dataclasses
import logging
import threading

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.errors import StudioError
from studio.services.ingestion import IngestProgress, IngestReport

log = logging.getLogger(__name__)
FLUSH_MS = 100  # at most ten progress repaints a second, however fast the worker reports


def _message(exc: BaseException) -> str:
    if isinstance(exc, StudioError):
        return exc.message
    return f"Ingestion stopped: {type(exc).__name__}: {exc}. The details are in the log."


class IngestJob(QObject):
    """One knowledge base's ingestion run. Lives on the main thread; the service calls back from its worker."""

    progressed = Signal(object)  # IngestProgress (a private copy)
    finished = Signal(object)  # IngestReport
    failed = Signal(str)

    def __init__(self, services, bridge, dataset_id: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services, self.bridge, self.dataset_id = services, bridge, dataset_id
        self.task = None
        self.running = False
        self.cancel_requested = False
        self.last: IngestProgress | None = None
        self.report: IngestReport | None = None
        self.shown_key: tuple | None = None  # what the page last refreshed its table for
        self._lock = threading.Lock()
        self._pending: IngestProgress | None = None
        self._timer = QTimer(self)
        self._timer.setObjectName("ingest-progress")
        self._timer.setInterval(FLUSH_MS)
        self._timer.timeout.connect(self._deliver_progress)

    def start(self) -> None:
        """Asking the service to start reads the database, so even that happens on a worker."""
        if self.running:
            return
        self.running, self.cancel_requested, self.report = True, False, None
        self._timer.start()
        knowledge = self.services.knowledge
        self.bridge.call(lambda: knowledge.start_ingestion(self.dataset_id, on_progress=self._on_progress,
                                                           on_done=self._on_done),
                         self._started, self._start_failed)

    def cancel(self) -> None:
        if not self.running or self.cancel_requested:
            return
        self.cancel_requested = True
        if self.task is not None:
            self.task.cancel()  # flips a token: nothing here waits
        # Before the task exists the cancel is applied as soon as _started sees it.

    # -- worker side -------------------------------------------------------------------------------
    def _on_progress(self, progress: IngestProgress) -> None:
        # The service mutates one progress object as it goes; the UI gets its own copy.
        snapshot = dataclasses.replace(progress, errors=list(progress.errors))
        with self._lock:
            self._pending = snapshot

    def _on_done(self, result) -> None:
        self.bridge.post(self._deliver_done, result)

    # -- main-thread side --------------------------------------------------------------------------
    def _started(self, task) -> None:
        self.task = task
        if self.cancel_requested:
            task.cancel()

    def _start_failed(self, message: str) -> None:
        self.stop_timer()
        self.running = False
        self.failed.emit(message)

    def _deliver_progress(self) -> None:
        with self._lock:
            progress, self._pending = self._pending, None
        if progress is not None and self.running:
            self.last = progress
            self.progressed.emit(progress)

    def _deliver_done(self, result) -> None:
        self._deliver_progress()
        self.stop_timer()
        self.running = False
        if isinstance(result, BaseException):
            self.failed.emit(_message(result))
            return
        self.report = result
        self.finished.emit(result)


    def stop_timer(self) -> None:
        if shiboken6.isValid(self._timer):
            self._timer.stop()


def alive(job: IngestJob | None) -> bool:
    return job is not None and shiboken6.isValid(job)
