"""Stdlib-only kernel filters for the sandbox child: a Landlock ruleset and a seccomp-BPF filter through ctypes."""

# This file runs inside the sandbox child (loaded by path): it must import the standard library only.
from __future__ import annotations

import ctypes
import os
import struct
import sys

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
if hasattr(_libc, "prctl"):  # Linux only
    _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

# ---------------------------------------------------------------- Landlock (include/uapi/linux/landlock.h)
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
TRUNCATE, IOCTL_DEV = 1 << 14, 1 << 15
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the rights a rule on a file may carry
FS_BITS_BY_ABI = {1: 13, 2: 14, 3: 15, 4: 15, 5: 16}  # ABI 6 and later add no filesystem right
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
RULE_PATH_BENEATH = 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


LINUX = sys.platform.startswith("linux")


def _linux_only(what: str) -> None:
    if not LINUX:  # the syscall numbers below mean other things elsewhere: never call them
        raise OSError(f"{what} is a Linux feature")


def _errno_error(what: str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"{what}: {os.strerror(err)}")


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is missing or disabled."""
    if not LINUX:
        return 0
    version = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(0, int(version))


def landlock(read: list[str], write: list[str], execute: list[str], *, network: bool) -> str:
    """Allow reading `read`, everything under `write`, running `execute`; deny the rest (and TCP without network)."""
    abi = landlock_abi()
    if abi < 1:
        raise OSError("Landlock is not available in this kernel")
    handled = (1 << FS_BITS_BY_ABI.get(abi, 16)) - 1
    attr = _RulesetAttr(fs=handled)
    size = 8
    if abi >= 4:
        attr.net = NET_BIND_TCP | (0 if network else NET_CONNECT_TCP)
        size = 16
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 24
    ruleset = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise _errno_error("landlock_create_ruleset")
    try:
        for paths, rights in ((read, READ_FILE | READ_DIR), (execute, READ_FILE | EXECUTE),
                              (write, handled & ~((1 << 6) | (1 << 11)))):  # never device nodes
            for path in paths:
                _landlock_rule(ruleset, path, rights & handled)
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise _errno_error("prctl(NO_NEW_PRIVS)")
        if _libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise _errno_error("landlock_restrict_self")
    finally:
        os.close(ruleset)
    return f"landlock-abi{abi}" + ("+net" if abi >= 4 else "") + ("+scope" if abi >= 6 else "")


def _landlock_rule(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path this machine does not have needs no rule
    try:
        if not os.path.isdir(path):
            rights &= FILE_RIGHTS
        rule = struct.pack("=Qi", rights, fd)  # struct landlock_path_beneath_attr is packed
        buf = ctypes.create_string_buffer(rule, len(rule))
        if _libc.syscall(SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH),
                         buf, ctypes.c_uint32(0)) != 0:
            raise _errno_error(f"landlock_add_rule({path})")
    finally:
        os.close(fd)


# ---------------------------------------------------------------- seccomp-BPF (include/uapi/linux/seccomp.h)
ARCHES = {"x86_64": (0xC000003E, 0), "aarch64": (0xC00000B7, 1)}  # AUDIT_ARCH_*, column in SYSCALLS
# Syscalls the child never needs, as (x86_64, aarch64) numbers; None where the architecture lacks one.
SYSCALLS = {
    "fork": (57, None), "vfork": (58, None),
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271), "kcmp": (312, 272),
    "pidfd_getfd": (438, 438), "pidfd_send_signal": (424, 424), "pidfd_open": (434, 434),
    "tkill": (200, 130), "rt_sigqueueinfo": (129, 138), "rt_tgsigqueueinfo": (297, 240),
    "unshare": (272, 97), "setns": (308, 268), "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41),
    "chroot": (161, 51), "open_tree": (428, 428), "move_mount": (429, 429), "fsopen": (430, 430),
    "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433), "mount_setattr": (442, 442),
    "bpf": (321, 280), "perf_event_open": (298, 241), "userfaultfd": (323, 282), "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426), "io_uring_register": (427, 427), "keyctl": (250, 219), "add_key": (248, 217),
    "request_key": (249, 218), "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "kexec_load": (246, 104), "kexec_file_load": (320, 294), "reboot": (169, 142), "swapon": (167, 224),
    "swapoff": (168, 225), "acct": (163, 89), "quotactl": (179, 60), "quotactl_fd": (443, 443),
    "syslog": (103, 116), "settimeofday": (164, 170), "clock_settime": (227, 112), "adjtimex": (159, 171),
    "clock_adjtime": (305, 266), "sethostname": (170, 161), "setdomainname": (171, 162), "iopl": (172, None),
    "ioperm": (173, None), "personality": (135, 92), "name_to_handle_at": (303, 264),
    "open_by_handle_at": (304, 265), "setsid": (112, 157), "setpgid": (109, 154), "setpriority": (141, 140),
    "sched_setscheduler": (144, 119), "sched_setparam": (142, 118), "sched_setattr": (314, 274),
    "ioprio_set": (251, 30), "migrate_pages": (256, 238), "move_pages": (279, 239),
    "process_madvise": (440, 440), "process_mrelease": (448, 448), "uselib": (134, None), "mknod": (133, None),
    "mknodat": (259, 33), "vhangup": (153, 58), "lookup_dcookie": (212, 18), "nfsservctl": (180, 42),
    "memfd_secret": (447, 447), "fanotify_init": (300, 262),
}
EXEC_SYSCALLS = {"execve": (59, 221), "execveat": (322, 281)}
# Allowed only when their first argument (a pid) is this process or 0 (itself / its own group).
SELF_ONLY = {"kill": (62, 129), "tgkill": (234, 131), "prlimit64": (302, 261), "sched_setaffinity": (203, 122)}
CLONE, CLONE3, SOCKET, IOCTL = (56, 220), (435, 435), (41, 198), (16, 29)
CLONE_THREAD, AF_INET, AF_INET6 = 0x00010000, 2, 10
TIOCSTI, TIOCLINUX = 0x5412, 0x541C  # type into a terminal; drive the console
OFF_ARG1 = 24
EPERM, EACCES, ENOSYS = 1, 13, 38

RET_ALLOW, RET_KILL_PROCESS, RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
OFF_NR, OFF_ARCH, OFF_ARG0 = 0, 4, 16  # struct seccomp_data; the low 32 bits of args[0] on little-endian


def _ins(code: int, k: int, jt: int = 0, jf: int = 0) -> tuple[int, int, int, int]:
    return (code, jt, jf, k & 0xFFFFFFFF)


def _deny(errno: int) -> tuple:
    return _ins(RET_K, RET_ERRNO | errno)


def seccomp_program(*, allow_exec: bool, network: bool, pid: int, machine: str | None = None) -> list[tuple]:
    """A deny-list filter: no new processes, no exec (unless allowed), no sockets (unless network), no
    signals or rlimit changes aimed at other processes, and none of the kernel's admin and escape hatches."""
    arch, col = ARCHES[machine or os.uname().machine]
    prog = [_ins(LD_W_ABS, OFF_ARCH), _ins(JEQ_K, arch, 1, 0), _ins(RET_K, RET_KILL_PROCESS), _ins(LD_W_ABS, OFF_NR)]
    if col == 0:  # the x32 ABI shares the architecture token; refuse all of it
        prog += [_ins(JGE_K, 0x40000000, 0, 1), _deny(EPERM)]

    def rule(nr: int | None, block: list[tuple]) -> None:
        if nr is not None:
            prog.extend([_ins(JEQ_K, nr, 0, len(block)), *block])

    for numbers in SYSCALLS.values():
        rule(numbers[col], [_deny(EPERM)])
    if not allow_exec:
        for numbers in EXEC_SYSCALLS.values():
            rule(numbers[col], [_deny(EPERM)])
    rule(CLONE[col], [_ins(LD_W_ABS, OFF_ARG0), _ins(JSET_K, CLONE_THREAD, 1, 0), _deny(EPERM), _ins(RET_K, RET_ALLOW)])
    rule(CLONE3[col], [_deny(ENOSYS)])  # glibc then falls back to clone(), whose flags we can see
    rule(IOCTL[col], [_ins(LD_W_ABS, OFF_ARG1), _ins(JEQ_K, TIOCSTI, 2, 0), _ins(JEQ_K, TIOCLINUX, 1, 0),
                      _ins(RET_K, RET_ALLOW), _deny(EPERM)])
    for numbers in SELF_ONLY.values():
        rule(numbers[col], [_ins(LD_W_ABS, OFF_ARG0), _ins(JEQ_K, pid, 2, 0), _ins(JEQ_K, 0, 1, 0), _deny(EPERM),
                            _ins(RET_K, RET_ALLOW)])
    if network:
        rule(SOCKET[col], [_ins(LD_W_ABS, OFF_ARG0), _ins(JEQ_K, AF_INET, 2, 0), _ins(JEQ_K, AF_INET6, 1, 0),
                           _deny(EACCES), _ins(RET_K, RET_ALLOW)])
    else:
        rule(SOCKET[col], [_deny(EACCES)])
    prog.append(_ins(RET_K, RET_ALLOW))
    return prog


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def seccomp(*, allow_exec: bool, network: bool) -> str:
    """Install the filter on this (still single-threaded) process; it survives exec and binds every thread."""
    _linux_only("seccomp")
    if os.uname().machine not in ARCHES:
        raise OSError(f"no seccomp syscall table for {os.uname().machine}")
    prog = seccomp_program(allow_exec=allow_exec, network=network, pid=os.getpid())
    raw = b"".join(struct.pack("=HBBI", *ins) for ins in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))
    fprog = _SockFprog(len(prog), ctypes.cast(buf, ctypes.c_void_p))
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _errno_error("prctl(NO_NEW_PRIVS)")
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
        raise _errno_error("prctl(SECCOMP)")
    return "seccomp"


# ---------------------------------------------------------------- namespaces and mounts
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x08000000, 0x10000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 0x4000, 1 << 18
PR_SET_DUMPABLE = 4


def unshare(flags: int) -> None:
    _linux_only("unshare")
    if _libc.unshare(ctypes.c_int(flags)) != 0:
        raise _errno_error("unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    _linux_only("mount")

    def enc(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    if _libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        raise _errno_error(f"mount({target})")


def set_dumpable() -> None:
    """After a uid change the kernel makes /proc/self root-owned; the uid map must still be writable."""
    if LINUX:
        _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)


SYS_OPEN_TREE, SYS_MOVE_MOUNT = 428, 429  # the same numbers on x86_64 and aarch64
OPEN_TREE_CLONE, AT_RECURSIVE, MOVE_MOUNT_F_EMPTY_PATH, AT_FDCWD = 1, 0x8000, 0x4, -100
MS_RDONLY, MS_REMOUNT, MS_BIND = 1, 32, 4096


def clone_tree(path: str) -> int:
    """A detached copy of the mount tree at `path`, to attach again after its parent has been hidden."""
    _linux_only("open_tree")
    fd = _libc.syscall(SYS_OPEN_TREE, ctypes.c_int(AT_FDCWD), path.encode(),
                       ctypes.c_uint(OPEN_TREE_CLONE | AT_RECURSIVE | os.O_CLOEXEC))
    if fd < 0:
        raise _errno_error(f"open_tree({path})")
    return int(fd)


def attach_tree(fd: int, target: str) -> None:
    if _libc.syscall(SYS_MOVE_MOUNT, ctypes.c_int(fd), b"", ctypes.c_int(AT_FDCWD), target.encode(),
                     ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH)) != 0:
        raise _errno_error(f"move_mount({target})")
