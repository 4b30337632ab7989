"""Chat and completion use cases: build the prompt, stream the model, and keep every answer safe on disk."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from studio.core.app_config import parse_config, render_template, validate_inputs
from studio.core.cancel import CancelToken
from studio.core.entities import App, AppMode, ChatTurn, Conversation, Message, MessageStatus
from studio.core.errors import StudioError, ValidationError
from studio.core.events import ChatEvent, MessageFinished, MessageStarted, TextChunk

log = logging.getLogger(__name__)
PARTIAL_SAVE_SECONDS = 0.5  # how much streamed text a crash may cost at most
MAX_QUERY_CHARS = 100_000


class ChatService:
    def __init__(self, repos, apps, models, provider) -> None:
        self._conversations = repos.conversations
        self._messages = repos.messages
        self._apps = apps
        self._models = models
        self._provider = provider

    def send(self, app_ref: str, query: str, *, inputs: dict[str, Any] | None = None,
             conversation_id: str | None = None, user: str = "",
             cancel: CancelToken | None = None) -> Iterator[ChatEvent]:
        """One chat turn. Validation happens before the first event; the rest streams."""
        app = self._apps.resolve(app_ref)
        if app.mode != AppMode.CHAT:
            raise ValidationError(f"{app.name} is a {app.mode.value} app, not a chat app")
        query = self._check_query(query, required=True)
        cfg = parse_config(app.config)
        if conversation_id:
            conv = self._conversation_of(app, conversation_id, user)
            inputs = conv.inputs  # like Dify: a conversation keeps the inputs it started with
            history = self._history(conv.id, cfg.memory.window.size if cfg.memory.window.enabled else 0)
        else:
            inputs = validate_inputs(cfg.inputs(), inputs or {})
            conv = self._conversations.create(app.id, name=_title(query), inputs=inputs, user=user)
            history = []
        system = render_template(cfg.pre_prompt, inputs).strip()
        turns = ([ChatTurn(role="system", content=system)] if system else []) + history
        turns.append(ChatTurn(role="user", content=query))
        return self._stream(app, cfg, conv, query, inputs, turns, keep_first=1 if system else 0,
                            cancel=cancel or CancelToken())

    def complete(self, app_ref: str, inputs: dict[str, Any] | None = None, *, query: str = "", user: str = "",
                 cancel: CancelToken | None = None) -> Iterator[ChatEvent]:
        """One Text generator run: the prompt template filled with the inputs."""
        app = self._apps.resolve(app_ref)
        if app.mode != AppMode.COMPLETION:
            raise ValidationError(f"{app.name} is a {app.mode.value} app, not a text generator")
        query = self._check_query(query, required=False)
        cfg = parse_config(app.config)
        inputs = validate_inputs(cfg.inputs(), inputs or {})
        prompt = render_template(cfg.pre_prompt, inputs).strip()
        if query:
            prompt = f"{prompt}\n\n{query}" if prompt else query
        if not prompt:
            raise ValidationError("The prompt is empty: write a prompt for this app, or give a query")
        title = query or next((str(v) for v in inputs.values() if v), app.name)
        conv = self._conversations.create(app.id, name=_title(title), inputs=inputs, user=user)
        turns = [ChatTurn(role="user", content=prompt)]
        return self._stream(app, cfg, conv, query, inputs, turns, keep_first=0, cancel=cancel or CancelToken())

    # -- internals -------------------------------------------------------------------------------
    @staticmethod
    def _check_query(query: str | None, *, required: bool) -> str:
        if query is not None and not isinstance(query, str):
            raise ValidationError("query must be a string")
        query = (query or "").strip()
        if required and not query:
            raise ValidationError("query is required")
        if len(query) > MAX_QUERY_CHARS:
            raise ValidationError(f"query is too long ({len(query)} characters; the limit is {MAX_QUERY_CHARS})")
        return query

    def _conversation_of(self, app: App, conversation_id: str, user: str) -> Conversation:
        conv = self._conversations.get(conversation_id)
        if conv.app_id != app.id or (user and conv.user and conv.user != user):
            raise ValidationError(f"Conversation {conversation_id!r} does not belong to {app.name}")
        return conv

    def _history(self, conversation_id: str, window: int) -> list[ChatTurn]:
        if window <= 0:
            return []
        turns: list[ChatTurn] = []
        for m in self._messages.list(conversation_id)[-window:]:
            if m.answer:
                turns += [ChatTurn(role="user", content=m.query), ChatTurn(role="assistant", content=m.answer)]
        return turns

    def _stream(self, app, cfg, conv, query, inputs, turns, *, keep_first, cancel) -> Iterator[ChatEvent]:
        model = self._models.resolve_chat_model(cfg.model.name)  # fails before anything is stored
        return self._generate(app, conv, query, inputs, model, turns, cfg.generation_params(), keep_first, cancel)

    def _generate(self, app, conv, query, inputs, model, turns, params, keep_first,
                  cancel) -> Iterator[ChatEvent]:
        msg = self._messages.start(conv.id, app.id, query=query, inputs=inputs, model_id=model.id)
        yield MessageStarted(conversation_id=msg.conversation_id, message_id=msg.id, model_id=model.id)
        started = time.perf_counter()
        first_ms, parts, saved_at = 0.0, [], started
        result: dict[str, Any] = {"status": MessageStatus.STOPPED, "error": ""}
        dropped = 0
        stream = self._provider.stream_chat(model, turns, params, cancel, keep_first=keep_first)
        try:
            for chunk in stream:
                if chunk.done:
                    dropped = chunk.dropped_turns
                    result.update(message_tokens=chunk.prompt_tokens, answer_tokens=chunk.completion_tokens)
                    result["status"] = MessageStatus.STOPPED if chunk.finish_reason == "cancelled" else MessageStatus.NORMAL
                    break
                now = time.perf_counter()
                if not first_ms:
                    first_ms = (now - started) * 1000
                parts.append(chunk.text)
                yield TextChunk(chunk.text)
                if now - saved_at > PARTIAL_SAVE_SECONDS:
                    self._messages.save_partial(msg.id, "".join(parts))
                    saved_at = now
        except StudioError as exc:
            result.update(status=MessageStatus.ERROR, error=exc.message)
        finally:
            stream.close()
            # Runs also when our consumer walks away (GeneratorExit): the answer so far is kept as stopped.
            final = self._messages.finish(
                msg.id, answer="".join(parts), latency_ms=(time.perf_counter() - started) * 1000,
                first_token_ms=first_ms, **result,
            )
        yield MessageFinished(message=final, dropped_turns=dropped)


class ConversationService:
    def __init__(self, repos) -> None:
        self._conversations = repos.conversations
        self._messages = repos.messages

    def list(self, app_id: str | None = None, limit: int = 500) -> list[Conversation]:
        return self._conversations.list(app_id, limit)

    def get(self, conversation_id: str) -> Conversation:
        return self._conversations.get(conversation_id)

    def rename(self, conversation_id: str, name: str) -> Conversation:
        name = (name or "").strip()
        if not name:
            raise ValidationError("Conversation name must not be empty")
        return self._conversations.update(conversation_id, name=name[:255])

    def delete(self, conversation_id: str) -> None:
        self._conversations.delete(conversation_id)

    def messages(self, conversation_id: str) -> list[Message]:
        return self._messages.list(conversation_id)

    def recent_messages(self, app_id: str | None = None, limit: int = 200) -> list[Message]:
        return self._messages.recent(app_id, limit)


def _title(text: str) -> str:
    text = " ".join(str(text).split())
    return (text[:47] + "…") if len(text) > 48 else (text or "New conversation")
