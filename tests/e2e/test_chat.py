"""End to end on the bundled SmolLM2 through llama.cpp: streaming, persistence, stop, limits."""

import time

import pytest

from studio.app import build
from studio.core.app_config import default_config
from studio.core.cancel import CancelToken
from studio.core.entities import AppMode, ChatTurn, GenerationParams, MessageStatus
from studio.core.errors import ModelError, ValidationError
from studio.core.events import MessageFinished, MessageStarted, TextChunk
from studio.core.settings import Settings


def chat_app(services, name="Geo", prompt="You are a helpful assistant.", **params):
    cfg = default_config(AppMode.CHAT, prompt)
    cfg["model"]["completion_params"].update({"temperature": 0.0, **params})
    return services.apps.create(name, "chat", config=cfg)


def run(events):
    chunks, started, finished = [], None, None
    for ev in events:
        if isinstance(ev, MessageStarted):
            started = ev
        elif isinstance(ev, TextChunk):
            chunks.append(ev.text)
        elif isinstance(ev, MessageFinished):
            finished = ev
    return started, chunks, finished


def test_capital_of_france_streams_paris(services):
    app = chat_app(services)
    started, chunks, finished = run(services.chat.send(app.id, "What is the capital of France?"))
    assert len(chunks) > 3, "the answer arrives in pieces, not at once"
    answer = "".join(chunks)
    assert "Paris" in answer
    msg = finished.message
    assert msg.status == MessageStatus.NORMAL and msg.answer == answer
    assert msg.message_tokens > 10 and msg.answer_tokens >= 5
    assert 0 < msg.first_token_ms < msg.latency_ms and finished.tokens_per_second > 0
    assert msg.model_id == "smollm2-135m-instruct.q4_1"
    assert services.conversations.messages(started.conversation_id)[0].answer == answer


def test_conversation_survives_restart_and_keeps_history(home):
    services = build(Settings(home=home))
    app = chat_app(services, max_tokens=64)
    started, _, first = run(services.chat.send(app.id, "My name is Zoltan. Remember it."))
    services.close()

    services = build(Settings(home=home))
    try:
        [conv] = services.conversations.list(app.id)
        assert conv.id == started.conversation_id
        assert services.conversations.messages(conv.id)[0].answer == first.message.answer
        _, _, second = run(services.chat.send(app.id, "What name did I tell you?", conversation_id=conv.id))
        assert "Zoltan" in second.message.answer
        # the history was really sent: the second prompt is longer than the first
        assert second.message.message_tokens > first.message.message_tokens + 10
        assert [m.query for m in services.conversations.messages(conv.id)] == [
            "My name is Zoltan. Remember it.", "What name did I tell you?"]
    finally:
        services.close()


def test_stop_ends_generation_quickly_and_keeps_text(services):
    app = chat_app(services, max_tokens=2000)
    cancel = CancelToken()
    events = services.chat.send(app.id, "Write a very long story about a dragon.", cancel=cancel)
    chunks, finished, stopped_at = [], None, None
    for ev in events:
        if isinstance(ev, TextChunk):
            chunks.append(ev.text)
            if len(chunks) == 10:
                stopped_at = time.perf_counter()
                cancel.cancel()
        elif isinstance(ev, MessageFinished):
            finished = ev
    elapsed = time.perf_counter() - stopped_at
    assert elapsed < 0.2, f"stop took {elapsed * 1000:.0f} ms"
    assert finished.message.status == MessageStatus.STOPPED
    assert finished.message.answer == "".join(chunks) and finished.message.answer
    assert finished.message.answer_tokens < 30


def test_consumer_walking_away_stores_answer_as_stopped(services):
    app = chat_app(services, max_tokens=500)
    events = services.chat.send(app.id, "Tell me about the sea.")
    started = next(events)
    next(events)
    events.close()
    [msg] = services.conversations.messages(started.conversation_id)
    assert msg.status == MessageStatus.STOPPED and msg.answer


def test_text_generator_validates_inputs_then_completes(services):
    cfg = default_config(AppMode.COMPLETION, "Translate to French: {{text}}")
    cfg["user_input_form"] = [{"text-input": {"variable": "text", "label": "Text", "required": True}}]
    cfg["model"]["completion_params"]["temperature"] = 0.0
    app = services.apps.create("Translator", "completion", config=cfg)
    with pytest.raises(ValidationError, match="Text is required in input form"):
        services.chat.complete(app.id, {})
    _, chunks, finished = run(services.chat.complete(app.id, {"text": "Good morning"}))
    assert finished.message.status == MessageStatus.NORMAL and "".join(chunks).strip()
    with pytest.raises(ValidationError, match="not a chat app"):
        services.chat.send(app.id, "hi")


def test_overlong_prompt_is_a_clear_error_and_history_is_trimmed(services):
    services.settings.set("n_ctx", 512)
    app = chat_app(services, prompt="You are terse. " * 300)
    _, chunks, finished = run(services.chat.send(app.id, "Hello"))
    assert finished.message.status == MessageStatus.ERROR and not chunks
    assert "context window is 512 tokens" in finished.message.error

    small = chat_app(services, name="Small", prompt="Be brief.", max_tokens=64)
    started, _, _ = run(services.chat.send(small.id, "Describe the ocean. " * 20))
    for _ in range(3):
        _, _, last = run(services.chat.send(small.id, "Describe the ocean. " * 20,
                                            conversation_id=started.conversation_id))
    assert last.message.status == MessageStatus.NORMAL
    assert last.dropped_turns > 0, "older turns must be left out to fit the 512-token window"


def test_missing_model_and_bad_conversation_fail_before_anything_is_stored(services):
    app = chat_app(services)
    cfg = dict(app.config, model={**app.config["model"], "name": "no-such-model"})
    services.apps.update(app.id, config=cfg)
    with pytest.raises(ModelError, match="'no-such-model' is not installed"):
        services.chat.send(app.id, "hi")
    assert services.conversations.list() == []
    other = chat_app(services, name="Other")
    started, _, _ = run(services.chat.send(other.id, "hi"))
    with pytest.raises(ValidationError, match="does not belong"):
        services.chat.send(chat_app(services, name="Third").id, "hi", conversation_id=started.conversation_id)
    with pytest.raises(ValidationError, match="query is required"):
        services.chat.send(other.id, "   ")
    assert len(services.conversations.messages(started.conversation_id)) == 1


def test_a_very_long_history_is_trimmed_in_a_few_renders_and_cancel_is_heard(services):
    """A client may send tens of thousands of turns (OpenAI's `messages`): trimming them must not render the
    template once per dropped pair, and a cancel during the trimming ends the generation at once."""
    services.settings.set("n_ctx", 512)
    model = services.models.default_chat_model()
    turns = [ChatTurn(role="system", content="Be brief.")]
    for i in range(20_000):
        turns += [ChatTurn(role="user", content=f"Question {i}?"), ChatTurn(role="assistant", content=f"Answer {i}.")]
    turns.append(ChatTurn(role="user", content="Say hello."))
    params = GenerationParams(max_tokens=8, temperature=0.0)
    started = time.monotonic()
    chunks = list(services.models.chat(model.id, turns, params, CancelToken()))
    assert time.monotonic() - started < 30  # one render per pair (the old way) took hours
    done = chunks[-1]
    assert done.done and done.finish_reason in ("stop", "length")
    assert 39_000 < done.dropped_turns < 40_001 and done.dropped_turns % 2 == 0

    cancel = CancelToken()
    cancel.cancel()
    started = time.monotonic()
    [only] = list(services.models.chat(model.id, turns, params, cancel))
    assert only.finish_reason == "cancelled" and only.completion_tokens == 0
    assert time.monotonic() - started < 1
