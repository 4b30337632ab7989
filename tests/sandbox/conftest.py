"""Fixtures for the sandbox suite: one real runner with a warm pool, and a fake user whose files must survive."""

from __future__ import annotations

import os
import sqlite3

import pytest

from studio.core.code import CodeLanguage, CodeRequest
from studio.sandbox import SandboxRunner
from tests.sandbox.support import LIMITS, Victim, processes


@pytest.fixture(scope="session")
def victim(tmp_path_factory) -> Victim:
    home = tmp_path_factory.mktemp("victim-home")
    secret = "S3CRET-" + os.urandom(8).hex()
    ssh = home / ".ssh"
    ssh.mkdir(mode=0o700)
    key = ssh / "id_ed25519"
    key.write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{secret}\n")
    key.chmod(0o600)
    studio_home = home / ".local" / "share" / "studio"
    studio_home.mkdir(parents=True)
    db = studio_home / "studio.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE settings (key TEXT, value TEXT)")
        conn.execute("INSERT INTO settings VALUES ('openai_api_key', ?)", (secret,))
    v = Victim(home, studio_home, key, db, secret)
    before = v.fingerprint()
    yield v
    assert v.fingerprint() == before, "the sandbox changed the user's files"


@pytest.fixture(scope="session")
def runner():
    r = SandboxRunner(limits=LIMITS, pool_size=2)
    yield r
    r.close()
    assert not processes(), "sandbox children outlived the runner"
    assert r.work_root and not os.path.exists(r.work_root), "sandbox work dirs were left behind"


@pytest.fixture
def run(runner):
    def _run(code: str, language: str = "python3", **kw):
        return runner.run(CodeRequest(language=CodeLanguage(language), code=code, **kw))
    return _run


