"""One sandbox child seen from the parent: start it, feed it one request, read its pipes under a deadline, reap it."""

from __future__ import annotations

import logging
import os
import resource
import select
import selectors
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass

from studio.core.code import CodeLimits
from studio.sandbox.policy import Profile, child_config, command

log = logging.getLogger(__name__)
CHUNK = 1 << 16
READY = b"\x06"  # the child's first byte on the result pipe: confined, waiting for its request
STARTUP_TIMEOUT_S = 10.0


@dataclass
class Outcome:
    """What came back from one run, before interpretation."""

    result: bytes = b""
    stdout: bytes = b""
    stderr: bytes = b""
    truncated: bool = False
    limit: str | None = None  # a limit the parent enforced: wall_time, output_size, result_size
    status: int = 0  # os.wait4 status
    cpu_s: float = 0.0
    peak_kb: int = 0
    duration_s: float = 0.0


class Child:
    """A started child, confined and waiting for its one request on stdin."""

    def __init__(self, profile: Profile, limits: CodeLimits, root: str | None = None,
                 overrides: dict | None = None) -> None:
        self.profile = profile
        self.tmp = tempfile.mkdtemp(prefix="studio-code-", dir=root)
        read_fd, write_fd = os.pipe()
        try:
            cfg = child_config(profile, self.tmp, write_fd, limits) | (overrides or {})
            self.proc = subprocess.Popen(
                command(cfg), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                pass_fds=(write_fd,), env={}, cwd=self.tmp, start_new_session=True, close_fds=True)
        except BaseException:
            os.close(read_fd)
            _remove_tree(self.tmp)
            raise
        finally:
            os.close(write_fd)
        self.result_fd = read_fd
        self.started = time.monotonic()
        self.done = False
        self.peak_kb = 0
        self._first: bytes | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return not self.done and self.proc.poll() is None

    def run(self, payload: bytes, wall_s: float, limits: CodeLimits) -> Outcome:
        """Send the request, collect stdout/stderr/result with caps, then kill the group and reap."""
        start = time.monotonic()
        out = Outcome()
        try:
            first = self._wait_ready()
            if first is None:
                out.limit = "startup"
            else:
                out.result = b"" if first == READY else first  # a child that failed to start says why
                self._exchange(payload, time.monotonic() + wall_s, limits, out)
        finally:
            status, usage = self.close()
            out.status = status
            out.duration_s = time.monotonic() - start
            if usage is not None:
                out.cpu_s = usage.ru_utime + usage.ru_stime
            out.peak_kb = self.peak_kb or _own_maxrss(usage)
        return out

    def ready(self, timeout: float = 0.0) -> bool:
        """Has the child confined itself and begun to wait for its request?"""
        return self._first_byte(timeout) == READY

    def _first_byte(self, timeout: float) -> bytes | None:
        if self._first is None:
            readable, _, _ = select.select([self.result_fd], [], [], timeout)
            if readable:
                self._first = os.read(self.result_fd, 1)
        return self._first

    def _wait_ready(self) -> bytes | None:
        """The first byte of the result pipe (READY for a healthy child), or None if it never came.
        A warm child answers at once; a cold one is not charged its start-up against the run's wall time."""
        return self._first_byte(STARTUP_TIMEOUT_S)

    def _exchange(self, payload: bytes, deadline: float, limits: CodeLimits, out: Outcome) -> None:
        sel = selectors.DefaultSelector()
        stdin = self.proc.stdin.fileno()
        os.set_blocking(stdin, False)
        sel.register(stdin, selectors.EVENT_WRITE)
        bufs = {self.proc.stdout.fileno(): bytearray(), self.proc.stderr.fileno(): bytearray(),
                self.result_fd: bytearray(out.result)}
        caps = {fd: limits.max_output_bytes for fd in bufs} | {self.result_fd: limits.max_result_bytes}
        for fd in bufs:
            sel.register(fd, selectors.EVENT_READ)
        view = memoryview(payload)
        try:
            while len(sel.get_map()) > 0:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    out.limit = "wall_time"
                    break
                for key, _ in sel.select(timeout):
                    fd = key.fd
                    if fd == stdin:
                        view = self._feed(sel, stdin, view)
                        continue
                    chunk = os.read(fd, CHUNK)
                    if not chunk:
                        sel.unregister(fd)
                        continue
                    bufs[fd] += chunk
                    if len(bufs[fd]) > caps[fd]:
                        out.limit = "result_size" if fd == self.result_fd else "output_size"
                        out.truncated = fd != self.result_fd
                        del bufs[fd][caps[fd]:]
                        return
        finally:
            sel.close()
            out.stdout = bytes(bufs[self.proc.stdout.fileno()])
            out.stderr = bytes(bufs[self.proc.stderr.fileno()])
            out.result = bytes(bufs[self.result_fd])

    def _feed(self, sel, stdin: int, view: memoryview) -> memoryview:
        try:
            view = view[os.write(stdin, view[:CHUNK]):]
        except (BrokenPipeError, ConnectionResetError):
            view = view[len(view):]  # the child is gone; its pipes will say why
        if not view:
            sel.unregister(stdin)
            self.proc.stdin.close()
        return view

    def close(self) -> tuple[int, object]:
        """Kill the whole process group (harmless if it already exited), reap, delete the work dir."""
        if self.done:
            return 0, None
        self.done = True
        peak = _vm_hwm(self.proc.pid)  # only a live child has one: a run stopped by the parent
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the unreaped child keeps the group id from being reused
        except (ProcessLookupError, PermissionError):
            pass
        status, usage = 0, None
        try:
            _, status, usage = os.wait4(self.proc.pid, 0)
            self.proc.returncode = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            pass
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass
        os.close(self.result_fd)
        _remove_tree(self.tmp)
        self.peak_kb = peak
        return status, usage


def _own_maxrss(usage) -> int:
    """ru_maxrss starts from the parent's peak (the child began as a vfork of it): trust it only above that."""
    if usage is None or usage.ru_maxrss <= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss:
        return 0
    return usage.ru_maxrss


def _vm_hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _remove_tree(path: str) -> None:
    def fix(func, p, _exc):  # user code may have taken permissions away from its own files
        try:
            os.chmod(os.path.dirname(p), stat.S_IRWXU)
            os.chmod(p, stat.S_IRWXU)
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=fix)
    if os.path.exists(path):
        log.warning("could not remove the sandbox work dir %s", path)
