"""Stdlib-only last layer inside the Python child: an audit hook and an import guard that turn policy breaches
into clear errors. Determined code can get around this layer; the kernel layers below it still hold."""

# This file runs inside the sandbox child (loaded by path): it must import the standard library only.
from __future__ import annotations

import os
import posixpath
import sys

SPAWN_EVENTS = frozenset({"os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                          "subprocess.Popen", "pty.spawn", "os.startfile"})
NET_EVENTS = frozenset({"socket.bind", "socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
                        "socket.gethostbyname_ex", "socket.gethostbyaddr", "socket.getnameinfo", "socket.sendto",
                        "socket.sendmsg", "socket.sethostname", "urllib.Request"})
INTROSPECTION_EVENTS = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents", "code.__new__",
                                  "sys._current_frames"})
SIGNAL_EVENTS = frozenset({"os.kill", "os.killpg", "signal.pthread_kill", "resource.prlimit"})
WRITE_EVENTS = frozenset({"os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate", "os.utime",
                          "os.link", "os.rename", "os.symlink", "shutil.chown", "shutil.copyfile", "shutil.rmtree",
                          "shutil.move", "shutil.copytree", "shutil.make_archive", "shutil.unpack_archive"})
READ_EVENTS = frozenset({"os.listdir", "os.scandir", "os.chdir", "glob.glob", "os.walk", "os.fwalk"})
IMPORT_MACHINERY = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>",
                    posixpath.join("importlib", "__init__.py"))
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class SandboxDenied(PermissionError):
    """Raised where the sandbox policy refuses an operation; `kind` names the rule for the node trace."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class ModuleNotAllowed(ImportError):
    kind = "module"


SandboxDenied.__module__ = ModuleNotAllowed.__module__ = "builtins"  # tracebacks say "SandboxDenied: ..."


def install(cfg: dict, user_globals: dict) -> None:
    """Add the audit hook (process-wide, permanent) and give the user's code a guarded `__import__`."""
    policy = _Policy(cfg)
    sys.addaudithook(policy.hook)
    sys.meta_path.insert(0, _ImportGate(policy))
    builtins = dict(user_globals["__builtins__"].__dict__ if hasattr(user_globals["__builtins__"], "__dict__")
                    else user_globals["__builtins__"])
    real_import = builtins["__import__"]

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0:
            policy.check_module(name)
        return real_import(name, globals, locals, fromlist, level)

    builtins["__import__"] = guarded_import
    user_globals["__builtins__"] = builtins


class _Policy:
    def __init__(self, cfg: dict) -> None:
        self.tmp = cfg["tmp"]
        self.read = tuple(cfg["read"]) + tuple(cfg["write"])
        self.write = tuple(cfg["write"])
        self.network = cfg["network"]
        self.forbidden = frozenset(cfg["forbidden_modules"])
        self.allowed = frozenset(cfg["allowed_modules"])
        self.stdlib = frozenset(sys.stdlib_module_names)
        self.stdlib_dirs = tuple(d.rstrip("/") + "/" for d in cfg.get("stdlib", ()))
        self.pid = os.getpid()
        self.getframe, self.realpath, self.abspath = sys._getframe, posixpath.realpath, posixpath.abspath

    def check_module(self, name: str) -> None:
        top = name.partition(".")[0]
        if top in self.allowed or (top in self.stdlib and top not in self.forbidden):
            return
        if top in self.stdlib:
            why = "it can escape the sandbox" if top not in ("socket", "_socket", "ssl", "_ssl") else \
                "this code node has no network access"
            raise ModuleNotAllowed(f"import of '{name}' is not allowed in a code node: {why}")
        raise ModuleNotAllowed(f"import of '{name}' is not allowed in a code node: it is not installed or not on "
                               "the allowed module list (Settings → sandbox_python_modules)")

    def hook(self, event: str, args: tuple) -> None:
        if event == "open":
            self._check_path(args[0], self._writes(args[1], args[2]))
        elif event.startswith("ctypes."):
            if self._from_user_code():  # an allowed package (numpy...) may use ctypes for itself
                raise SandboxDenied("subprocess", "ctypes is not allowed in a code node")
        elif event in SPAWN_EVENTS:
            raise SandboxDenied("subprocess", f"starting processes is not allowed in a code node ({event})")
        elif event == "socket.__new__":
            if not self.network and args[1] != getattr(sys.modules.get("socket"), "AF_UNIX", 1):
                raise SandboxDenied("network", "network access is disabled for this code node")
        elif event in NET_EVENTS:
            if not self.network or (event == "socket.connect" and isinstance(args[1], (str, bytes))):
                raise SandboxDenied("network", "network access is disabled for this code node")
        elif event in INTROSPECTION_EVENTS:
            raise SandboxDenied("introspection", f"{event} is not allowed in a code node")
        elif event in SIGNAL_EVENTS:
            if args and args[0] not in (0, self.pid):
                raise SandboxDenied("subprocess", "signals and limits for other processes are not allowed")
        elif event in WRITE_EVENTS:
            for path in args[:2]:
                if isinstance(path, (str, bytes, os.PathLike)):
                    self._check_path(path, True)
        elif event in READ_EVENTS:
            if args and isinstance(args[0], (str, bytes, os.PathLike)):
                self._check_path(args[0], False)

    @staticmethod
    def _writes(mode, flags) -> bool:
        if isinstance(mode, str) and any(c in mode for c in "wax+"):
            return True
        return isinstance(flags, int) and bool(flags & WRITE_FLAGS)

    def _check_path(self, path, write: bool) -> None:
        if isinstance(path, int):
            return  # an open file descriptor: it was checked when it was opened
        path = os.fsdecode(os.fspath(path))
        full = self.abspath(path)
        if full == self.tmp or full.startswith(self.tmp + "/"):
            full = self.realpath(full)  # a symlink inside the work dir may point anywhere
        allowed = self.write if write else self.read
        for root in allowed:
            if full == root or full.startswith(root.rstrip("/") + "/"):
                return
        verb = "write" if write else "read"
        raise SandboxDenied("filesystem", f"a code node may not {verb} {path} (only its temporary directory "
                                          "and the language runtime are visible)")

    def _from_user_code(self) -> bool:
        """Is the nearest caller outside the standard library the user's code (not an allowed package)?"""
        frame = self.getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if name == "<code>":
                return True
            if not (name.startswith(self.stdlib_dirs) or name.startswith("<frozen ")):
                return False
            frame = frame.f_back
        return True

    def check_import(self, name: str) -> None:
        """An import that reached the finders (not cached): refuse it only when user code asked for it."""
        frame = self.getframe(2)
        while frame is not None and frame.f_code.co_filename.endswith(IMPORT_MACHINERY):
            frame = frame.f_back
        if frame is not None and frame.f_code.co_filename == "<code>":
            self.check_module(name)


class _ImportGate:
    """First on sys.meta_path, so `importlib.import_module` (which raises no audit event) is checked too."""

    def __init__(self, policy: _Policy) -> None:
        self.policy = policy

    def find_spec(self, name, path=None, target=None):
        self.policy.check_import(name)
        return None  # let the real finders find it
