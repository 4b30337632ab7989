"""Two processes on one knowledge base: a second `studio kb add` is refused while the first indexes, and
`studio kb delete` is refused too; the index never holds a chunk twice."""

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.app import build
from studio.core.knowledge import DocumentStatus
from studio.core.settings import Settings
from tests.conftest import SHARED

STUDIO = str(Path(sys.executable).with_name("studio"))
pytestmark = pytest.mark.slow


def _run(home, *args):
    env = {**os.environ, "STUDIO_HOME": str(home)}
    return subprocess.run([STUDIO, *args], env=env, capture_output=True, text=True, timeout=180)


def _indexed(db):
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("select count(*) from segments where indexed=1").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def test_second_add_and_delete_are_refused_while_a_run_indexes(home, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for path in sorted((SHARED / "corpus" / "dify-docs" / "en").glob("*.mdx"))[:30]:
        shutil.copy(path, folder / path.name)
    assert _run(home, "kb", "create", "shared", "--chunk-size", "300").returncode == 0
    env = {**os.environ, "STUDIO_HOME": str(home)}
    first = subprocess.Popen([STUDIO, "kb", "add", "shared", str(folder)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _indexed(home / "studio.db") == 0 and time.monotonic() < deadline:
        assert first.poll() is None
        time.sleep(0.05)
    second, delete = (subprocess.Popen([STUDIO, "kb", *args], env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)
                      for args in (("add", "shared", str(folder)), ("delete", "shared")))
    second.stderr, delete.stderr = second.communicate(timeout=180)[1], delete.communicate(timeout=180)[1]
    assert first.poll() is None, "the first run must still be indexing while the others try"
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert second.returncode == 1 and "being indexed by another Studio run" in second.stderr
    assert delete.returncode == 1 and "another Studio run" in delete.stderr
    assert "Traceback" not in second.stderr + delete.stderr
    services = build(Settings(home=home))
    try:
        docs = services.knowledge.documents("shared")
        assert {d.status for d in docs} == {DocumentStatus.COMPLETED}
        index = services.knowledge._index(services.knowledge.get("shared"), 0)
        assert index.count() == sum(d.segment_count for d in docs) == len(index.segment_ids())
    finally:
        services.close()
