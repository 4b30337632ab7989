"""Uploads over real HTTP: a file belongs to the app whose key uploaded it, names are normalised before the
blocked-extension check, and the form's `user` is bounded."""

from __future__ import annotations

import io
import sqlite3

import pytest
import yaml

from tests.api.conftest import auth

ITEM = {"type": "document", "transfer_method": "local_file"}


def _file_workflow(name: str) -> str:
    """start(doc: file) → document extractor → end(text)."""
    nodes = [
        {"id": "start", "type": "custom", "data": {"type": "start", "title": "Start", "variables": [
            {"variable": "doc", "label": "doc", "type": "file", "required": False,
             "allowed_file_types": ["document"], "allowed_file_upload_methods": ["local_file", "remote_url"]}]}},
        {"id": "extract", "type": "custom", "data": {"type": "document-extractor", "title": "Extract",
                                                     "variable_selector": ["start", "doc"], "is_array_file": False}},
        {"id": "end", "type": "custom", "data": {"type": "end", "title": "End", "outputs": [
            {"variable": "text", "value_selector": ["extract", "text"]}]}},
    ]
    edges = [{"id": f"{s}-{t}", "source": s, "target": t, "sourceHandle": "source", "targetHandle": "target"}
             for s, t in (("start", "extract"), ("extract", "end"))]
    return yaml.safe_dump({"version": "0.3.1", "kind": "app", "app": {"name": name, "mode": "workflow"},
                           "workflow": {"graph": {"nodes": nodes, "edges": edges}, "features": {}}})


@pytest.fixture
def two_apps(services) -> tuple[str, dict, str, dict]:
    """Two workflow apps with a file input: (app A's id, A's auth headers, B's id, B's auth headers)."""
    a = services.dsl.import_text(_file_workflow("flow-a")).app
    b = services.dsl.import_text(_file_workflow("flow-b")).app
    return a.id, auth(services.keys.create(a.id)[1]), b.id, auth(services.keys.create(b.id)[1])


def _upload(client, headers, name="notes.txt", data=b"hello from a file", user="dave"):
    return client.post("/files/upload", headers=headers, data={"user": user} if user is not None else {},
                       files={"file": (name, io.BytesIO(data), "text/plain")})


def _not_found(response, file_id: str) -> None:
    assert response.status_code == 404, response.text
    assert response.json() == {"code": "file_not_found", "message": f"No uploaded file with id {file_id!r}",
                               "status": 404}


def test_another_apps_key_cannot_preview_or_run_with_an_upload(services, home, client, two_apps):
    a_id, a, _, b = two_apps
    up = _upload(client, a)
    assert up.status_code == 201, up.text
    file_id = up.json()["id"]
    with sqlite3.connect(home / "studio.db") as db:
        assert db.execute("SELECT app_id, user FROM upload_files WHERE id = ?", (file_id,)).fetchone() == (
            a_id, "dave")
    own = client.get(f"/files/{file_id}/preview", headers=a, params={"user": "dave"})
    assert own.status_code == 200 and own.content == b"hello from a file"
    assert client.get(f"/files/{file_id}/preview", headers=a).status_code == 200
    for params in ({}, {"user": "dave"}, {"as_attachment": "true", "user": "dave"}):
        _not_found(client.get(f"/files/{file_id}/preview", headers=b, params=params), file_id)
    item = {**ITEM, "upload_file_id": file_id}
    _not_found(client.post("/workflows/run", headers=b, json={"inputs": {"doc": item}, "user": "dave"}), file_id)
    _not_found(client.post("/workflows/run", headers=b, json={"inputs": {}, "files": [item], "user": "dave"}),
               file_id)
    streamed = client.post("/workflows/run", headers=b,
                           json={"inputs": {"doc": item}, "user": "dave", "response_mode": "streaming"})
    assert "file_not_found" in streamed.text and "hello from a file" not in streamed.text


def test_an_app_runs_with_its_own_upload(client, two_apps):
    _, a, _, _ = two_apps
    file_id = _upload(client, a).json()["id"]
    item = {**ITEM, "upload_file_id": file_id}
    r = client.post("/workflows/run", headers=a, json={"inputs": {"doc": item}, "user": "dave"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["outputs"] == {"text": "hello from a file"}
    other_user = client.post("/workflows/run", headers=a, json={"inputs": {"doc": item}, "user": "eve"})
    assert other_user.status_code == 403 and other_user.json()["code"] == "file_access_denied"


def test_uploads_from_before_app_scoping_are_reached_only_by_their_user(services, client, two_apps):
    _, a, _, b = two_apps
    old = services.files.save("old.txt", io.BytesIO(b"an older upload"), user="dave")  # app_id stays NULL
    for headers in (a, b):
        preview = client.get(f"/files/{old.id}/preview", headers=headers, params={"user": "dave"})
        assert preview.status_code == 200 and preview.content == b"an older upload"
        _not_found(client.get(f"/files/{old.id}/preview", headers=headers), old.id)
        _not_found(client.get(f"/files/{old.id}/preview", headers=headers, params={"user": "eve"}), old.id)
        item = {**ITEM, "upload_file_id": old.id}
        ok = client.post("/workflows/run", headers=headers, json={"inputs": {"doc": item}, "user": "dave"})
        assert ok.status_code == 200 and ok.json()["data"]["outputs"] == {"text": "an older upload"}
        _not_found(client.post("/workflows/run", headers=headers, json={"inputs": {"doc": item}, "user": "eve"}),
                   old.id)


def test_disguised_executables_are_blocked(home, client, chat_key):
    h = auth(chat_key)
    for name in ("evil.exe.", "evil.exe ", "evil.exe. .", "evil.\uff45\uff58\uff45", "evil.EXE\u3000",
                 "setup\uff0ebat", ".exe"):
        r = _upload(client, h, name=name, data=b"MZ")
        assert r.status_code == 400, name
        assert r.json()["code"] == "file_extension_blocked" and "blocked" in r.json()["message"], name
    assert [p.name for p in (home / "files" / "uploads").iterdir()] == []


def test_hidden_characters_in_names_are_refused(home, client, chat_key):
    h = auth(chat_key)
    cases = {"evil\u200b.exe": "U+200B", "invoice\u202etxt.exe": "U+202E", "a\u2067b.txt": "U+2067",
             "\ufeffnotes.txt": "U+FEFF", "zw\u200dj.txt": "U+200D"}
    for name, char in cases.items():
        r = _upload(client, h, name=name)
        assert r.status_code == 400, name
        body = r.json()
        assert body["code"] == "invalid_param" and body["status"] == 400
        assert "file name contains" in body["message"] and char in body["message"], body
    assert "zero-width or bidirectional" in _upload(client, h, name="x\u200b.txt").json()["message"]
    assert [p.name for p in (home / "files" / "uploads").iterdir()] == []


def test_names_are_stored_normalised(services, client, chat_key):
    h = auth(chat_key)
    r = _upload(client, h, name="\uff52\uff45\uff50\uff4f\uff52\uff54\uff0e\uff54\uff58\uff54 . ")
    assert r.status_code == 201, r.text
    meta = r.json()
    assert (meta["name"], meta["extension"]) == ("report.txt", "txt")
    assert services.files.get(meta["id"]).name == "report.txt"
    preview = client.get(f"/files/{meta['id']}/preview", headers=h, params={"as_attachment": "true"})
    assert preview.status_code == 200 and 'filename="report.txt"' in preview.headers["content-disposition"]


def test_the_user_field_is_bounded(home, client, chat_key):
    h = auth(chat_key)
    ok = _upload(client, h, user="u" * 255)
    assert ok.status_code == 201 and ok.json()["created_by"] == "u" * 255
    assert _upload(client, h, user=None).json()["created_by"] == "DEFAULT-USER"
    for user, problem in (("u" * 256, "at most 255 characters"), ("da\x00ve", "NUL")):
        r = _upload(client, h, user=user)
        assert r.status_code == 400, r.text
        body = r.json()
        assert (body["code"], body["params"], body["status"]) == ("invalid_param", "user", 400)
        assert problem in body["message"] and body["message"].startswith("user ")
    as_file = client.post("/files/upload", headers=h, files={"file": ("a.txt", io.BytesIO(b"a"), "text/plain"),
                                                             "user": ("u.txt", io.BytesIO(b"x"), "text/plain")})
    assert as_file.status_code == 400 and as_file.json()["params"] == "user"
    assert len(list((home / "files" / "uploads").iterdir())) == 2  # only the two accepted uploads


def test_an_uploaded_page_is_never_served_to_run_in_the_browser(client, chat_key):
    """Any key holder could upload HTML or SVG; the preview must not let it run script from the API's origin."""
    h = auth(chat_key)
    for name, mime, inline in (("page.html", "text/html", False), ("logo.svg", "image/svg+xml", False),
                               ("photo.png", "image/png", True), ("notes.txt", "text/plain", True)):
        r = client.post("/files/upload", headers=h, data={"user": "dave"},
                        files={"file": (name, b"<script>alert(1)</script>", mime)})
        assert r.status_code == 201, r.text
        preview = client.get(f"/files/{r.json()['id']}/preview", headers=h)
        assert preview.status_code == 200
        assert preview.headers["content-disposition"].startswith("inline" if inline else "attachment"), name
        assert preview.headers["x-content-type-options"] == "nosniff"
        assert preview.headers["content-security-policy"] == "sandbox"
