"""Which Studio processes are alive on a home folder: each holds a lock on its own file in `instances/`.

A row marked running belongs to the process that wrote it. At start-up only the rows of processes that
are gone (their lock is free, because the OS drops a dead process's locks) are marked interrupted, so a
second Studio on the same home (the window and `studio serve`, or `studio keys list`) never touches the
live answers of the first.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from pathlib import Path

log = logging.getLogger(__name__)

if sys.platform == "win32":  # pragma: no cover - exercised on Windows builds only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False


class Instance:
    """This process's claim on a home folder, held until release() or the process ends."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.id = uuid.uuid4().hex
        self._path = self.folder / f"{self.id}.lock"
        # Locked under a temporary name first, so no other process ever sees the file unlocked.
        pending = self.folder / f"{self.id}.pending"
        self._fd: int | None = os.open(pending, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(self._fd):  # a fresh random name: only a broken file system gets here
            raise OSError(f"cannot lock {pending}")
        os.replace(pending, self._path)

    def others_alive(self) -> set[str]:
        """Ids of the other processes still holding their claim; the files of dead ones are removed."""
        alive = set()
        for path in self.folder.glob("*.lock"):
            owner = path.stem
            if owner == self.id:
                continue
            if _holds_lock(path):
                alive.add(owner)
        return alive

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self._path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self._fd = None


def _holds_lock(path: Path) -> bool:
    """Whether a live process holds the lock on path; if none does, the stale file is deleted."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False  # removed meanwhile: its owner released it
    try:
        if not _try_lock(fd):
            return True
        try:
            path.unlink()
        except OSError:
            log.debug("could not remove stale %s", path)
        return False
    finally:
        os.close(fd)
