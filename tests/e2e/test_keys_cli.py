"""`studio keys …` as scripts use it: real processes on a real home folder; the token is printed once."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from studio.app import build
from studio.core.errors import AuthenticationError
from studio.core.settings import Settings

STUDIO = str(Path(sys.executable).with_name("studio"))


def studio(home, *args, check=True):
    env = {**os.environ, "STUDIO_HOME": str(home)}
    proc = subprocess.run([STUDIO, *args], env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def authenticate(home, token):
    services = build(Settings(home=home))
    try:
        return services.keys.authenticate(token)
    finally:
        services.close()


def test_create_list_revoke_through_the_command_line(home):
    studio(home, "apps", "create", "--name", "Geo")
    created = studio(home, "keys", "create", "Geo")
    token = created.stdout.strip()
    assert re.fullmatch(r"app-[A-Za-z0-9]{24}", token)
    assert "only time the key is shown" in created.stderr
    key = authenticate(home, token)

    listed = studio(home, "keys", "list")
    assert key.id in listed.stdout and "Geo" in listed.stdout and f"app-…{token[-4:]}" in listed.stdout
    assert token not in listed.stdout and "never" not in listed.stdout  # it was used just now
    [row] = json.loads(studio(home, "keys", "list", "Geo", "--json").stdout)
    assert (row["id"], row["app_name"], row["scope"]) == (key.id, "Geo", "app") and "token" not in row

    dataset = json.loads(studio(home, "keys", "create", "--dataset", "--json").stdout)
    assert dataset["token"].startswith("dataset-") and dataset["app_id"] is None
    assert {r["scope"] for r in json.loads(studio(home, "keys", "list", "--json").stdout)} == {"app", "dataset"}

    assert studio(home, "keys", "revoke", key.id[:8]).stdout.strip() == f"revoked {key.id[:8]}"
    try:
        authenticate(home, token)
        raise AssertionError("a revoked key still authenticates")
    except AuthenticationError:
        pass
    assert [r["scope"] for r in json.loads(studio(home, "keys", "list", "--json").stdout)] == ["dataset"]


def test_key_mistakes_get_clear_errors(home):
    studio(home, "apps", "create", "--name", "Geo")
    proc = studio(home, "keys", "create", "Nope", check=False)
    assert proc.returncode == 1 and "No app with id or name 'Nope'" in proc.stderr and not proc.stdout
    proc = studio(home, "keys", "create", check=False)
    assert proc.returncode == 1 and "Give the app" in proc.stderr
    proc = studio(home, "keys", "create", "Geo", "--dataset", check=False)
    assert proc.returncode == 1 and "belongs to no app" in proc.stderr
    proc = studio(home, "keys", "revoke", "0123456789", check=False)
    assert proc.returncode == 1 and "No API key with id '0123456789'" in proc.stderr
    for _ in range(10):
        studio(home, "keys", "create", "Geo")
    proc = studio(home, "keys", "create", "Geo", check=False)
    assert proc.returncode == 1 and "at most 10" in proc.stderr
