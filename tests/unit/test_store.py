"""The SQLite store: migrations at open, refusal of newer databases, persistence and crash recovery."""

import signal
import sqlite3
import subprocess
import sys

import pytest

from studio.core.entities import AppMode, MessageStatus
from studio.core.workflow import RunStatus
from studio.core.errors import ConflictError, DatabaseVersionError, NotFoundError, StudioError
from studio.store import Store
from studio.store.database import SCHEMA_HEAD


def make_app(store, name="A"):
    return store.repos.apps.create(name=name, mode=AppMode.CHAT, icon="🤖", icon_background="#fff",
                                   description="", config={"pre_prompt": "x"})


def test_open_migrates_and_uses_wal(tmp_path):
    store = Store(tmp_path / "s.db")
    assert store.schema_revision() == (SCHEMA_HEAD,)
    con = sqlite3.connect(tmp_path / "s.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    assert {"apps", "conversations", "messages", "models", "settings", "alembic_version", "workflow_runs",
            "node_executions", "conversation_variables"} <= tables


def test_newer_database_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "s.db"
    Store(path).close()
    con = sqlite3.connect(path)
    con.execute("update alembic_version set version_num='9999_future'")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseVersionError, match="newer version of Studio"):
        Store(path)
    assert path.read_bytes() == before


def test_not_a_database_gives_clear_error(tmp_path):
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StudioError, match="not a Studio database"):
        Store(path)


def test_data_survives_reopen_and_running_answers_become_interrupted(tmp_path):
    store = Store(tmp_path / "s.db")
    app = make_app(store)
    conv = store.repos.conversations.create(app.id, name="c", inputs={"a": 1})
    msg = store.repos.messages.start(conv.id, app.id, query="hi", inputs={}, model_id="m")
    store.repos.messages.save_partial(msg.id, "partial ans")
    store.close()  # as if the process died here

    store = Store(tmp_path / "s.db")
    assert store.repos.messages.mark_running_interrupted() == 1
    [again] = store.repos.messages.list(conv.id)
    assert again.status == MessageStatus.INTERRUPTED and again.answer == "partial ans"
    assert store.repos.conversations.get(conv.id).inputs == {"a": 1}


CRASHING_WRITER = """
import os, signal, sys
from studio.core.entities import AppMode
from studio.store import Store
store = Store(sys.argv[1])
app = store.repos.apps.create(name="Crashed", mode=AppMode.CHAT, icon="x", icon_background="#fff",
                              description="", config={})
conv = store.repos.conversations.create(app.id, name="c", inputs={})
store.repos.messages.start(conv.id, app.id, query="q", inputs={}, model_id="m")
store.repos.runs.start(run_id="dead-run", app_id=app.id, mode="workflow", inputs={})
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_start_up_marks_only_the_rows_of_processes_that_are_gone(tmp_path):
    """A second Studio on the same home (the window and `studio serve`) leaves the first one's live answers
    alone; the rows of a process killed with -9 are marked at the next start."""
    path = tmp_path / "s.db"
    live = Store(path)
    app = make_app(live)
    conv = live.repos.conversations.create(app.id, name="c", inputs={})
    answering = live.repos.messages.start(conv.id, app.id, query="hi", inputs={}, model_id="m")
    live.repos.runs.start(run_id="live-run", app_id=app.id, mode="workflow", inputs={})
    killed = subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(path)], capture_output=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()

    second = Store(path)  # what `studio keys list` does while the window answers
    assert second.repos.messages.mark_running_interrupted() == 1
    assert second.repos.runs.mark_running_failed() == 1
    assert live.repos.messages.list(conv.id)[0].status == MessageStatus.RUNNING
    assert live.repos.runs.get("live-run").status == RunStatus.RUNNING
    assert second.repos.runs.get("dead-run").status == RunStatus.FAILED
    assert len(list((tmp_path / "instances").glob("*.lock"))) == 2  # the dead process's claim was cleared
    second.close()

    live.close()  # the owner is gone now (closed as a crash would): the next start marks its rows
    third = Store(path)
    assert third.repos.messages.mark_running_interrupted() == 1
    assert third.repos.messages.list(conv.id)[0].id == answering.id
    assert third.repos.messages.list(conv.id)[0].status == MessageStatus.INTERRUPTED
    third.close()


def test_unique_names_and_cascading_delete(tmp_path):
    store = Store(tmp_path / "s.db")
    app = make_app(store)
    with pytest.raises(ConflictError, match="already exists"):
        make_app(store)
    conv = store.repos.conversations.create(app.id, name="c", inputs={})
    store.repos.messages.start(conv.id, app.id, query="q", inputs={}, model_id="m")
    store.repos.apps.delete(app.id)
    with pytest.raises(NotFoundError):
        store.repos.conversations.get(conv.id)
    assert store.repos.messages.recent() == []


def test_settings_round_trip(tmp_path):
    store = Store(tmp_path / "s.db")
    store.repos.settings.set("k", {"a": [1]})
    store.repos.settings.set("k", 5)
    assert store.repos.settings.get("k") == 5
    assert store.repos.settings.get("missing", "d") == "d"


def test_known_revisions_match_the_migration_scripts():
    from alembic.script import ScriptDirectory

    from studio.store.database import KNOWN_REVISIONS, SCHEMA_HEAD, _alembic_config

    script = ScriptDirectory.from_config(_alembic_config())
    assert set(KNOWN_REVISIONS) == {r.revision for r in script.walk_revisions()}
    assert (SCHEMA_HEAD,) == tuple(script.get_heads())


def test_old_database_is_upgraded_keeping_its_data(tmp_path):
    from alembic import command

    from studio.store.database import _alembic_config

    path = tmp_path / "old.db"
    store = Store(path)
    app = make_app(store)
    cfg = _alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    store.close()
    assert Store(path).schema_revision() == (SCHEMA_HEAD,)
    assert Store(path).repos.apps.get(app.id).name == "A"


def test_knowledge_bases_from_before_tags_and_fields_open_with_none_declared(tmp_path):
    from alembic import command

    from studio.store.database import _alembic_config

    path = tmp_path / "kb.db"
    store = Store(path)
    store.repos.knowledge.create_dataset("d1", name="Notes", description="", embedding={}, process_rule={},
                                         retrieval={}, index_name="kb_d1")
    tag = store.repos.kb_labels.create_tag("science")
    store.repos.kb_labels.bind([tag.id], "d1")
    cfg = _alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    store.close()
    reopened = Store(path)
    dataset = reopened.repos.knowledge.get_dataset("d1")
    assert dataset.name == "Notes" and dataset.metadata_fields == () and dataset.built_in_metadata is True
    assert reopened.repos.kb_labels.list_tags() == []
    reopened.close()
