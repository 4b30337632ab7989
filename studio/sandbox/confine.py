"""Stdlib-only confinement of a sandbox child, applied to itself before it reads any user code."""

# This file runs inside the sandbox child (loaded by path): it must import the standard library only.
from __future__ import annotations

import importlib.util
import os
import resource
import sys

MB = 1 << 20
# Where personal data lives; the child sees these as empty (except runtime paths inside them).
HIDDEN = ("/home", "/root", "/tmp", "/var", "/run", "/mnt", "/media", "/srv", "/opt", "/etc", "/dev/shm", "/dev/pts",
          "/proc")


def _load_syscalls():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "syscalls.py")
    spec = importlib.util.spec_from_file_location("_sandbox_syscalls", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def apply(cfg: dict) -> tuple[list[str], list[str]]:
    """Apply every layer that this machine offers, strongest last; return (layers in force, problems).

    Resource limits and (for root) the privilege drop are mandatory: if they fail this raises."""
    sc = _load_syscalls()
    skip = set(cfg.get("skip", ()))  # tests switch layers off to prove that each remaining one holds
    layers: list[str] = []
    problems: list[str] = []
    set_rlimits(cfg)
    layers.append("rlimits")
    root = os.geteuid() == 0
    names = None if "namespaces" in skip else _step(layers, problems, lambda: enter_namespaces(cfg, sc, root=root))
    if names and "mountns" in names and "view" not in skip:
        _step(layers, problems, lambda: build_view(cfg, sc))
    if root:
        layers.append(f"uid-{drop_root(cfg, sc)}")
    _step(layers, problems, lambda: set_nproc(cfg, own_uid=root or bool(names and "userns" in names)))
    if "landlock" not in skip:
        _step(layers, problems, lambda: sc.landlock(cfg["read"], cfg["write"], cfg["execute"],
                                                    network=cfg["network"]))
    if "seccomp" not in skip:
        _step(layers, problems, lambda: sc.seccomp(allow_exec=cfg["allow_exec"], network=cfg["network"]))
    return layers, problems


def _step(layers: list[str], problems: list[str], fn) -> list[str] | str | None:
    try:
        got = fn()
    except OSError as exc:
        problems.append(str(exc))
        return None
    if isinstance(got, str):
        layers.append(got)
    elif got:
        layers.extend(got)
    return got


def set_rlimits(cfg: dict) -> None:
    """Memory, file size, open files, CPU (Python resets it per run) and no core dumps; processes come later."""
    lim = cfg["limits"]
    memory = lim["memory_mb"] * MB
    # V8 reserves address space it never touches (WebAssembly guard regions alone take ~10 GB), so Node is held
    # by RLIMIT_DATA (private writable memory) and its heap flag instead of by the address space.
    address_space = memory if cfg["language"] == "python3" else resource.RLIM_INFINITY
    for res, value in ((resource.RLIMIT_CORE, 0), (resource.RLIMIT_AS, address_space), (resource.RLIMIT_DATA, memory),
                       (resource.RLIMIT_FSIZE, lim["max_file_size_mb"] * MB),
                       (resource.RLIMIT_NOFILE, lim["max_open_files"]), (resource.RLIMIT_MEMLOCK, 0)):
        try:
            resource.setrlimit(res, (value, value))
        except (OSError, ValueError):
            if sys.platform.startswith("linux"):  # elsewhere some of these do not exist (macOS: AS, MEMLOCK)
                raise
    if cfg["language"] != "python3":  # Node cannot set it per run: allow its own start-up on top
        cpu = lim["cpu_time_s"] + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def drop_root(cfg: dict, sc) -> int:
    """Root is exempt from RLIMIT_NPROC and passes every file permission: become an unused uid of our own."""
    uid = cfg["uid_base"] + os.getpid()
    os.chown(cfg["tmp"], uid, uid)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.geteuid() == 0 or os.getuid() == 0:
        raise RuntimeError("could not drop root privileges")
    return uid


def enter_namespaces(cfg: dict, sc, *, root: bool) -> list[str]:
    """No network, private IPC and mounts; for a normal user through a user namespace (root needs none)."""
    net = 0 if cfg["network"] or "netns" in cfg.get("skip", ()) else sc.CLONE_NEWNET
    uid, gid = os.getuid(), os.getgid()
    user = 0 if root else sc.CLONE_NEWUSER
    try:
        sc.unshare(user | sc.CLONE_NEWNS | sc.CLONE_NEWIPC | net)
        names = ["mountns", "ipcns"]
    except OSError:
        sc.unshare(user | net)  # some systems refuse mount namespaces to unprivileged users
        names = []
    if net:
        names.append("netns")
    if user:
        names.insert(0, "userns")
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    return names


def build_view(cfg: dict, sc) -> list[str]:
    """Hide the places personal data lives behind empty tmpfs mounts, bring back only the runtime paths
    under them (read-only copies of their mounts), and put the work dir on a size-capped tmpfs."""
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE, None)
    needed = [p for p in dict.fromkeys(cfg["read"] + cfg["execute"]) if os.path.exists(p)]
    hidden = [h for h in HIDDEN if os.path.isdir(h) and not os.path.islink(h) and h not in needed]
    keep: list[str] = []
    for path in sorted(p for p in needed if _under(p, hidden)):
        if not any(_under(path, [k]) for k in keep):
            keep.append(path)
    trees = [(path, os.path.isdir(path), sc.clone_tree(path)) for path in keep]
    flags = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC
    for path in hidden:
        sc.mount("tmpfs", path, "tmpfs", flags, "size=1m,nr_inodes=1024,mode=0755")
    for path, is_dir, fd in trees:
        os.makedirs(path if is_dir else os.path.dirname(path), mode=0o755, exist_ok=True)
        if not is_dir:
            open(path, "a").close()
        sc.attach_tree(fd, path)
        os.close(fd)
    os.makedirs(cfg["tmp"], mode=0o700, exist_ok=True)
    for path in hidden:
        try:
            sc.mount(None, path, None, sc.MS_REMOUNT | sc.MS_RDONLY | flags, None)
        except OSError:
            pass  # read-only is a nicety: nothing of value is in there, and Landlock refuses writes
    quota = cfg["limits"]["disk_quota_mb"]
    sc.mount("tmpfs", cfg["tmp"], "tmpfs", flags, f"size={quota}m,nr_inodes=4096,mode=0700")
    os.chdir(cfg["tmp"])  # the old working directory is the one under the new mounts
    return ["fs-view", f"tmpfs-{quota}m"]


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def set_nproc(cfg: dict, *, own_uid: bool) -> str:
    """Threads and processes both count. In a user namespace (or as our own uid) only ours are counted;
    otherwise the limit sits just above what the user already runs."""
    limit = cfg["limits"]["nproc"]
    if not own_uid:
        limit += _tasks_of(os.getuid())
    resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    return "nproc"


def _tasks_of(uid: int) -> int:
    count = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if status.get("Uid", "").split()[:1] == [str(uid)]:
            count += int(status.get("Threads", "1"))
    return count
