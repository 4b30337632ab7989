"""Agent steps of stored answers (table message_agent_thoughts, migration 0007): one row per thought, tool call
and observation, deleted with their message."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from studio.core.events import AgentThought
from studio.store.orm import Base, utcnow
from studio.store.repositories import new_id

if TYPE_CHECKING:
    from studio.store.database import Store


class AgentThoughtRow(Base):
    __tablename__ = "message_agent_thoughts"
    __table_args__ = (Index("ix_message_agent_thoughts_message", "message_id", "position"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    thought: Mapped[str] = mapped_column(Text, default="")
    tool: Mapped[str] = mapped_column(Text, default="")
    tool_labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tool_input: Mapped[str] = mapped_column(Text, default="")
    observation: Mapped[str] = mapped_column(Text, default="")
    message_files: Mapped[list[Any]] = mapped_column(JSON, default=list)
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def _thought(row: AgentThoughtRow) -> AgentThought:
    return AgentThought(id=row.id, message_id=row.message_id, position=row.position, thought=row.thought,
                        tool=row.tool, tool_input=row.tool_input, observation=row.observation,
                        tool_labels=dict(row.tool_labels or {}), message_files=list(row.message_files or []),
                        tokens=row.tokens, created_at=row.created_at)


class AgentThoughtRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, thought: AgentThought) -> AgentThought:
        """Store one step; the id and time are given here (those on `thought` are ignored)."""
        row = AgentThoughtRow(id=new_id(), message_id=thought.message_id, position=thought.position,
                              thought=thought.thought, tool=thought.tool, tool_labels=dict(thought.tool_labels),
                              tool_input=thought.tool_input, observation=thought.observation,
                              message_files=list(thought.message_files), tokens=thought.tokens, created_at=utcnow())
        with self._store.transaction() as s:
            s.add(row)
        return _thought(row)

    def for_messages(self, message_ids: list[str]) -> dict[str, list[AgentThought]]:
        """{message_id: its steps in order} for the messages that have any."""
        if not message_ids:
            return {}
        q = (select(AgentThoughtRow).where(AgentThoughtRow.message_id.in_(list(message_ids)))
             .order_by(AgentThoughtRow.message_id, AgentThoughtRow.position))
        found: dict[str, list[AgentThought]] = {}
        with self._store.transaction() as s:
            for row in s.scalars(q):
                found.setdefault(row.message_id, []).append(_thought(row))
        return found
