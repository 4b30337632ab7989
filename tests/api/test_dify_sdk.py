"""Dify's published Python SDK (`dify-client` from PyPI) against Studio: only the base URL and the key change.

dify-client 0.1.10 has no base_url argument; its requests go to the instance's `base_url` attribute, which is how
its users point it at a self-hosted Dify, and how this test points it at Studio."""

from __future__ import annotations

import json

import pytest
from dify_client import ChatClient, CompletionClient, DifyClient

pytestmark = pytest.mark.slow


def _client(cls, api: str, key: str):
    client = cls(key)
    client.base_url = api
    return client


def test_chat_client_round_trip(api, chat_key):
    chat = _client(ChatClient, api, chat_key)
    r = chat.create_chat_message(inputs={}, query="Hello there", user="sdk-user")
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["answer"] and first["conversation_id"]
    stream = chat.create_chat_message(inputs={}, query="And now?", user="sdk-user", response_mode="streaming",
                                      conversation_id=first["conversation_id"])
    frames = [json.loads(line[6:]) for line in stream.iter_lines(decode_unicode=True) if line.startswith("data: ")]
    assert frames[-1]["event"] == "message_end" and frames[0]["conversation_id"] == first["conversation_id"]
    msgs = chat.get_conversation_messages("sdk-user", conversation_id=first["conversation_id"]).json()
    assert [m["query"] for m in msgs["data"]] == ["Hello there", "And now?"]
    convs = chat.get_conversations("sdk-user", limit=5).json()  # the SDK also sends last_id=None and pinned=None
    assert [c["id"] for c in convs["data"]] == [first["conversation_id"]]
    assert chat.rename_conversation(first["conversation_id"], "SDK chat", "sdk-user").json()["name"] == "SDK chat"
    assert chat.message_feedback(first["message_id"], "like", "sdk-user").json() == {"result": "success"}
    params = chat.get_application_parameters("sdk-user").json()
    assert "user_input_form" in params and "system_parameters" in params
    up = chat.file_upload("sdk-user", {"file": ("a.txt", b"some text", "text/plain")})
    assert up.status_code == 201 and up.json()["name"] == "a.txt"


def test_completion_client(services, api):
    app = services.apps.create("Poet", "completion", prompt="Write a haiku about the sea.")
    key = services.keys.create(app.id)[1]
    completion = _client(CompletionClient, api, key)
    r = completion.create_completion_message(inputs={}, response_mode="blocking", user="sdk-user")
    assert r.status_code == 200, r.text
    assert r.json()["answer"] and r.json()["mode"] == "completion"
    wrong = _client(DifyClient, api, "app-not-a-real-key").get_application_parameters("sdk-user")
    assert wrong.status_code == 401 and wrong.json()["code"] == "unauthorized"
