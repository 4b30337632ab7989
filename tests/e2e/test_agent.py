"""Agent apps end to end on the bundled SmolLM2 through llama.cpp: tool steps between the answer's start and end,
stored steps, a missing tool refused up front, Stop, and max_iteration."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from studio.core.cancel import CancelToken
from studio.core.entities import MessageStatus
from studio.core.errors import ValidationError
from studio.core.events import AgentThought, MessageFinished, MessageStarted, TextChunk
from studio.tools import ToolRegistry
from tests.agents import MATHS, SEARCH, TIME, import_agent


def kinds(events: list) -> str:
    """The event order as one letter each: S(tarted), T(hought), C(hunk), F(inished)."""
    letters = {MessageStarted: "S", AgentThought: "T", TextChunk: "C", MessageFinished: "F"}
    return "".join(letters[type(e)] for e in events)


def test_agent_calls_the_time_tool_then_answers(services):
    app = import_agent(services)
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    events = list(services.chat.send(app.id, "What time is it?"))
    order = kinds(events)
    assert order[0] == "S" and order[-1] == "F" and order.count("S") == order.count("F") == 1
    thoughts = [e for e in events if isinstance(e, AgentThought)]
    step, last = thoughts[0], thoughts[-1]
    assert step.tool == "current_time" and step.position == 1
    assert json.loads(step.tool_input) == {"current_time": {}}
    assert json.loads(step.observation)["current_time"].startswith(today[:7])  # the presets' UTC time
    assert step.tool_labels["current_time"]["en_US"] == "Current Time" and step.tokens > 0
    # the tool step comes before the answer; the answering step (no tool) after it, holding the answer
    assert order.index("T") < order.index("C") and order.rindex("T") > order.rindex("C")
    finished = events[-1]
    answer = "".join(e.text for e in events if isinstance(e, TextChunk))
    assert answer.strip() and last.tool == "" and last.thought == answer == finished.message.answer
    assert finished.message.status == MessageStatus.NORMAL
    stored = services.chat.agent.thoughts([finished.message.id])[finished.message.id]
    assert [(t.id, t.position, t.tool, t.observation) for t in stored] == \
        [(t.id, t.position, t.tool, t.observation) for t in thoughts]
    [message] = services.conversations.messages(events[0].conversation_id)
    assert message.answer == answer and message.status == MessageStatus.NORMAL
    # every step's tokens are in the message's totals
    assert message.message_tokens + message.answer_tokens >= sum(t.tokens for t in thoughts)


def test_agent_does_arithmetic_with_the_maths_tool(services):
    app = import_agent(services)
    events = list(services.chat.send(app.id, "What is 12 * 7? Use the tool."))
    [step] = [e for e in events if isinstance(e, AgentThought) and e.tool]
    assert step.tool == "eval_expression"
    assert json.loads(step.tool_input)["eval_expression"]["expression"].strip() == "12 * 7"
    assert "is 84" in json.loads(step.observation)["eval_expression"]
    assert "84" in events[-1].message.answer


def test_agent_continues_its_conversation(services):
    app = import_agent(services, tools=(MATHS,))
    first = list(services.chat.send(app.id, "What is 12 * 7? Use the tool."))
    conv = first[0].conversation_id
    second = list(services.chat.send(app.id, "Thanks! And what is 2 + 3? Use the tool.", conversation_id=conv))
    assert second[0].conversation_id == conv and second[-1].message.status == MessageStatus.NORMAL
    messages = services.conversations.messages(conv)
    assert len(messages) == 2
    stored = services.chat.agent_thoughts([m.id for m in messages])
    assert set(stored) == {m.id for m in messages}, "each answer keeps its own steps"


def test_a_missing_tool_is_refused_before_anything_is_stored(services):
    app = import_agent(services, tools=(TIME, SEARCH))
    with pytest.raises(ValidationError) as err:
        services.chat.send(app.id, "Search the web for llamas")
    assert "google/google_search" in err.value.message and "not available" in err.value.message
    assert services.conversations.list(app.id) == []
    # switched off, the same tool is no obstacle
    off = import_agent(services, name="Off agent", tools=(TIME, {**SEARCH, "enabled": False}))
    assert list(services.chat.send(off.id, "Hello"))[-1].message.status == MessageStatus.NORMAL


def test_stop_mid_answer_stores_the_answer_as_stopped(services):
    app = import_agent(services, max_tokens=600, prompt="You are a storyteller. Use the tools.")
    cancel = CancelToken()
    events = services.chat.send(app.id, "What time is it? Then tell a very long story about clocks.",
                                cancel=cancel)
    seen: list = []
    for ev in events:
        seen.append(ev)
        if isinstance(ev, TextChunk) and kinds(seen).count("C") == 8:
            cancel.cancel()
    finished = seen[-1]
    assert isinstance(finished, MessageFinished) and finished.finish_reason == "cancelled"
    msg = finished.message
    streamed = "".join(e.text for e in seen if isinstance(e, TextChunk))
    assert msg.status == MessageStatus.STOPPED and msg.answer == streamed and 0 < msg.answer_tokens < 600
    [stored] = services.conversations.messages(msg.conversation_id)
    assert stored.status == MessageStatus.STOPPED and stored.answer == streamed
    thoughts = services.chat.agent_thoughts([msg.id])[msg.id]
    assert thoughts[-1].tool == "" and thoughts[-1].thought == streamed  # the answer so far, as its own step


def test_stop_during_a_tool_step_stores_a_stopped_empty_answer(services):
    app = import_agent(services)
    cancel = CancelToken()
    cancel.cancel()  # before the first step finishes: nothing is generated, but the turn is still recorded
    events = list(services.chat.send(app.id, "What time is it?", cancel=cancel))
    assert kinds(events) == "SF"
    assert events[-1].message.status == MessageStatus.STOPPED and events[-1].message.answer == ""


def test_max_iteration_caps_the_steps(services):
    """The model asks for the same call again after its first one; the runner refuses repeats. With
    max_iteration=1 it never gets to ask: every token spent is then in a stored step, none in a refused one."""
    query = "Use eval_expression to compute 12 * 7"

    def spent(max_iteration: int) -> tuple[int, int, int]:
        app = import_agent(services, name=f"Max {max_iteration}", tools=(MATHS,), max_iteration=max_iteration)
        events = list(services.chat.send(app.id, query))
        thoughts = [e for e in events if isinstance(e, AgentThought)]
        msg = events[-1].message
        return (len([t for t in thoughts if t.tool]), msg.message_tokens + msg.answer_tokens,
                sum(t.tokens for t in thoughts))

    calls, total, in_steps = spent(3)
    assert calls == 1 and total > in_steps, "the model asked for a second step, which was not stored"
    calls, total, in_steps = spent(1)
    assert calls == 1 and total == in_steps, "with max_iteration=1 there is no second step"


def test_every_builtin_tool_fits_in_one_step_grammar(services):
    """All the built-in tools at once: llama.cpp must accept the step grammar their schemas make."""
    tools = [{"provider_type": "builtin", "provider_id": t.provider, "tool_name": t.name, "enabled": True,
              "tool_parameters": {}} for t in ToolRegistry.builtin().list()]
    app = import_agent(services, tools=tools)
    finished = list(services.chat.send(app.id, "Hello"))[-1]
    assert finished.message.status == MessageStatus.NORMAL, finished.message.error
