"""Conversation history for scripts: /messages, /conversations (list, delete, rename, variables) and feedback."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from studio.api.auth import AppCaller, app_caller
from studio.api.errors import ApiError
from studio.api.events import message_usage, thought_fields, unix
from studio.api.info import parameters_of
from studio.api.schemas import OptionalUser, QueryUser, RequiredQueryUser, User
from studio.core.entities import App, AppMode, Conversation, Message
from studio.core.events import AgentThought

router = APIRouter(tags=["conversations"])
Caller = Annotated[AppCaller, Depends(app_caller)]
DEFAULT_USER = "DEFAULT-USER"  # Dify's end user when a request names none
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class FeedbackRequest(_Body):
    rating: Literal["like", "dislike"] | None = None
    content: str | None = Field(default=None, max_length=10_000)
    user: User


class RenameRequest(_Body):
    name: str | None = Field(default=None, max_length=255)
    auto_generate: bool = False
    user: OptionalUser = None


class DeleteRequest(_Body):
    user: OptionalUser = None


class VariableUpdate(_Body):
    value: Any = None
    user: OptionalUser = None


def _chat_only(caller: AppCaller) -> None:
    if caller.app.mode not in (AppMode.CHAT, AppMode.ADVANCED_CHAT, AppMode.AGENT_CHAT):
        raise ApiError(400, "not_chat_app", "Please check if your app mode matches the right API route.")


def _ts(value) -> int:
    return unix(value) or 0


def _plain(value: Any) -> Any:
    """Service dicts carry datetimes; Dify's API gives unix seconds."""
    if isinstance(value, datetime):
        return _ts(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def introduction_of(app: App, inputs: dict[str, Any]) -> str:
    """The app's opening statement with the conversation's inputs in its {{variables}}, as Dify stores it."""
    opening = str(parameters_of(app).get("opening_statement") or "")
    return _VARIABLE.sub(lambda m: str(inputs.get(m.group(1), m.group(0))), opening)


def conversation_json(conv: Conversation, app: App) -> dict[str, Any]:
    return {"id": conv.id, "name": conv.name, "inputs": conv.inputs, "status": "normal",
            "introduction": introduction_of(app, conv.inputs or {}),
            "created_at": _ts(conv.created_at), "updated_at": _ts(conv.updated_at)}


def thought_json(thought: AgentThought) -> dict[str, Any]:
    """Dify's `agent_thoughts` item of a stored message (`fields/message_fields.py`)."""
    return {**thought_fields(thought), "chain_id": None, "message_id": thought.message_id,
            "created_at": _ts(thought.created_at), "files": list(thought.message_files)}


def message_json(msg: Message, feedback: dict | None, thoughts: list[AgentThought] | None = None) -> dict[str, Any]:
    resources = [{**r, "message_id": msg.id} for r in msg.retriever_resources]
    return {"id": msg.id, "conversation_id": msg.conversation_id, "parent_message_id": msg.parent_message_id,
            "inputs": msg.inputs,
            "query": msg.query, "answer": msg.answer,
            "feedback": {"rating": feedback["rating"]} if feedback else None,
            "retriever_resources": resources, "created_at": _ts(msg.created_at),
            "agent_thoughts": [thought_json(t) for t in thoughts or []],
            "message_files": [], "status": msg.status.value, "error": msg.error or None,
            "metadata": {"usage": message_usage(msg)}}


@router.get("/messages", summary="Messages of a conversation, newest page first")
async def messages(caller: Caller, request: Request, conversation_id: str = Query(),
                   first_id: str | None = None, limit: int = Query(20, ge=1, le=100), user: QueryUser = None):
    _chat_only(caller)
    services = request.app.state.services
    convs = services.conversations

    def load():
        conv = convs.get_for(caller.app.id, conversation_id, user or DEFAULT_USER)
        page, has_more = convs.message_page(conv.id, first_id=first_id or None, limit=limit)
        ids = [m.id for m in page]
        feedback = convs.feedbacks(ids)
        thoughts = services.chat.agent_thoughts(ids) if caller.app.mode == AppMode.AGENT_CHAT else {}
        return {"limit": limit, "has_more": has_more,
                "data": [message_json(m, feedback.get(m.id), thoughts.get(m.id, [])) for m in page]}
    return await run_in_threadpool(load)


@router.get("/conversations", summary="The user's conversations with this app")
async def conversations(caller: Caller, request: Request, user: QueryUser = None, last_id: str | None = None,
                        limit: int = Query(20, ge=1, le=100),
                        sort_by: Literal["created_at", "-created_at", "updated_at", "-updated_at"] = "-updated_at"):
    _chat_only(caller)
    convs = request.app.state.services.conversations

    def load():
        page, has_more = convs.page(caller.app.id, user=user or DEFAULT_USER, last_id=last_id or None, limit=limit,
                                    sort_by=sort_by)
        return {"limit": limit, "has_more": has_more, "data": [conversation_json(c, caller.app) for c in page]}
    return await run_in_threadpool(load)


@router.delete("/conversations/{conversation_id}", status_code=204, summary="Delete a conversation")
async def delete_conversation(caller: Caller, request: Request, conversation_id: str,
                              body: DeleteRequest | None = None):
    _chat_only(caller)
    convs = request.app.state.services.conversations
    user = (body.user if body else None) or DEFAULT_USER

    def delete():
        conv = convs.get_for(caller.app.id, conversation_id, user)
        convs.delete(conv.id)
    await run_in_threadpool(delete)


@router.post("/conversations/{conversation_id}/name", summary="Rename a conversation")
async def rename_conversation(caller: Caller, request: Request, conversation_id: str, body: RenameRequest):
    _chat_only(caller)
    convs = request.app.state.services.conversations

    def rename():
        conv = convs.get_for(caller.app.id, conversation_id, body.user or DEFAULT_USER)
        if body.auto_generate:
            first = convs.message_page(conv.id, limit=100)[0]
            name = (first[0].query if first else conv.name)[:48]
        else:
            name = body.name or ""
            if not name.strip():
                raise ApiError(400, "invalid_param", "name is required when auto_generate is false", params="name")
        return conversation_json(convs.rename(conv.id, name), caller.app)
    return await run_in_threadpool(rename)


@router.get("/conversations/{conversation_id}/variables", summary="A chatflow conversation's variables")
async def conversation_variables(caller: Caller, request: Request, conversation_id: str, user: QueryUser = None,
                                 last_id: str | None = None, limit: int = Query(20, ge=1, le=100),
                                 variable_name: str | None = None):
    _chat_only(caller)
    convs = request.app.state.services.conversations

    def load():
        conv = convs.get_for(caller.app.id, conversation_id, user or DEFAULT_USER)
        items, has_more = convs.variables(caller.app, conv.id, variable_name=variable_name, last_id=last_id,
                                          limit=limit)
        return {"limit": limit, "has_more": has_more, "data": _plain(items)}
    return await run_in_threadpool(load)


@router.put("/conversations/{conversation_id}/variables/{variable_id}", summary="Set a conversation variable")
async def set_conversation_variable(caller: Caller, request: Request, conversation_id: str, variable_id: str,
                                    body: VariableUpdate):
    _chat_only(caller)
    convs = request.app.state.services.conversations

    def save():
        conv = convs.get_for(caller.app.id, conversation_id, body.user or DEFAULT_USER)
        return _plain(convs.set_variable(caller.app, conv.id, variable_id, body.value))
    return await run_in_threadpool(save)


@router.post("/messages/{message_id}/feedbacks", summary="Like, dislike, or revoke a rating")
async def feedback(caller: Caller, request: Request, message_id: str, body: FeedbackRequest):
    convs = request.app.state.services.conversations
    await run_in_threadpool(convs.feedback, caller.app.id, message_id, body.rating, body.content or "", body.user)
    return {"result": "success"}


@router.get("/app/feedbacks", summary="Every rating given to this app's messages")
async def app_feedbacks(caller: Caller, request: Request, page: int = Query(1, ge=1, le=99999),
                        limit: int = Query(20, ge=1, le=101)):
    convs = request.app.state.services.conversations
    return {"data": _plain(await run_in_threadpool(convs.app_feedbacks, caller.app.id, page, limit))}


@router.get("/messages/{message_id}/suggested", summary="Suggested follow-up questions")
async def suggested(caller: Caller, request: Request, message_id: str, user: RequiredQueryUser):
    _chat_only(caller)
    suggestions = request.app.state.services.suggestions
    questions = await asyncio.get_running_loop().run_in_executor(
        request.app.state.pool, lambda: suggestions.after(caller.app, message_id, user))
    return {"result": "success", "data": questions}
