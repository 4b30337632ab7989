"""Hostile code against the sandbox: every attack fails with a clear error in the node, and the studio process,
its database and the user's files are unharmed."""

from __future__ import annotations

import os
import socket

import pytest

from studio.core.code import CodeOutput, LimitKind
from tests.sandbox.support import LIMITS

L = LimitKind
PY, JS = "python3", "javascript"

# (id, language, code, limits that may be reported, words the error must contain)
ATTACKS = [
    # A busy machine may reach the wall clock before the CPU limit; either way the loop is stopped.
    ("infinite-loop", PY, "def main():\n    while True:\n        pass\n", {L.CPU_TIME, L.WALL_TIME}, "time"),
    ("sleep-forever", PY, "import time\ndef main():\n    time.sleep(3600)\n", {L.WALL_TIME}, "timeout"),
    ("fork-bomb", PY, "import os\ndef main():\n    while True:\n        os.fork()\n", {L.SUBPROCESS}, "processes"),
    ("thread-bomb", PY, "import threading, time\ndef main():\n    while True:\n"
     "        threading.Thread(target=time.sleep, args=(60,)).start()\n", {L.PROCESSES}, "thread"),
    ("memory-bomb", PY, "def main():\n    blocks = []\n    while True:\n        blocks.append(bytearray(10**7))\n",
     {L.MEMORY}, "Memory"),
    ("10GB-file", PY, "def main():\n    with open('big', 'wb') as f:\n        for _ in range(1024):\n"
     "            f.write(b'x' * 10**7)\n", {L.FILE_SIZE}, "File too large"),
    ("100MB-stdout", PY, "import sys\ndef main():\n    for _ in range(100):\n        sys.stdout.write('x' * 10**6)\n",
     {L.OUTPUT_SIZE}, "output limit"),
    ("read-ssh-key", PY, "def main():\n    return {'k': open({ssh!r}).read()}\n", {L.FILESYSTEM}, "may not read"),
    ("read-studio-db", PY, "def main():\n    return {'k': open({db!r}, 'rb').read().hex()}\n", {L.FILESYSTEM},
     "may not read"),
    ("write-studio-db", PY, "def main():\n    open({db!r}, 'wb').write(b'x')\n    return {{}}\n", {L.FILESYSTEM},
     "may not write"),
    ("read-etc-passwd", PY, "def main():\n    return {'k': open('/etc/passwd').read()}\n", {L.FILESYSTEM},
     "may not read"),
    ("list-home", PY, "import os\ndef main():\n    return {'k': os.listdir({home!r})}\n", {L.FILESYSTEM},
     "may not read"),
    ("socket", PY, "import socket\ndef main():\n    socket.create_connection(('1.1.1.1', 53), 2)\n", {L.MODULE},
     "no network access"),
    ("dns-lookup", PY, "import urllib.request\ndef main():\n"
     "    urllib.request.urlopen('http://example.com', timeout=2)\n", {L.NETWORK}, "network access is disabled"),
    ("subprocess", PY, "import subprocess\ndef main():\n    return {'k': subprocess.check_output(['id']).decode()}\n",
     {L.MODULE}, "not allowed"),
    ("os-system", PY, "import os\ndef main():\n    return {'k': os.system('touch /tmp/pwned')}\n", {L.SUBPROCESS},
     "starting processes"),
    ("ctypes", PY, "import ctypes\ndef main():\n    return {'k': ctypes.CDLL(None).getpid()}\n", {L.MODULE},
     "not allowed"),
    ("dunder-import", PY, "def main():\n    return {'k': str(__import__('subprocess'))}\n", {L.MODULE}, "not allowed"),
    ("importlib", PY, "import importlib\ndef main():\n    return {'k': str(importlib.import_module('ctypes'))}\n",
     {L.MODULE}, "not allowed"),
    ("kill-studio", PY, "import os\ndef main():\n    os.kill({studio_pid}, 9)\n", {L.SUBPROCESS}, "other processes"),
    # JavaScript: the same attacks through Node, whose own permission model sits on the same kernel layers.
    ("js-infinite-loop", JS, "function main() { while (true) {} }", {L.CPU_TIME, L.WALL_TIME}, "time"),
    ("js-memory-bomb", JS, "function main() { const a = []; while (true) a.push(new Array(1e6).fill(1)); }",
     {L.MEMORY}, "memory"),
    ("js-10GB-file", JS, "function main() { const fs = require('fs'); const fd = fs.openSync('big', 'w');\n"
     "  for (let i = 0; i < 1024; i++) fs.writeSync(fd, Buffer.alloc(1e7)); }", {L.FILE_SIZE}, "EFBIG"),
    ("js-100MB-stdout", JS, "function main() { for (let i = 0; i < 100; i++) console.log('x'.repeat(1e6)); }",
     {L.OUTPUT_SIZE}, "output limit"),
    ("js-read-ssh-key", JS, "function main() { return {k: require('fs').readFileSync({ssh!r}, 'utf8')}; }",
     {L.FILESYSTEM}, "restricted"),
    ("js-spawn", JS, "function main() { return {k: process.mainModule.require('child_process')"
     ".execSync('id').toString()}; }", {L.SUBPROCESS}, "restricted"),
    ("js-require-child-process", JS, "function main() { require('child_process'); }", {L.MODULE}, "not allowed"),
    ("js-socket", JS, "async function main() { const net = process.mainModule.require('net');\n"
     "  await new Promise((ok, fail) => net.connect(53, '1.1.1.1', ok).on('error', fail)); }", {L.NETWORK},
     "EACCES"),
    ("js-fetch", JS, "async function main() { await fetch('http://example.com'); }", {L.NETWORK}, "fetch failed"),
    ("js-kill-studio", JS, "function main() { process.kill({studio_pid}, 'SIGKILL'); }", {L.SUBPROCESS}, "EPERM"),
]


CODE = {name: code for name, _, code, _, _ in ATTACKS}


def _code(template: str, victim) -> str:
    return template.replace("{ssh!r}", repr(str(victim.ssh_key))).replace("{db!r}", repr(str(victim.db))) \
        .replace("{home!r}", repr(str(victim.home))).replace("{studio_pid}", str(os.getpid())) \
        .replace("{{}}", "{}")


@pytest.mark.parametrize("name,language,template,limits,words", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attack_fails_cleanly(run, victim, name, language, template, limits, words):
    before = victim.fingerprint()
    quick = {"limits": LIMITS.model_copy(update={"wall_time_s": 1.5})} if name == "sleep-forever" else {}
    result = run(_code(template, victim), language, **quick)
    assert not result.ok, f"{name} succeeded: {result.outputs}"
    assert result.limit in limits, (result.limit, result.error)
    assert words.lower() in result.error.lower(), result.error
    assert "Traceback" not in result.error and len(result.error) < 400
    assert victim.secret not in result.stdout + result.stderr + result.error
    assert victim.fingerprint() == before
    assert not os.path.exists("/tmp/pwned")


def test_limits_are_reported_with_usage(run):
    result = run(CODE["memory-bomb"])
    assert result.limit == L.MEMORY
    assert 200_000 < result.peak_memory_kb < 300_000  # about the 256 MB limit, and it is the child's own peak
    patient = LIMITS.model_copy(update={"wall_time_s": 60})  # so that only the CPU limit can stop it
    result = run(CODE["infinite-loop"], limits=patient)
    assert result.limit == L.CPU_TIME and result.cpu_ms >= 900 and result.error == "error: CPU time limit reached (1 s)"


def test_print_flood_keeps_what_fits_and_never_reaches_the_result(run):
    result = run("def main():\n    print('<<RESULT>>{\"x\": 1}<<RESULT>>')\n    print('y' * 10**8)\n"
                 "    return {'x': 2}\n")
    assert result.limit == L.OUTPUT_SIZE and result.stdout_truncated
    assert result.stdout.startswith('<<RESULT>>{"x": 1}<<RESULT>>') and len(result.stdout) == 256 * 1024
    assert result.outputs == {}


@pytest.mark.parametrize("language,code", [
    (PY, "def main():\n    print('{\"fake\": true}')\n    import sys\n    sys.stderr.write('noise')\n"
         "    return {'x': 1}\n"),
    (JS, "function main() { console.log('{\"fake\": true}'); console.error('noise'); return {x: 1}; }"),
])
def test_prints_never_corrupt_the_result(run, language, code):
    result = run(code, language)
    assert result.ok and result.outputs == {"x": 1}
    assert result.stdout.strip() == '{"fake": true}' and "noise" in result.stderr


# ---------------------------------------------------------------- bad results
BAD_RESULTS = [
    ("non-json", PY, "def main():\n    return {'x': {1, 2}}\n", "OutputValidationError", "not JSON serializable"),
    ("object", PY, "def main():\n    return {'x': object()}\n", "OutputValidationError", "not JSON serializable"),
    ("nan", PY, "def main():\n    return {'x': float('nan')}\n", "OutputValidationError", "finite number"),
    ("infinity", PY, "def main():\n    return {'x': [1.0, float('inf')]}\n", "OutputValidationError", "finite"),
    ("deep-nesting", PY, "def main():\n    a = []\n    for _ in range(100000):\n        a = [a]\n    return {'x': a}\n",
     "DepthLimitError", "Depth limit"),
    ("too-deep", PY, "def main():\n    a = 1\n    for _ in range(6):\n        a = {'a': a}\n    return {'x': a}\n",
     "DepthLimitError", "Depth limit 5 reached"),
    ("huge-string", PY, "def main():\n    return {'x': 'y' * 400001}\n", "OutputValidationError",
     "must be less than 400000 characters"),
    ("huge-result", PY, "def main():\n    return {'x': ['y' * 300000] * 100}\n", "CodeExecutionError",
     "larger than"),
    ("not-a-dict", PY, "def main():\n    return [1, 2]\n", "CodeNodeError", "must return a dict"),
    ("no-main", PY, "x = 1\n", "CodeExecutionError", "must define a function main"),
    ("syntax-error", PY, "def main(:\n", "CodeExecutionError", "SyntaxError"),
    ("exit", PY, "import sys\ndef main():\n    sys.exit(3)\n", "CodeExecutionError", "SystemExit"),
    ("hard-exit", PY, "import os\ndef main():\n    os._exit(0)\n", "CodeExecutionError", "without a result"),
    ("js-nan", JS, "function main() { return {x: NaN}; }", "OutputValidationError", "finite number"),
    ("js-circular", JS, "function main() { const a = {}; a.a = a; return {x: a}; }", "OutputValidationError",
     "circular"),
    ("js-bigint", JS, "function main() { return {x: 1n}; }", "OutputValidationError", "BigInt"),
    ("js-deep", JS, "function main() { let a = []; for (let i = 0; i < 1e6; i++) a = [a]; return {x: a}; }",
     "DepthLimitError", "Depth limit"),
    ("js-not-object", JS, "function main() { return 'x'; }", "CodeNodeError", "must return an object"),
]


@pytest.mark.parametrize("name,language,code,error_type,words", BAD_RESULTS, ids=[b[0] for b in BAD_RESULTS])
def test_bad_result_fails_with_clear_error(run, name, language, code, error_type, words):
    result = run(code, language)
    assert not result.ok
    assert result.error_type == error_type, result.error
    assert words.lower() in result.error.lower(), result.error


@pytest.mark.parametrize("language,code", [
    (PY, "def main():\n    return {'a': 1, 'extra': 2}\n"),
    (JS, "function main() { return {a: 1, extra: 2}; }"),
])
def test_keys_that_differ_from_the_declared_outputs(run, language, code):
    declared = {"a": CodeOutput(type="number")}
    result = run(code, language, outputs=declared)
    assert not result.ok and result.error_type == "CodeNodeError"
    assert "Not all output parameters are validated" in result.error and "extra" in result.error
    missing = run(code, language, outputs={**declared, "b": CodeOutput(type="string")})
    assert not missing.ok and missing.error == "Output b is missing."


def test_the_studio_process_is_unharmed(run, victim):
    """After the attacks the parent still runs code normally, and its own network still works."""
    result = run("def main(a):\n    return {'b': a * 2}\n", inputs={"a": 21})
    assert result.ok and result.outputs == {"b": 42}
    pair = socket.socketpair()  # the parent's sockets are unaffected by the child's filters
    pair[0].sendall(b"ok")
    assert pair[1].recv(2) == b"ok"


FORGE = """\
import os, stat
def main():
    for fd in range(3, 256):  # the result pipe: the one FIFO besides stdin, stdout and stderr
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, MESSAGE)
                break
        except OSError:
            pass
    os._exit(0)
"""


@pytest.mark.parametrize("forged,ok", [
    ('{"ok": false, "error": {"a": 1}, "error_type": [1], "limit": ["x"], "layers": 5, "peak_kb": "big"}', False),
    ('{"ok": true, "result": [1, 2], "layers": [1, "fake"], "problems": 7}', False),
    ('{"ok": true, "result": {"x": 1}, "peak_kb": -5, "limit": "wall_time", "layers": ["seccomp"]}', True),
    ("[1, 2, 3]", False),
    ('{"ok": true, "result": ' + "[" * 100000 + "]" * 100000 + "}", False),
    ('{"ok": true, "result": {"x": 1', False),
], ids=["wrong-types", "list-result", "fake-fields", "not-an-object", "deep", "truncated"])
def test_a_forged_result_message_is_handled(run, forged, ok):
    """The result pipe belongs to the child: whatever it writes there, the parent answers with a CodeResult."""
    result = run(FORGE.replace("MESSAGE", repr(forged.encode())))
    assert isinstance(result.error, str) and all(isinstance(x, str) for x in result.layers)
    assert result.ok == ok, result.error
    if ok:  # only its own node's outputs, still checked like any other
        assert result.outputs == {"x": 1} and result.peak_memory_kb >= 0
