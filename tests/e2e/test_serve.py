"""`studio serve` as a user runs it: a real process on a free port, a key from `studio keys`, real HTTP, Ctrl-C."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

STUDIO = str(Path(sys.executable).with_name("studio"))


def _env(home):
    return {**os.environ, "STUDIO_HOME": str(home)}


def _studio(home, *args):
    proc = subprocess.run([STUDIO, *args], env=_env(home), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(proc, port: int) -> str:
    """The "listening on" line comes once the services are up and the port is bound."""
    line = proc.stdout.readline()
    assert f"listening on http://127.0.0.1:{port}/v1" in line or f"0.0.0.0:{port}/v1" in line, proc.stderr.read()
    return f"http://127.0.0.1:{port}/v1"


def test_serve_answers_with_a_key_and_stops_on_ctrl_c(home):
    _studio(home, "apps", "create", "--name", "Echo", "--prompt", "Repeat the user's words.")
    token = _studio(home, "keys", "create", "Echo")
    port = _free_port()
    proc = subprocess.Popen([STUDIO, "serve", "--port", str(port), "--local-models"], env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = _wait_listening(proc, port)
        info = httpx.get(f"{url}/info", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert info.status_code == 200 and info.json()["name"] == "Echo"
        models = httpx.get(f"{url}/models", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
        ids = [m["id"] for m in models["data"]]
        assert not ids[0].startswith("local/") and any(i.startswith("local/") for i in ids[1:]), ids  # the app, then models
        assert httpx.get(f"{url}/info", timeout=30).status_code == 401
        answer = httpx.post(f"{url}/chat-messages", headers={"Authorization": f"Bearer {token}"}, timeout=120,
                            json={"inputs": {}, "query": "hello", "user": "script"})
        assert answer.status_code == 200 and answer.json()["answer"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_serve_refuses_a_public_address_without_the_flag_and_a_busy_port(home):
    proc = subprocess.run([STUDIO, "serve", "--host", "0.0.0.0"], env=_env(home), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0 and "--public" in proc.stderr and "Traceback" not in proc.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run([STUDIO, "serve", "--port", str(port)], env=_env(home), capture_output=True,
                              text=True, timeout=60)
    assert proc.returncode != 0 and "already in use" in proc.stderr and "Traceback" not in proc.stderr


def test_serve_public_prints_a_warning(home):
    port = _free_port()
    proc = subprocess.Popen([STUDIO, "serve", "--host", "0.0.0.0", "--public", "--port", str(port)], env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_listening(proc, port)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert "other machines can reach it" in err and "no API keys yet" in err
