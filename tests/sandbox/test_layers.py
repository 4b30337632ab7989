"""Each kernel layer holds on its own: the Python guard (and other layers) are switched off and the attack
still fails. These are the layers that stop code which gets around the audit hook."""

from __future__ import annotations

import os
import time
from pathlib import Path
from textwrap import dedent

import studio

from studio.core.code import LimitKind
from studio.sandbox.confine import HIDDEN
from studio.sandbox.policy import UID_BASE
from tests.sandbox.support import LIMITS, group_members, run_child

NO_GUARD = {"guard": False}


def test_layers_in_force_here(run):
    layers = set(run("def main():\n    return {}\n").layers)
    assert {"rlimits", "nproc", "seccomp", "audit-hook"} <= layers
    # Landlock, namespaces and the private filesystem view are measured on this machine (kernel 6.x).
    assert any(x.startswith("landlock-abi") for x in layers)
    assert {"mountns", "netns", "ipcns", "fs-view"} <= layers
    assert ("userns" in layers) != (os.geteuid() == 0)  # root needs no user namespace: it drops to its own uid
    assert any(x.startswith("uid-") for x in layers) == (os.geteuid() == 0)


READ = "def main():\n    try:\n        return {{'data': open({path!r}).read()}}\n" \
       "    except OSError as exc:\n        return {{'errno': exc.errno}}\n"


def test_landlock_alone_refuses_reads_outside_the_allow_list():
    """Paths the private view leaves visible (it hides homes, /tmp, /etc, /proc...; not the app's own folder,
    /usr or /sys), so only Landlock stands between the code and them."""
    paths = ["/usr/bin/env", "/sys/kernel/mm/transparent_hugepage/enabled"]
    own = str(Path(studio.__file__).parent.parent / "pyproject.toml")
    if not own.startswith(tuple(h + "/" for h in HIDDEN)):  # a checkout under /tmp is hidden by the view instead
        paths.insert(0, own)
    for path in paths:
        result = run_child(READ.format(path=path), NO_GUARD)
        assert result.ok and result.outputs == {"errno": 13}, (path, result)  # EACCES from Landlock


def test_filesystem_view_alone_hides_homes_and_etc(victim):
    for path in ("/etc/passwd", str(victim.ssh_key), str(victim.db)):
        result = run_child(READ.format(path=path), {**NO_GUARD, "skip": ["landlock"]})
        assert result.ok and result.outputs == {"errno": 2}, (path, result)  # ENOENT: an empty tmpfs is there


def test_writes_outside_the_work_dir_fail_without_the_guard(victim):
    code = ("def main():\n    out = {}\n    for p in ('/tmp/pwned', %r, 'ok.txt'):\n        try:\n"
            "            open(p, 'a').write('x')\n            out[p] = 'written'\n        except OSError as e:\n"
            "            out[p] = e.errno\n    return {'r': out}\n") % str(victim.db)
    result = run_child(code, NO_GUARD)
    assert result.ok, result.error
    assert result.outputs["r"]["ok.txt"] == "written"
    assert result.outputs["r"]["/tmp/pwned"] != "written" and result.outputs["r"][str(victim.db)] != "written"
    assert not os.path.exists("/tmp/pwned")


SPAWN = "import os\ndef main():\n    try:\n        os.fork()\n    except OSError as exc:\n" \
        "        return {'errno': exc.errno}\n    os._exit(0)\n"


def test_seccomp_alone_refuses_fork_exec_and_sockets():
    assert run_child(SPAWN, NO_GUARD).outputs == {"errno": 1}  # EPERM
    code = dedent("""\
        import fcntl, os, socket, termios
        def main():
            out = {}
            try:
                os.execv('/bin/true', ['true'])
            except OSError as e:
                out['exec'] = e.errno
            try:
                fcntl.ioctl(0, termios.TIOCSTI, b'x')  # typing into a terminal: not even tried on a pipe
            except OSError as e:
                out['tiocsti'] = e.errno
            for fam in (socket.AF_INET, socket.AF_UNIX):
                try:
                    socket.socket(fam)
                except OSError as e:
                    out[fam.name] = e.errno
            return {'r': out}
        """)
    result = run_child(code, {**NO_GUARD, "skip": ["landlock"]})
    assert result.outputs == {"r": {"exec": 1, "tiocsti": 1, "AF_INET": 13, "AF_UNIX": 13}}


def test_ctypes_gets_nothing_the_kernel_refuses():
    code = ("import ctypes\ndef main():\n    libc = ctypes.CDLL(None, use_errno=True)\n"
            "    rc = libc.fork()\n    return {'rc': rc, 'errno': ctypes.get_errno()}\n")
    assert run_child(code, NO_GUARD).outputs == {"rc": -1, "errno": 1}


def test_no_network_even_with_sockets_allowed_by_seccomp():
    """The network namespace has no interfaces: connecting fails although socket() works (network profile off)."""
    code = ("import socket\ndef main():\n    s = socket.socket()\n    try:\n        s.connect(('1.1.1.1', 53))\n"
            "    except OSError as e:\n        return {'errno': e.errno}\n    return {'errno': 0}\n")
    result = run_child(code, {**NO_GUARD, "skip": ["seccomp", "landlock"]})
    assert result.outputs == {"errno": 101}  # ENETUNREACH
    result = run_child(code, {**NO_GUARD, "skip": ["seccomp", "netns"]})
    assert result.outputs == {"errno": 13}  # EACCES: Landlock's TCP rule, with the host's network in view


def test_rlimit_nproc_alone_contains_a_fork_bomb():
    """Seccomp off: a real fork bomb meets RLIMIT_NPROC (per uid), then the group is killed at the deadline."""
    bomb = "import os\ndef main():\n    while True:\n        try:\n            os.fork()\n        except OSError:\n" \
           "            pass\n"
    limits = LIMITS.model_copy(update={"wall_time_s": 2.0, "max_threads": 8})
    seen: list[int] = []
    pids: list[int] = []

    def sample(child):
        pids.append(child.pid)
        seen.append(len(group_members(child.pid)))

    result = run_child(bomb, {**NO_GUARD, "skip": ["seccomp"]}, limits=limits, during=sample)
    assert result.limit == LimitKind.WALL_TIME
    assert 2 <= max(seen) <= 8, seen  # it did fork, and never past the limit
    deadline = time.monotonic() + 5
    while (left := group_members(pids[0])) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, left


def test_rlimit_nproc_caps_forks_and_threads():
    code = dedent("""\
        import os, time, threading
        def main():
            pids, threads = [], 0
            for _ in range(40):
                try:
                    pid = os.fork()
                except OSError:
                    break
                if pid == 0:
                    time.sleep(2)
                    os._exit(0)
                pids.append(pid)
            for p in pids:
                os.waitpid(p, 0)
            for _ in range(40):
                try:
                    threading.Thread(target=time.sleep, args=(1,), daemon=True).start()
                    threads += 1
                except RuntimeError:
                    break
            return {'forks': len(pids), 'threads': threads}
        """)
    result = run_child(code, {**NO_GUARD, "skip": ["seccomp"]}, limits=LIMITS.model_copy(update={"max_threads": 6}))
    assert result.outputs == {"forks": 5, "threads": 5}, result  # 6 tasks in all, the main thread included


def test_signals_to_other_processes_are_refused_by_two_kernel_layers():
    code = "import os\ndef main():\n    try:\n        os.kill(%d, 0)\n    except OSError as e:\n" \
           "        return {'errno': e.errno}\n    return {'errno': 0}\n" % os.getpid()
    assert run_child(code, NO_GUARD).outputs == {"errno": 1}  # seccomp
    assert run_child(code, {**NO_GUARD, "skip": ["seccomp"]}).outputs == {"errno": 1}  # Landlock scope / uid


def test_environment_is_empty_and_the_uid_is_not_root():
    code = "import os\ndef main():\n    return {'env': dict(os.environ), 'uid': os.getuid(), 'cwd': os.getcwd()}\n"
    result = run_child(code)
    assert result.outputs["env"] == {}
    assert result.outputs["uid"] != 0
    if os.geteuid() == 0:
        assert result.outputs["uid"] >= UID_BASE
    assert "studio-code-" in result.outputs["cwd"]


def test_the_work_dir_is_private_capped_and_deleted(run):
    code = dedent("""\
        import os
        def main():
            try:
                for i in range(100):  # 7 MB files: each under the 8 MB file limit, together over the quota
                    open(f'f{i}', 'wb').write(b'y' * 7 * 2**20)
            except OSError as e:
                return {'errno': e.errno, 'cwd': os.getcwd(), 'files': len(os.listdir('.'))}
            return {'errno': 0}
        """)
    result = run(code)
    assert result.outputs["errno"] == 28 and result.outputs["files"] <= 5  # ENOSPC: the 32 MB tmpfs quota
    assert not os.path.exists(result.outputs["cwd"])
