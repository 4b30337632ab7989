"""Run by test_unprivileged.py as an ordinary user: the attacks that matter most when the sandbox child has the
same uid as the studio process (its files, its signals, its limits). Prints one JSON report."""

from __future__ import annotations

import json
import os
import tempfile
import time

from studio.core.code import CodeLanguage, CodeRequest
from studio.sandbox import SandboxRunner
from tests.sandbox.support import LIMITS, group_members, run_child

NO_GUARD = {"guard": False}
TRY = "import os\ndef main():\n    try:\n        {action}\n    except OSError as exc:\n" \
      "        return {{'errno': exc.errno}}\n    return {{'errno': 0}}\n"


def main() -> None:
    home = tempfile.mkdtemp(prefix="victim-")
    secret = os.path.join(home, "id_ed25519")
    with open(secret, "w") as f:
        f.write("SECRET")
    os.chmod(secret, 0o600)
    report: dict = {"uid": os.getuid()}
    runner = SandboxRunner(limits=LIMITS, pool_size=1)
    try:
        ok = runner.run(CodeRequest(code="import os\ndef main():\n    return {'uid': os.getuid()}\n"))
        report["layers"] = list(ok.layers)
        report["child_uid"] = ok.outputs.get("uid")
        steal = runner.run(CodeRequest(code=f"def main():\n    return {{'k': open({secret!r}).read()}}\n"))
        report["steal"] = [steal.ok, steal.limit and steal.limit.value]
        js = runner.run(CodeRequest(language=CodeLanguage.JAVASCRIPT, code="function main() { return {x: 1}; }"))
        report["js"] = js.outputs
    finally:
        runner.close()
    read = TRY.format(action=f"open({secret!r}).read()")
    report["read_view_only"] = run_child(read, {**NO_GUARD, "skip": ["landlock"]}).outputs
    report["read_landlock_only"] = run_child(read, {**NO_GUARD, "skip": ["view"]}).outputs
    kill = TRY.format(action=f"os.kill({os.getpid()}, 0)")
    report["kill_seccomp"] = run_child(kill, NO_GUARD).outputs
    report["kill_landlock_scope"] = run_child(kill, {**NO_GUARD, "skip": ["seccomp"]}).outputs
    connect = TRY.format(action="import socket; socket.create_connection(('1.1.1.1', 53), 2)")
    report["connect_netns"] = run_child(connect, {**NO_GUARD, "skip": ["seccomp", "landlock"]}).outputs
    report["fork_bomb"] = fork_bomb()
    print(json.dumps(report))


def fork_bomb() -> dict:
    bomb = "import os\ndef main():\n    while True:\n        try:\n            os.fork()\n        except OSError:\n" \
           "            pass\n"
    seen, pids = [0], []

    def sample(child):
        pids.append(child.pid)
        seen.append(len(group_members(child.pid)))

    limits = LIMITS.model_copy(update={"wall_time_s": 2.0, "max_threads": 8})
    result = run_child(bomb, {**NO_GUARD, "skip": ["seccomp"]}, limits=limits, during=sample)
    deadline = time.monotonic() + 5
    while (left := group_members(pids[0])) and time.monotonic() < deadline:
        time.sleep(0.1)
    return {"limit": result.limit and result.limit.value, "most": max(seen), "left": left}


if __name__ == "__main__":
    main()
