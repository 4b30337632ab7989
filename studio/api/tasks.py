"""Running generations by task id, so the stop endpoints can cancel them (only for the user who started them), and
so a stopping server can end every open run as stopped before it closes the connections."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass

from studio.api.errors import ApiError
from studio.core.cancel import CancelToken

STOPPING = "The API server is stopping; try again when it is back"


@dataclass(frozen=True)
class _Task:
    app_id: str
    user: str
    cancel: CancelToken


class TaskRegistry:
    def __init__(self) -> None:
        self._tasks: dict[str, _Task] = {}
        self._lock = threading.Lock()
        self._closing = False

    def open(self, app_id: str, user: str) -> tuple[str, CancelToken]:
        """A new task and its cancel token; once the server is stopping, new runs are refused with a 503."""
        task_id, cancel = str(uuid.uuid4()), CancelToken()
        with self._lock:
            if self._closing:
                raise ApiError(503, "service_unavailable", STOPPING)
            self._tasks[task_id] = _Task(app_id, user, cancel)
        return task_id, cancel

    def close(self, task_id: str) -> None:
        with self._lock:
            self._tasks.pop(task_id, None)

    def stop(self, task_id: str, app_id: str, user: str | None) -> bool:
        """Cancel the task if it is this app's (and, when `user` is given, this user's). Unknown ids are ignored,
        like Dify, so a stop that races the end of a run is not an error."""
        with self._lock:
            task = self._tasks.get(task_id)
        if task is None or task.app_id != app_id or (user is not None and task.user != user):
            return False
        task.cancel.cancel("stopped by the API client")
        return True

    def cancel_all(self, reason: str) -> int:
        """Refuse new runs and cancel the open ones (each still ends on its own thread and stores itself)."""
        with self._lock:
            self._closing = True
            tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel.cancel(reason)
        return len(tasks)

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until every open run has ended, at most `timeout` seconds; True when none is left."""
        deadline = time.monotonic() + timeout
        while len(self) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return not len(self)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tasks)
