"""The task runner: long work runs on a thread pool with a cancel token and progress callbacks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from studio.core.cancel import CancelToken

log = logging.getLogger(__name__)


class Task:
    def __init__(self, future: Future, cancel: CancelToken) -> None:
        self.future = future
        self.cancel_token = cancel

    def cancel(self) -> None:
        self.cancel_token.cancel()

    @property
    def done(self) -> bool:
        return self.future.done()


class TaskRunner:
    def __init__(self, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="studio-task")

    def submit(self, fn: Callable[[CancelToken], Any], cancel: CancelToken | None = None) -> Task:
        """Run fn(cancel) in the background; exceptions stay on the future for the caller to read."""
        token = cancel or CancelToken()
        return Task(self._pool.submit(fn, token), token)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
