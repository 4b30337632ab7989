"""OpenAI-compatible GET /v1/models and POST /v1/chat/completions: Studio apps as models, in OpenAI's formats.

Keys are per app, as in Dify, so a key's model list is its own app, when that app can act as a model:
- chat apps: `messages` is the conversation. System (and developer) messages are added to the app's own
  prompt, the last message must be the user's and is the question, and the user/assistant turns before it are
  the history, used as the client sends it. temperature, top_p, max_tokens (or max_completion_tokens), stop and
  seed override the app's settings for that call only.
- agent apps (agent-chat): like chat apps; the agent's tool steps run and are stored in its logs, and the
  client gets the final answer as plain content.
- chatflows (advanced-chat): the last user message is the query. The workflow engine keeps its own memory, so
  the client's history is not fed to the model; it only selects the stored conversation to continue. System
  messages and generation settings are ignored: each LLM node has its own.
- text generators (completion): the last user message is the query added to the app's prompt; history,
  system messages and generation settings are ignored.
- workflows whose Start node takes exactly one text input: the last user message fills it, and the answer is
  the text the workflow streams, else its outputs (the single text output, or all outputs as JSON).
Other workflows are not listed, and calling them is a 400.

With the `api_local_models` setting on (API Access → "Also list local models"), the list also holds each local
chat model as `local/<model id>`, callable with any app key: the messages go to the model as they are, with no
app prompt, and nothing is stored in the logs (there is no app to log them under).

Every call is stored like a chat from the GUI, so it shows in the app's logs: in the conversation whose stored
answers are exactly the client's history (a client resending its history continues one conversation), else in a
new one. `user` names the end user as in Dify ("openai" when absent). An `inputs` object in the body (the SDK's
`extra_body`) fills the app's input form. Only text content is accepted; n must be 1; tools, logprobs and other
OpenAI fields Studio has no use for are ignored. Chatflow and workflow usage reports the run's total tokens as
completion tokens (the engine counts no prompt tokens apart). Errors use OpenAI's envelope, not Dify's.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from studio.api.auth import AppCaller, app_caller
from studio.api.errors import HTTP_CODES, ApiError, from_studio_error, openai_envelope
from studio.api.events import unix
from studio.api.openai_runs import Call, Outcome, Piece, start, start_local, unsupported
from studio.api.schemas import OptionalUser
from studio.api.streams import relay, run_until_done
from studio.api.validation import describe
from studio.core.entities import App, ChatTurn, ModelInfo, ModelKind
from studio.core.errors import StudioError

log = logging.getLogger(__name__)
DEFAULT_USER = "openai"
DONE = b"data: [DONE]\n\n"
PING = b": ping\n\n"  # an SSE comment: OpenAI clients skip it, where Dify's `event: ping` would break their parser
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
ROLES = {"developer": "system"}  # OpenAI's newer name for the system role


# -- errors ------------------------------------------------------------------------------------------
class OpenAIError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


error_body = openai_envelope


def _describe(exc: Exception) -> tuple[int, str, str | None, str | None]:
    """(status, message, param, code) for any failure; unexpected ones are logged and say nothing more."""
    if isinstance(exc, OpenAIError):
        return exc.status, exc.message, exc.param, exc.code
    if isinstance(exc, ApiError):
        return exc.status, exc.message, exc.extra.get("params"), "invalid_api_key" if exc.status == 401 else exc.code
    if isinstance(exc, StudioError):
        status, code = from_studio_error(exc)
        message = exc.message
        if message.endswith("in input form"):  # OpenAI's body has no place for it; Studio's extension does
            message += ('; send the app\'s input form in the body\'s "inputs" object (Studio\'s extension, '
                        'e.g. extra_body={"inputs": {...}} with the openai SDK)')
            return status, message, "inputs", code
        return status, message, None, "invalid_api_key" if status == 401 else code
    if isinstance(exc, RequestValidationError):
        param, message = describe(exc.errors())
        invalid_json = (exc.errors() or [{}])[0].get("type") == "json_invalid"
        return 400, message, param or None, "invalid_json" if invalid_json else None
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, str(exc.detail), None, HTTP_CODES.get(exc.status_code)
    log.error("chat completion failed", exc_info=exc)
    return 500, "The server met an unexpected error; see Studio's log.", None, "internal_server_error"


def error_response(exc: Exception) -> JSONResponse:
    status, message, param, code = _describe(exc)
    headers = dict(getattr(exc, "headers", None) or {}) if isinstance(exc, StarletteHTTPException) else {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return JSONResponse(error_body(status, message, param, code), status_code=status, headers=headers)


class OpenAIRoute(APIRoute):
    """Answers every failure of its endpoints, authentication included, in OpenAI's envelope."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def guarded(request: Request):
            try:
                return await handler(request)
            except Exception as exc:  # noqa: BLE001 - every failure becomes an OpenAI error response
                return error_response(exc)
        return guarded


router = APIRouter(route_class=OpenAIRoute, tags=["openai"])
Caller = Annotated[AppCaller, Depends(app_caller)]


# -- request --------------------------------------------------------------------------------------------
class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")  # OpenAI grows fields often; the ones Studio cannot use are ignored


class ContentPart(_Body):
    type: str
    text: str | None = None


class ChatMessage(_Body):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None


class StreamOptions(_Body):
    include_usage: bool = False


class ChatCompletionRequest(_Body):
    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2, allow_inf_nan=False)
    top_p: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = 1
    user: OptionalUser = None
    inputs: dict[str, Any] | None = None  # Studio's extension: the app's input form


def _text(msg: ChatMessage, index: int) -> str:
    if msg.content is None or isinstance(msg.content, str):
        return msg.content or ""
    if any(part.type != "text" for part in msg.content):
        raise OpenAIError(400, "Only text content is supported", param=f"messages.{index}.content",
                          code="unsupported_content")
    return "".join(part.text or "" for part in msg.content)


def to_call(body: ChatCompletionRequest) -> Call:
    if body.n not in (None, 1):
        raise OpenAIError(400, "Only n=1 is supported", param="n", code="unsupported_value")
    turns = [ChatTurn(role=ROLES.get(m.role, m.role), content=_text(m, i)) for i, m in enumerate(body.messages)]
    given = {"temperature": body.temperature, "top_p": body.top_p, "seed": body.seed,
             "max_tokens": body.max_completion_tokens or body.max_tokens}
    overrides = {k: v for k, v in given.items() if v is not None}
    if body.stop:
        overrides["stop"] = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop)
    return Call(turns=turns, user=body.user or DEFAULT_USER, inputs=dict(body.inputs or {}), overrides=overrides)


# -- responses ----------------------------------------------------------------------------------------
def model_card(app: App) -> dict[str, Any]:
    return {"id": app.id, "object": "model", "created": unix(app.created_at), "owned_by": "studio",
            "name": app.name, "mode": app.mode.value, "description": app.description}


def _usage(outcome: Outcome) -> dict[str, int]:
    return {"prompt_tokens": outcome.prompt_tokens, "completion_tokens": outcome.completion_tokens,
            "total_tokens": outcome.prompt_tokens + outcome.completion_tokens}


class Reply:
    """One completion's id and framing, for the blocking answer and the chunk stream alike."""

    def __init__(self, model: str) -> None:
        self.id, self.created, self.model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), model

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def collect(self, pieces: Iterator[Piece]) -> dict[str, Any]:
        parts, outcome = [], None
        for piece in pieces:
            if isinstance(piece, Outcome):
                outcome = piece
            else:
                parts.append(piece)
        if outcome is None or outcome.error:
            raise OpenAIError(400, outcome.error if outcome else "The run ended without an answer",
                              code="completion_request_error")
        choice = {"index": 0, "message": {"role": "assistant", "content": "".join(parts), "refusal": None},
                  "logprobs": None, "finish_reason": outcome.finish_reason}
        return {**self._head("chat.completion"), "choices": [choice], "usage": _usage(outcome)}

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**self._head("chat.completion.chunk"), "choices": [choice]}

    def stream(self, pieces: Iterator[Piece], include_usage: bool) -> Iterator[dict[str, Any] | bytes]:
        """The chunk sequence: role, content deltas, the finish, usage when asked, then [DONE]. A failure after
        the first byte is an error chunk, still followed by [DONE]."""
        try:
            yield self._chunk({"role": "assistant", "content": ""})
            for piece in pieces:
                if not isinstance(piece, Outcome):
                    yield self._chunk({"content": piece})
                elif piece.error:
                    yield error_body(400, piece.error, code="completion_request_error")
                else:
                    yield self._chunk({}, piece.finish_reason)
                    if include_usage:
                        yield {**self._head("chat.completion.chunk"), "choices": [], "usage": _usage(piece)}
        except Exception as exc:  # noqa: BLE001 - reported in the stream; the services stored the outcome
            yield self.error_chunk(exc)
        yield DONE

    @staticmethod
    def error_chunk(exc: BaseException) -> dict[str, Any]:
        status, message, param, code = _describe(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
        return error_body(status, message, param, code)


# -- endpoints ----------------------------------------------------------------------------------------
@router.get("/models", summary="The apps this key can call as models (OpenAI format)")
async def list_models(request: Request, caller: Caller) -> dict[str, Any]:
    cards = [] if unsupported(caller.app) else [model_card(caller.app)]
    return {"object": "list", "data": cards + await asyncio.to_thread(_local_cards, request.app.state.services)}


@router.get("/models/{model:path}", summary="One model (an app, or an enabled local model) by its id or name")
async def get_model(request: Request, model: str, caller: Caller) -> dict[str, Any]:
    if model.startswith(LOCAL):
        return _local_card(await asyncio.to_thread(_local_model, request.app.state.services, model))
    return model_card(_model_app(caller, model))


LOCAL = "local/"


def _local_cards(services) -> list[dict[str, Any]]:
    if not services.settings.get("api_local_models"):
        return []
    return [_local_card(m) for m in services.models.list() if m.kind == ModelKind.CHAT and not m.error]


def _local_card(model: ModelInfo) -> dict[str, Any]:
    return {"id": f"{LOCAL}{model.id}", "object": "model", "created": 0, "owned_by": "local", "name": model.name,
            "mode": "model", "description": f"{model.architecture} {model.quantization}".strip()}


def _local_model(services, model: str) -> ModelInfo:
    """An enabled local chat model by `local/<id>`; anything else does not exist for this key."""
    if services.settings.get("api_local_models"):
        for info in services.models.list():
            if f"{LOCAL}{info.id}" == model and info.kind == ModelKind.CHAT:
                return info
    raise OpenAIError(404, f"The model {model!r} does not exist or this key cannot use it", param="model",
                      code="model_not_found")


def _model_app(caller: AppCaller, model: str) -> App:
    app = caller.app
    if model not in (app.id, app.name):
        raise OpenAIError(404, f"The model {model!r} does not exist or this key cannot use it", param="model",
                          code="model_not_found")
    why = unsupported(app)
    if why:
        raise OpenAIError(400, why, param="model", code="model_not_supported")
    return app


async def _start(request: Request, body: ChatCompletionRequest, caller: AppCaller, call: Call, cancel) -> Iterator:
    services, pool = request.app.state.services, request.app.state.pool
    if body.model.startswith(LOCAL):
        model = await run_until_done(request, pool, lambda: _local_model(services, body.model), cancel)
        return await run_until_done(request, pool, lambda: start_local(services, model.id, call, cancel), cancel)
    app = _model_app(caller, body.model)
    return await run_until_done(request, pool, lambda: start(services, app, call, cancel), cancel)


@router.post("/chat/completions", summary="Chat with an app as if it were a model (OpenAI format)")
async def chat_completions(request: Request, body: ChatCompletionRequest, caller: Caller):
    pool, tasks = request.app.state.pool, request.app.state.tasks
    call = to_call(body)
    owner = body.model if body.model.startswith(LOCAL) else caller.app.id
    task_id, cancel = tasks.open(owner, call.user)  # registered, so a server shutdown stops it too
    try:
        pieces = await _start(request, body, caller, call, cancel)
    except BaseException:
        tasks.close(task_id)
        raise
    reply = Reply(body.model)

    def stream() -> Iterator[dict[str, Any] | bytes]:
        try:
            yield from reply.stream(pieces, bool(body.stream_options and body.stream_options.include_usage))
        finally:
            tasks.close(task_id)

    def collect() -> dict[str, Any]:
        try:
            return reply.collect(pieces)
        finally:
            tasks.close(task_id)

    if body.stream:
        chunks = relay(pool, stream, cancel, reply.error_chunk, ping=PING)
        return StreamingResponse(chunks, media_type="text/event-stream", headers=SSE_HEADERS)
    return JSONResponse(await run_until_done(request, pool, collect, cancel))
