"""SQLite persistence: the only package that imports SQLAlchemy and Alembic."""

from studio.store.database import Store

__all__ = ["Store"]
