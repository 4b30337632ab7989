"""The `studio` command as scripts use it: real processes, real files, real model; and kill -9 mid-answer."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from studio import __version__
from studio.app import build
from studio.core.entities import MessageStatus
from studio.core.settings import Settings

STUDIO = str(Path(sys.executable).with_name("studio"))


def studio(home, *args, check=True):
    env = {**os.environ, "STUDIO_HOME": str(home)}
    proc = subprocess.run([STUDIO, *args], env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_version(home):
    assert studio(home, "--version").stdout.strip() == f"studio {__version__}"


def test_create_list_chat_json(home):
    app_id = studio(home, "apps", "create", "--name", "Geo", "--mode", "chat",
                    "--prompt", "You are a helpful assistant.").stdout.strip()
    [listed] = json.loads(studio(home, "apps", "list", "--json").stdout)
    assert listed["id"] == app_id and listed["mode"] == "chat" and listed["name"] == "Geo"
    out = json.loads(studio(home, "chat", "Geo", "--query", "What is the capital of France?", "--json").stdout)
    assert set(out) >= {"answer", "conversation_id", "message_id", "usage"}
    assert out["usage"]["completion_tokens"] > 0 and out["answer"]
    follow = studio(home, "chat", app_id, "-q", "Thanks!", "--conversation", out["conversation_id"])
    assert follow.stdout.strip()
    services = build(Settings(home=home))
    try:
        assert len(services.conversations.messages(out["conversation_id"])) == 2
    finally:
        services.close()


def short_answers(home, name: str) -> None:
    """Cap an app's answers at a few tokens: these tests are about what is printed around the answer."""
    services = build(Settings(home=home))
    try:
        app = services.apps.resolve(name)
        cfg = dict(app.config)
        cfg["model"] = {**cfg["model"], "completion_params": {**cfg["model"]["completion_params"], "max_tokens": 12}}
        services.apps.update(app.id, config=cfg)
    finally:
        services.close()


def test_conversation_ids_only_for_chatbots_not_text_generators(home):
    studio(home, "apps", "create", "--name", "Writer", "--mode", "completion",
           "--prompt", "Write one short sentence about the sea.")
    studio(home, "apps", "create", "--name", "Geo", "--mode", "chat", "--prompt", "You are a geography tutor.")
    short_answers(home, "Writer")
    short_answers(home, "Geo")

    text = studio(home, "chat", "Writer")
    assert text.stdout.strip(), "the text generator answered"
    assert "conversation" not in text.stderr.lower(), text.stderr
    out = json.loads(studio(home, "chat", "Writer", "--query", "Go.", "--json").stdout)
    assert "conversation_id" not in out and out["message_id"] and out["answer"]
    refused = studio(home, "chat", "Writer", "--conversation", "abc", check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "--conversation is for chatbots; Writer is a text generator" in refused.stderr

    chat = studio(home, "chat", "Geo", "-q", "Capital of France?")
    [line] = [ln for ln in chat.stderr.splitlines() if ln.startswith("conversation ")]
    conv_id = line.split()[1]
    out = json.loads(studio(home, "chat", "Geo", "-q", "And Spain?", "--conversation", conv_id, "--json").stdout)
    assert out["conversation_id"] == conv_id


def test_bad_input_gets_clear_errors_and_exit_codes(home):
    studio(home, "apps", "create", "--name", "Geo")
    proc = studio(home, "chat", "Nope", "-q", "hi", check=False)
    assert proc.returncode == 1 and "No app with id or name 'Nope'" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = studio(home, "apps", "create", "--name", "X", "--mode", "robot", check=False)
    assert proc.returncode == 1 and "Unknown app mode 'robot'" in proc.stderr
    proc = studio(home, "chat", "Geo", "-q", "hi", "--input", "novalue", check=False)
    assert "must look like name=value" in proc.stderr
    bad = Path(home) / "bad.gguf"
    bad.write_bytes(b"garbage")
    proc = studio(home, "models", "add", str(bad), check=False)
    assert proc.returncode == 1 and "bad.gguf is not a usable model" in proc.stderr


def test_newer_database_is_refused(home):
    studio(home, "apps", "list")
    con = sqlite3.connect(Path(home) / "studio.db")
    con.execute("update alembic_version set version_num='0099'")
    con.commit()
    con.close()
    proc = studio(home, "apps", "list", check=False)
    assert proc.returncode == 2 and "newer version of Studio" in proc.stderr


def test_kill_9_mid_answer_is_marked_interrupted_with_text_kept(home):
    studio(home, "apps", "create", "--name", "Writer", "--prompt", "You write long stories.")
    services = build(Settings(home=home))
    app = services.apps.resolve("Writer")
    cfg = dict(app.config)
    cfg["model"] = {**cfg["model"], "completion_params": {**cfg["model"]["completion_params"], "max_tokens": 3000}}
    services.apps.update(app.id, config=cfg)
    services.close()

    env = {**os.environ, "STUDIO_HOME": str(home)}
    proc = subprocess.Popen([STUDIO, "chat", "Writer", "-q", "Write a very long story about a dragon."],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    db = sqlite3.connect(Path(home) / "studio.db", timeout=30)
    deadline = time.monotonic() + 60
    partial = ""
    while time.monotonic() < deadline and not partial:
        row = db.execute("select answer from messages where status='running'").fetchone()
        partial = row[0] if row else ""
        time.sleep(0.05)
    db.close()
    assert partial, "the answer so far is saved while it streams"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    services = build(Settings(home=home))
    try:
        [msg] = services.conversations.recent_messages()
        assert msg.status == MessageStatus.INTERRUPTED
        assert msg.answer.startswith(partial) and "stopped before this answer finished" in msg.error
    finally:
        services.close()
