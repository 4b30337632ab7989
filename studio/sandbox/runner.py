"""The sandbox runner: runs code-node code in confined child processes, from a warm pool, and reports a CodeResult."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections import OrderedDict

from studio.core.code import CodeLanguage, CodeLimits, CodeRequest, CodeResult, LanguageInfo
from studio.sandbox.policy import Profile, default_python_modules, module_dir, node_binary, precompile
from studio.sandbox.pool import WarmPool
from studio.sandbox.process import Child
from studio.sandbox.report import build_result

log = logging.getLogger(__name__)
MAX_PROFILES = 3
ROOT_PREFIX = "studio-sandbox-"  # + the owning process id, so that leftovers of a crash can be recognised
WINDOWS = "Code nodes cannot run on Windows yet: the sandbox needs Linux or macOS (on Windows, run Studio in WSL)"


class SandboxRunner:
    """Implements the CodeExecutor port. Thread-safe: parallel workflow branches may run code at once."""

    def __init__(self, limits: CodeLimits | None = None, python_modules: tuple[str, ...] | None = None,
                 pool_size: int = 2) -> None:
        self.limits = limits or CodeLimits()
        self.python_modules = default_python_modules() if python_modules is None else \
            tuple(m for m in python_modules if module_dir(m))
        self.pool_size = pool_size
        self._pools: OrderedDict[Profile, WarmPool] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False
        self._work_root: str | None = None
        precompile()

    def languages(self) -> list[LanguageInfo]:
        node, detail = node_binary()
        version = sys.version.split()[0]
        if os.name != "posix":
            return [LanguageInfo(language=lang, available=False, detail=WINDOWS) for lang in CodeLanguage]
        return [LanguageInfo(language=CodeLanguage.PYTHON3, available=True, version=version, detail=sys.executable),
                LanguageInfo(language=CodeLanguage.JAVASCRIPT, available=node is not None,
                             version=detail if node else "", detail=node or detail)]

    @property
    def work_root(self) -> str:
        """Where the children's work dirs live, one root per runner (made on first use, gone after close());
        others may pass through it (0711) but not list it."""
        with self._lock:
            if self._work_root is None and not self._closed:
                _remove_stale_roots()
                self._work_root = tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{os.getpid()}-")
                os.chmod(self._work_root, 0o711)
            return self._work_root or ""

    def run(self, request: CodeRequest) -> CodeResult:
        """Run `main(**inputs)` in a fresh confined child; never raises for anything the code does."""
        limits = request.limits or self.limits
        if os.name != "posix":
            return _failed(WINDOWS)
        if request.language == CodeLanguage.JAVASCRIPT and node_binary()[0] is None:
            return _failed(node_binary()[1])
        try:
            payload = json.dumps({"code": request.code, "inputs": request.inputs,
                                  "cpu_time_s": limits.cpu_time_s}, ensure_ascii=False).encode()
        except (TypeError, ValueError) as exc:
            return _failed(f"The node's inputs are not JSON serializable: {exc}")
        modules = self.python_modules if request.language == CodeLanguage.PYTHON3 else ()
        profile = Profile.of(request.language, request.allow_network, limits, modules)
        pool = self._pool(profile) if self.pool_size > 0 else None
        child = pool.take() if pool is not None else None
        if child is None:
            try:
                child = Child(profile, limits, None if self._closed else self.work_root)  # closed: system tmp
            except OSError as exc:
                log.exception("could not start a sandbox child")
                return _failed(f"Code execution service is unavailable: {exc}")
        outcome = child.run(payload, limits.wall_time_s, limits)
        if pool is not None:
            pool.refill()  # now, not before the run: a child starting up would compete with it for the CPU
        try:
            result = build_result(outcome, request, limits)
        except Exception:  # a bug here must not reach the workflow engine as an exception
            log.exception("could not interpret a sandbox run")
            return _failed("Code execution failed: the sandbox could not read the result")
        log.debug("code node ran in %.1f ms (ok=%s, limit=%s)", result.duration_ms, result.ok, result.limit)
        return result

    def warm(self, language: CodeLanguage = CodeLanguage.PYTHON3, allow_network: bool = False,
             wait_s: float = 0.0) -> bool:
        """Start filling the pool for the default profile now, so the first run is fast too; with `wait_s`,
        wait until a child is ready. True when one is."""
        if self.pool_size <= 0:
            return False
        modules = self.python_modules if language == CodeLanguage.PYTHON3 else ()
        pool = self._pool(Profile.of(language, allow_network, self.limits, modules))
        if pool is None:
            return False
        pool.refill()
        return pool.wait_ready(1, wait_s) if wait_s > 0 else False

    def configure(self, limits: CodeLimits | None = None, python_modules: tuple[str, ...] | None = None,
                  pool_size: int | None = None) -> None:
        """New defaults apply to the next run; children warmed for the old ones are stopped."""
        if limits is not None:
            self.limits = limits
        if python_modules is not None:
            self.python_modules = tuple(m for m in python_modules if module_dir(m))
        if pool_size is not None:
            self.pool_size = pool_size
        with self._lock:
            pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            pool.close()

    def _pool(self, profile: Profile) -> WarmPool | None:
        retired = []
        with self._lock:
            if self._closed:
                return None  # after close() every run starts its own child
            pool = self._pools.get(profile)
            if pool is None:
                pool = self._pools[profile] = WarmPool(lambda: Child(profile, self.limits, self.work_root),
                                                       self.pool_size)
                while len(self._pools) > MAX_PROFILES:
                    retired.append(self._pools.popitem(last=False)[1])
            self._pools.move_to_end(profile)
        for old in retired:
            old.close()
        return pool

    def close(self) -> None:
        """Kill every idle child and remove their work dirs; safe to call twice."""
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            pool.close()
        if self._work_root is not None:
            shutil.rmtree(self._work_root, ignore_errors=True)


def _remove_stale_roots() -> None:
    """Work roots of Studio processes that died without closing their runner (a crash, kill -9)."""
    tmp = tempfile.gettempdir()
    for name in os.listdir(tmp):
        pid = name[len(ROOT_PREFIX):].partition("-")[0] if name.startswith(ROOT_PREFIX) else ""
        path = os.path.join(tmp, name)
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            if os.lstat(path).st_uid == os.geteuid():
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _failed(error: str) -> CodeResult:
    return CodeResult(ok=False, error=error, error_type="CodeExecutionError")
