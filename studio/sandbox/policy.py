"""What a sandbox child may see and use: its profile (the limits fixed at start), paths, modules and command line."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import py_compile
import shutil
import struct
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from studio.core.code import DIFY_SANDBOX_MODULES, CodeLanguage, CodeLimits

HERE = Path(__file__).resolve().parent
CHILD_PY, CHILD_JS = HERE / "child.py", HERE / "child.js"
UID_BASE = 1_000_000_000  # root children become uid UID_BASE + pid: unused, and one per child
NODE_THREADS = 12  # V8 platform workers, libuv pool and helpers that Node starts by itself

# Standard-library modules that user code may not import: they exist to escape (processes, native calls,
# interpreter internals). Their use is refused by the kernel layers anyway; this makes the error clear.
FORBIDDEN_PYTHON = ("ctypes", "_ctypes", "subprocess", "_posixsubprocess", "multiprocessing", "_multiprocessing",
                    "pty", "_testcapi", "_testinternalcapi", "_testbuffer", "_testmultiphase", "_testclinic",
                    "_testimportmultiple", "_xxsubinterpreters", "_xxtestfuzz", "_ctypes_test", "test", "idlelib",
                    "ensurepip", "venv", "tkinter", "turtle", "turtledemo", "webbrowser", "_posixshmem")
NETWORK_PYTHON = ("socket", "_socket", "ssl", "_ssl")
JS_MODULES = ("assert", "buffer", "crypto", "events", "fs", "path", "querystring", "string_decoder", "stream",
              "timers", "url", "util", "zlib", "os")
JS_NETWORK_MODULES = ("http", "https", "net", "tls", "dns")
SYSTEM_LIBS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/etc/ld.so.cache")
HARMLESS = ("/dev/urandom", "/dev/random", "/dev/zero", "/usr/share/zoneinfo", "/etc/localtime")
NETWORK_FILES = ("/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf",
                 "/etc/services", "/etc/protocols", "/etc/ssl", "/etc/ca-certificates", "/usr/share/ca-certificates",
                 "/etc/pki", "/run/systemd/resolve")


@dataclass(frozen=True)
class Profile:
    """Everything fixed when a child starts; warm children are pooled per profile."""

    language: CodeLanguage
    network: bool
    memory_mb: int
    max_threads: int
    max_open_files: int
    max_file_size_mb: int
    disk_quota_mb: int
    cpu_time_s: int
    modules: tuple[str, ...]

    @classmethod
    def of(cls, language: CodeLanguage, network: bool, limits: CodeLimits, modules: tuple[str, ...]) -> Profile:
        return cls(language, network, limits.memory_mb, limits.max_threads, limits.max_open_files,
                   limits.max_file_size_mb, limits.disk_quota_mb, limits.cpu_time_s, modules)


def default_python_modules() -> tuple[str, ...]:
    """Dify's sandbox packages that are installed here."""
    return tuple(m for m in DIFY_SANDBOX_MODULES if module_dir(m))


@functools.lru_cache(maxsize=64)
def module_dir(name: str) -> str | None:
    """The directory to put on the child's sys.path for a third-party module, without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return None
    if spec.submodule_search_locations:
        return str(Path(next(iter(spec.submodule_search_locations))).resolve().parent)
    return str(Path(spec.origin).resolve().parent)


@functools.lru_cache(maxsize=1)
def stdlib_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple(dict.fromkeys(str(Path(paths[k]).resolve()) for k in ("stdlib", "platstdlib")))


@functools.lru_cache(maxsize=1)
def node_binary() -> tuple[str, str] | tuple[None, str]:
    """(path, version) of Node.js, or (None, why not)."""
    node = shutil.which("node")
    if not node:
        return None, "Node.js is not installed: `node` is not on the PATH, so JavaScript code nodes cannot run"
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"Node.js at {node} does not run: {exc}"
    major = int(version.lstrip("v").split(".")[0] or 0) if version.lstrip("v")[:1].isdigit() else 0
    if major < 20:
        return None, f"Node.js {version} at {node} is too old: the sandbox needs Node.js 20 or newer"
    return str(Path(node).resolve()), version


def elf_interpreter(binary: str) -> str | None:
    """The dynamic loader an ELF executable names (PT_INTERP); exec needs the right to run it too."""
    try:
        with open(binary, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit ELF only
                return None
            phoff, = struct.unpack_from("<Q", head, 0x20)
            phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
            for i in range(phnum):
                f.seek(phoff + i * phentsize)
                p_type, _, p_offset, _, _, p_filesz = struct.unpack("<IIQQQQ", f.read(40))
                if p_type == 3:  # PT_INTERP
                    f.seek(p_offset)
                    return os.path.realpath(f.read(p_filesz).rstrip(b"\0").decode())
    except (OSError, struct.error, UnicodeDecodeError):
        return None
    return None


def _with_real(paths) -> list[str]:
    """Each path and, for symlinks such as /lib → /usr/lib, its target (the audit hook compares strings)."""
    out: list[str] = []
    for p in paths:
        if os.path.exists(p):
            out += [p, os.path.realpath(p)]
    return list(dict.fromkeys(out))


def child_config(profile: Profile, tmp: str, result_fd: int, limits: CodeLimits) -> dict:
    """The JSON the child receives on its command line (no secrets: paths and limits only)."""
    node, _ = node_binary() if profile.language == CodeLanguage.JAVASCRIPT else (None, "")
    extra = [d for d in dict.fromkeys(module_dir(m) for m in profile.modules) if d]
    read = [*stdlib_dirs(), *SYSTEM_LIBS, *HARMLESS, *extra, *(NETWORK_FILES if profile.network else ())]
    execute: list[str] = []
    if node:
        read.append(str(CHILD_JS))
        execute += [p for p in (node, elf_interpreter(node)) if p]
    nproc = profile.max_threads + (NODE_THREADS if node else 0)
    forbidden = FORBIDDEN_PYTHON + (() if profile.network else NETWORK_PYTHON)
    js_modules = JS_MODULES + (JS_NETWORK_MODULES if profile.network else ())
    return {
        "language": profile.language.value, "tmp": tmp, "result_fd": result_fd, "network": profile.network,
        "uid_base": UID_BASE, "read": _with_real(read), "write": [tmp, "/dev/null"], "execute": execute,
        "allow_exec": bool(node), "node": node, "node_flags": node_flags(profile, tmp) if node else [],
        "limits": {"memory_mb": profile.memory_mb, "nproc": nproc, "max_open_files": profile.max_open_files,
                   "max_file_size_mb": profile.max_file_size_mb, "disk_quota_mb": profile.disk_quota_mb,
                   "cpu_time_s": profile.cpu_time_s, "max_depth": limits.max_depth},
        "allowed_modules": list(js_modules if node else profile.modules), "forbidden_modules": list(forbidden),
        "sys_path": extra, "stdlib": list(stdlib_dirs()),
    }


def node_flags(profile: Profile, tmp: str) -> list[str]:
    return ["--experimental-permission", f"--allow-fs-read={CHILD_JS}", f"--allow-fs-read={tmp}/",
            f"--allow-fs-write={tmp}/", "--no-warnings", "--no-addons", "--v8-pool-size=2",
            f"--max-old-space-size={max(16, profile.memory_mb // 2)}"]


def precompile() -> None:
    """Write the bytecode of the modules the child loads by path, so each child skips compiling them."""
    for name in ("confine", "syscalls", "guard"):
        source = HERE / f"{name}.py"
        cached = Path(importlib.util.cache_from_source(str(source)))
        try:
            if not cached.exists() or cached.stat().st_mtime < source.stat().st_mtime:
                py_compile.compile(str(source), doraise=True)
        except (OSError, py_compile.PyCompileError):
            pass  # a read-only install: children compile in memory, a few milliseconds slower


def command(cfg: dict) -> list[str]:
    """Isolated mode (-I: no environment, no user site, no script dir on sys.path), no site, no bytecode."""
    python = sys.executable
    return [python, "-I", "-S", "-B", "-X", "utf8", str(CHILD_PY), json.dumps(cfg, separators=(",", ":"))]
