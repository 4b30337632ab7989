"""Repositories: each method is one short transaction and returns core entities, never ORM rows."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from studio.core.entities import App, AppMode, Conversation, Message, MessageStatus
from studio.core.errors import ConflictError, NotFoundError
from studio.store.orm import AppRow, ConversationRow, MessageRow, ModelRow, SettingRow, utcnow

if TYPE_CHECKING:
    from studio.store.database import Store


def new_id() -> str:
    return str(uuid.uuid4())


def _app(row: AppRow) -> App:
    return App(
        id=row.id, name=row.name, mode=AppMode(row.mode), icon=row.icon, icon_background=row.icon_background,
        description=row.description, config=row.config or {}, created_at=row.created_at, updated_at=row.updated_at,
    )


def _conversation(row: ConversationRow) -> Conversation:
    return Conversation(
        id=row.id, app_id=row.app_id, name=row.name, inputs=row.inputs or {}, user=row.user,
        created_at=row.created_at, updated_at=row.updated_at,
    )


def _message(row: MessageRow) -> Message:
    return Message(
        id=row.id, conversation_id=row.conversation_id, app_id=row.app_id, query=row.query, answer=row.answer,
        inputs=row.inputs or {}, status=MessageStatus(row.status), error=row.error,
        message_tokens=row.message_tokens, answer_tokens=row.answer_tokens, latency_ms=row.latency_ms,
        first_token_ms=row.first_token_ms, model_id=row.model_id, retriever_resources=row.retriever_resources or [],
        created_at=row.created_at,
    )


class AppRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def list(self) -> list[App]:
        with self._store.transaction() as s:
            return [_app(r) for r in s.scalars(select(AppRow).order_by(AppRow.updated_at.desc()))]

    def get(self, app_id: str) -> App:
        with self._store.transaction() as s:
            row = s.get(AppRow, app_id)
            if row is None:
                raise NotFoundError(f"App {app_id!r} not found")
            return _app(row)

    def find_by_name(self, name: str) -> App | None:
        with self._store.transaction() as s:
            row = s.scalar(select(AppRow).where(AppRow.name == name))
            return _app(row) if row else None

    def create(self, *, name: str, mode: AppMode, icon: str, icon_background: str, description: str,
               config: dict[str, Any], dsl_source: dict[str, Any] | None = None) -> App:
        now = utcnow()
        row = AppRow(id=new_id(), name=name, mode=mode.value, icon=icon, icon_background=icon_background,
                     description=description, config=config, created_at=now, updated_at=now, dsl_source=dsl_source)
        try:
            with self._store.transaction() as s:
                s.add(row)
        except IntegrityError as exc:
            raise ConflictError(f"An app named {name!r} already exists") from exc
        return _app(row)

    def dsl_source(self, app_id: str) -> dict[str, Any] | None:
        """The DSL document the app was imported from, if it was."""
        with self._store.transaction() as s:
            return s.scalar(select(AppRow.dsl_source).where(AppRow.id == app_id))

    def update(self, app_id: str, **fields: Any) -> App:
        try:
            with self._store.transaction() as s:
                row = s.get(AppRow, app_id)
                if row is None:
                    raise NotFoundError(f"App {app_id!r} not found")
                for key, value in fields.items():
                    setattr(row, key, value)
                row.updated_at = utcnow()
                s.flush()
                return _app(row)
        except IntegrityError as exc:
            raise ConflictError(f"An app named {fields.get('name')!r} already exists") from exc

    def delete(self, app_id: str) -> None:
        with self._store.transaction() as s:
            if s.execute(delete(AppRow).where(AppRow.id == app_id)).rowcount == 0:
                raise NotFoundError(f"App {app_id!r} not found")

    def names(self) -> set[str]:
        with self._store.transaction() as s:
            return set(s.scalars(select(AppRow.name)))


class ConversationRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def create(self, app_id: str, *, name: str, inputs: dict[str, Any], user: str = "") -> Conversation:
        now = utcnow()
        row = ConversationRow(id=new_id(), app_id=app_id, name=name, inputs=inputs, user=user,
                              created_at=now, updated_at=now)
        with self._store.transaction() as s:
            s.add(row)
        return _conversation(row)

    def get(self, conversation_id: str) -> Conversation:
        with self._store.transaction() as s:
            row = s.get(ConversationRow, conversation_id)
            if row is None:
                raise NotFoundError(f"Conversation {conversation_id!r} not found")
            return _conversation(row)

    def list(self, app_id: str | None = None, limit: int = 500) -> list[Conversation]:
        q = select(ConversationRow).order_by(ConversationRow.updated_at.desc()).limit(limit)
        if app_id is not None:
            q = q.where(ConversationRow.app_id == app_id)
        with self._store.transaction() as s:
            return [_conversation(r) for r in s.scalars(q)]

    def update(self, conversation_id: str, **fields: Any) -> Conversation:
        with self._store.transaction() as s:
            row = s.get(ConversationRow, conversation_id)
            if row is None:
                raise NotFoundError(f"Conversation {conversation_id!r} not found")
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            s.flush()
            return _conversation(row)

    def delete(self, conversation_id: str) -> None:
        with self._store.transaction() as s:
            if s.execute(delete(ConversationRow).where(ConversationRow.id == conversation_id)).rowcount == 0:
                raise NotFoundError(f"Conversation {conversation_id!r} not found")

    def page(self, app_id: str, *, user: str | None, last_id: str | None, limit: int, sort_field: str,
             descending: bool) -> tuple[list[Conversation], bool]:
        """Dify's keyset paging: the `limit` conversations after `last_id` in this order, and whether more follow."""
        column = getattr(ConversationRow, sort_field)
        scope = [ConversationRow.app_id == app_id] + ([ConversationRow.user == user] if user is not None else [])
        q = select(ConversationRow).where(*scope)
        with self._store.transaction() as s:
            if last_id:
                last = s.scalar(select(ConversationRow).where(*scope, ConversationRow.id == last_id))
                if last is None:
                    raise NotFoundError("Last Conversation Not Exists.")
                # The id breaks ties, so conversations sharing a timestamp are neither skipped nor repeated.
                value = getattr(last, sort_field)
                after = (or_(column < value, and_(column == value, ConversationRow.id < last.id)) if descending
                         else or_(column > value, and_(column == value, ConversationRow.id > last.id)))
                q = q.where(after)
            order = (column.desc(), ConversationRow.id.desc()) if descending else (column, ConversationRow.id)
            rows = list(s.scalars(q.order_by(*order).limit(limit + 1)))
            return [_conversation(r) for r in rows[:limit]], len(rows) > limit


class MessageRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def start(self, conversation_id: str, app_id: str, *, query: str, inputs: dict[str, Any],
              model_id: str) -> Message:
        """Record a message before generation begins, so a crash leaves a trace to mark interrupted."""
        row = MessageRow(id=new_id(), conversation_id=conversation_id, app_id=app_id, query=query, answer="",
                         inputs=inputs, status=MessageStatus.RUNNING.value, error="", message_tokens=0,
                         answer_tokens=0, latency_ms=0.0, first_token_ms=0.0, model_id=model_id, retriever_resources=[],
                         created_at=utcnow(), owner=self._store.owner)
        with self._store.transaction() as s:
            s.add(row)
            s.execute(update(ConversationRow).where(ConversationRow.id == conversation_id)
                      .values(updated_at=row.created_at))
        return _message(row)

    def save_partial(self, message_id: str, answer: str) -> None:
        with self._store.transaction() as s:
            s.execute(update(MessageRow).where(MessageRow.id == message_id).values(answer=answer))

    def finish(self, message_id: str, **fields: Any) -> Message:
        with self._store.transaction() as s:
            row = s.get(MessageRow, message_id)
            if row is None:
                raise NotFoundError(f"Message {message_id!r} not found")
            for key, value in fields.items():
                setattr(row, key, value.value if isinstance(value, MessageStatus) else value)
            s.flush()
            return _message(row)

    def get(self, message_id: str) -> Message:
        with self._store.transaction() as s:
            row = s.get(MessageRow, message_id)
            if row is None:
                raise NotFoundError(f"Message {message_id!r} not found")
            return _message(row)

    def list(self, conversation_id: str) -> list[Message]:
        """A conversation's messages, oldest first, each with the one before it as its parent."""
        q = select(MessageRow).where(MessageRow.conversation_id == conversation_id).order_by(MessageRow.created_at,
                                                                                             MessageRow.id)
        with self._store.transaction() as s:
            rows = list(s.scalars(q))
            return [_message(r).model_copy(update={"parent_message_id": rows[i - 1].id if i else None})
                    for i, r in enumerate(rows)]

    def recent(self, app_id: str | None = None, limit: int = 200) -> list[Message]:
        q = select(MessageRow).order_by(MessageRow.created_at.desc()).limit(limit)
        if app_id is not None:
            q = q.where(MessageRow.app_id == app_id)
        with self._store.transaction() as s:
            return [_message(r) for r in s.scalars(q)]

    def mark_running_interrupted(self) -> int:
        """At start-up, answers still marked running by a Studio process that is gone were cut off by a
        crash: say so, keep the text. Those of live processes are theirs to finish."""
        alive = self._store.live_owners()
        with self._store.transaction() as s:
            result = s.execute(
                update(MessageRow).where(MessageRow.status == MessageStatus.RUNNING.value,
                                         or_(MessageRow.owner.is_(None), MessageRow.owner.not_in(alive))).values(
                    status=MessageStatus.INTERRUPTED.value,
                    error="Studio stopped before this answer finished; the text so far was kept.",
                )
            )
            return result.rowcount

    def count(self, conversation_id: str) -> int:
        with self._store.transaction() as s:
            return s.scalar(select(func.count()).where(MessageRow.conversation_id == conversation_id)) or 0

    def page(self, conversation_id: str, *, first_id: str | None, limit: int) -> tuple[list[Message], bool]:
        """Dify's history paging: the newest `limit` messages older than `first_id`, oldest first, and
        whether older ones remain."""
        q = select(MessageRow).where(MessageRow.conversation_id == conversation_id)
        with self._store.transaction() as s:
            if first_id:
                first = s.scalar(select(MessageRow).where(MessageRow.conversation_id == conversation_id,
                                                          MessageRow.id == first_id))
                if first is None:
                    raise NotFoundError("First Message Not Exists.")
                q = q.where(or_(MessageRow.created_at < first.created_at,
                                and_(MessageRow.created_at == first.created_at, MessageRow.id < first.id)))
            rows = list(s.scalars(q.order_by(MessageRow.created_at.desc(), MessageRow.id.desc()).limit(limit + 1)))
            # each message's parent is the one before it; one row past the page gives the oldest one's
            page = [_message(r).model_copy(update={"parent_message_id": rows[i + 1].id if i + 1 < len(rows) else None})
                    for i, r in enumerate(rows[:limit])]
            return list(reversed(page)), len(rows) > limit


class ModelRepository:
    """User-added model files; bundled models are found afresh from installed packages."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, model_id: str, path: str) -> None:
        with self._store.transaction() as s:
            if s.scalar(select(ModelRow).where(ModelRow.path == path)) is not None:
                raise ConflictError(f"{path} is already in the model list")
            if s.get(ModelRow, model_id) is not None:
                raise ConflictError(f"A model with id {model_id!r} is already in the list")
            s.add(ModelRow(id=model_id, path=path, source="user", created_at=utcnow()))

    def list(self) -> list[tuple[str, str]]:
        with self._store.transaction() as s:
            return [(r.id, r.path) for r in s.scalars(select(ModelRow).order_by(ModelRow.created_at))]

    def remove(self, model_id: str) -> None:
        with self._store.transaction() as s:
            if s.execute(delete(ModelRow).where(ModelRow.id == model_id)).rowcount == 0:
                raise NotFoundError(f"Model {model_id!r} not found")


class SettingRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, key: str, default: Any = None) -> Any:
        with self._store.transaction() as s:
            row = s.get(SettingRow, key)
            return default if row is None else row.value

    def set(self, key: str, value: Any) -> None:
        # One statement, so two threads saving the same new key at once cannot both try to insert it.
        stmt = sqlite_insert(SettingRow).values(key=key, value=value)
        with self._store.transaction() as s:
            s.execute(stmt.on_conflict_do_update(index_elements=[SettingRow.key], set_={"value": stmt.excluded.value}))


class Repositories:
    def __init__(self, store: Store) -> None:
        self.apps = AppRepository(store)
        self.conversations = ConversationRepository(store)
        self.messages = MessageRepository(store)
        self.models = ModelRepository(store)
        self.settings = SettingRepository(store)
        from studio.store.knowledge import KnowledgeRepository
        from studio.store.runs import RunRepository

        self.knowledge = KnowledgeRepository(store)
        from studio.store.kb_labels import KnowledgeLabelRepository

        self.kb_labels = KnowledgeLabelRepository(store)
        from studio.store.access import ApiKeyRepository, FeedbackRepository, UploadRepository

        self.keys = ApiKeyRepository(store)
        self.uploads = UploadRepository(store)
        self.feedback = FeedbackRepository(store)

        self.runs = RunRepository(store)
