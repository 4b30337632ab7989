"""The sandbox run by an ordinary user, as people run Studio: user namespaces replace the root-only steps, and
the child, which now shares the user's uid, still cannot read the user's files, signal the studio or fork."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import sysconfig
from contextlib import contextmanager
from pathlib import Path

import studio

NOBODY = 65534
ROOT = Path(studio.__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent",
            "PYTHONPATH": os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"]])}


def _python_for(uid: int) -> str:
    """An interpreter of this version the other user can run (a venv may live in root's home)."""
    for candidate in (sys.executable, f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}",
                      f"/usr/local/bin/python{sys.version_info.major}.{sys.version_info.minor}"):
        try:
            if subprocess.run([candidate, "-c", "import pydantic_core"], user=uid, group=uid, extra_groups=[],
                              capture_output=True, env=_env()).returncode == 0:
                return candidate
        except OSError:  # not there, or not ours to run
            continue
    raise AssertionError(f"no Python {sys.version_info[:2]} that uid {uid} may run: install one system-wide")


@contextmanager
def _traversable(*paths: Path):
    """Let another user pass through the folders above the checkout and its venv for the test's length:
    a clone in a private folder (`mktemp -d` makes them 0700) would otherwise hide Studio from it."""
    changed: list[tuple[Path, int]] = []
    try:
        for path in paths:
            for folder in [path, *path.parents]:
                mode = folder.stat().st_mode
                if folder.is_dir() and not mode & stat.S_IXOTH:
                    changed.append((folder, mode))
                    folder.chmod(mode | stat.S_IXOTH)
        yield
    finally:
        for folder, mode in changed:
            folder.chmod(stat.S_IMODE(mode))


def test_as_an_ordinary_user():
    if os.geteuid() != 0:  # already an ordinary user: run the probe as ourselves
        uid, python = os.getuid(), sys.executable
        proc = subprocess.run([python, "-m", "tests.sandbox.unprivileged_probe"], cwd="/", env=_env(),
                              capture_output=True, text=True, timeout=240)
    else:
        uid = NOBODY
        kw = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
        with _traversable(ROOT, Path(sys.executable).parent, Path(sysconfig.get_paths()["purelib"])):
            python = _python_for(NOBODY)
            proc = subprocess.run([python, "-m", "tests.sandbox.unprivileged_probe"], cwd="/", env=_env(),
                                  capture_output=True, text=True, timeout=240, **kw)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["uid"] == uid and report["child_uid"] == uid  # same uid: the layers below must carry the load
    assert {"userns", "mountns", "netns", "fs-view", "nproc", "seccomp", "audit-hook"} <= set(report["layers"])
    assert any(x.startswith("landlock-abi") for x in report["layers"])
    assert report["steal"] == [False, "filesystem"]
    assert report["js"] == {"x": 1}
    assert report["read_view_only"] == {"errno": 2} and report["read_landlock_only"] == {"errno": 13}
    assert report["kill_seccomp"] == {"errno": 1} and report["kill_landlock_scope"] == {"errno": 1}
    assert report["connect_netns"] == {"errno": 101}
    bomb = report["fork_bomb"]
    assert bomb["limit"] == "wall_time" and 2 <= bomb["most"] <= 8 and bomb["left"] == [], bomb
