"""A warm pool of pre-started, already confined children for one profile; each child runs once and is thrown away."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from studio.sandbox.process import Child

log = logging.getLogger(__name__)


class WarmPool:
    """Keeps `size` idle children ready; `take()` never waits for a start-up if one is ready."""

    def __init__(self, spawn: Callable[[], Child], size: int) -> None:
        self._spawn = spawn
        self._size = size
        self._idle: deque[Child] = deque()
        self._lock = threading.Lock()
        self._filler: threading.Thread | None = None
        self._closed = False
        self.failures = 0

    def take(self) -> Child | None:
        """A ready child, or None (the caller starts one itself). The caller calls `refill()` once its run is
        over, so the next child's start-up does not compete with the run for the CPU."""
        child = None
        with self._lock:
            while self._idle and child is None:
                candidate = self._idle.popleft()
                if candidate.alive():
                    child = candidate
                else:
                    candidate.close()
        return child

    def refill(self) -> None:
        with self._lock:
            if self._closed or self._size <= 0 or (self._filler and self._filler.is_alive()):
                return
            self._filler = threading.Thread(target=self._fill, name="sandbox-pool", daemon=True)
            self._filler.start()

    def _fill(self) -> None:
        while True:
            with self._lock:
                if self._closed or len(self._idle) >= self._size or self.failures >= 3:
                    return
            try:
                child = self._spawn()
            except Exception:  # keep the pool usable; a cold start reports the same problem to the caller
                log.exception("could not pre-start a sandbox child")
                self.failures += 1
                continue
            with self._lock:
                if self._closed:
                    break
                self._idle.append(child)
        child.close()

    def wait_ready(self, count: int, timeout: float) -> bool:
        """Wait until `count` idle children are confined and waiting (benchmarks and start-up warming)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                idle = list(self._idle)
            if sum(child.ready(0.0) for child in idle) >= count:
                return True
            time.sleep(0.005)
        return False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = list(self._idle), deque()
            filler = self._filler
        for child in idle:
            child.close()
        if filler is not None:
            filler.join(timeout=10)
