"""Contract tests for conversations, messages, feedback, files and workflow logs over real HTTP."""

from __future__ import annotations

import io

import pytest

from tests.api.conftest import auth, import_sample
from tests.api.flows import ECHO, FAIL, code_workflow

pytestmark = pytest.mark.slow


def _chat(client, key, query, user, conversation_id=None) -> dict:
    body = {"inputs": {}, "query": query, "user": user, "response_mode": "blocking"}
    if conversation_id:
        body["conversation_id"] = conversation_id
    r = client.post("/chat-messages", headers=auth(key), json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_messages_and_conversations_are_paged_and_scoped_by_user(client, chat_key):
    first = _chat(client, chat_key, "one", "alice")
    conv = first["conversation_id"]
    for q in ("two", "three"):
        _chat(client, chat_key, q, "alice", conv)
    other = _chat(client, chat_key, "bob's", "bob")["conversation_id"]
    h = auth(chat_key)
    page = client.get("/messages", headers=h, params={"conversation_id": conv, "user": "alice", "limit": 2}).json()
    assert [m["query"] for m in page["data"]] == ["two", "three"] and page["has_more"] is True
    assert page["limit"] == 2 and page["data"][0]["answer"] and page["data"][0]["feedback"] is None
    older = client.get("/messages", headers=h, params={"conversation_id": conv, "user": "alice", "limit": 2,
                                                       "first_id": page["data"][0]["id"]}).json()
    assert [m["query"] for m in older["data"]] == ["one"] and older["has_more"] is False
    # one thread: each message's parent is the one before it, across pages; the first has none
    assert older["data"][0]["id"] == first["message_id"] and older["data"][0]["parent_message_id"] is None
    assert [m["parent_message_id"] for m in page["data"]] == [first["message_id"], page["data"][0]["id"]]
    assert client.get("/messages", headers=h, params={"conversation_id": conv, "user": "bob"}).status_code == 404
    convs = client.get("/conversations", headers=h, params={"user": "alice"}).json()
    assert [c["id"] for c in convs["data"]] == [conv] and convs["has_more"] is False
    assert set(convs["data"][0]) >= {"id", "name", "inputs", "status", "introduction", "created_at", "updated_at"}
    assert [c["id"] for c in client.get("/conversations", headers=h, params={"user": "bob"}).json()["data"]] == [other]
    bad_sort = client.get("/conversations", headers=h, params={"user": "alice", "sort_by": "name"})
    assert bad_sort.status_code == 400 and bad_sort.json()["code"] == "invalid_param"
    renamed = client.post(f"/conversations/{conv}/name", headers=h, json={"name": "Numbers", "user": "alice"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Numbers"
    auto = client.post(f"/conversations/{conv}/name", headers=h, json={"auto_generate": True, "user": "alice"})
    assert auto.json()["name"] == "one"
    assert client.post(f"/conversations/{conv}/name", headers=h, json={"name": "x", "user": "bob"}).status_code == 404
    assert client.request("DELETE", f"/conversations/{conv}", headers=h, json={"user": "bob"}).status_code == 404
    assert client.request("DELETE", f"/conversations/{conv}", headers=h, json={"user": "alice"}).status_code == 204
    assert client.get("/conversations", headers=h, params={"user": "alice"}).json()["data"] == []


def test_feedback_like_dislike_and_revoke(client, chat_key):
    msg = _chat(client, chat_key, "rate me", "carol")
    h = auth(chat_key)
    r = client.post(f"/messages/{msg['id']}/feedbacks", headers=h, json={"rating": "like", "user": "carol",
                                                                          "content": "nice"})
    assert r.status_code == 200 and r.json() == {"result": "success"}
    page = client.get("/messages", headers=h, params={"conversation_id": msg["conversation_id"], "user": "carol"})
    assert page.json()["data"][0]["feedback"] == {"rating": "like"}
    items = client.get("/app/feedbacks", headers=h).json()["data"]
    assert len(items) == 1 and items[0]["rating"] == "like" and items[0]["content"] == "nice"
    assert isinstance(items[0]["created_at"], int)
    client.post(f"/messages/{msg['id']}/feedbacks", headers=h, json={"rating": None, "user": "carol"})
    assert client.get("/app/feedbacks", headers=h).json()["data"] == []
    bad = client.post(f"/messages/{msg['id']}/feedbacks", headers=h, json={"rating": "love", "user": "carol"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_param"
    gone = client.post("/messages/00000000-0000-4000-8000-000000000000/feedbacks", headers=h,
                       json={"rating": "like", "user": "carol"})
    assert gone.status_code == 404


def test_conversation_variables_read_and_write(services, client):
    app = import_sample(services, "test_streaming_conversation_variables.yml")
    key = services.keys.create(app.id)[1]
    h = auth(key)
    out = client.post("/chat-messages", headers=h, json={"inputs": {}, "query": "hello", "user": "u"}).json()
    conv = out["conversation_id"]
    data = client.get(f"/conversations/{conv}/variables", headers=h, params={"user": "u"}).json()
    [var] = data["data"]
    assert var["name"] == "str" and var["value"] == "hello" and var["value_type"] == "string"
    assert isinstance(var["created_at"], int)
    put = client.put(f"/conversations/{conv}/variables/{var['id']}", headers=h, json={"value": "changed", "user": "u"})
    assert put.status_code == 200 and put.json()["value"] == "changed"
    wrong = client.put(f"/conversations/{conv}/variables/{var['id']}", headers=h, json={"value": 5, "user": "u"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_param"
    unknown = client.put(f"/conversations/{conv}/variables/nope", headers=h, json={"value": "x", "user": "u"})
    assert unknown.status_code == 404
    assert client.get(f"/conversations/{conv}/variables", headers=h, params={"user": "x"}).status_code == 404


def test_upload_then_use_the_file_in_a_workflow_run(services, client, chat_key):
    doc = services.dsl.import_text(_file_workflow()).app
    key = services.keys.create(doc.id)[1]
    h = auth(key)
    up = client.post("/files/upload", headers=h, data={"user": "dave"},
                     files={"file": ("notes.txt", io.BytesIO(b"hello from a file"), "text/plain")})
    assert up.status_code == 201, up.text
    meta = up.json()
    assert meta["name"] == "notes.txt" and meta["size"] == 17 and meta["extension"] == "txt"
    assert meta["mime_type"] == "text/plain" and meta["created_by"] == "dave"
    item = {"type": "document", "transfer_method": "local_file", "upload_file_id": meta["id"]}
    r = client.post("/workflows/run", headers=h, json={"inputs": {"doc": item}, "user": "dave"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["outputs"] == {"text": "hello from a file"}
    other = client.post("/workflows/run", headers=h, json={"inputs": {"doc": item}, "user": "eve"})
    assert other.status_code == 403 and other.json()["code"] == "file_access_denied"
    missing = {**item, "upload_file_id": "00000000-0000-4000-8000-000000000000"}
    r = client.post("/workflows/run", headers=h, json={"inputs": {"doc": missing}, "user": "dave"})
    assert r.status_code == 404 and r.json()["code"] == "file_not_found"
    preview = client.get(f"/files/{meta['id']}/preview", headers=h, params={"user": "dave"})
    assert preview.status_code == 200 and preview.content == b"hello from a file"
    none = client.post("/files/upload", headers=h, data={"user": "dave"})
    assert none.status_code == 400 and none.json()["code"] == "no_file_uploaded"
    exe = client.post("/files/upload", headers=h, data={"user": "dave"},
                      files={"file": ("run.exe", io.BytesIO(b"MZ"), "application/octet-stream")})
    assert exe.status_code == 400 and exe.json()["code"] == "file_extension_blocked"
    huge = client.post("/files/upload", headers=h, data={"user": "dave"},
                       files={"file": ("big.txt", io.BytesIO(b"x" * (15 * 1024 * 1024 + 1)), "text/plain")})
    assert huge.status_code == 413 and huge.json()["code"] == "file_too_large"


def _file_workflow() -> str:
    import yaml

    nodes = [
        {"id": "start", "type": "custom", "data": {"type": "start", "title": "Start", "variables": [
            {"variable": "doc", "label": "doc", "type": "file", "required": True,
             "allowed_file_types": ["document"], "allowed_file_upload_methods": ["local_file", "remote_url"]}]}},
        {"id": "extract", "type": "custom", "data": {"type": "document-extractor", "title": "Extract",
                                                     "variable_selector": ["start", "doc"], "is_array_file": False}},
        {"id": "end", "type": "custom", "data": {"type": "end", "title": "End", "outputs": [
            {"variable": "text", "value_selector": ["extract", "text"]}]}},
    ]
    edges = [{"id": f"{s}-{t}", "source": s, "target": t, "sourceHandle": "source", "targetHandle": "target"}
             for s, t in (("start", "extract"), ("extract", "end"))]
    return yaml.safe_dump({"version": "0.3.1", "kind": "app", "app": {"name": "file-flow", "mode": "workflow"},
                           "workflow": {"graph": {"nodes": nodes, "edges": edges}, "features": {}}})


def test_workflow_logs_filter_and_page(services, client):
    ok = services.dsl.import_text(code_workflow("log-flow", ECHO)).app
    key = services.keys.create(ok.id)[1]
    h = auth(key)
    for text, user in (("apple", "u1"), ("banana", "u2"), ("cherry", "u1")):
        assert client.post("/workflows/run", headers=h, json={"inputs": {"text": text}, "user": user}).status_code == 200
    logs = client.get("/workflows/logs", headers=h, params={"limit": 2}).json()
    assert logs["total"] == 3 and logs["has_more"] is True and len(logs["data"]) == 2
    assert logs["data"][0]["workflow_run"]["inputs"]["text"] == "cherry"
    assert client.get("/workflows/logs", headers=h, params={"limit": 2, "page": 2}).json()["data"][0][
        "workflow_run"]["inputs"]["text"] == "apple"
    by_kw = client.get("/workflows/logs", headers=h, params={"keyword": "banana"}).json()
    assert by_kw["total"] == 1 and by_kw["data"][0]["created_by_end_user"]["session_id"] == "u2"
    by_user = client.get("/workflows/logs", headers=h, params={"created_by_end_user_session_id": "u1"}).json()
    assert by_user["total"] == 2
    assert client.get("/workflows/logs", headers=h, params={"status": "failed"}).json()["total"] == 0
    assert client.get("/workflows/logs", headers=h, params={"status": "nope"}).status_code == 400
    bad = services.dsl.import_text(code_workflow("fail-log", FAIL)).app
    other_key = services.keys.create(bad.id)[1]
    run_id = client.post("/workflows/run", headers=auth(other_key), json={"inputs": {}, "user": "u"}).json()[
        "workflow_run_id"]
    assert client.get(f"/workflows/run/{run_id}", headers=h).status_code == 404  # another app's run
    run = client.get(f"/workflows/run/{run_id}", headers=auth(other_key)).json()
    assert run["status"] == "failed" and "on purpose" in run["error"]


def test_timestamps_are_unix_seconds_in_any_time_zone(client, chat_key, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        out = _chat(client, chat_key, "what time is it", "tz")
        convs = client.get("/conversations", headers=auth(chat_key), params={"user": "tz"}).json()["data"]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert abs(convs[0]["created_at"] - time.time()) < 120
    assert abs(out["created_at"] - time.time()) < 120


def test_suggested_questions_come_from_the_model_when_enabled(services, client, chat_app, chat_key):
    msg = _chat(client, chat_key, "Tell me about Paris", "sam")
    h = auth(chat_key)
    off = client.get(f"/messages/{msg['id']}/suggested", headers=h, params={"user": "sam"})
    assert off.status_code == 400 and "Disabled" in off.json()["message"]
    services.apps.update(chat_app.id, config={**chat_app.config, "suggested_questions_after_answer": {"enabled": True}})
    on = client.get(f"/messages/{msg['id']}/suggested", headers=h, params={"user": "sam"})
    assert on.status_code == 200, on.text
    data = on.json()["data"]
    assert on.json()["result"] == "success" and 1 <= len(data) <= 3 and all(isinstance(q, str) and q for q in data)
    other = client.get(f"/messages/{msg['id']}/suggested", headers=h, params={"user": "not-sam"})
    assert other.status_code == 404


def test_a_conversation_introduction_is_the_opening_statement_with_its_inputs(services, client):
    app = services.apps.create("Greeter", "chat", prompt="Greet {{who}}.")
    form = [{"text-input": {"variable": "who", "label": "Who", "required": False}}]
    params = {**app.config["model"], "completion_params": {"max_tokens": 4, "temperature": 0.0}}
    app = services.apps.update(app.id, config={**app.config, "user_input_form": form, "model": params,
                                               "opening_statement": "Hello {{who}}, ask me {{ anything }}."})
    key = services.keys.create(app.id)[1]
    r = client.post("/chat-messages", headers=auth(key), json={"inputs": {"who": "Ada"}, "query": "hi", "user": "u"})
    assert r.status_code == 200, r.text
    conv = client.get("/conversations", headers=auth(key), params={"user": "u"}).json()["data"][0]
    assert conv["introduction"] == "Hello Ada, ask me {{ anything }}."
