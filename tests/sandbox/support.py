"""Helpers for the sandbox suite: test limits, a fake user with secrets, hand-started children, process checks."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from studio.core.code import CodeLanguage, CodeLimits, CodeRequest
from studio.sandbox.policy import Profile
from studio.sandbox.process import Child
from studio.sandbox.report import build_result

# Short limits keep the suite fast; wall time is well above CPU time so each limit is told apart.
LIMITS = CodeLimits(wall_time_s=8, cpu_time_s=1, memory_mb=256, max_file_size_mb=8, disk_quota_mb=32,
                    max_output_bytes=256 * 1024)


@dataclass
class Victim:
    """A user's home and Studio home, with secrets the sandbox must neither read nor change."""

    home: Path
    studio_home: Path
    ssh_key: Path
    db: Path
    secret: str

    def fingerprint(self) -> dict[str, str]:
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in (self.ssh_key, self.db)}


def run_child(code: str, overrides: dict | None = None, language: str = "python3", limits: CodeLimits = LIMITS,
              network: bool = False, during=None):
    """One run in a child started by hand, with layers switched off to test the ones that remain.
    `during(child)` is called every 50 ms while it runs."""
    profile = Profile.of(CodeLanguage(language), network, limits, ())
    child = Child(profile, limits, overrides=overrides)
    payload = json.dumps({"code": code, "inputs": {}, "cpu_time_s": limits.cpu_time_s}).encode()
    done = threading.Event()

    def watch():
        while not done.wait(0.05):
            during(child)

    watcher = threading.Thread(target=watch) if during else None
    if watcher:
        watcher.start()
    try:
        outcome = child.run(payload, limits.wall_time_s, limits)
    finally:
        done.set()
        if watcher:
            watcher.join()
    return build_result(outcome, CodeRequest(language=CodeLanguage(language), code=code), limits)


def group_members(pgid: int) -> list[str]:
    """Live (not zombie) processes in a process group."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(f"{pid} {fields[0]}")
    return found


def processes(uid: int | None = None) -> list[str]:
    """Live (not zombie) sandbox processes: this test process's children, or any process of `uid`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                          if ":" in line)
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if status.get("State", "").split()[:1] == ["Z"]:
            continue
        if uid is not None:
            mine = int(status.get("Uid", "-1").split()[0]) == uid
        else:
            mine = int(status.get("PPid", "0")) == os.getpid() and b"studio/sandbox/child" in cmdline
        if mine:
            found.append(f"{pid} {status.get('Name', '').strip()} {status.get('State', '').strip()}")
    return found
