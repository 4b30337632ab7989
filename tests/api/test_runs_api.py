"""Contract tests for running apps over real HTTP: blocking and streaming, Dify's SSE frames, stop and errors."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.api.conftest import auth, import_sample, sse_events
from tests.api.flows import ECHO, FAIL, SLOW, code_workflow, iteration_workflow

pytestmark = pytest.mark.slow
CHAT_ENVELOPE = {"event", "task_id", "id", "message_id", "conversation_id", "created_at"}


def _key(services, app) -> str:
    return services.keys.create(app.id)[1]


def _stream(client, path, key, body) -> list:
    with client.stream("POST", path, headers=auth(key), json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        r.read()
        return sse_events(r)


def test_chat_blocking_then_continues_the_conversation(services, client, chat_app, chat_key):
    body = {"inputs": {}, "query": "Say hi", "user": "u1", "response_mode": "blocking"}
    r = client.post("/chat-messages", headers=auth(chat_key), json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["event"] == "message" and out["mode"] == "chat" and out["answer"].strip()
    assert out["id"] == out["message_id"] and out["conversation_id"] and out["task_id"]
    usage = out["metadata"]["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0 and usage["currency"] == "USD"
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    r2 = client.post("/chat-messages", headers=auth(chat_key),
                     json={**body, "query": "And again", "conversation_id": out["conversation_id"]})
    assert r2.json()["conversation_id"] == out["conversation_id"]
    stored = services.conversations.messages(out["conversation_id"])  # the GUI's logs read the same rows
    assert [m.query for m in stored] == ["Say hi", "And again"] and stored[0].answer == out["answer"]


def test_chat_streaming_frames_are_dify_events(client, chat_key):
    events = _stream(client, "/chat-messages", chat_key,
                     {"inputs": {}, "query": "Count to three", "user": "u1", "response_mode": "streaming"})
    frames = [e for e in events if e != "ping"]
    assert [f["event"] for f in frames[:-1]] == ["message"] * (len(frames) - 1) and len(frames) > 2
    end = frames[-1]
    assert end["event"] == "message_end" and set(end) >= CHAT_ENVELOPE | {"metadata", "files"}
    assert all(set(f) >= CHAT_ENVELOPE for f in frames)
    assert len({(f["task_id"], f["message_id"], f["conversation_id"]) for f in frames}) == 1
    assert end["metadata"]["usage"]["completion_tokens"] >= len(frames) - 2
    assert end["metadata"]["retriever_resources"] == []


def test_completion_blocking_and_streaming(services, client):
    app = services.apps.create("Writer", "completion", prompt="Write one line about {{topic}}.")
    cfg = dict(app.config, user_input_form=[{"text-input": {"variable": "topic", "label": "Topic", "required": True}}])
    services.apps.update(app.id, config=cfg)
    key = _key(services, app)
    r = client.post("/completion-messages", headers=auth(key),
                    json={"inputs": {"topic": "tea"}, "user": "u", "response_mode": "blocking"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["mode"] == "completion" and out["answer"] and "conversation_id" not in out
    events = _stream(client, "/completion-messages", key,
                     {"inputs": {"topic": "tea"}, "user": "u", "response_mode": "streaming"})
    assert events[-1]["event"] == "message_end" and "conversation_id" not in events[-1]
    missing = client.post("/completion-messages", headers=auth(key), json={"inputs": {}, "user": "u"})
    assert missing.status_code == 400 and missing.json()["code"] == "invalid_param"
    assert "Topic" in missing.json()["message"]


def test_workflow_blocking_and_streaming(services, client):
    app = services.dsl.import_text(code_workflow("echo-flow", ECHO)).app
    key = _key(services, app)
    r = client.post("/workflows/run", headers=auth(key), json={"inputs": {"text": "hi"}, "user": "u"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out) == {"task_id", "workflow_run_id", "data"}
    assert out["data"]["status"] == "succeeded" and out["data"]["outputs"] == {"result": "echo: hi"}
    assert out["data"]["id"] == out["workflow_run_id"] and out["data"]["total_steps"] == 3
    events = _stream(client, "/workflows/run", key,
                     {"inputs": {"text": "yo"}, "user": "u", "response_mode": "streaming"})
    names = [e["event"] for e in events]
    assert names[0] == "workflow_started" and names[-1] == "workflow_finished"
    assert names.count("node_started") == names.count("node_finished") == 3
    assert all(set(e) == {"event", "task_id", "workflow_run_id", "data"} for e in events)
    started = [e["data"] for e in events if e["event"] == "node_started"]
    finished = {e["data"]["id"]: e["data"] for e in events if e["event"] == "node_finished"}
    assert [s["node_id"] for s in started] == ["start", "code", "end"]
    assert all(s["id"] in finished and finished[s["id"]]["status"] == "succeeded" for s in started)
    assert finished[started[1]["id"]]["outputs"] == {"result": "echo: yo"}
    assert events[-1]["data"]["outputs"] == {"result": "echo: yo"} and events[-1]["data"]["workflow_id"] == app.id
    run = client.get(f"/workflows/run/{events[-1]['workflow_run_id']}", headers=auth(key)).json()
    assert run["status"] == "succeeded" and run["outputs"] == {"result": "echo: yo"} and run["inputs"]["text"] == "yo"


def test_iteration_events(services, client):
    app = services.dsl.import_text(iteration_workflow("iter-flow")).app
    events = _stream(client, "/workflows/run", _key(services, app),
                     {"inputs": {}, "user": "u", "response_mode": "streaming"})
    names = [e["event"] for e in events]
    assert "iteration_started" in names and names.count("iteration_next") == 2 and "iteration_completed" in names
    assert names.index("iteration_started") < names.index("iteration_next") < names.index("iteration_completed")
    inner = [e["data"] for e in events if e["event"] == "node_finished" and e["data"]["node_id"] == "tpl"]
    assert len(inner) == 2 and all(d["iteration_id"] == "it" for d in inner)
    assert events[-1]["data"]["outputs"] == {"out": ["<a>", "<b>"]}


def test_chatflow_ends_with_message_end_then_workflow_finished(services, client):
    app = import_sample(services, "test_streaming_conversation_variables.yml")
    key = _key(services, app)
    events = _stream(client, "/chat-messages", key,
                     {"inputs": {}, "query": "remember me", "user": "u", "response_mode": "streaming"})
    names = [e["event"] for e in events]
    assert names[0] == "workflow_started" and names[-2:] == ["message_end", "workflow_finished"]
    assert "message" in names
    conv = events[0]["conversation_id"]
    assert conv and all(e["conversation_id"] == conv and e["message_id"] == events[0]["message_id"] for e in events)
    blocking = client.post("/chat-messages", headers=auth(key), json={
        "inputs": {}, "query": "again", "user": "u", "conversation_id": conv}).json()
    assert blocking["mode"] == "advanced-chat" and blocking["conversation_id"] == conv and blocking["answer"]


def test_chatflow_usage_splits_prompt_and_completion_tokens(services, client):
    app = import_sample(services, "basic_chatflow.yml")
    out = client.post("/chat-messages", headers=auth(_key(services, app)), json={
        "inputs": {}, "query": "Reply with one word: hello.", "user": "u"}).json()
    use = out["metadata"]["usage"]
    assert use["prompt_tokens"] > 0 and use["completion_tokens"] > 0
    assert use["prompt_tokens"] + use["completion_tokens"] == use["total_tokens"]


def test_failed_workflow_is_a_failed_finish_not_an_error(services, client):
    app = services.dsl.import_text(code_workflow("fail-flow", FAIL)).app
    key = _key(services, app)
    out = client.post("/workflows/run", headers=auth(key), json={"inputs": {}, "user": "u"}).json()
    assert out["data"]["status"] == "failed" and "on purpose" in out["data"]["error"]
    events = _stream(client, "/workflows/run", key, {"inputs": {}, "user": "u", "response_mode": "streaming"})
    failed = [e for e in events if e["event"] == "node_finished" and e["data"]["status"] == "failed"]
    assert failed and events[-1]["event"] == "workflow_finished" and events[-1]["data"]["status"] == "failed"
    assert "error" not in [e["event"] for e in events]


def test_failed_chatflow_streams_an_error_event_then_ends(services, client):
    app = services.dsl.import_text(code_workflow("fail-chat", FAIL, mode="advanced-chat")).app
    key = _key(services, app)
    events = _stream(client, "/chat-messages", key,
                     {"inputs": {}, "query": "go", "user": "u", "response_mode": "streaming"})
    assert [e["event"] for e in events[-2:]] == ["workflow_finished", "error"]
    assert events[-1]["status"] == 400 and events[-1]["code"] == "completion_request_error"
    assert "on purpose" in events[-1]["message"]
    blocking = client.post("/chat-messages", headers=auth(key), json={"inputs": {}, "query": "go", "user": "u"})
    assert blocking.status_code == 400 and blocking.json()["code"] == "completion_request_error"


def test_ping_keeps_a_slow_stream_alive(services):
    app = services.dsl.import_text(code_workflow("slow-flow", SLOW)).app
    key = _key(services, app)
    server = services.api_access.build(services, port=0, ping_seconds=0.5)
    url = server.start()
    try:
        with httpx.Client(base_url=url, timeout=60) as c:
            events = _stream(c, "/workflows/run", key, {"inputs": {}, "user": "u", "response_mode": "streaming"})
    finally:
        server.stop()
    assert "ping" in events and events[-1]["event"] == "workflow_finished"
    assert events[-1]["data"]["outputs"] == {"result": "slept"}


def _first_frame(lines) -> dict:
    for line in lines:
        if line.startswith("data: "):
            return json.loads(line[6:])
    raise AssertionError("the stream ended before its first frame")


def _wait_status(services, conversation_id: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msgs = services.conversations.messages(conversation_id)
        if msgs and msgs[-1].status.value != "running":
            return msgs[-1].status.value
        time.sleep(0.1)
    return "running"


def test_stop_needs_the_same_user_and_stores_the_answer_as_stopped(services, client, chat_app, chat_key):
    services.apps.update(chat_app.id, config={**chat_app.config, "model": {
        **chat_app.config["model"], "completion_params": {"max_tokens": 400, "temperature": 0.7}}})
    body = {"inputs": {}, "query": "Write a long story about a cat", "user": "owner", "response_mode": "streaming"}
    with client.stream("POST", "/chat-messages", headers=auth(chat_key), json=body) as r:
        lines = r.iter_lines()
        first = _first_frame(lines)
        task = first["task_id"]
        other = client.post(f"/chat-messages/{task}/stop", headers=auth(chat_key), json={"user": "intruder"})
        assert other.status_code == 200 and other.json() == {"result": "success"}
        mine = client.post(f"/chat-messages/{task}/stop", headers=auth(chat_key), json={"user": "owner"})
        assert mine.json() == {"result": "success"}
        rest = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert rest[-1]["event"] == "message_end"
    assert rest[-1]["metadata"]["usage"]["completion_tokens"] < 400
    [msg] = services.conversations.messages(first["conversation_id"])
    assert msg.status.value == "stopped" and msg.answer
    no_user = client.post(f"/chat-messages/{task}/stop", headers=auth(chat_key), json={})
    assert no_user.status_code == 400 and no_user.json()["code"] == "invalid_param"


def test_client_disconnect_stores_the_partial_answer_as_stopped(services, client, chat_app, chat_key):
    services.apps.update(chat_app.id, config={**chat_app.config, "model": {
        **chat_app.config["model"], "completion_params": {"max_tokens": 400, "temperature": 0.7}}})
    body = {"inputs": {}, "query": "Tell a long story", "user": "u", "response_mode": "streaming"}
    with client.stream("POST", "/chat-messages", headers=auth(chat_key), json=body) as r:
        lines = r.iter_lines()
        first = _first_frame(lines)
        _first_frame(lines)
    assert _wait_status(services, first["conversation_id"]) == "stopped"
    [msg] = services.conversations.messages(first["conversation_id"])
    assert msg.answer and msg.answer_tokens < 400


def test_client_mistakes_get_dify_error_envelopes(services, client, chat_key):
    def check(r, status, code):
        assert r.status_code == status, r.text
        body = r.json()
        assert body["code"] == code and body["status"] == status and body["message"]
        assert "Traceback" not in r.text
        return body

    no_auth = check(client.post("/chat-messages", json={}), 401, "unauthorized")
    assert "Bearer" in no_auth["message"]
    assert client.post("/chat-messages", json={}).headers["www-authenticate"] == 'Bearer realm="api"'
    check(client.post("/chat-messages", headers=auth("app-wrong"), json={}), 401, "unauthorized")
    check(client.post("/chat-messages", headers={"Authorization": "Basic abc"}, json={}), 401, "unauthorized")
    body = {"inputs": {}, "query": "hi", "user": "u"}
    check(client.post("/chat-messages", headers=auth(chat_key), json={**body, "user": ""}), 400, "invalid_param")
    missing_user = check(client.post("/chat-messages", headers=auth(chat_key), json={"inputs": {}, "query": "x"}),
                         400, "invalid_param")
    assert missing_user["params"] == "user"
    check(client.post("/chat-messages", headers=auth(chat_key), json={**body, "query": "  "}), 400, "invalid_param")
    check(client.post("/chat-messages", headers={**auth(chat_key), "Content-Type": "application/json"},
                      content=b"{not json"), 400, "invalid_param")
    check(client.post("/chat-messages", headers=auth(chat_key), json={**body, "inputs": "x"}), 400, "invalid_param")
    check(client.post("/chat-messages", headers=auth(chat_key), json={**body, "response_mode": "fast"}), 400,
          "invalid_param")
    check(client.post("/chat-messages", headers=auth(chat_key), json={**body, "conversation_id": "nope"}), 400,
          "invalid_param")
    check(client.post("/chat-messages", headers=auth(chat_key),
                      json={**body, "conversation_id": "6c1e2a3b-1111-4222-8333-944455556666"}), 404, "not_found")
    check(client.post("/completion-messages", headers=auth(chat_key), json=body), 400, "not_completion_app")
    check(client.post("/workflows/run", headers=auth(chat_key), json=body), 400, "not_workflow_app")
    check(client.get("/no-such-endpoint", headers=auth(chat_key)), 404, "not_found")
    check(client.get("/chat-messages", headers=auth(chat_key)), 405, "method_not_allowed")


def test_a_conversation_belongs_to_its_user(client, chat_key):
    body = {"inputs": {}, "query": "hi", "user": "alice"}
    conv = client.post("/chat-messages", headers=auth(chat_key), json=body).json()["conversation_id"]
    stolen = client.post("/chat-messages", headers=auth(chat_key), json={**body, "user": "bob",
                                                                         "conversation_id": conv})
    assert stolen.status_code == 404 and stolen.json()["code"] == "not_found"


def test_host_header_and_body_limits(api, chat_key):
    with httpx.Client(base_url=api, timeout=30) as c:
        evil = c.get("/info", headers={**auth(chat_key), "Host": "attacker.example:5001"})
        assert evil.status_code == 403 and evil.json()["code"] == "invalid_host"
        assert c.get("/info", headers={**auth(chat_key), "Host": "localhost:1234"}).status_code == 200
        big = b'{"inputs": {}, "query": "' + b"x" * (17 * 1024 * 1024) + b'"}'
        r = c.post("/chat-messages", headers={**auth(chat_key), "Content-Type": "application/json"}, content=big)
        assert r.status_code == 413 and r.json()["code"] == "request_too_large"

        def chunks():
            for _ in range(17):
                yield b"x" * (1024 * 1024)
        r = c.post("/chat-messages", headers={**auth(chat_key), "Content-Type": "application/json"},
                   content=chunks())
        assert r.status_code == 413 and r.json()["code"] == "request_too_large"


def test_parameters_and_info(services, client, chat_app, chat_key):
    info = client.get("/info", headers=auth(chat_key)).json()
    assert info == {"name": "Helper", "description": "", "tags": [], "mode": "chat", "author_name": ""}
    params = client.get("/parameters", headers=auth(chat_key)).json()
    assert params["user_input_form"] == [] and params["system_parameters"]["file_size_limit"] == 15
    assert params["retriever_resource"] == {"enabled": True} and "file_upload" in params
    flow = services.dsl.import_text(code_workflow("param-flow", ECHO)).app
    form = client.get("/parameters", headers=auth(_key(services, flow))).json()["user_input_form"]
    assert form == [{"text-input": {"variable": "text", "label": "text", "required": False, "max_length": 256}}]


def test_the_schema_needs_a_key_too(client, chat_key):
    assert client.get("/openapi.json").status_code == 401
    doc = client.get("/openapi.json", headers=auth(chat_key)).json()
    assert "/v1/chat-messages" in doc["paths"] and "ErrorEnvelope" in doc["components"]["schemas"]
    assert all("422" not in op["responses"] for item in doc["paths"].values() for op in item.values())


def test_chatflow_message_end_carries_knowledge_citations(services, client, tmp_path):
    from tests.knowledge.test_apps import CHATFLOW

    (tmp_path / "zoo.md").write_text("# Zoo\n\nThe penguin enclosure opens at nine in the morning.\n")
    dataset = services.knowledge.create("zoo", chunk_size=100, overlap=0)
    services.knowledge.add("zoo", [tmp_path])
    assert not services.knowledge.ingest("zoo").failed
    app = services.dsl.import_text(CHATFLOW.replace("DATASET", dataset.id)).app
    key = _key(services, app)
    events = _stream(client, "/chat-messages", key, {"inputs": {}, "query": "When do penguins open?", "user": "u",
                                                     "response_mode": "streaming"})
    end = next(e for e in events if e["event"] == "message_end")
    [cite] = end["metadata"]["retriever_resources"]
    assert cite["dataset_id"] == dataset.id and "penguin" in cite["content"]
    page = client.get("/messages", headers=auth(key), params={"conversation_id": end["conversation_id"],
                                                             "user": "u"}).json()
    assert page["data"][0]["retriever_resources"][0]["segment_id"] == cite["segment_id"]


def test_workflow_stop_ends_the_run_as_stopped(services, client):
    app = services.dsl.import_text(code_workflow("stop-flow", SLOW)).app
    key = _key(services, app)
    body = {"inputs": {}, "user": "u", "response_mode": "streaming"}
    with client.stream("POST", "/workflows/run", headers=auth(key), json=body) as r:
        lines = r.iter_lines()
        first = _first_frame(lines)
        assert first["event"] == "workflow_started"
        stop = client.post(f"/workflows/tasks/{first['task_id']}/stop", headers=auth(key), json={"user": "other"})
        assert stop.status_code == 200 and stop.json() == {"result": "success"}  # Dify ignores the user here
        rest = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert rest[-1]["event"] == "workflow_finished" and rest[-1]["data"]["status"] == "stopped"
    assert services.workflows.get_run(first["workflow_run_id"]).status.value == "stopped"


def test_completion_stop_and_the_small_app_endpoints(services, client):
    app = services.apps.create("Storyteller", "completion", prompt="Write a very long story about the sea.")
    cfg = dict(app.config, model={**app.config["model"], "completion_params": {"max_tokens": 400}})
    app = services.apps.update(app.id, config=cfg)
    key = _key(services, app)
    body = {"inputs": {}, "user": "u", "response_mode": "streaming"}
    with client.stream("POST", "/completion-messages", headers=auth(key), json=body) as r:
        lines = r.iter_lines()
        first = _first_frame(lines)
        assert client.post(f"/completion-messages/{first['task_id']}/stop", headers=auth(key),
                           json={"user": "u"}).json() == {"result": "success"}
        rest = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert rest[-1]["event"] == "message_end" and rest[-1]["metadata"]["usage"]["completion_tokens"] < 400
    assert client.get("/meta", headers=auth(key)).json() == {"tool_icons": {}}
    site = client.get("/site", headers=auth(key)).json()
    assert site["title"] == "Storyteller" and site["icon"] == app.icon
    suggested = client.get(f"/messages/{first['message_id']}/suggested", headers=auth(key), params={"user": "u"})
    assert suggested.status_code == 400 and suggested.json()["code"] == "not_chat_app"


def test_api_runs_say_they_came_from_the_service_api(services, client):
    import yaml

    doc = yaml.safe_load(code_workflow("sys-flow", ECHO))
    end = next(n for n in doc["workflow"]["graph"]["nodes"] if n["id"] == "end")
    end["data"]["outputs"] += [{"variable": "source", "value_selector": ["sys", "invoke_from"]},
                               {"variable": "who", "value_selector": ["sys", "user_id"]}]
    app = services.dsl.import_text(yaml.safe_dump(doc)).app
    out = client.post("/workflows/run", headers=auth(_key(services, app)),
                      json={"inputs": {"text": "x"}, "user": "script-7"}).json()
    assert out["data"]["outputs"]["source"] == "service-api" and out["data"]["outputs"]["who"] == "script-7"
