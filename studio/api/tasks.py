"""Running generations by task id, so the stop endpoints can cancel them (only for the user who started them)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

from studio.core.cancel import CancelToken


@dataclass(frozen=True)
class _Task:
    app_id: str
    user: str
    cancel: CancelToken


class TaskRegistry:
    def __init__(self) -> None:
        self._tasks: dict[str, _Task] = {}
        self._lock = threading.Lock()

    def open(self, app_id: str, user: str) -> tuple[str, CancelToken]:
        task_id, cancel = str(uuid.uuid4()), CancelToken()
        with self._lock:
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

    def __len__(self) -> int:
        with self._lock:
            return len(self._tasks)
