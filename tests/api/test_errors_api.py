"""Error messages a client can act on, over real HTTP: a body that is not a JSON object, field errors that name
the field in plain words (no pydantic wording or links), OpenAI's envelope on OpenAI paths, and `user` limits."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import auth

pytestmark = pytest.mark.slow
BODY = {"inputs": {}, "query": "hi", "user": "u"}
RUN_PATHS = ("/chat-messages", "/completion-messages", "/workflows/run")
NOT_AN_OBJECT = [b"", b"[]", b'"text"', b"5", b"null", b"[{\"query\": \"hi\"}]"]
UUID = "6c1e2a3b-1111-4222-8333-944455556666"


def _plain(message: str) -> None:
    assert "Input should" not in message and "pydantic" not in message and "[type=" not in message, message
    assert not message.startswith(" ") and "Value error" not in message, message


def _dify_400(r: httpx.Response, params: str | None, *words: str) -> dict:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "invalid_param" and body["status"] == 400 and body.get("params") == params, body
    _plain(body["message"])
    assert all(w in body["message"] for w in words), body["message"]
    return body


@pytest.mark.parametrize("raw", NOT_AN_OBJECT)
def test_a_body_that_is_not_a_json_object_says_so(client, chat_key, raw):
    headers = {**auth(chat_key), "Content-Type": "application/json"}
    for path in RUN_PATHS:
        body = _dify_400(client.post(path, headers=headers, content=raw), None)
        assert body["message"] == "request body must be a JSON object", (path, raw)
    r = client.post("/chat/completions", headers=headers, content=raw)
    assert r.status_code == 400 and r.json()["error"]["message"] == "request body must be a JSON object"
    assert r.json()["error"]["param"] is None


def test_field_errors_name_the_field_in_plain_words(client, chat_key):
    h = auth(chat_key)
    _dify_400(client.post("/chat-messages", headers=h, json={**BODY, "inputs": "x"}), "inputs",
              "inputs must be a JSON object")
    _dify_400(client.post("/chat-messages", headers=h, json={**BODY, "response_mode": "fast"}), "response_mode",
              "response_mode must be one of 'blocking' or 'streaming'")
    _dify_400(client.post("/chat-messages", headers=h, json={**BODY, "conversation_id": "nope"}), "conversation_id",
              "conversation_id must be a valid UUID")
    _dify_400(client.post("/chat-messages", headers=h, json={"inputs": {}, "query": "x"}), "user", "user is required")
    _dify_400(client.post("/chat-messages", headers=h, json={**BODY, "files": [{"type": "image"}]}),
              "files.0.transfer_method", "files.0.transfer_method is required")
    r = client.post("/chat/completions", headers=h, json={"model": "Helper", "messages": [{"role": "user",
                                                                                          "content": 5}]})
    error = r.json()["error"]
    assert r.status_code == 400 and error["param"] == "messages.0.content"
    assert error["message"] == "messages.0.content must be a string or a list"
    r = client.post("/chat/completions", headers=h, json={"model": "Helper", "messages": [], "temperature": 9})
    assert r.json()["error"]["message"] == "messages must not be empty"


def test_405_on_openai_paths_uses_the_openai_envelope(client, chat_key):
    for method, path in (("GET", "/chat/completions"), ("POST", "/models"), ("DELETE", "/models/Helper")):
        r = client.request(method, path, headers=auth(chat_key))
        assert r.status_code == 405 and r.headers["allow"], (method, path)
        error = r.json()["error"]
        assert error["code"] == "method_not_allowed" and error["type"] == "invalid_request_error" and error["message"]
    dify = client.get("/chat-messages", headers=auth(chat_key))
    assert dify.status_code == 405 and dify.json()["code"] == "method_not_allowed"


def _user_requests(conv: str, too: str):
    """(method, path, params, json, field) for every endpoint that takes a `user`."""
    return [
        ("POST", "/chat-messages", None, {**BODY, "user": too}, "user"),
        ("POST", "/completion-messages", None, {"inputs": {}, "user": too}, "user"),
        ("POST", "/workflows/run", None, {"inputs": {}, "user": too}, "user"),
        ("POST", "/chat-messages/some-task/stop", None, {"user": too}, "user"),
        ("GET", "/messages", {"conversation_id": conv, "user": too}, None, "user"),
        ("GET", "/conversations", {"user": too}, None, "user"),
        ("DELETE", f"/conversations/{conv}", None, {"user": too}, "user"),
        ("POST", f"/conversations/{conv}/name", None, {"name": "n", "user": too}, "user"),
        ("GET", f"/conversations/{conv}/variables", {"user": too}, None, "user"),
        ("PUT", f"/conversations/{conv}/variables/v", None, {"value": "x", "user": too}, "user"),
        ("POST", f"/messages/{conv}/feedbacks", None, {"rating": "like", "user": too}, "user"),
        ("GET", f"/messages/{conv}/suggested", {"user": too}, None, "user"),
        ("GET", "/workflows/logs", {"created_by_end_user_session_id": too}, None, "created_by_end_user_session_id"),
    ]


@pytest.mark.parametrize("too, words", [("a" * 256, ("255",)), ("al\x00ice", ("NUL",))])
def test_user_is_capped_and_has_no_nul_everywhere(client, chat_key, too, words):
    for method, path, params, body, field in _user_requests(UUID, too):
        r = client.request(method, path, headers=auth(chat_key), params=params, json=body)
        _dify_400(r, field, field, *words)
    r = client.post("/chat/completions", headers=auth(chat_key),
                    json={"model": "Helper", "user": too, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "user"
    assert all(w in r.json()["error"]["message"] for w in words)


def test_a_user_of_255_characters_is_fine(client, chat_key):
    user = "u" * 255
    r = client.post("/chat-messages", headers=auth(chat_key), json={**BODY, "user": user})
    assert r.status_code == 200, r.text
    page = client.get("/conversations", headers=auth(chat_key), params={"user": user}).json()
    assert [c["id"] for c in page["data"]] == [r.json()["conversation_id"]]


@pytest.fixture
def knowledge(api, services):
    key = services.keys.create(None, scope="dataset")[1]
    with httpx.Client(base_url=api, timeout=120, headers=auth(key)) as client:
        r = client.post("/datasets", json={"name": "Errors"})
        assert r.status_code == 200, r.text
        yield client, r.json()["id"]


def test_retrieval_settings_errors_are_plain_and_name_the_field(knowledge):
    client, ds = knowledge
    cases = [({"top_k": 500}, "retrieval_model.top_k", "retrieval_model.top_k must be at most 100"),
             ({"top_k": "many"}, "retrieval_model.top_k", "retrieval_model.top_k must be an integer"),
             ({"score_threshold_enabled": True, "score_threshold": 2}, "retrieval_model.score_threshold",
              "retrieval_model.score_threshold must be at most 1"),
             ({"weights": {"vector_setting": {"vector_weight": 3}}},
              "retrieval_model.weights.vector_setting.vector_weight", "vector_weight must be at most 1"),
             ({"search_method": "bogus"}, "retrieval_model", "retrieval_model: unknown search mode 'bogus'")]
    for given, field, words in cases:
        _dify_400(client.post(f"/datasets/{ds}/retrieve", json={"query": "q", "retrieval_model": given}), field,
                  words)
        _dify_400(client.patch(f"/datasets/{ds}", json={"retrieval_model": given}), field, words)
    _dify_400(client.post("/datasets", content=b"[]", headers={"Content-Type": "application/json"}), None,
              "request body must be a JSON object")
    r = client.post(f"/datasets/{ds}/document/create-by-file", files={"file": ("a.txt", b"hello", "text/plain")},
                    data={"data": '{"retrieval_model": {"top_k": 500}}'})
    _dify_400(r, "data.retrieval_model.top_k", "data.retrieval_model.top_k must be at most 100")


LONE = '"a\\ud800b"'  # a JSON escape of an unpaired UTF-16 surrogate: Python's parser accepts it, nothing can store it


def test_unpaired_surrogates_and_invalid_utf8_are_400s_that_store_nothing(services, client, chat_key):
    from tests.api.flows import ECHO, code_workflow

    flow = services.dsl.import_text(code_workflow("surrogate-flow", ECHO)).app
    flow_key = services.keys.create(flow.id)[1]
    headers = {**auth(flow_key), "Content-Type": "application/json"}
    for mode in ("blocking", "streaming"):
        raw = f'{{"inputs": {{"text": {LONE}}}, "user": "u", "response_mode": "{mode}"}}'.encode()
        _dify_400(client.post("/workflows/run", headers=headers, content=raw), "inputs.text", "surrogate")
    assert services.workflows.runs(flow.id) == []  # nothing half-stored, nothing left running
    raw = b'{"inputs": {"text": "a\xed\xa0\x80b"}, "user": "u"}'  # the same as raw bytes: not UTF-8
    _dify_400(client.post("/workflows/run", headers=headers, content=raw), None, "not valid UTF-8")

    chat_headers = {**auth(chat_key), "Content-Type": "application/json"}
    raw = f'{{"inputs": {{}}, "query": "hi", "user": {LONE}}}'.encode()
    _dify_400(client.post("/chat-messages", headers=chat_headers, content=raw), "user", "surrogate")
    raw = f'{{"model": "Helper", "messages": [{{"role": "user", "content": {LONE}}}]}}'.encode()
    r = client.post("/chat/completions", headers=chat_headers, content=raw)
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages[0].content", r.text
    assert services.conversations.recent_messages(services.apps.resolve("Helper").id) == []
    # A valid pair of surrogates is one character, and fine.
    raw = b'{"inputs": {"text": "\\ud83d\\ude00"}, "user": "u"}'
    r = client.post("/workflows/run", headers=headers, content=raw)
    assert r.status_code == 200 and r.json()["data"]["outputs"] == {"result": "echo: \U0001F600"}, r.text


def test_services_refuse_strings_that_are_not_text(services, chat_app):
    """The command line reaches the services without the API's guard (undecodable argv bytes become surrogates)."""
    from studio.core.errors import ValidationError

    with pytest.raises(ValidationError, match=r"query holds characters that are not valid Unicode"):
        list(services.chat.send(chat_app.id, "a\udcff"))
    with pytest.raises(ValidationError, match=r"inputs\.x holds"):
        list(services.chat.send(chat_app.id, "hi", inputs={"x": "\ud800"}))
    assert services.conversations.recent_messages(chat_app.id) == []


def test_the_text_guard_reads_bodies_as_the_route_would(services, client, chat_key):
    """Ways around the check that a breaker found: other encodings, a BOM, a second Content-Type, deep nesting."""
    headers = {**auth(chat_key), "Content-Type": "application/json"}
    utf16 = '{"inputs": {}, "query": "hi", "user": "u"}'.encode("utf-16-le")
    _dify_400(client.post("/chat-messages", headers=headers, content=utf16), None, "UTF-16-LE, not UTF-8")
    bom = b"\xef\xbb\xbf" + f'{{"inputs": {{}}, "query": "hi", "user": {LONE}}}'.encode()
    _dify_400(client.post("/chat-messages", headers=headers, content=bom), "user", "surrogate")
    twice = [("Authorization", f"Bearer {chat_key}"), ("Content-Type", "application/json"),
             ("Content-Type", "text/plain")]
    raw = f'{{"inputs": {{}}, "query": {LONE}, "user": "u"}}'.encode()
    _dify_400(client.post("/chat-messages", headers=twice, content=raw), "query", "surrogate")
    deep = b'{"user": "u", "a": "\\ud800", "b": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    r = client.post("/chat-messages", headers=headers, content=deep)  # too deep to parse: the route's own 400
    assert r.status_code == 400 and r.json()["message"] == "There was an error parsing the body", r.text
    assert services.conversations.recent_messages(services.apps.resolve("Helper").id) == []
