"""`studio kb` as scripts use it, and the crash test: SIGKILL an ingesting process, then resume cleanly."""

import json
import os
import shutil
import signal
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
EN = SHARED / "corpus" / "dify-docs" / "en"
pytestmark = pytest.mark.slow


def studio(home, *args, check=True, timeout=180):
    env = {**os.environ, "STUDIO_HOME": str(home)}
    proc = subprocess.run([STUDIO, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _docs(tmp_path, count):
    folder = tmp_path / "docs"
    folder.mkdir()
    for path in sorted(EN.glob("api-reference_guides_*.mdx"))[:count]:
        shutil.copy(path, folder / path.name)
    return folder


def test_create_add_search_list(home, tmp_path):
    folder = _docs(tmp_path, 3)
    kb_id = studio(home, "kb", "create", "guides", "--chunk-size", "400", "--overlap", "40").stdout.strip()
    added = json.loads(studio(home, "kb", "add", "guides", str(folder), "--json").stdout)
    assert added["dataset_id"] == kb_id and len(added["queued"]) == 3 and added["chunks"] > 0
    again = json.loads(studio(home, "kb", "add", "guides", str(folder), "--json").stdout)
    assert again["queued"] == [] and len(again["unchanged"]) == 3 and again["chunks"] == 0
    hits = json.loads(studio(home, "kb", "search", "guides", "error codes", "--mode", "hybrid", "--top-k", "2",
                             "--json").stdout)
    assert len(hits) == 2 and hits[0]["dataset_id"] == kb_id and hits[0]["content"]
    assert hits[0]["score"] >= hits[1]["score"]
    text = studio(home, "kb", "search", "guides", "error codes").stdout
    assert text.startswith("1. ")
    [listed] = json.loads(studio(home, "kb", "list", "--json").stdout)
    assert listed["name"] == "guides" and listed["document_count"] == 3
    docs = studio(home, "kb", "list", "guides").stdout
    assert docs.count("completed") == 3


def test_bad_input_is_a_clear_error(home, tmp_path):
    bad = studio(home, "kb", "create", "x", "--chunk-size", "10", check=False)
    assert bad.returncode == 1 and "chunk size" in bad.stderr and "Traceback" not in bad.stderr
    missing = studio(home, "kb", "search", "nope", "q", check=False)
    assert missing.returncode == 1 and "nope" in missing.stderr
    studio(home, "kb", "create", "x")
    (tmp_path / "empty.md").write_text("")
    out = studio(home, "kb", "add", "x", str(tmp_path / "empty.md"), str(tmp_path / "missing.md"), check=False)
    assert out.returncode == 1 and "empty.md" in out.stderr and "missing.md" in out.stderr
    assert "Traceback" not in out.stderr


def _indexed(db_path):
    db = sqlite3.connect(db_path, timeout=30)
    try:
        return db.execute("select count(*) from segments where indexed=1").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def test_sigkill_mid_ingestion_resumes_without_duplicates_or_gaps(home, tmp_path):
    folder = _docs(tmp_path, 8)
    studio(home, "kb", "create", "crash", "--chunk-size", "300", "--overlap", "30")
    env = {**os.environ, "STUDIO_HOME": str(home)}
    proc = subprocess.Popen([STUDIO, "kb", "add", "crash", str(folder)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _indexed(home / "studio.db") < 100:
        assert proc.poll() is None, "ingestion finished before it could be killed; give it more work"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = _indexed(home / "studio.db")

    services = build(Settings(home=home))
    try:
        docs = services.knowledge.documents("crash")
        assert any(d.status != DocumentStatus.COMPLETED for d in docs), "the kill left work to resume"
        assert [d.name for d in services.knowledge.interrupted()] == ["crash"]
    finally:
        services.close()
    listed = studio(home, "kb", "list", "crash")
    assert "interrupted" in listed.stdout and "studio kb resume crash" in listed.stderr

    resumed = json.loads(studio(home, "kb", "add", "crash", str(folder), "--json").stdout)
    assert resumed["queued"] == [] and resumed["chunks"] > 0
    services = build(Settings(home=home))
    try:
        docs = services.knowledge.documents("crash")
        assert {d.status for d in docs} == {DocumentStatus.COMPLETED} and len(docs) == 8
        total = sum(d.segment_count for d in docs)
        assert resumed["chunks"] <= total - killed_at + 64  # at most one unmarked batch is embedded again
        dataset = services.knowledge.get("crash")
        index = services.knowledge._index(dataset, 0)
        assert index.count() == total == len(index.segment_ids())
        ids = {s.id for d in docs for s in services.knowledge.segments(d.id, limit=10_000)}
        assert index.segment_ids() == ids
        # The same files ingested fresh give the same chunks: nothing was lost or doubled.
        services.knowledge.create("fresh", chunk_size=300, overlap=30)
        services.knowledge.add("fresh", [folder])
        services.knowledge.ingest("fresh")
        fresh = {d.name: d.segment_count for d in services.knowledge.documents("fresh")}
        assert fresh == {d.name: d.segment_count for d in docs}
    finally:
        services.close()


def _small_kb(home, tmp_path, name="small"):
    folder = tmp_path / "small"
    folder.mkdir()
    (folder / "alpha.md").write_text("---\nauthor: alice\n---\n# Alpha\n\nThe zebra protocol resets routers.\n\n"
                                     "Penguins live in the cold south.\n")
    (folder / "beta.md").write_text("# Beta\n\nBananas are a yellow fruit from the tropics.\n")
    studio(home, "kb", "create", name, "--chunk-size", "50")  # the default overlap fits a small chunk size
    return folder, json.loads(studio(home, "kb", "add", name, str(folder), "--json").stdout)


@pytest.mark.parametrize("option", [["--top-k", "0"], ["--top-k", "-5"], ["--top-k", "1000000"], ["--top-k", "x"],
                                    ["--threshold", "-1"], ["--threshold", "nan"], ["--threshold", "inf"],
                                    ["--threshold", "2"], ["--filter", "author", "bogus", "x"]])
def test_bad_search_options_are_usage_errors(home, option):
    out = studio(home, "kb", "search", "Docs", "x", *option, check=False, timeout=60)
    assert out.returncode == 2 and option[0] in out.stderr and "Traceback" not in out.stderr
    assert "validation error" not in out.stderr


def test_json_paths_nothing_to_index_and_empty_folder(home, tmp_path):
    folder, added = _small_kb(home, tmp_path)
    paths = [str((folder / n).resolve()) for n in ("alpha.md", "beta.md")]
    assert added["queued"] == paths and added["documents"] == 2 and added["completed"] == 2
    assert added["failed"] == []
    again = json.loads(studio(home, "kb", "add", "small", str(folder), "--json").stdout)
    assert again["unchanged"] == paths and again["documents"] == 0
    text = studio(home, "kb", "add", "small", str(folder))
    assert "nothing to index" in text.stderr and "0 chunks" not in text.stderr
    assert "nothing to index" in studio(home, "kb", "resume", "small").stderr
    (tmp_path / "none").mkdir()
    none = studio(home, "kb", "add", "small", str(tmp_path / "none"), check=False)
    assert none.returncode == 1 and f"no supported files found in {tmp_path / 'none'}" in none.stderr
    (folder / "empty.txt").write_text("")
    failed = studio(home, "kb", "add", "small", str(folder / "empty.txt"), "--json", check=False)
    assert failed.returncode == 1 and "empty.txt: empty.txt" not in failed.stderr
    report = json.loads(failed.stdout)
    assert report["documents"] == 1 and report["completed"] == 0
    assert [f["path"] for f in report["failed"]] == [str((folder / "empty.txt").resolve())]
    listed = studio(home, "kb", "list", "small").stdout
    assert "empty.txt: the document is empty" in listed  # in full, under the table


def test_remove_chunks_edit_set_and_filter(home, tmp_path):
    _small_kb(home, tmp_path)
    missing = studio(home, "kb", "remove", "small", "nope.md", check=False)
    assert missing.returncode == 1 and "nope.md" in missing.stderr

    chunks = json.loads(studio(home, "kb", "chunks", "small", "alpha.md", "--json").stdout)
    zebra = next(c for c in chunks if "zebra" in c["content"])
    assert "zebra" in studio(home, "kb", "chunks", "small", "alpha.md", "--keyword", "zebra").stdout
    studio(home, "kb", "chunk", zebra["id"], "--disable")
    hits = json.loads(studio(home, "kb", "search", "small", "zebra", "--mode", "full_text", "--json").stdout)
    assert all(h["segment_id"] != zebra["id"] for h in hits)
    studio(home, "kb", "chunk", zebra["id"], "--enable")
    studio(home, "kb", "chunk", zebra["id"], "--edit", "The walrus protocol resets modems.")
    hits = json.loads(studio(home, "kb", "search", "small", "walrus", "--mode", "full_text", "--json").stdout)
    assert hits and hits[0]["segment_id"] == zebra["id"] and "walrus" in hits[0]["content"]
    assert studio(home, "kb", "chunk", "no-such-id", "--enable", check=False).returncode == 1

    alice = json.loads(studio(home, "kb", "search", "small", "fruit", "--filter", "author", "is", "alice",
                              "--json").stdout)
    assert alice and {h["document_name"] for h in alice} == {"alpha.md"}
    either = json.loads(studio(home, "kb", "search", "small", "fruit", "--filter", "author", "is", "alice",
                               "--filter", "document_name", "start with", "beta", "--any", "--json").stdout)
    assert {h["document_name"] for h in either} == {"alpha.md", "beta.md"}

    shown = studio(home, "kb", "set", "small", "--mode", "full_text", "--top-k", "7", "--threshold", "0.2").stdout
    assert "full_text" in shown and "7" in shown
    [listed] = json.loads(studio(home, "kb", "list", "--json").stdout)
    retrieval = listed["retrieval"]
    assert retrieval["search_method"] == "full_text_search" and retrieval["top_k"] == 7
    assert retrieval["score_threshold_enabled"] and retrieval["score_threshold"] == 0.2
    assert studio(home, "kb", "set", "small", "--weights", "0.7,0.4", check=False).returncode == 2

    studio(home, "kb", "remove", "small", "beta.md")
    docs = json.loads(studio(home, "kb", "list", "small", "--json").stdout)
    assert [d["name"] for d in docs] == ["alpha.md"]
