"""Contract tests for agent apps over real HTTP: Dify's agent_thought and agent_message events, blocking answers,
the stored steps in /messages, stop, a missing tool, and the OpenAI-compatible endpoint."""

from __future__ import annotations

import json

import openai
import pytest

from tests.agents import SEARCH, TIME, import_agent
from tests.api.conftest import auth, sse_events

pytestmark = pytest.mark.slow
ENVELOPE = {"event", "task_id", "id", "message_id", "conversation_id", "created_at"}
THOUGHT = ENVELOPE | {"position", "thought", "observation", "tool", "tool_labels", "tool_input", "message_files"}
STORED_THOUGHT = {"id", "chain_id", "message_id", "position", "thought", "tool", "tool_labels", "tool_input",
                  "created_at", "observation", "files"}
QUERY = "What is 12 * 7? Use the tool."


@pytest.fixture
def agent(services):
    return import_agent(services)


@pytest.fixture
def agent_key(services, agent) -> str:
    return services.keys.create(agent.id)[1]


def _stream(client, key, body) -> list[dict]:
    with client.stream("POST", "/chat-messages", headers=auth(key), json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        r.read()
        return [e for e in sse_events(r) if e != "ping"]


def test_streaming_sends_agent_thoughts_and_agent_messages(services, client, agent, agent_key):
    frames = _stream(client, agent_key, {"inputs": {}, "query": QUERY, "user": "u1", "response_mode": "streaming"})
    names = [f["event"] for f in frames]
    answers = names.count("agent_message")
    assert answers > 1 and names == ["agent_thought", *["agent_message"] * answers, "agent_thought", "message_end"]
    step, *deltas, last, end = frames
    assert set(step) == THOUGHT and set(last) == THOUGHT
    assert all(set(d) == ENVELOPE | {"answer"} for d in deltas) and set(end) == ENVELOPE | {"metadata", "files"}
    message_id = end["message_id"]
    assert len({(f["task_id"], f["message_id"], f["conversation_id"], f["created_at"]) for f in frames}) == 1
    # a thought carries its own id; the answer deltas and message_end carry the message's
    assert step["id"] != message_id and last["id"] not in (message_id, step["id"])
    assert all(d["id"] == message_id for d in deltas) and end["id"] == message_id
    assert (step["position"], step["tool"], step["thought"], step["message_files"]) == (1, "eval_expression", "", [])
    assert json.loads(step["tool_input"])["eval_expression"]["expression"].strip() == "12 * 7"
    assert "84" in json.loads(step["observation"])["eval_expression"]
    assert step["tool_labels"] == {"eval_expression": {"en_US": "Eval Math Expression",
                                                       "zh_Hans": "Eval Math Expression"}}
    answer = "".join(d["answer"] for d in deltas)
    assert (last["position"], last["tool"], last["thought"], last["observation"]) == (2, "", answer, "")
    assert end["metadata"]["usage"]["completion_tokens"] > 0 and end["metadata"]["retriever_resources"] == []
    [stored] = services.conversations.messages(end["conversation_id"])
    assert stored.id == message_id and stored.answer == answer and stored.status.value == "normal"


def test_blocking_returns_the_whole_answer_in_difys_shape(services, client, agent, agent_key):
    r = client.post("/chat-messages", headers=auth(agent_key),
                    json={"inputs": {}, "query": QUERY, "user": "u1", "response_mode": "blocking"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out) == ENVELOPE | {"mode", "answer", "metadata"}
    assert out["event"] == "message" and out["mode"] == "agent-chat" and out["id"] == out["message_id"]
    [stored] = services.conversations.messages(out["conversation_id"])
    assert out["answer"].strip() and out["answer"] == stored.answer
    assert out["metadata"]["usage"]["total_tokens"] == stored.message_tokens + stored.answer_tokens


def test_messages_list_the_agent_thoughts(client, agent_key):
    frames = _stream(client, agent_key, {"inputs": {}, "query": QUERY, "user": "u1", "response_mode": "streaming"})
    streamed = [f for f in frames if f["event"] == "agent_thought"]
    conv = frames[-1]["conversation_id"]
    page = client.get("/messages", headers=auth(agent_key), params={"conversation_id": conv, "user": "u1"}).json()
    [message] = page["data"]
    thoughts = message["agent_thoughts"]
    assert all(set(t) == STORED_THOUGHT for t in thoughts)
    assert [(t["id"], t["position"], t["tool"], t["tool_input"], t["observation"], t["thought"], t["tool_labels"])
            for t in thoughts] == [(f["id"], f["position"], f["tool"], f["tool_input"], f["observation"],
                                    f["thought"], f["tool_labels"]) for f in streamed]
    assert all(t["message_id"] == message["id"] and isinstance(t["created_at"], int) and t["files"] == []
               for t in thoughts)
    assert message["answer"] == thoughts[-1]["thought"]


def test_a_chat_app_still_has_no_agent_thoughts(client, chat_key):
    out = client.post("/chat-messages", headers=auth(chat_key),
                      json={"inputs": {}, "query": "Say hi", "user": "u1"}).json()
    page = client.get("/messages", headers=auth(chat_key),
                      params={"conversation_id": out["conversation_id"], "user": "u1"}).json()
    assert page["data"][0]["agent_thoughts"] == []


def test_stop_ends_an_agent_answer_as_stopped(services, client):
    app = import_agent(services, name="Storyteller", tools=(TIME,), max_tokens=600,
                       prompt="You are a storyteller. Use the tools.")
    key = services.keys.create(app.id)[1]
    body = {"inputs": {}, "query": "What time is it? Then tell a very long story about clocks.", "user": "owner",
            "response_mode": "streaming"}
    with client.stream("POST", "/chat-messages", headers=auth(key), json=body) as r:
        lines = r.iter_lines()
        seen = []
        for line in lines:
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
                if seen[-1]["event"] == "agent_message":
                    break
        stop = client.post(f"/chat-messages/{seen[0]['task_id']}/stop", headers=auth(key), json={"user": "owner"})
        assert stop.status_code == 200 and stop.json() == {"result": "success"}
        seen += [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    names = [f["event"] for f in seen]
    assert names[0] == "agent_thought" and names[-2:] == ["agent_thought", "message_end"]
    assert seen[-1]["metadata"]["usage"]["completion_tokens"] < 600
    [msg] = services.conversations.messages(seen[0]["conversation_id"])
    assert msg.status.value == "stopped" and msg.answer == "".join(f["answer"] for f in seen
                                                                    if f["event"] == "agent_message")


def test_a_missing_tool_is_a_400_before_anything_runs(services, client):
    app = import_agent(services, name="Searcher", tools=(SEARCH,))
    key = services.keys.create(app.id)[1]
    for mode in ("streaming", "blocking"):
        r = client.post("/chat-messages", headers=auth(key),
                        json={"inputs": {}, "query": "Find llamas", "user": "u", "response_mode": mode})
        assert r.status_code == 400, r.text
        body = r.json()
        assert set(body) >= {"code", "message", "status"} and body["status"] == 400
        assert "google/google_search" in body["message"]
    assert services.conversations.list(app.id) == []


def test_an_agent_is_an_openai_model_answering_plain_content(api, services, agent, agent_key):
    with openai.OpenAI(base_url=api, api_key=agent_key, max_retries=0, timeout=120) as oai:
        assert [m.id for m in oai.models.list().data] == [agent.id]
        reply = oai.chat.completions.create(model=agent.name, temperature=0,
                                            messages=[{"role": "user", "content": QUERY}])
        content = reply.choices[0].message.content
        assert content.strip() and reply.choices[0].finish_reason == "stop" and reply.usage.total_tokens > 0
        chunks = oai.chat.completions.create(model=agent.id, stream=True, temperature=0,
                                             messages=[{"role": "user", "content": QUERY}])
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == content  # greedy steps and answer: the same both ways
    messages = services.conversations.recent_messages(agent.id)
    assert [m.answer for m in messages] == [content, content]
    steps = services.chat.agent_thoughts([m.id for m in messages])
    assert all(steps[m.id][0].tool == "eval_expression" for m in messages), "the steps are in the logs"
