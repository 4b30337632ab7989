"""Service API keys: create (the token is shown once), list, revoke, and authenticate a request's bearer token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import threading
import time
import uuid
from datetime import datetime, timezone

from studio.core.entities import ApiKey
from studio.core.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError

SCOPES = {"app": "app-", "dataset": "dataset-"}  # Dify's token prefixes
TOKEN_CHARS = 24
MAX_KEYS = 10  # Dify's limit per app (and for workspace dataset keys)
MIN_ID_PREFIX = 6
TOUCH_EVERY_S = 60.0  # last_used_at is a hint for people; one write a minute per key is plenty
_ALPHABET = string.ascii_letters + string.digits
_INVALID = "Access token is invalid"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _hint(prefix: str, token: str) -> str:
    return f"{prefix}…{token[-4:]}"


def new_token(scope: str = "app") -> str:
    return SCOPES[scope] + "".join(secrets.choice(_ALPHABET) for _ in range(TOKEN_CHARS))


def _well_formed(token: str) -> bool:
    for prefix in SCOPES.values():
        if token.startswith(prefix):
            body = token[len(prefix):]
            return len(body) == TOKEN_CHARS and all(c in _ALPHABET for c in body)
    return False


class KeyService:
    def __init__(self, repos, apps) -> None:
        self._keys = repos.keys
        self._apps = apps
        self._touched: dict[str, float] = {}  # key id → monotonic time of the last last_used_at write
        self._lock = threading.Lock()

    def create(self, app_ref: str | None = None, *, scope: str = "app") -> tuple[ApiKey, str]:
        """A new key and its full token; only the token's hash is kept, so this is the one time it is seen."""
        if scope not in SCOPES:
            raise ValidationError(f"Key scope must be one of {', '.join(SCOPES)}, not {scope!r}")
        if scope == "app" and not app_ref:
            raise ValidationError("An app key needs an app: give its id or name")
        if scope == "dataset" and app_ref:
            raise ValidationError("A knowledge (dataset) key belongs to no app; leave the app out")
        app_id = self._apps.resolve(app_ref).id if scope == "app" else None
        prefix = SCOPES[scope]
        token = new_token(scope)
        key = self._keys.create(key_id=str(uuid.uuid4()), app_id=app_id, scope=scope, hint=_hint(prefix, token),
                                key_hash=hash_token(token), max_keys=MAX_KEYS)
        return key, token

    @staticmethod
    def check_app_token(token: str, *, source: str = "The key") -> str:
        """The token without surrounding spaces, or a ValidationError that says what is wrong (never the token)."""
        token = token.strip() if isinstance(token, str) else ""
        if not token.startswith(SCOPES["app"]) or not _well_formed(token):
            raise ValidationError(f"{source} is not a valid app key: it must be {SCOPES['app']} followed by "
                                  f"{TOKEN_CHARS} letters and digits (it has {len(token)} characters)")
        return token

    def register(self, app_ref: str, token: str, *, source: str = "The key") -> tuple[ApiKey, bool]:
        """Accept a token made elsewhere (a server deployment's STUDIO_API_KEY) as a key of the app: only its hash is
        stored. Returns (key, created); the same token again is the same key. The message never repeats the token."""
        token = self.check_app_token(token, source=source)
        app = self._apps.resolve(app_ref)
        digest = hash_token(token)
        found = self._keys.find_by_hash(digest)
        if found is not None:
            if found[0].app_id != app.id:
                raise ConflictError(f"{source} is already the key of another app here; use a new key for {app.name}")
            return found[0], False
        key = self._keys.create(key_id=str(uuid.uuid4()), app_id=app.id, scope="app",
                                hint=_hint(SCOPES["app"], token), key_hash=digest, max_keys=MAX_KEYS)
        return key, True

    def list(self, app_ref: str | None = None) -> list[ApiKey]:
        """Keys newest first, all of them or one app's."""
        app_id = self._apps.resolve(app_ref).id if app_ref else None
        return self._keys.list(app_id)

    def revoke(self, key_id: str) -> None:
        """Delete a key by its id or a unique prefix of at least MIN_ID_PREFIX characters."""
        key_id = (key_id or "").strip()
        if not key_id:
            raise ValidationError("Give the id of the key to revoke")
        matches = self._keys.ids_starting_with(key_id)
        if key_id not in matches:
            if len(key_id) < MIN_ID_PREFIX or not matches:
                raise NotFoundError(f"No API key with id {key_id!r} (give the full id or at least "
                                    f"{MIN_ID_PREFIX} of its first characters)")
            if len(matches) > 1:
                raise ValidationError(f"Key id prefix {key_id!r} matches more than one key; give more characters")
            key_id = matches[0]
        self._keys.delete(key_id)
        with self._lock:
            self._touched.pop(key_id, None)

    def authenticate(self, token: str) -> ApiKey:
        """The key a bearer token belongs to; read from the database each time, so a revoke anywhere counts."""
        if not isinstance(token, str) or not _well_formed(token):
            raise AuthenticationError(_INVALID)
        digest = hash_token(token)
        found = self._keys.find_by_hash(digest)
        if found is None or not hmac.compare_digest(found[1], digest):
            raise AuthenticationError(_INVALID)
        key = found[0]
        if self._due(key.id):
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            self._keys.touch(key.id, now)
            key = key.model_copy(update={"last_used_at": now})
        return key

    def _due(self, key_id: str) -> bool:
        """True at most once per TOUCH_EVERY_S for each key (per process)."""
        now = time.monotonic()
        with self._lock:
            last = self._touched.get(key_id)
            if last is not None and now - last < TOUCH_EVERY_S:
                return False
            self._touched[key_id] = now
            return True
