"""`studio sandbox run FILE` as people use it to try code: real processes, and every attack fails cleanly there too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.cli import run_cli
from tests.sandbox.test_adversarial import ATTACKS, _code

STUDIO = str(Path(sys.executable).with_name("studio"))
TEST_PREFS = {"sandbox_cpu_time_s": 1, "sandbox_wall_time_s": 3, "sandbox_max_file_size_mb": 8,
              "sandbox_disk_quota_mb": 32, "sandbox_max_output_bytes": 262144}


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory):
    """A Studio home whose preferences hold short limits, so the attacks end quickly."""
    from studio.app import build
    from studio.core.settings import Settings

    home = tmp_path_factory.mktemp("cli-home")
    services = build(Settings(home=home))
    try:
        for key, value in TEST_PREFS.items():
            services.settings.set(key, value)
    finally:
        services.close()
    return home


def studio(home, *args):
    env = {**os.environ, "STUDIO_HOME": str(home)}
    return subprocess.run([STUDIO, *args], env=env, capture_output=True, text=True, timeout=120)


def test_run_prints_the_code_output_then_the_outputs(cli_home, tmp_path):
    f = tmp_path / "add.py"
    f.write_text("def main(a, b, tags):\n    print('adding', a, b)\n    return {'sum': a + b, 'tags': tags}\n")
    proc = studio(cli_home, "sandbox", "run", str(f), "--input", "a=1", "-i", "b=2.5", "-i", 'tags=["x"]')
    assert proc.returncode == 0, proc.stderr
    out, _, rest = proc.stdout.partition("\n")
    assert out == "adding 1 2.5" and json.loads(rest) == {"sum": 3.5, "tags": ["x"]}
    proc = studio(cli_home, "sandbox", "run", str(f), "-i", "a=x", "-i", "b=y", "-i", "tags=1", "--json")
    data = json.loads(proc.stdout)
    assert data["ok"] and data["outputs"] == {"sum": "xy", "tags": 1} and data["stdout"] == "adding x y\n"
    assert "seccomp" in data["layers"] and data["duration_ms"] > 0 and data["peak_memory_kb"] > 0


def test_run_javascript_and_declared_outputs(cli_home, tmp_path):
    f = tmp_path / "upper.js"
    f.write_text("function main({text}) { return {result: text.toUpperCase()}; }\n")
    proc = studio(cli_home, "sandbox", "run", str(f), "-i", "text=hi", "--outputs", '{"result": {"type": "string"}}')
    assert proc.returncode == 0 and json.loads(proc.stdout) == {"result": "HI"}
    proc = studio(cli_home, "sandbox", "run", str(f), "-i", "text=hi", "--outputs", '{"other": {"type": "string"}}')
    assert proc.returncode == 1 and "error: OutputValidationError: Output other is missing." in proc.stderr


def test_languages_and_bad_arguments(cli_home, tmp_path, monkeypatch, capsys):
    langs = json.loads(studio(cli_home, "sandbox", "languages", "--json").stdout)
    assert {lang["language"]: lang["available"] for lang in langs} == {"python3": True, "javascript": True}
    monkeypatch.setenv("STUDIO_HOME", str(cli_home))
    assert run_cli(["sandbox", "run", str(tmp_path / "missing.py")]) == 1
    err = capsys.readouterr().err
    assert "Cannot read" in err and "Traceback" not in err
    f = tmp_path / "x.py"
    f.write_text("def main():\n    return {}\n")
    assert run_cli(["sandbox", "run", str(f), "-i", "novalue"]) == 1
    assert "must look like name=value" in capsys.readouterr().err
    assert run_cli(["sandbox", "run", str(f), "--outputs", "{nope"]) == 1
    assert "--outputs is not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize("case", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_every_attack_fails_cleanly_through_the_cli(cli_home, tmp_path, victim, monkeypatch, capsys, case):
    """The CLI's own code path (parser, services, handler, output) in this process: a new interpreter per attack
    would only add start-up time. The real-process runs above and below cover the executable itself."""
    name, language, template, limits, words = case
    before = victim.fingerprint()
    f = tmp_path / f"{name}.{'js' if language == 'javascript' else 'py'}"
    f.write_text(_code(template, victim))
    monkeypatch.setenv("STUDIO_HOME", str(cli_home))
    assert run_cli(["sandbox", "run", str(f), "--json"]) == 1
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert not data["ok"] and data["limit"] in {x.value for x in limits}, (name, data["error"])
    assert words.lower() in data["error"].lower() and "Traceback" not in err, (name, data["error"])
    assert victim.secret not in out + err
    assert victim.fingerprint() == before and not os.path.exists("/tmp/pwned")


def test_an_attack_through_the_studio_executable(cli_home, tmp_path, victim):
    f = tmp_path / "steal.py"
    f.write_text(f"def main():\n    return {{'key': open({str(victim.ssh_key)!r}).read()}}\n")
    proc = studio(cli_home, "sandbox", "run", str(f))
    assert proc.returncode == 1 and proc.stdout == "" and victim.secret not in proc.stderr
    assert proc.stderr.startswith("error: CodeExecutionError: SandboxDenied: a code node may not read")
    assert proc.stderr.rstrip().endswith("[limit: filesystem]")
