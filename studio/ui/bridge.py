"""The bridge between worker threads and widgets: background calls and streamed generations as queued signals."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import wait as wait_futures
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.events import AgentThought, MessageFinished, MessageStarted, TextChunk

log = logging.getLogger(__name__)
DEFAULT_FLUSH_MS = 16  # about one frame: text reaches widgets in batches, never one signal per token


def _alive(callback: Callable | None) -> bool:
    """False when the callback is a method of a Qt object that has been deleted meanwhile."""
    if callback is None:
        return False
    owner = getattr(callback, "__self__", None)
    return not isinstance(owner, QObject) or shiboken6.isValid(owner)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, StudioError):
        return exc.message
    log.error("background call failed", exc_info=exc)
    return f"Something went wrong: {type(exc).__name__}: {exc}. The details are in the log."


class Generation(QObject):
    """One chat turn or completion run; it lives on the main thread while a worker iterates its events."""

    started = Signal(object)  # MessageStarted
    text = Signal(str)  # a batch of streamed text
    finished = Signal(object)  # MessageFinished
    failed = Signal(str)  # refused before it began (e.g. a ValidationError naming the field)
    thought = Signal(object)  # AgentThought: one step of an agent answer

    def __init__(self, start: Callable[[CancelToken], Iterator], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._start = start
        self.cancel_token = CancelToken()
        self._lock = threading.Lock()
        self._parts: list[str] = []
        self.running = False
        self.stop_requested_at = 0.0

    def stop(self) -> None:
        if self.running and not self.cancel_token.cancelled:
            self.stop_requested_at = time.perf_counter()
            self.cancel_token.cancel()

    def flush(self) -> None:
        with self._lock:
            text, self._parts = "".join(self._parts), []
        if text:
            self.text.emit(text)

    # -- worker side -------------------------------------------------------------------------------
    def work(self, post: Callable[..., None]) -> None:
        try:
            events = self._start(self.cancel_token)
        except BaseException as exc:  # noqa: BLE001 - reported to the user, never raised into the pool
            post(self._fail, _describe(exc))
            return
        finished = None
        try:
            for event in events:
                finished = self.consume(event, post) or finished
        except BaseException as exc:  # noqa: BLE001
            post(self._fail, _describe(exc))
            return
        finally:
            close = getattr(events, "close", None)
            if close:
                close()
        post(self._finish, finished)

    def consume(self, event, post: Callable[..., None]):
        """Worker side: take one event; return it when it is the final one. Subclasses add event kinds."""
        if isinstance(event, TextChunk):
            with self._lock:
                self._parts.append(event.text)
        elif isinstance(event, MessageStarted):
            post(self._on_started, event)
        elif isinstance(event, AgentThought):
            post(self._on_thought, event)
        elif isinstance(event, MessageFinished):
            return event
        return None

    # -- main-thread side --------------------------------------------------------------------------
    def _on_started(self, event: MessageStarted) -> None:
        self.started.emit(event)

    def _on_thought(self, event: AgentThought) -> None:
        self.flush()  # the text before a step reaches the widgets before the step does
        self.thought.emit(event)

    def _fail(self, message: str) -> None:
        self.running = False
        self.flush()
        self.failed.emit(message)

    def _finish(self, finished: MessageFinished | None) -> None:
        self.running = False
        self.flush()
        if finished is None:
            self.failed.emit("The generation ended without a result.")
        else:
            self.finished.emit(finished)


class Bridge(QObject):
    """The one object that turns worker callbacks into queued calls on the main thread."""

    _deliver = Signal(object, object)

    def __init__(self, services, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._futures: set = set()
        self._streams: set[Generation] = set()
        self._closed = False
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)
        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(DEFAULT_FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)

    def set_flush_interval(self, ms: int) -> None:
        self._flush_timer.setInterval(max(1, int(ms)))

    @property
    def busy(self) -> bool:
        return any(not f.done() for f in list(self._futures))

    def post(self, fn: Callable, *args: Any) -> None:
        """Call fn(*args) on the main thread soon; safe from any thread, also after shutdown."""
        try:
            self._deliver.emit(fn, args)
        except RuntimeError:  # the bridge itself is gone: the window closed
            log.debug("dropped a callback after the window closed")

    def call(self, fn: Callable[[], Any], on_done: Callable | None = None,
             on_error: Callable[[str], None] | None = None) -> None:
        """Run fn() on a worker; on_done(result) or on_error(message) then run on the main thread."""
        if self._closed:
            return

        def work(_cancel: CancelToken) -> None:
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to on_error
                self.post(self._callback, on_error, _describe(exc))
            else:
                self.post(self._callback, on_done, result)

        self._track(self._services.tasks.submit(work).future)

    def stream(self, generation: Generation) -> Generation:
        """Start a generation on a worker; its text is flushed to the widgets on a frame timer."""
        if self._closed:
            return generation
        generation.running = True
        self._streams.add(generation)
        generation.destroyed.connect(lambda *_: self._forget(generation))
        generation.finished.connect(lambda *_: self._forget(generation))
        generation.failed.connect(lambda *_: self._forget(generation))
        if not self._flush_timer.isActive():
            self._flush_timer.start()
        self._track(self._services.tasks.submit(lambda _c: generation.work(self.post)).future)
        return generation

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel running generations and wait for the workers, so nothing outlives the window."""
        self._closed = True
        for generation in list(self._streams):
            if shiboken6.isValid(generation):
                generation.cancel_token.cancel("window closed")
        self._flush_timer.stop()
        pending = [f for f in self._futures if not f.done()]
        if pending:
            _, still = wait_futures(pending, timeout=timeout)
            if still:
                log.warning("%d background task(s) still running after the window closed", len(still))
        self._streams.clear()

    # -- internals ---------------------------------------------------------------------------------
    def _track(self, future) -> None:
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)

    def _forget(self, generation: Generation) -> None:
        self._streams.discard(generation)
        # Also called while the window is being torn down, when the timer may already be gone.
        if not self._streams and shiboken6.isValid(self._flush_timer):
            self._flush_timer.stop()

    def _flush(self) -> None:
        for generation in list(self._streams):
            if shiboken6.isValid(generation):
                generation.flush()

    @staticmethod
    def _callback(callback: Callable | None, value: Any) -> None:
        if _alive(callback):
            callback(value)

    def _on_deliver(self, fn: Callable, args: tuple) -> None:
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, QObject) and not shiboken6.isValid(owner):
            return
        fn(*args)
