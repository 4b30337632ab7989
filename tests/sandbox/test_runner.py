"""The runner as the workflow engine and the editor use it: Dify's calling convention, traces, the warm pool,
languages, allowed modules, the network switch, and the settings that configure it."""

from __future__ import annotations

import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from studio.core.code import CodeLanguage, CodeOutput, CodeRequest, LimitKind
from studio.core.errors import ValidationError
from studio.sandbox import SandboxRunner
from studio.sandbox import policy
from tests.sandbox.support import LIMITS


def test_dify_calling_convention_and_trace(run):
    code = "def main(arg1: str, arg2: int) -> dict:\n    print('working on', arg1)\n" \
           "    return {'result': arg1 * arg2, 'n': arg2 + 0.5}\n"
    result = run(code, inputs={"arg1": "ab", "arg2": 2},
                 outputs={"result": CodeOutput(type="string"), "n": CodeOutput(type="number")})
    assert result.ok, result.error
    assert result.outputs == {"result": "abab", "n": 2.5}
    assert result.stdout == "working on ab\n" and result.stderr == ""
    assert 0 < result.duration_ms < 5000 and 1000 < result.peak_memory_kb < 100_000
    assert result.exit_code == 0 and result.limit is None and "seccomp" in result.layers


def test_javascript_main_gets_the_inputs_object(run):
    code = "function main({arg1, arg2}) {\n  console.log('working on', arg1);\n  return {result: arg1.repeat(arg2)};\n}"
    result = run(code, "javascript", inputs={"arg1": "ab", "arg2": 2})
    assert result.ok and result.outputs == {"result": "abab"}
    assert result.stdout == "working on ab\n" and 1000 < result.peak_memory_kb < 200_000


def test_errors_point_at_the_users_line(run):
    result = run("def main():\n    x = 1\n    return {'y': x / 0}\n")
    assert result.error == "ZeroDivisionError: division by zero (line 3)"
    assert result.error_type == "CodeExecutionError" and 'line 3, in main' in result.stderr
    assert "child.py" not in result.stderr  # the sandbox's own frames are not shown
    result = run("function main() {\n  return {y: undefinedThing};\n}", "javascript")
    assert result.error.startswith("ReferenceError: undefinedThing is not defined (line 2)")


def test_each_child_runs_once_and_nothing_carries_over(run):
    code = ("import os, sys\nSEEN = getattr(sys, 'seen', None)\nsys.seen = 'dirty'\n"
            "def main():\n    before = os.listdir('.')\n    open('left-behind', 'w').write('x')\n"
            "    return {'pid': os.getpid(), 'seen': SEEN, 'files': before, 'cwd': os.getcwd()}\n")
    first, second = run(code), run(code)
    assert first.ok and second.ok
    assert first.outputs["pid"] != second.outputs["pid"]
    assert second.outputs["seen"] is None and second.outputs["files"] == []
    assert not os.path.exists(first.outputs["cwd"])


def test_parallel_runs(runner):
    def one(i):
        return runner.run(CodeRequest(code=f"import os\ndef main():\n    return {{'i': {i}, 'pid': os.getpid()}}\n"))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(8)))
    assert [r.outputs["i"] for r in results] == list(range(8))
    assert len({r.outputs["pid"] for r in results}) == 8


def test_languages_and_a_missing_node(monkeypatch, tmp_path):
    runner = SandboxRunner(limits=LIMITS, pool_size=0)
    langs = {lang.language: lang for lang in runner.languages()}
    assert langs[CodeLanguage.PYTHON3].available
    assert langs[CodeLanguage.JAVASCRIPT].available and langs[CodeLanguage.JAVASCRIPT].version.startswith("v")
    monkeypatch.setenv("PATH", str(tmp_path))
    policy.node_binary.cache_clear()
    try:
        js = {lang.language: lang for lang in runner.languages()}[CodeLanguage.JAVASCRIPT]
        assert not js.available and "Node.js is not installed" in js.detail
        result = runner.run(CodeRequest(language=CodeLanguage.JAVASCRIPT, code="function main() { return {}; }"))
        assert not result.ok and "Node.js is not installed" in result.error
    finally:
        monkeypatch.undo()
        policy.node_binary.cache_clear()
        runner.close()


def test_allowed_third_party_modules_are_configurable(run):
    assert run("import jinja2\ndef main():\n    return {'x': jinja2.Template('{{ a }}!').render(a=1)}\n").outputs \
        == {"x": "1!"}  # Dify's sandbox allows jinja2; it is installed here
    # numpy loads native code through ctypes and starts BLAS threads: allowed for itself, not for the user's code
    assert run("import numpy as np\ndef main():\n    a = np.ones((200, 200))\n    return {'s': float((a @ a).sum())}\n"
               ).outputs == {"s": 8_000_000.0}
    result = run("import yaml\ndef main():\n    return {}\n")  # installed, but not on the list
    assert result.limit == LimitKind.MODULE and "sandbox_python_modules" in result.error
    strict = SandboxRunner(limits=LIMITS, python_modules=(), pool_size=0)
    try:
        result = strict.run(CodeRequest(code="import jinja2\ndef main():\n    return {}\n"))
        assert result.limit == LimitKind.MODULE
    finally:
        strict.close()


NETWORK_CODE = {
    "python3": "import socket\ndef main():\n    s = socket.create_connection(('127.0.0.1', {port}), 5)\n"
               "    s.sendall(b'hello')\n    return {{'sent': True}}\n",
    "javascript": "async function main() {{ const net = require('net');\n"
                  "  await new Promise((ok, fail) => {{ const s = net.connect({port}, '127.0.0.1', () => "
                  "s.end('hello', ok)); s.on('error', fail); }});\n  return {{sent: true}}; }}",
}


@pytest.mark.parametrize("language", ["python3", "javascript"])
def test_network_only_when_the_node_allows_it(run, language):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    got: list[bytes] = []

    def accept():
        server.settimeout(10)
        try:
            conn, _ = server.accept()
            got.append(conn.recv(16))
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    code = NETWORK_CODE[language].format(port=port)
    try:
        denied = run(code, language)
        assert not denied.ok and denied.limit in (LimitKind.MODULE, LimitKind.NETWORK), denied.error
        allowed = run(code, language, allow_network=True)
        assert allowed.ok and allowed.outputs == {"sent": True}, allowed.error
        assert "netns" not in allowed.layers
    finally:
        thread.join()
        server.close()
    assert got == [b"hello"]


def test_request_limits_override_the_defaults(run):
    limits = LIMITS.model_copy(update={"wall_time_s": 0.5})
    result = run("import time\ndef main():\n    time.sleep(5)\n", limits=limits)
    assert result.limit == LimitKind.WALL_TIME and result.duration_ms < 3000
    assert result.error == "error: timeout (the code ran longer than 0.5 s)"


def test_close_stops_the_pool_and_later_runs_still_work():
    runner = SandboxRunner(limits=LIMITS, pool_size=2)
    assert runner.run(CodeRequest(code="def main():\n    return {}\n")).ok
    runner.warm()
    runner.close()
    assert runner.work_root and not os.path.exists(runner.work_root)
    assert runner.run(CodeRequest(code="def main():\n    return {'after': True}\n")).outputs == {"after": True}


def test_settings_configure_the_sandbox(services):
    prefs, sandbox = services.settings, services.sandbox
    assert sandbox.limits().max_string_length == 400000 and sandbox.limits().wall_time_s == 15
    prefs.set("code_max_string_length", 5)
    prefs.set("sandbox_memory_mb", 64)
    result = sandbox.run_code("def main():\n    return {'s': 'abcdef'}\n", outputs={"s": {"type": "string"}})
    assert result.error == "The length of output variable `s` must be less than 5 characters"
    bomb = sandbox.run_code("def main():\n    x = bytearray(100 * 2**20)\n    return {}\n")
    assert bomb.limit == LimitKind.MEMORY
    with pytest.raises(ValidationError):
        prefs.set("sandbox_memory_mb", 1)
    with pytest.raises(ValidationError):
        sandbox.run_code("def main(): pass", language="ruby")
    with pytest.raises(ValidationError):
        sandbox.run_code("   ")
    langs = {lang.language.value for lang in sandbox.languages() if lang.available}
    assert "python3" in langs


def test_work_roots_left_by_a_killed_studio_are_removed(tmp_path):
    """A Studio killed mid-run (kill -9) cannot clean up; the next runner removes what it left."""
    import subprocess
    import sys
    import tempfile

    script = ("import os, signal\nfrom studio.sandbox import SandboxRunner\nfrom studio.core.code import CodeRequest\n"
              "r = SandboxRunner(pool_size=1)\nr.run(CodeRequest(code='def main():\\n    return {}\\n'))\n"
              "print(r.work_root, flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    left = proc.stdout.strip()
    assert left.startswith(tempfile.gettempdir()) and os.path.isdir(left)
    runner = SandboxRunner(limits=LIMITS, pool_size=0)
    try:
        assert runner.run(CodeRequest(code="def main():\n    return {}\n")).ok
        assert not os.path.exists(left)
    finally:
        runner.close()
