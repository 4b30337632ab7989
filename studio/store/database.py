"""The Store: one SQLite file in WAL mode, migrated by Alembic at open, refused if it is from a newer Studio."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlalchemy.orm import Session, sessionmaker

from studio.core.errors import DatabaseVersionError, StudioError
from studio.store.instances import Instance

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
# Every revision in migrations/versions, oldest first (a unit test checks this against Alembic). Knowing
# them here lets an up-to-date database open without importing Alembic, which costs a third of a second.
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008")
SCHEMA_HEAD = KNOWN_REVISIONS[-1]


def _set_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


class Store:
    """Owns the engine and hands out short transactions to the repositories."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(
            f"sqlite:///{self.path}", connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(self.engine, "connect", _set_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.migrate()
        self._instance = Instance(self.path.parent / "instances")
        self.owner = self._instance.id  # stamped on the running rows this process writes
        from studio.store.repositories import Repositories

        self.repos = Repositories(self)

    def migrate(self) -> None:
        """Bring the schema to the newest revision, refusing a database that a newer Studio wrote."""
        current = self.schema_revision()
        unknown = [rev for rev in current if rev not in KNOWN_REVISIONS]
        if unknown:
            raise DatabaseVersionError(
                f"{self.path} was written by a newer version of Studio (schema {', '.join(unknown)}). "
                "It was left untouched; update Studio to open it."
            )
        if current == (SCHEMA_HEAD,):
            return
        from alembic import command

        log.info("migrating %s from %s to %s", self.path, current or "empty", SCHEMA_HEAD)
        cfg = _alembic_config()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def schema_revision(self) -> tuple[str, ...]:
        try:
            with self.engine.connect() as conn:
                exists = conn.execute(text(
                    "select 1 from sqlite_master where type='table' and name='alembic_version'")).first()
                if not exists:
                    return ()
                return tuple(r[0] for r in conn.execute(text("select version_num from alembic_version")))
        except SADatabaseError as exc:
            raise StudioError(f"{self.path} is not a Studio database: {exc.orig}") from exc

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def live_owners(self) -> list[str]:
        """This process and the other Studio processes alive on the same home folder."""
        return [self.owner, *self._instance.others_alive()]

    def close(self) -> None:
        self.repos.runs.close()
        self.engine.dispose()
        self._instance.release()
