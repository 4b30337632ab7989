"""Service-API records: key hashes, uploaded files and message feedback, each method one short transaction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from studio.core.entities import ApiKey, UploadedFile
from studio.core.errors import ConflictError, NotFoundError, ValidationError
from studio.store.orm import ApiKeyRow, ConversationRow, MessageFeedbackRow, MessageRow, UploadFileRow, utcnow

if TYPE_CHECKING:
    from studio.store.database import Store


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(id=row.id, app_id=row.app_id, scope=row.scope, hint=row.hint, created_at=row.created_at,
                  last_used_at=row.last_used_at)


def _upload(row: UploadFileRow) -> UploadedFile:
    return UploadedFile(id=row.id, name=row.name, size=row.size, extension=row.extension, mime_type=row.mime_type,
                        user=row.user, path=row.path, created_at=row.created_at)


class ApiKeyRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def create(self, *, key_id: str, app_id: str | None, scope: str, hint: str, key_hash: str,
               max_keys: int) -> ApiKey:
        """Insert a key unless its app (or, for dataset keys, the dataset scope) already has max_keys."""
        row = ApiKeyRow(id=key_id, app_id=app_id, scope=scope, hint=hint, key_hash=key_hash,
                        created_at=utcnow(), last_used_at=None)
        owner = ApiKeyRow.app_id == app_id if app_id is not None else ApiKeyRow.app_id.is_(None)
        try:
            with self._store.transaction() as s:
                count = s.scalar(select(func.count()).where(owner, ApiKeyRow.scope == scope)) or 0
                if count >= max_keys:
                    raise ValidationError(
                        f"Too many API keys: at most {max_keys} {scope} keys are allowed"
                        f"{' per app' if app_id else ''}; revoke one first")
                s.add(row)
        except IntegrityError as exc:  # a hash collision means the same token twice: practically impossible
            raise ConflictError("This API key already exists") from exc
        return _key(row)

    def list(self, app_id: str | None = None) -> list[ApiKey]:
        q = select(ApiKeyRow).order_by(ApiKeyRow.created_at.desc(), ApiKeyRow.id)
        if app_id is not None:
            q = q.where(ApiKeyRow.app_id == app_id)
        with self._store.transaction() as s:
            return [_key(r) for r in s.scalars(q)]

    def ids_starting_with(self, prefix: str, limit: int = 2) -> list[str]:
        escaped = prefix.replace("!", "!!").replace("%", "!%").replace("_", "!_")
        q = select(ApiKeyRow.id).where(ApiKeyRow.id.like(f"{escaped}%", escape="!")).limit(limit)
        with self._store.transaction() as s:
            return list(s.scalars(q))

    def find_by_hash(self, key_hash: str) -> tuple[ApiKey, str] | None:
        """The key with this hash and the stored hash itself (for a constant-time comparison), via the index."""
        with self._store.transaction() as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash))
            return (_key(row), row.key_hash) if row else None

    def touch(self, key_id: str, when: datetime) -> None:
        with self._store.transaction() as s:
            s.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=when))

    def delete(self, key_id: str) -> None:
        with self._store.transaction() as s:
            if s.execute(delete(ApiKeyRow).where(ApiKeyRow.id == key_id)).rowcount == 0:
                raise NotFoundError(f"No API key with id {key_id!r}")


class UploadRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, file: UploadedFile, *, app_id: str | None = None) -> UploadedFile:
        """Record an upload; `app_id` is the app whose key uploaded it (None: no app, e.g. older uploads)."""
        with self._store.transaction() as s:
            s.add(UploadFileRow(**file.model_dump(), app_id=app_id))
        return file

    def get(self, file_id: str) -> UploadedFile | None:
        with self._store.transaction() as s:
            row = s.get(UploadFileRow, file_id)
            return _upload(row) if row else None

    def get_with_app(self, file_id: str) -> tuple[UploadedFile, str | None] | None:
        """The upload and the id of the app it belongs to (None for uploads made before uploads had an app)."""
        with self._store.transaction() as s:
            row = s.get(UploadFileRow, file_id)
            return (_upload(row), row.app_id) if row else None


class FeedbackRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def message_owner(self, message_id: str) -> tuple[str, str] | None:
        """The app and the end user a message belongs to, or None when there is no such message."""
        q = (select(MessageRow.app_id, ConversationRow.user)
             .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
             .where(MessageRow.id == message_id))
        with self._store.transaction() as s:
            row = s.execute(q).first()
            return (row[0], row[1]) if row else None

    def upsert(self, *, message_id: str, app_id: str, rating: str, content: str, user: str) -> None:
        now = utcnow()
        with self._store.transaction() as s:
            row = s.get(MessageFeedbackRow, message_id)
            if row is None:
                s.add(MessageFeedbackRow(message_id=message_id, app_id=app_id, rating=rating, content=content,
                                         user=user, created_at=now, updated_at=now))
            else:
                row.rating, row.content, row.user, row.updated_at = rating, content, user, now

    def delete(self, message_id: str) -> bool:
        with self._store.transaction() as s:
            return s.execute(delete(MessageFeedbackRow).where(MessageFeedbackRow.message_id == message_id)
                             ).rowcount > 0

    def for_messages(self, message_ids: list[str]) -> dict[str, dict[str, Any]]:
        if not message_ids:
            return {}
        q = select(MessageFeedbackRow).where(MessageFeedbackRow.message_id.in_(message_ids))
        with self._store.transaction() as s:
            return {r.message_id: {"rating": r.rating, "content": r.content} for r in s.scalars(q)}

    def for_app(self, app_id: str, *, offset: int, limit: int) -> list[dict[str, Any]]:
        """Dify's MessageFeedback.to_dict items, newest first; end users are the only source here."""
        q = (select(MessageFeedbackRow, MessageRow.conversation_id)
             .join(MessageRow, MessageRow.id == MessageFeedbackRow.message_id)
             .where(MessageFeedbackRow.app_id == app_id)
             .order_by(MessageFeedbackRow.created_at.desc(), MessageFeedbackRow.message_id)
             .offset(offset).limit(limit))
        with self._store.transaction() as s:
            return [{"id": r.message_id, "app_id": r.app_id, "conversation_id": conversation_id,
                     "message_id": r.message_id, "rating": r.rating, "content": r.content, "from_source": "user",
                     "from_end_user_id": r.user, "from_account_id": None, "created_at": r.created_at,
                     "updated_at": r.updated_at} for r, conversation_id in s.execute(q)]
