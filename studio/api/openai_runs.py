"""Runs a Studio app as an OpenAI model: whatever the app's mode, its events become text deltas and one Outcome.

Which apps are models, and what `messages` means for each, is described in `studio.api.openai_compat`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from studio.core.entities import App, AppMode, ChatTurn, GenerationParams, MessageStatus, with_article
from studio.core.errors import StudioError, ValidationError
from studio.core.events import MessageFinished, TextChunk
from studio.core.workflow import RunStatus, WorkflowFinished, WorkflowText
from studio.services.chat import split_turns
from studio.services.workflows import start_variables, workflow_of

TEXT_INPUTS = ("text-input", "paragraph")


@dataclass(frozen=True)
class Call:
    """One chat completion request, in Studio's terms."""

    turns: list[ChatTurn]
    user: str
    inputs: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)  # GenerationParams fields, for chat apps


@dataclass(frozen=True)
class Outcome:
    """How the answer ended; `error` is set when the run failed after it started."""

    finish_reason: str = "stop"  # stop | length
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str = ""


Piece = str | Outcome


def single_text_input(app: App) -> str | None:
    """The variable of a workflow's only input when that input is text; None otherwise."""
    variables = start_variables(workflow_of(app).get("graph") or {})
    if len(variables) == 1 and variables[0].get("type", "text-input") in TEXT_INPUTS:
        return variables[0].get("variable") or None
    return None


def unsupported(app: App) -> str:
    """Why this app cannot be called as a model; "" when it can."""
    if app.mode in (AppMode.CHAT, AppMode.AGENT_CHAT, AppMode.ADVANCED_CHAT, AppMode.COMPLETION):
        return ""
    if app.mode == AppMode.WORKFLOW:
        try:
            if single_text_input(app):
                return ""
        except StudioError:
            pass
        return (f"{app.name} is a workflow whose Start node does not take exactly one text input, so it cannot be "
                "called as a chat model; use POST /v1/workflows/run")
    return f"{app.name} is {with_article(app.mode.value)} app; Studio cannot run it as a chat model"


def start(services, app: App, call: Call, cancel) -> Iterator[Piece]:
    """Validate and start the run (errors raise here, before any byte is sent); returns the answer's pieces."""
    if app.mode in (AppMode.CHAT, AppMode.AGENT_CHAT):  # an agent's steps stay in its logs; the client gets text
        return _chat_pieces(services.chat.send_turns(app.id, call.turns, inputs=call.inputs, user=call.user,
                                                     overrides=call.overrides, cancel=cancel))
    _system, history, query = split_turns(call.turns)
    if app.mode == AppMode.COMPLETION:
        return _chat_pieces(services.chat.complete(app.id, call.inputs, query=query, user=call.user, cancel=cancel))
    if app.mode == AppMode.ADVANCED_CHAT:
        conv = services.chat.find_conversation(app.id, history, call.user)
        events = services.workflows.run(app.id, inputs=call.inputs, query=query, user=call.user, cancel=cancel,
                                        conversation_id=conv.id if conv else None, invoke_from="service-api")
        return _flow_pieces(events, outputs_as_text=False)
    why = unsupported(app)
    if why:
        raise ValidationError(why)
    inputs = {**call.inputs, single_text_input(app): query}
    return _flow_pieces(services.workflows.run(app.id, inputs=inputs, user=call.user, cancel=cancel,
                                                invoke_from="service-api"),
                        outputs_as_text=True)


def start_local(services, model_id: str, call: Call, cancel) -> Iterator[Piece]:
    """A raw local model (the opt-in `local/…` models): the messages go to it as they are; nothing is stored."""
    params = GenerationParams(**call.overrides)
    return _model_pieces(services.models.chat(model_id, call.turns, params, cancel))


def _model_pieces(chunks) -> Iterator[Piece]:
    for chunk in chunks:
        if chunk.done:
            yield Outcome("length" if chunk.finish_reason == "length" else "stop", chunk.prompt_tokens,
                          chunk.completion_tokens)
        elif chunk.text:
            yield chunk.text


def _chat_pieces(events) -> Iterator[Piece]:
    for ev in events:
        if isinstance(ev, TextChunk):
            if ev.text:
                yield ev.text
        elif isinstance(ev, MessageFinished):
            msg = ev.message
            error = (msg.error or "The model failed") if msg.status == MessageStatus.ERROR else ""
            yield Outcome("length" if ev.finish_reason == "length" else "stop", msg.message_tokens,
                          msg.answer_tokens, error)


def _flow_pieces(events, *, outputs_as_text: bool) -> Iterator[Piece]:
    """Workflow text; a workflow that streams none answers with its outputs. The engine counts only a run's total
    tokens, so they are reported as completion tokens."""
    streamed = False
    for ev in events:
        if isinstance(ev, WorkflowText) and ev.text:
            streamed = True
            yield ev.text
        elif isinstance(ev, WorkflowFinished):
            if ev.status == RunStatus.FAILED:
                yield Outcome(completion_tokens=ev.total_tokens, error=ev.error or "The workflow failed")
                continue
            if outputs_as_text and not streamed and ev.outputs:
                yield _outputs_text(ev.outputs)
            yield Outcome(completion_tokens=ev.total_tokens)


def _outputs_text(outputs: dict[str, Any]) -> str:
    if len(outputs) == 1:
        value = next(iter(outputs.values()))
        if isinstance(value, str):
            return value
    return json.dumps(outputs, ensure_ascii=False, default=str)
