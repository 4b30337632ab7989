"""Service API keys through the real services: tokens shown once, hashes at rest, revoke across processes."""

import hashlib
import re
import sqlite3

import pytest

from studio.app import build
from studio.core.errors import AuthenticationError, NotFoundError, ValidationError
from studio.core.settings import Settings
from studio.store import Store


def test_create_list_authenticate_revoke(services):
    app = services.apps.create("Helper")
    other = services.apps.create("Other")
    key, token = services.keys.create("Helper")
    assert re.fullmatch(r"app-[A-Za-z0-9]{24}", token)
    assert key.app_id == app.id and key.scope == "app" and key.hint == f"app-…{token[-4:]}"
    assert key.last_used_at is None
    newer, _ = services.keys.create(app.id)
    services.keys.create("Other")
    assert [k.id for k in services.keys.list("Helper")] == [newer.id, key.id]  # newest first
    assert len(services.keys.list()) == 3 and services.keys.list(other.id)[0].app_id == other.id
    used = services.keys.authenticate(token)
    assert used.id == key.id and used.app_id == app.id and used.last_used_at is not None
    services.keys.revoke(key.id)
    with pytest.raises(AuthenticationError, match="Access token is invalid"):
        services.keys.authenticate(token)
    with pytest.raises(NotFoundError, match="No API key"):
        services.keys.revoke(key.id)


def test_dataset_keys_need_no_app(services):
    services.apps.create("Helper")
    key, token = services.keys.create(scope="dataset")
    assert token.startswith("dataset-") and len(token) == len("dataset-") + 24
    assert key.app_id is None and key.scope == "dataset" and key.hint.startswith("dataset-…")
    assert services.keys.authenticate(token).scope == "dataset"
    with pytest.raises(ValidationError, match="belongs to no app"):
        services.keys.create("Helper", scope="dataset")
    with pytest.raises(ValidationError, match="needs an app"):
        services.keys.create()
    with pytest.raises(ValidationError, match="scope must be one of app, dataset"):
        services.keys.create("Helper", scope="admin")
    with pytest.raises(NotFoundError, match="No app with id or name 'Nope'"):
        services.keys.create("Nope")


def test_at_most_ten_keys_per_app(services):
    services.apps.create("Helper")
    services.apps.create("Other")
    for _ in range(10):
        services.keys.create("Helper")
    with pytest.raises(ValidationError, match="at most 10 app keys are allowed per app"):
        services.keys.create("Helper")
    services.keys.create("Other")  # the limit is per app
    services.keys.revoke(services.keys.list("Helper")[0].id)
    services.keys.create("Helper")


def test_malformed_and_unknown_tokens_are_refused(services):
    services.apps.create("Helper")
    _, token = services.keys.create("Helper")
    unknown = token[:-1] + ("A" if token[-1] != "A" else "B")  # well formed, never issued
    bad = ["", "Bearer " + token, token[:-1], token + "x", token[:-1] + "!", unknown, "dataset-" + token[4:],
           "APP-" + token[4:], None, 42]
    for candidate in bad:
        with pytest.raises(AuthenticationError, match="Access token is invalid"):
            services.keys.authenticate(candidate)
    assert services.keys.authenticate(token)


def test_only_the_hash_is_at_rest(home, services):
    services.apps.create("Helper")
    _, token = services.keys.create("Helper")
    services.keys.authenticate(token)
    db = home / "studio.db"
    files = [db, db.with_name("studio.db-wal")]
    data = b"".join(p.read_bytes() for p in files if p.exists())
    assert token.encode() not in data and token[4:].encode() not in data
    assert hashlib.sha256(token.encode()).hexdigest().encode() in data  # we did read the rows
    con = sqlite3.connect(db)
    try:
        rows = con.execute("select * from api_keys").fetchall()
    finally:
        con.close()
    assert rows and all(token not in str(r) for r in rows)


def test_revoke_in_another_process_takes_effect_at_once(home, services):
    services.apps.create("Helper")
    key, token = services.keys.create("Helper")
    assert services.keys.authenticate(token).id == key.id
    second = build(Settings(home=home))
    try:
        assert second.keys.authenticate(token).id == key.id
        second.keys.revoke(key.id[:8])  # a unique prefix is enough
    finally:
        second.close()
    with pytest.raises(AuthenticationError):
        services.keys.authenticate(token)


def test_last_used_is_written_at_most_once_a_minute(home, services):
    services.apps.create("Helper")
    key, token = services.keys.create("Helper")
    first = services.keys.authenticate(token).last_used_at
    [stored] = services.keys.list("Helper")
    assert stored.last_used_at == first
    again = services.keys.authenticate(token)
    assert again.last_used_at == first  # no second write within the minute
    second = build(Settings(home=home))  # another process keeps its own minute
    try:
        later = second.keys.authenticate(token).last_used_at
    finally:
        second.close()
    assert later >= first and services.keys.list("Helper")[0].last_used_at == later


def test_revoke_by_prefix_needs_six_unique_characters(home, services):
    app = services.apps.create("Helper")
    store = Store(home / "studio.db")  # ids chosen here, so two of them share a prefix
    try:
        repo_keys = [store.repos.keys.create(key_id=key_id, app_id=app.id, scope="app", hint=f"app-…{n:04}",
                                             key_hash=f"{n:064x}", max_keys=10)
                     for n, key_id in enumerate(["abcdef01-0000-4000-8000-000000000001",
                                                 "abcdef02-0000-4000-8000-000000000002"])]
    finally:
        store.close()
    with pytest.raises(ValidationError, match="matches more than one key"):
        services.keys.revoke("abcdef0")
    with pytest.raises(NotFoundError, match="at least 6"):
        services.keys.revoke("abcde")
    with pytest.raises(NotFoundError):
        services.keys.revoke("zzzzzzzz")
    services.keys.revoke("abcdef02")
    assert [k.id for k in services.keys.list()] == [repo_keys[0].id]
