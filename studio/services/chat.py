"""Chat and completion use cases: build the prompt, stream the model, and keep every answer safe on disk."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from studio.core.app_config import parse_config, validate_inputs
from studio.core.cancel import CancelToken
from studio.core.entities import (
    App, AppMode, ChatTurn, Conversation, GenerationParams, Message, MessageStatus, ModelInfo, with_article,
)
from studio.core.errors import StudioError, ValidationError
from studio.core.events import ChatEvent, MessageFinished, MessageStarted, TextChunk
from studio.services.app_knowledge import knowledge_context, with_context

log = logging.getLogger(__name__)
PARTIAL_SAVE_SECONDS = 0.5  # how much streamed text a crash may cost at most
MAX_QUERY_CHARS = 100_000


@dataclass(frozen=True)
class _Run:
    """A validated request, ready to generate."""

    app: App
    conversation: Conversation | None
    title: str
    user: str
    query: str
    inputs: dict[str, Any]
    model: ModelInfo
    turns: list[ChatTurn]
    params: GenerationParams
    keep_first: int
    resources: tuple[dict[str, Any], ...] = ()


class ChatService:
    def __init__(self, repos, apps, models, provider, knowledge=None) -> None:
        self._conversations = repos.conversations
        self._messages = repos.messages
        self._apps = apps
        self._models = models
        self._provider = provider
        self._knowledge = knowledge  # KnowledgeService, for apps with attached knowledge bases

    def send(self, app_ref: str, query: str, *, inputs: dict[str, Any] | None = None,
             conversation_id: str | None = None, user: str = "",
             cancel: CancelToken | None = None) -> Iterator[ChatEvent]:
        """One chat turn. Validation happens before the first event; the rest streams."""
        app = self._apps.resolve(app_ref)
        if app.mode != AppMode.CHAT:
            raise ValidationError(f"{app.name} is {with_article(app.mode.value)} app, not a chat app")
        query = self._check_query(query, required=True)
        cfg = parse_config(app.config)
        model = self._models.resolve_chat_model(cfg.model.name)
        if conversation_id:
            conv = self._conversation_of(app, conversation_id, user)
            inputs = conv.inputs  # like Dify: a conversation keeps the inputs it started with
            history = self._history(conv.id, cfg.memory.window.size if cfg.memory.window.enabled else 0)
        else:
            inputs = validate_inputs(cfg.inputs(), inputs or {})
            conv, history = None, []
        cancel = cancel or CancelToken()
        context, resources = knowledge_context(self._knowledge, app.config, query, cancel)
        system = with_context(cfg.pre_prompt, inputs, context).strip()
        turns = ([ChatTurn(role="system", content=system)] if system else []) + history
        turns.append(ChatTurn(role="user", content=query))
        run = _Run(app=app, conversation=conv, title=query, user=user, query=query, inputs=inputs, model=model,
                   turns=turns, params=cfg.generation_params(), keep_first=1 if system else 0,
                   resources=tuple(resources))
        return self._generate(run, cancel)

    def complete(self, app_ref: str, inputs: dict[str, Any] | None = None, *, query: str = "", user: str = "",
                 cancel: CancelToken | None = None) -> Iterator[ChatEvent]:
        """One Text generator run: the prompt template filled with the inputs."""
        app = self._apps.resolve(app_ref)
        if app.mode != AppMode.COMPLETION:
            raise ValidationError(f"{app.name} is {with_article(app.mode.value)} app, not a text generator")
        query = self._check_query(query, required=False)
        cfg = parse_config(app.config)
        inputs = validate_inputs(cfg.inputs(), inputs or {})
        model = self._models.resolve_chat_model(cfg.model.name)
        cancel = cancel or CancelToken()
        dataset_query = str(inputs.get(app.config.get("dataset_query_variable") or "", "") or query)
        context, resources = knowledge_context(self._knowledge, app.config, dataset_query, cancel)
        prompt = with_context(cfg.pre_prompt, inputs, context).strip()
        if query:
            prompt = f"{prompt}\n\n{query}" if prompt else query
        if not prompt:
            raise ValidationError("The prompt is empty: write a prompt for this app, or give a query")
        title = query or next((str(v) for v in inputs.values() if v), app.name)
        run = _Run(app=app, conversation=None, title=title, user=user, query=query, inputs=inputs, model=model,
                   turns=[ChatTurn(role="user", content=prompt)], params=cfg.generation_params(), keep_first=0,
                   resources=tuple(resources))
        return self._generate(run, cancel)

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

    def _generate(self, run: _Run, cancel: CancelToken) -> Iterator[ChatEvent]:
        """Validation is done; from here on every outcome, even an abandoned stream, is stored."""
        conv = run.conversation or self._conversations.create(
            run.app.id, name=_title(run.title), inputs=run.inputs, user=run.user)
        msg = self._messages.start(conv.id, run.app.id, query=run.query, inputs=run.inputs, model_id=run.model.id)
        answer = _Answer(msg.id, self._messages)
        answer.fields["retriever_resources"] = list(run.resources)
        stream = self._provider.stream_chat(run.model, run.turns, run.params, cancel, keep_first=run.keep_first)
        try:
            yield MessageStarted(conversation_id=conv.id, message_id=msg.id, model_id=run.model.id)
            for chunk in stream:
                if chunk.done:
                    answer.end(chunk)
                    break
                answer.add(chunk.text)
                yield TextChunk(chunk.text)
        except StudioError as exc:
            answer.fields.update(status=MessageStatus.ERROR, error=exc.message)
        finally:
            stream.close()
            final = answer.store()  # also when our consumer walks away: the text so far is kept
        yield MessageFinished(message=final, dropped_turns=answer.dropped)


class _Answer:
    """Collects a streamed answer, saves it every PARTIAL_SAVE_SECONDS, and stores the final record."""

    def __init__(self, message_id: str, messages) -> None:
        self.message_id = message_id
        self._messages = messages
        self.parts: list[str] = []
        self.started = self.saved_at = time.perf_counter()
        self.first_ms = 0.0
        self.dropped = 0
        self.fields: dict[str, Any] = {"status": MessageStatus.STOPPED, "error": ""}

    def add(self, text: str) -> None:
        now = time.perf_counter()
        if not self.first_ms:
            self.first_ms = (now - self.started) * 1000
        self.parts.append(text)
        if now - self.saved_at > PARTIAL_SAVE_SECONDS:
            self._messages.save_partial(self.message_id, "".join(self.parts))
            self.saved_at = now

    def end(self, chunk) -> None:
        self.dropped = chunk.dropped_turns
        stopped = chunk.finish_reason == "cancelled"
        self.fields.update(message_tokens=chunk.prompt_tokens, answer_tokens=chunk.completion_tokens,
                           status=MessageStatus.STOPPED if stopped else MessageStatus.NORMAL)

    def store(self) -> Message:
        return self._messages.finish(self.message_id, answer="".join(self.parts), first_token_ms=self.first_ms,
                                     latency_ms=(time.perf_counter() - self.started) * 1000, **self.fields)


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
