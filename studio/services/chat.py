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
from studio.core.errors import NotFoundError, StudioError, ValidationError
from studio.core.text import require_text
from studio.core.events import AgentThought, ChatEvent, MessageFinished, MessageStarted, TextChunk
from studio.services.app_knowledge import knowledge_context, with_context
from studio.services.conversation_vars import as_item, check_value, declared
from studio.tools import Tool

log = logging.getLogger(__name__)
PARTIAL_SAVE_SECONDS = 0.5  # how much streamed text a crash may cost at most
MAX_QUERY_CHARS = 100_000
SORT_BY = ("created_at", "-created_at", "updated_at", "-updated_at")  # Dify's /conversations sort_by
RATINGS = ("like", "dislike")
RECENT_SCAN = 200  # how many of an app's latest messages send_turns searches for the conversation it continues


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
    def __init__(self, repos, apps, models, provider, knowledge=None, agent=None) -> None:
        self._conversations = repos.conversations
        self._messages = repos.messages
        self._apps = apps
        self._models = models
        self._provider = provider
        self._knowledge = knowledge  # KnowledgeService, for apps with attached knowledge bases
        self.agent = agent  # AgentRunner (services/agent.py): runs agent-chat apps

    def send(self, app_ref: str, query: str, *, inputs: dict[str, Any] | None = None,
             conversation_id: str | None = None, user: str = "",
             cancel: CancelToken | None = None) -> Iterator[ChatEvent]:
        """One chat turn. Validation happens before the first event; the rest streams."""
        app = self._chat_app(app_ref)
        query = self._check_query(query, required=True)
        require_text({"inputs": inputs or {}, "user": user})
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
        return self._dispatch(run, cancel)

    def send_turns(self, app_ref: str, turns: list[ChatTurn], *, inputs: dict[str, Any] | None = None,
                   user: str = "", overrides: dict[str, Any] | None = None,
                   cancel: CancelToken | None = None) -> Iterator[ChatEvent]:
        """One chat turn over a history the client holds (OpenAI's `messages`, see `split_turns`). `overrides`
        replace the app's generation params for this call only. The turn is stored like any other: in the
        conversation whose stored answers are exactly that history, else in a new one."""
        app = self._chat_app(app_ref)
        require_text({"messages": [t.content for t in turns], "inputs": inputs or {}, "user": user})
        extra_system, history, query = split_turns(turns)
        query = self._check_query(query, required=True)
        cfg = parse_config(app.config)
        model = self._models.resolve_chat_model(cfg.model.name)
        conv = self.find_conversation(app.id, history, user)
        inputs = conv.inputs if conv else validate_inputs(cfg.inputs(), inputs or {})
        cancel = cancel or CancelToken()
        context, resources = knowledge_context(self._knowledge, app.config, query, cancel)
        system = "\n\n".join(p for p in (with_context(cfg.pre_prompt, inputs, context).strip(), extra_system) if p)
        prompt = ([ChatTurn(role="system", content=system)] if system else []) + history
        prompt.append(ChatTurn(role="user", content=query))
        run = _Run(app=app, conversation=conv, title=query, user=user, query=query, inputs=inputs, model=model,
                   turns=prompt, params=cfg.generation_params().model_copy(update=overrides or {}),
                   keep_first=1 if system else 0, resources=tuple(resources))
        return self._dispatch(run, cancel)

    def agent_thoughts(self, message_ids: list[str]) -> dict[str, list[AgentThought]]:
        """{message_id: its agent steps in order} for the messages that have any (Dify's `agent_thoughts`)."""
        return self.agent.thoughts(list(message_ids)) if self.agent is not None and message_ids else {}

    def builtin_tools(self) -> list[Tool]:
        """The tools an agent app can use, for the editor's "Add tool" menu."""
        return self.agent.registry.list() if self.agent is not None else []

    def find_conversation(self, app_id: str, history: list[ChatTurn], user: str) -> Conversation | None:
        """This user's conversation of the app whose answered messages are exactly `history` (user, assistant,
        user, assistant, …), so a client that resends its whole history each turn continues one conversation
        in the logs rather than starting one per turn. None when nothing matches."""
        pairs = _pairs(history)
        if not pairs:
            return None
        for m in self._messages.recent(app_id, RECENT_SCAN):
            if (m.query.strip(), m.answer.strip()) != pairs[-1]:
                continue
            conv = self._conversations.get(m.conversation_id)
            stored = [(x.query.strip(), x.answer.strip()) for x in self._messages.list(conv.id) if x.answer]
            if conv.user == user and stored == pairs:
                return conv
        return None

    def complete(self, app_ref: str, inputs: dict[str, Any] | None = None, *, query: str = "", user: str = "",
                 cancel: CancelToken | None = None) -> Iterator[ChatEvent]:
        """One Text generator run: the prompt template filled with the inputs."""
        app = self._apps.resolve(app_ref)
        if app.mode != AppMode.COMPLETION:
            raise ValidationError(f"{app.name} is {with_article(app.mode.value)} app, not a text generator")
        query = self._check_query(query, required=False)
        require_text({"inputs": inputs or {}, "user": user})
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
    def _chat_app(self, app_ref: str) -> App:
        """A chat app, or an agent app when the agent runner is wired (agents chat too)."""
        app = self._apps.resolve(app_ref)
        if app.mode != AppMode.CHAT and not (app.mode == AppMode.AGENT_CHAT and self.agent is not None):
            raise ValidationError(f"{app.name} is {with_article(app.mode.value)} app, not a chat app")
        return app

    def _dispatch(self, run: _Run, cancel: CancelToken) -> Iterator[ChatEvent]:
        if run.app.mode == AppMode.AGENT_CHAT:
            return self.agent.run(run, self.agent.plan(run.app), cancel)  # the plan checks the tools first
        return self._generate(run, cancel)

    @staticmethod
    def _check_query(query: str | None, *, required: bool) -> str:
        if query is not None and not isinstance(query, str):
            raise ValidationError("query must be a string")
        query = (query or "").strip()
        if required and not query:
            raise ValidationError("query is required")
        if len(query) > MAX_QUERY_CHARS:
            raise ValidationError(f"query is too long ({len(query)} characters; the limit is {MAX_QUERY_CHARS})")
        require_text(query, "query")
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
        yield MessageFinished(message=final, dropped_turns=answer.dropped, finish_reason=answer.finish_reason)


class _Answer:
    """Collects a streamed answer, saves it every PARTIAL_SAVE_SECONDS, and stores the final record."""

    def __init__(self, message_id: str, messages) -> None:
        self.message_id = message_id
        self._messages = messages
        self.parts: list[str] = []
        self.started = self.saved_at = time.perf_counter()
        self.first_ms = 0.0
        self.dropped = 0
        self.finish_reason = ""
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
        self.finish_reason = chunk.finish_reason
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
        self._runs = repos.runs
        self._feedback = repos.feedback

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

    # -- the service API's views (Dify semantics and messages) -------------------------------------
    def page(self, app_id: str, *, user: str | None, last_id: str | None = None, limit: int = 20,
             sort_by: str = "-updated_at") -> tuple[list[Conversation], bool]:
        """Dify's `/conversations`: the page after `last_id` in `sort_by` order, and whether more follow;
        user None lists every user's conversations."""
        if sort_by not in SORT_BY:
            raise ValidationError(f"sort_by must be one of {', '.join(SORT_BY)}, not {sort_by!r}")
        _check_limit(limit, 100)
        return self._conversations.page(app_id, user=user, last_id=last_id or None, limit=limit,
                                        sort_field=sort_by.lstrip("-"), descending=sort_by.startswith("-"))

    def get_for(self, app_id: str, conversation_id: str, user: str | None) -> Conversation:
        """A conversation of this app (and of this user, when given); anything else does not exist."""
        try:
            conv = self._conversations.get(conversation_id)
        except NotFoundError:
            conv = None
        if conv is None or conv.app_id != app_id or (user is not None and conv.user != user):
            raise NotFoundError("Conversation Not Exists.")
        return conv

    def message_page(self, conversation_id: str, *, first_id: str | None = None,
                     limit: int = 20) -> tuple[list[Message], bool]:
        """Dify's `/messages`: the newest `limit` messages older than `first_id`, oldest first, and whether
        older ones remain."""
        _check_limit(limit, 100)
        return self._messages.page(conversation_id, first_id=first_id or None, limit=limit)

    def feedback(self, app_id: str, message_id: str, rating: str | None, content: str = "", user: str = "") -> None:
        """Like or dislike a message (replacing any earlier rating), or revoke the rating with None."""
        if rating is not None and rating not in RATINGS:
            raise ValidationError(f"rating must be like, dislike or null, not {rating!r}")
        owner = self._feedback.message_owner(message_id)
        if owner is None or owner[0] != app_id or (user and owner[1] != user):
            raise NotFoundError("Message Not Exists.")
        if rating is None:
            if not self._feedback.delete(message_id):
                raise ValidationError("This message has no feedback to revoke (rating null needs an earlier rating)")
            return
        self._feedback.upsert(message_id=message_id, app_id=app_id, rating=rating, content=content or "",
                              user=user or "")

    def feedbacks(self, message_ids: list[str]) -> dict[str, dict]:
        """{message_id: {"rating", "content"}} for the messages that have feedback."""
        return self._feedback.for_messages(list(message_ids))

    def app_feedbacks(self, app_id: str, page: int = 1, limit: int = 20) -> list[dict]:
        """Dify's `/app/feedbacks` items, newest first (created_at/updated_at are datetimes)."""
        if page < 1:
            raise ValidationError(f"page must be at least 1, not {page}")
        _check_limit(limit, 101)
        return self._feedback.for_app(app_id, offset=(page - 1) * limit, limit=limit)

    def variables(self, app: App, conversation_id: str, *, variable_name: str | None = None,
                  last_id: str | None = None, limit: int = 20,
                  user: str | None = None) -> tuple[list[dict], bool]:
        """Dify's conversation variable items: the workflow's declarations with this conversation's values."""
        _check_limit(limit, 100)
        conv = self.get_for(app.id, conversation_id, user)
        stored = self._runs.conversation_variables(conv.id)
        times = self._runs.conversation_variable_times(conv.id)
        items = [as_item(d, stored.get(d["name"], d.get("value")), conv.created_at,
                         times.get(d["name"], conv.created_at)) for d in declared(app)]
        if variable_name:  # like Dify: a case-insensitive part of the name
            items = [i for i in items if variable_name.casefold() in i["name"].casefold()]
        if last_id:
            ids = [i["id"] for i in items]
            if last_id not in ids:
                raise NotFoundError("Conversation Variable Not Exists.")
            items = items[ids.index(last_id) + 1:]
        return items[:limit], len(items) > limit

    def set_variable(self, app: App, conversation_id: str, variable_id: str, value: Any, *,
                     user: str | None = None) -> dict:
        """Set one conversation variable to a value of its declared type; the others keep theirs."""
        conv = self.get_for(app.id, conversation_id, user)
        decl = next((d for d in declared(app) if d["id"] == variable_id), None)
        if decl is None:
            raise NotFoundError("Conversation Variable Not Exists.")
        check_value(decl.get("value_type") or "", value, decl["name"])
        updated = self._runs.save_conversation_variable(conv.id, decl["name"], value)
        return as_item(decl, value, conv.created_at, updated)


def _check_limit(limit: int, most: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= most:
        raise ValidationError(f"limit must be between 1 and {most}, not {limit!r}")


def split_turns(turns: list[ChatTurn]) -> tuple[str, list[ChatTurn], str]:
    """OpenAI-style messages → (extra system prompt, history, query): system turns join the app's own prompt, the
    last turn must be the user's and is the query, the user and assistant turns before it are the history."""
    system = "\n\n".join(t.content.strip() for t in turns if t.role == "system" and t.content.strip())
    rest = [t for t in turns if t.role != "system"]
    unknown = sorted({t.role for t in rest} - {"user", "assistant"})
    if unknown:
        raise ValidationError(f"Message role {unknown[0]!r} is not supported; use system, user or assistant")
    if not rest or rest[-1].role != "user":
        raise ValidationError("The last message must be the user's: it is the question to answer")
    return system, rest[:-1], rest[-1].content


def _pairs(history: list[ChatTurn]) -> list[tuple[str, str]]:
    """[(question, answer), …] when the history alternates user and assistant turns; else []."""
    if [t.role for t in history] != ["user", "assistant"] * (len(history) // 2):
        return []
    return [(history[i].content.strip(), history[i + 1].content.strip()) for i in range(0, len(history), 2)]


def _title(text: str) -> str:
    text = " ".join(str(text).split())
    return (text[:47] + "…") if len(text) > 48 else (text or "New conversation")
