"""The OpenAI-compatible endpoints over real HTTP with the real `openai` SDK and the bundled model."""

from __future__ import annotations

import json
import time

import openai
import pytest

from tests.api.conftest import auth, import_sample

SHORT = {"max_tokens": 16, "temperature": 0}


@pytest.fixture
def oai(api, chat_key) -> openai.OpenAI:
    with openai.OpenAI(base_url=api, api_key=chat_key, max_retries=0, timeout=120) as client:
        yield client


def _chunks(text: str) -> list:
    """Every SSE frame of an OpenAI stream: decoded JSON objects, and "[DONE]"."""
    assert text.endswith("\n\n")
    out = []
    for block in text.split("\n\n")[:-1]:
        assert block.startswith("data: ") and "\n" not in block, f"bad SSE frame: {block!r}"
        payload = block[len("data: "):]
        out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


def test_models_lists_the_keys_chat_app(oai, chat_app):
    models = oai.models.list()
    assert [m.id for m in models.data] == [chat_app.id]
    card = models.data[0]
    assert card.object == "model" and card.owned_by == "studio" and card.created > 0
    assert card.model_extra["name"] == "Helper" and card.model_extra["mode"] == "chat"
    assert oai.models.retrieve("Helper").id == chat_app.id


def test_chat_completion_blocking(oai, services, chat_app):
    reply = oai.chat.completions.create(model=chat_app.id, messages=[{"role": "user", "content": "Say hello."}],
                                        **SHORT)
    assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-")
    assert reply.model == chat_app.id
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    stored = services.conversations.recent_messages(chat_app.id)
    assert [(m.query, m.answer, m.status.value) for m in stored] == [("Say hello.", choice.message.content, "normal")]
    assert stored[0].message_tokens == reply.usage.prompt_tokens


def test_max_tokens_gives_finish_reason_length(oai, chat_app):
    reply = oai.chat.completions.create(model="Helper", max_tokens=3, temperature=0, messages=[
        {"role": "user", "content": [{"type": "text", "text": "Write a long story about a dragon."}]}])
    assert reply.model == "Helper"
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 3


def test_chat_completion_streaming(oai, chat_app):
    stream = oai.chat.completions.create(model=chat_app.id, stream=True, stream_options={"include_usage": True},
                                         messages=[{"role": "system", "content": "Answer in English."},
                                                   {"role": "user", "content": "Say hello."}], **SHORT)
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    first, *middle, finish, usage = chunks
    assert first.choices[0].delta.role == "assistant" and first.choices[0].delta.content == ""
    assert middle and all(c.choices[0].delta.content and c.choices[0].finish_reason is None for c in middle)
    assert "".join(c.choices[0].delta.content for c in middle).strip()
    assert finish.choices[0].finish_reason in ("stop", "length") and finish.choices[0].delta.content is None
    assert usage.choices == [] and usage.usage.prompt_tokens > 0 and usage.usage.completion_tokens > 0


def test_stream_frames_end_with_done(client, chat_app, chat_key):
    body = {"model": chat_app.id, "stream": True, "messages": [{"role": "user", "content": "Hi"}], **SHORT}
    with client.stream("POST", "/chat/completions", json=body, headers=auth(chat_key)) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        frames = _chunks(r.read().decode())
    assert frames[-1] == "[DONE]"
    assert frames[-2]["choices"][0]["finish_reason"] in ("stop", "length")  # no usage chunk unless asked
    assert all("usage" not in f for f in frames[:-1])


def test_history_continues_one_conversation(oai, services, chat_app):
    first = [{"role": "user", "content": "My name is Ada. Say hi."}]
    one = oai.chat.completions.create(model=chat_app.id, messages=first, **SHORT).choices[0].message.content
    second = first + [{"role": "assistant", "content": one}, {"role": "user", "content": "What is my name?"}]
    oai.chat.completions.create(model=chat_app.id, messages=second, **SHORT)
    stored = services.conversations.recent_messages(chat_app.id)
    assert len(stored) == 2 and stored[0].conversation_id == stored[1].conversation_id
    conv = services.conversations.get(stored[0].conversation_id)
    assert conv.user == "openai"
    other = oai.chat.completions.create(model=chat_app.id, messages=second, user="someone-else", **SHORT)
    assert other.choices[0].message.content is not None
    latest = services.conversations.recent_messages(chat_app.id)[0]
    assert latest.conversation_id != conv.id  # another user's identical history does not join it


def test_unknown_model_is_openai_not_found(oai):
    with pytest.raises(openai.NotFoundError) as err:
        oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    assert err.value.status_code == 404
    assert err.value.body == {"message": "The model 'gpt-4o' does not exist or this key cannot use it",
                              "type": "invalid_request_error", "param": "model", "code": "model_not_found"}


def test_bad_key_is_openai_authentication_error(api, chat_app):
    client = openai.OpenAI(base_url=api, api_key="app-notARealKeyAtAll0000000", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        client.chat.completions.create(model=chat_app.id, messages=[{"role": "user", "content": "Hi"}])
    assert err.value.body["type"] == "invalid_request_error" and err.value.body["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_missing_key_and_bad_bodies_use_openai_envelope(client, chat_app, chat_key):
    r = client.post("/chat/completions", json={"model": chat_app.id, "messages": []})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    cases = [({"model": chat_app.id, "messages": []}, "messages"),
             ({"model": chat_app.id, "messages": [{"role": "user", "content": "Hi"}], "n": 2}, "n"),
             ({"model": chat_app.id, "messages": [{"role": "user", "content": "Hi"}], "temperature": 5}, "temperature"),
             ({"model": chat_app.id, "messages": [{"role": "user", "content": [
                 {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]}, "messages.0.content")]
    for body, param in cases:
        r = client.post("/chat/completions", json=body, headers=auth(chat_key))
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]
    r = client.post("/chat/completions", json={"model": chat_app.id, "messages": [
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}, headers=auth(chat_key))
    assert r.status_code == 400 and "last message" in r.json()["error"]["message"]
    r = client.post("/chat/completions", content=b"{not json", headers={**auth(chat_key),
                                                                        "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


def test_client_disconnect_stores_a_stopped_message(client, services, chat_app, chat_key):
    body = {"model": chat_app.id, "stream": True, "max_tokens": 1000,
            "messages": [{"role": "user", "content": "Write a very long essay about the history of Rome."}]}
    with client.stream("POST", "/chat/completions", json=body, headers=auth(chat_key)) as r:
        lines = r.iter_lines()
        seen = [line for line, _ in zip(lines, range(6)) if line.startswith("data: ")]
        assert len(seen) >= 3
    deadline = time.monotonic() + 30
    while True:
        stored = services.conversations.recent_messages(chat_app.id)
        if stored and stored[0].status.value != "running":
            break
        assert time.monotonic() < deadline, "the message was left running"
        time.sleep(0.1)
    assert stored[0].status.value == "stopped" and stored[0].answer


def test_chatflow_app_as_a_model(api, services):
    app = import_sample(services, "basic_chatflow.yml")
    key = services.keys.create(app.id)[1]
    client = openai.OpenAI(base_url=api, api_key=key, max_retries=0, timeout=120)
    assert [m.id for m in client.models.list().data] == [app.id]
    reply = client.chat.completions.create(model="basic_chatflow", messages=[
        {"role": "user", "content": "Reply with one word: hello."}])
    assert reply.choices[0].message.content.strip() and reply.choices[0].finish_reason == "stop"
    chunks = list(client.chat.completions.create(model=app.id, stream=True, messages=[
        {"role": "user", "content": "Reply with one word: hello."}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks).strip()
    assert chunks[-1].choices[0].finish_reason == "stop"
    stored = services.conversations.recent_messages(app.id)
    assert len(stored) == 2 and all(m.status.value == "normal" and m.answer for m in stored)


def test_one_text_input_workflow_as_a_model(api, services):
    app = import_sample(services, "simple_passthrough_workflow.yml")
    key = services.keys.create(app.id)[1]
    client = openai.OpenAI(base_url=api, api_key=key, max_retries=0, timeout=60)
    reply = client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "ping pong"}])
    assert reply.choices[0].message.content == "ping pong"
    assert services.workflows.runs(app.id)[0].status.value == "succeeded"


def test_a_required_input_is_named_and_inputs_fill_it(api, services):
    """OpenAI's body has no input form: the 400 says where Studio takes it, and extra_body fills it."""
    app = services.apps.create("Tagline", "completion", prompt="Write a tagline for {{product}}.")
    form = [{"text-input": {"variable": "product", "label": "Product", "required": True}}]
    app = services.apps.update(app.id, config={**app.config, "user_input_form": form})
    client = openai.OpenAI(base_url=api, api_key=services.keys.create(app.id)[1], max_retries=0, timeout=120)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="Tagline", messages=[{"role": "user", "content": "tea"}], **SHORT)
    body = err.value.body
    assert body["param"] == "inputs" and body["code"] == "invalid_param"
    assert body["message"].startswith("Product is required in input form") and '"inputs"' in body["message"]
    reply = client.chat.completions.create(model="Tagline", messages=[{"role": "user", "content": "tea"}],
                                           extra_body={"inputs": {"product": "green tea"}}, **SHORT)
    assert reply.choices[0].message.content.strip()
    assert services.conversations.recent_messages(app.id)[0].inputs == {"product": "green tea"}


def test_dataset_key_cannot_list_models(client, services):
    key = services.keys.create(scope="dataset")[1]
    r = client.get("/models", headers=auth(key))
    assert r.status_code == 403 and set(r.json()["error"]) == {"message", "type", "param", "code"}


def test_failure_after_the_stream_started_is_an_error_chunk_then_done(client, oai, services, chat_app, chat_key):
    too_long = [{"role": "user", "content": "word " * 6000}]  # more tokens than the model's context holds
    body = {"model": chat_app.id, "stream": True, "messages": too_long}
    with client.stream("POST", "/chat/completions", json=body, headers=auth(chat_key)) as r:
        assert r.status_code == 200
        frames = _chunks(r.read().decode())
    assert frames[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert frames[-1] == "[DONE]" and set(frames[-2]) == {"error"}
    assert frames[-2]["error"]["type"] == "invalid_request_error" and frames[-2]["error"]["message"]
    with pytest.raises(openai.APIError):
        list(oai.chat.completions.create(model=chat_app.id, stream=True, messages=too_long))
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model=chat_app.id, messages=too_long)
    assert err.value.body["code"] == "completion_request_error"
    assert [m.status.value for m in services.conversations.recent_messages(chat_app.id)] == ["error"] * 3


def test_local_models_are_listed_and_callable_only_when_enabled(oai, services, chat_app):
    model = services.models.default_chat_model()
    local_id = f"local/{model.id}"
    with pytest.raises(openai.NotFoundError):
        oai.chat.completions.create(model=local_id, messages=[{"role": "user", "content": "hi"}], **SHORT)
    assert [m.id for m in oai.models.list().data] == [chat_app.id]
    services.settings.set("api_local_models", 1)
    ids = [m.id for m in oai.models.list().data]
    assert ids[0] == chat_app.id and local_id in ids
    assert oai.models.retrieve(local_id).owned_by == "local"
    before = len(services.conversations.recent_messages(chat_app.id))
    reply = oai.chat.completions.create(model=local_id, messages=[
        {"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello."}], **SHORT)
    assert reply.choices[0].message.content and reply.usage.completion_tokens > 0
    assert reply.model == local_id
    parts = [c.choices[0].delta.content or "" for c in oai.chat.completions.create(
        model=local_id, messages=[{"role": "user", "content": "Count to three."}], stream=True, **SHORT) if c.choices]
    assert "".join(parts)
    assert len(services.conversations.recent_messages(chat_app.id)) == before  # raw model chats are not logged
    with pytest.raises(openai.BadRequestError):
        oai.chat.completions.create(model=local_id, messages=[{"role": "assistant", "content": "hi"}], **SHORT)
