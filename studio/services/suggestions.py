"""Suggested follow-up questions after an answer (Dify's `suggested_questions_after_answer`), from the app's model
with the output held to a JSON array of three strings by a grammar."""

from __future__ import annotations

import json
import logging
import re

from studio.core.app_config import parse_config
from studio.core.cancel import CancelToken
from studio.core.entities import App, AppMode, ChatTurn, GenerationParams
from studio.core.errors import NotFoundError, ValidationError

log = logging.getLogger(__name__)
INSTRUCTION = ("Predict the three questions the user is most likely to ask next, given the conversation below. "
               "Keep each question short and in the user's language. Reply with a JSON array of three strings.")
# Three strings of at most 80 characters fit in MAX_TOKENS even at one token a character, so the array closes.
SCHEMA = {"type": "array", "items": {"type": "string", "minLength": 2, "maxLength": 80}, "minItems": 3, "maxItems": 3}
MAX_TOKENS = 256
HISTORY_TURNS = 3


def enabled(app: App) -> bool:
    if app.mode == AppMode.ADVANCED_CHAT:
        features = (app.config.get("workflow") or {}).get("features") or {}
    else:
        features = app.config
    return bool((features.get("suggested_questions_after_answer") or {}).get("enabled"))


class SuggestionService:
    def __init__(self, repos, models, provider) -> None:
        self._messages = repos.messages
        self._conversations = repos.conversations
        self._models = models
        self._provider = provider

    def after(self, app: App, message_id: str, user: str | None = None) -> list[str]:
        """Up to three questions the user might ask after this message; [] when the model gives nothing usable."""
        if not enabled(app):
            raise ValidationError("Suggested Questions Is Disabled.")
        try:
            msg = self._messages.get(message_id)
        except NotFoundError:
            msg = None
        conv = self._conversations.get(msg.conversation_id) if msg else None
        if msg is None or msg.app_id != app.id or (user is not None and conv.user != user):
            raise NotFoundError("Message Not Exists.")
        past = [m for m in self._messages.list(msg.conversation_id) if m.created_at <= msg.created_at][-HISTORY_TURNS:]
        transcript = "\n".join(f"user: {m.query}\nassistant: {m.answer}" for m in past)
        model = self._model(app)
        turns = [ChatTurn(role="system", content=INSTRUCTION), ChatTurn(role="user", content=transcript)]
        params = GenerationParams(temperature=0.0, max_tokens=MAX_TOKENS, json_schema=SCHEMA)
        text = "".join(c.text for c in self._provider.stream_chat(model, turns, params, CancelToken()) if not c.done)
        return _questions(text)

    def _model(self, app: App):
        if app.mode == AppMode.CHAT:
            return self._models.resolve_chat_model(parse_config(app.config).model.name)
        return self._models.default_chat_model()


_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _questions(text: str) -> list[str]:
    """The grammar's strings may hold raw line breaks, which strict JSON refuses; they are read leniently. Repeats
    (a small model's habit) are dropped."""
    try:
        items = json.loads(text, strict=False)
    except json.JSONDecodeError:  # cut off (cancelled, or the token cap): keep the questions that were finished
        items = [q for q in map(_unquote, _QUOTED.findall(text)) if q]
        if not items:
            log.warning("suggested questions: the model's output was not JSON: %.80r", text)
    if not isinstance(items, list):
        return []
    questions = [" ".join(q.split()).lstrip("[]{}, ") for q in items if isinstance(q, str)]
    return list(dict.fromkeys(q for q in questions if q))[:3]


def _unquote(body: str) -> str:
    try:
        return json.loads(f'"{body}"', strict=False)
    except json.JSONDecodeError:
        return ""
