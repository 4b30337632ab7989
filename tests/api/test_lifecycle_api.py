"""Runs end when nobody waits for them: a blocking client that disconnects stops its run, and stopping the server
(ApiServer.stop() or Ctrl-C on `studio serve`) ends open streams cleanly with their runs stored as stopped."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import auth
from tests.api.flows import SLOW, code_workflow
from tests.api.rawhttp import connect, head

pytestmark = pytest.mark.slow
LONG = 1500  # tokens: far more than the seconds these tests allow
STUDIO = str(Path(sys.executable).with_name("studio"))


@pytest.fixture
def novelist(services):
    app = services.apps.create("Novelist", "chat", prompt="You are a novelist. Write long, detailed stories.")
    params = {"max_tokens": LONG, "temperature": 0.8, "seed": 7}
    app = services.apps.update(app.id, config={**app.config, "model": {**app.config["model"],
                                                                        "completion_params": params}})
    return app, services.keys.create(app.id)[1]


@pytest.fixture
def server(services):
    server = services.api_access.build(services, port=0)
    server.start()
    yield server
    server.stop()


def _until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _message(services, app_id: str, status: str | None = None):
    msgs = services.conversations.recent_messages(app_id)
    if msgs and (status is None or msgs[0].status.value == status):
        return msgs[0]
    return None


def _post_and_hang_up(services, url: str, path: str, key: str, body: dict, running) -> None:
    """Send a blocking request, wait until its run is running, then close the socket without reading."""
    data = json.dumps(body).encode()
    sock = connect(url)
    try:
        sock.sendall(head("POST", path, url, {**auth(key), "Content-Type": "application/json",
                                              "Content-Length": str(len(data))}) + data)
        _until(running, 60, "the run to start")
        time.sleep(0.5)
    finally:
        sock.close()


def _ended_as_stopped(services, app_id: str) -> None:
    start = time.monotonic()
    msg = _until(lambda: _message(services, app_id, "stopped") or _message(services, app_id, "normal"), 10,
                 "the message to end")
    assert msg.status.value == "stopped", "the generation ran on after its client left"
    assert time.monotonic() - start < 5 and msg.answer_tokens < LONG


def test_a_blocking_chat_stops_when_its_client_disconnects(services, server, novelist):
    app, key = novelist
    body = {"inputs": {}, "query": "Tell me a very long story about a lighthouse keeper.", "user": "u",
            "response_mode": "blocking"}
    _post_and_hang_up(services, server.url, "/v1/chat-messages", key, body,
                      lambda: _message(services, app.id, "running"))
    _ended_as_stopped(services, app.id)
    _until(lambda: len(server._server.tasks) == 0, 5, "the run to leave the task registry")
    with httpx.Client(base_url=server.url, timeout=120) as client:  # the model is free for the next caller
        r = client.post("/chat/completions", headers=auth(key),
                        json={"model": app.id, "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]


def test_a_blocking_chat_completion_stops_when_its_client_disconnects(services, server, novelist):
    app, key = novelist
    body = {"model": app.id, "max_tokens": LONG, "seed": 7,
            "messages": [{"role": "user", "content": "Tell me a very long story about a lighthouse keeper."}]}
    _post_and_hang_up(services, server.url, "/v1/chat/completions", key, body,
                      lambda: _message(services, app.id, "running"))
    _ended_as_stopped(services, app.id)
    _until(lambda: len(server._server.tasks) == 0, 5, "the run to leave the task registry")


def test_a_blocking_workflow_stops_when_its_client_disconnects(services, server):
    app = services.dsl.import_text(code_workflow("slow-blocking", SLOW)).app
    key = services.keys.create(app.id)[1]

    def run(status):
        runs = services.workflows.runs(app.id)
        return runs[0] if runs and runs[0].status.value == status else None
    _post_and_hang_up(services, server.url, "/v1/workflows/run", key, {"inputs": {}, "user": "u"},
                      lambda: run("running"))
    assert _until(lambda: run("stopped") or run("succeeded"), 10, "the run to end").status.value == "stopped"


def _stream_into(results: dict, name: str, url: str, path: str, key: str, body: dict) -> threading.Thread:
    def consume():
        try:
            with httpx.Client(base_url=url, timeout=60) as c, c.stream("POST", path, headers=auth(key),
                                                                       json=body) as r:
                results[name] = [json.loads(x[6:]) for x in r.iter_lines() if x.startswith("data: ")]
        except Exception as exc:  # noqa: BLE001 - the test asserts on it
            results[name] = exc
    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    return thread


def test_stopping_the_server_ends_open_streams_cleanly(services, novelist, capfd, caplog):
    caplog.set_level(logging.WARNING)
    app, key = novelist
    flow = services.dsl.import_text(code_workflow("slow-stream", SLOW)).app
    server = services.api_access.build(services, port=0)
    url = server.start()
    results: dict = {}
    threads = [
        _stream_into(results, "chat", url, "/chat-messages", key, {"inputs": {}, "query": "A long story, please.",
                                                                   "user": "u", "response_mode": "streaming"}),
        _stream_into(results, "flow", url, "/workflows/run", services.keys.create(flow.id)[1],
                     {"inputs": {}, "user": "u", "response_mode": "streaming"}),
    ]
    _until(lambda: _message(services, app.id, "running"), 60, "the chat to start")
    _until(lambda: [r for r in services.workflows.runs(flow.id) if r.status.value == "running"], 60, "the run")
    time.sleep(0.3)
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < 8
    for t in threads:
        t.join(30)
    chat, run = results["chat"], results["flow"]
    assert isinstance(chat, list) and chat[-1]["event"] == "message_end", chat
    assert isinstance(run, list) and run[-1]["event"] == "workflow_finished", run
    assert run[-1]["data"]["status"] == "stopped"
    assert _message(services, app.id).status.value == "stopped"
    assert services.workflows.runs(flow.id)[0].status.value == "stopped"
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Exception in ASGI" not in out + err, err
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_ctrl_c_on_serve_ends_open_streams_cleanly(services, home, novelist):
    app, key = novelist
    proc = subprocess.Popen([STUDIO, "serve", "--port", "0"], env={**os.environ, "STUDIO_HOME": str(home)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, proc.stderr.read()
        url = line.split("listening on ", 1)[1].split()[0]
        results: dict = {}
        thread = _stream_into(results, "chat", url, "/chat-messages", key,
                              {"inputs": {}, "query": "A long story, please.", "user": "u",
                               "response_mode": "streaming"})
        _until(lambda: _message(services, app.id, "running"), 60, "the chat to start")
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    thread.join(30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Exception in ASGI" not in err and "ERROR" not in err, err
    chat = results["chat"]
    assert isinstance(chat, list) and chat[-1]["event"] == "message_end", chat
    assert _message(services, app.id).status.value == "stopped"
