"""`studio chat` with an agent app, as scripts use it: real processes, a real DSL file, the real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.agents import MATHS, SEARCH, agent_dsl

STUDIO = str(Path(sys.executable).with_name("studio"))
QUERY = "What is 12 * 7? Use the tool."


def studio(home, *args, check=True):
    env = {**os.environ, "STUDIO_HOME": str(home)}
    proc = subprocess.run([STUDIO, *args], env=env, capture_output=True, text=True, timeout=180)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_chat_with_an_agent_prints_its_steps_and_json_has_them(home, tmp_path):
    dsl = tmp_path / "agent.yml"
    dsl.write_text(agent_dsl("Calculator", tools=(MATHS,)), encoding="utf-8")
    app_id = studio(home, "import", str(dsl)).stdout.strip().splitlines()[-1]
    [listed] = json.loads(studio(home, "apps", "list", "--json").stdout)
    assert listed["id"] == app_id and listed["mode"] == "agent-chat"

    plain = studio(home, "chat", "Calculator", "--query", QUERY)
    assert plain.stdout.strip() and "used eval_expression" not in plain.stdout, "only the answer is on stdout"
    assert 'used eval_expression {"expression": "12 * 7"} -> The result of the expression "12 * 7" is 84' \
        in plain.stderr
    conv = next(ln.split()[1] for ln in plain.stderr.splitlines() if ln.startswith("conversation "))

    out = json.loads(studio(home, "chat", app_id, "-q", QUERY, "--conversation", conv, "--json").stdout)
    assert set(out) >= {"answer", "conversation_id", "message_id", "usage", "agent_thoughts"}
    assert out["conversation_id"] == conv and out["status"] == "normal" and out["answer"]
    step, last = out["agent_thoughts"][0], out["agent_thoughts"][-1]
    assert set(step) == {"id", "position", "thought", "tool", "tool_input", "observation"}
    assert step["tool"] == "eval_expression" and step["position"] == 1
    assert "84" in json.loads(step["observation"])["eval_expression"]
    assert last["tool"] == "" and last["thought"] == out["answer"]


def test_an_agent_with_a_missing_tool_fails_cleanly(home, tmp_path):
    dsl = tmp_path / "search.yml"
    dsl.write_text(agent_dsl("Searcher", tools=(SEARCH,)), encoding="utf-8")
    studio(home, "import", str(dsl))
    proc = studio(home, "chat", "Searcher", "-q", "Find llamas", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "google/google_search is not available in Studio" in proc.stderr
