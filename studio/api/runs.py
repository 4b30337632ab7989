"""Running apps: POST /chat-messages, /completion-messages and /workflows/run (blocking or streaming), and stop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from studio.api.auth import AppCaller, app_caller
from studio.api.errors import ApiError
from studio.api.events import RunContext, WorkflowFrames, chat_frames
from studio.api.schemas import ChatRequest, CompletionRequest, ResultResponse, StopRequest, WorkflowRequest
from studio.api.streams import error_payload, relay, run_until_done
from studio.core.entities import AppMode

router = APIRouter()
Caller = Annotated[AppCaller, Depends(app_caller)]
WRONG_MODE = "Please check if your app mode matches the right API route."
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
CHAT_MODES = (AppMode.CHAT, AppMode.AGENT_CHAT, AppMode.ADVANCED_CHAT)
ANSWER_EVENTS = ("message", "agent_message")  # an agent streams its answer as agent_message


def _check_mode(caller: AppCaller, allowed: tuple[AppMode, ...], code: str) -> None:
    if caller.app.mode not in allowed:
        raise ApiError(400, code, WRONG_MODE)


async def _respond(request: Request, caller: AppCaller, body, ctx: RunContext, start: Callable[[Any], Iterator],
                   frames: Callable[[Iterator], Iterator[dict]], blocking: Callable[[list[dict]], dict]):
    """Validate and start the run in the pool (errors are 4xx before any byte is sent), then stream or collect.
    Either way a client that goes away cancels the run, which then ends as stopped."""
    tasks, pool = request.app.state.tasks, request.app.state.pool
    task_id, cancel = tasks.open(caller.app.id, body.user)
    ctx.task_id = task_id
    try:
        events = await run_until_done(request, pool, lambda: start(cancel), cancel)
    except BaseException:
        tasks.close(task_id)
        raise

    def produce() -> Iterator[dict]:
        try:
            yield from frames(events)
        finally:
            tasks.close(task_id)

    if body.response_mode == "streaming":
        on_error = lambda exc: ctx.error(error_payload(exc))  # noqa: E731
        return StreamingResponse(relay(pool, produce, cancel, on_error, ping_seconds=request.app.state.ping_seconds),
                                 media_type="text/event-stream", headers=SSE_HEADERS)
    collected = await run_until_done(request, pool, lambda: list(produce()), cancel)
    return JSONResponse(blocking(collected))


def _raise_error_frame(frames: list[dict]) -> None:
    err = next((f for f in frames if f.get("event") == "error"), None)
    if err is not None:
        raise ApiError(err.get("status", 400) if err.get("status", 400) < 500 else 500, err["code"], err["message"])


def _chat_blocking(ctx: RunContext, mode: str) -> Callable[[list[dict]], dict]:
    def build(frames: list[dict]) -> dict:
        _raise_error_frame(frames)
        end = next((f for f in frames if f.get("event") == "message_end"), {})
        answer = "".join(f.get("answer", "") for f in frames if f.get("event") in ANSWER_EVENTS)
        out = {"event": "message", "task_id": ctx.task_id, "id": ctx.message_id, "message_id": ctx.message_id,
               "mode": mode, "answer": answer, "metadata": end.get("metadata", {}), "created_at": ctx.created_at}
        if ctx.conversation:
            out["conversation_id"] = ctx.conversation_id
        return out
    return build


def _workflow_blocking(ctx: RunContext) -> Callable[[list[dict]], dict]:
    def build(frames: list[dict]) -> dict:
        _raise_error_frame(frames)
        fin = next((f for f in frames if f.get("event") == "workflow_finished"), None)
        if fin is None:
            raise ApiError(500, "internal_server_error", "The run ended without a result; see Studio's log.")
        keep = ("id", "workflow_id", "status", "outputs", "error", "elapsed_time", "total_tokens", "total_steps",
                "created_at", "finished_at")
        return {"task_id": ctx.task_id, "workflow_run_id": ctx.run_id, "data": {k: fin["data"][k] for k in keep}}
    return build


def _run_files(services, app, body, inputs: dict) -> tuple[dict, list]:
    """Dify file items → Studio file values, for the Start node's file inputs and `sys.files`."""
    from studio.services.workflows import start_variables, workflow_of

    graph = workflow_of(app).get("graph") or {}
    inputs = services.files.resolve_inputs(start_variables(graph), inputs, body.user, app_id=app.id)
    files = [services.files.to_file_value(f.model_dump(), body.user, app_id=app.id) for f in body.files or []]
    return inputs, files


@router.post("/chat-messages", tags=["apps"], summary="Send a chat message (chat apps, agents and chatflows)")
async def chat_messages(request: Request, body: ChatRequest, caller: Caller):
    _check_mode(caller, CHAT_MODES, "not_chat_app")
    services, app = request.app.state.services, caller.app
    if not body.query.strip():
        raise ApiError(400, "invalid_param", "query is required", params="query")
    ctx = RunContext(task_id="", app_id=app.id, mode=app.mode.value, conversation=True)

    def check_conversation() -> None:
        if body.conversation_id:
            services.conversations.get_for(app.id, body.conversation_id, body.user)

    if app.mode in (AppMode.CHAT, AppMode.AGENT_CHAT):
        # Dify refuses blocking mode for agents; Studio answers it with the whole answer in the usual shape.
        def start(cancel):
            check_conversation()
            return services.chat.send(app.id, body.query, inputs=body.inputs, conversation_id=body.conversation_id,
                                      user=body.user, cancel=cancel)
        return await _respond(request, caller, body, ctx, start, lambda ev: chat_frames(ev, ctx),
                              _chat_blocking(ctx, app.mode.value))

    def start_flow(cancel):
        check_conversation()
        inputs, files = _run_files(services, app, body, body.inputs)
        return services.workflows.run(app.id, inputs=inputs, query=body.query, files=files,
                                      conversation_id=body.conversation_id, user=body.user, cancel=cancel,
                                      invoke_from="service-api")
    frames = WorkflowFrames(ctx, services.workflows.get_run)
    return await _respond(request, caller, body, ctx, start_flow, frames, _chat_blocking(ctx, "advanced-chat"))


@router.post("/completion-messages", tags=["apps"], summary="Run a text generator")
async def completion_messages(request: Request, body: CompletionRequest, caller: Caller):
    _check_mode(caller, (AppMode.COMPLETION,), "not_completion_app")
    services, app = request.app.state.services, caller.app
    ctx = RunContext(task_id="", app_id=app.id, mode=app.mode.value, conversation=False)

    def start(cancel):
        return services.chat.complete(app.id, body.inputs, query=body.query, user=body.user, cancel=cancel)
    return await _respond(request, caller, body, ctx, start, lambda ev: chat_frames(ev, ctx),
                          _chat_blocking(ctx, "completion"))


async def _workflow_run(request: Request, body: WorkflowRequest, caller: AppCaller):
    _check_mode(caller, (AppMode.WORKFLOW,), "not_workflow_app")
    services, app = request.app.state.services, caller.app
    ctx = RunContext(task_id="", app_id=app.id, mode=app.mode.value, conversation=False)

    def start(cancel):
        inputs, files = _run_files(services, app, body, body.inputs)
        return services.workflows.run(app.id, inputs=inputs, files=files, user=body.user, cancel=cancel,
                                      invoke_from="service-api")
    frames = WorkflowFrames(ctx, services.workflows.get_run)
    return await _respond(request, caller, body, ctx, start, frames, _workflow_blocking(ctx))


@router.post("/workflows/run", tags=["workflows"], summary="Run a workflow app")
async def workflows_run(request: Request, body: WorkflowRequest, caller: Caller):
    return await _workflow_run(request, body, caller)


@router.post("/workflows/{workflow_id}/run", tags=["workflows"], summary="Run a workflow app (by its id)")
async def workflows_run_id(request: Request, workflow_id: str, body: WorkflowRequest, caller: Caller):
    if workflow_id != caller.app.id:  # Studio keeps one version of a workflow: its id is the app's
        raise ApiError(404, "not_found", f"Workflow {workflow_id!r} not found")
    return await _workflow_run(request, body, caller)


def _stop(request: Request, caller: AppCaller, task_id: str, user: str | None) -> ResultResponse:
    request.app.state.tasks.stop(task_id, caller.app.id, user)
    return ResultResponse()


@router.post("/chat-messages/{task_id}/stop", tags=["apps"], response_model=ResultResponse)
async def stop_chat(request: Request, task_id: str, body: StopRequest, caller: Caller):
    _check_mode(caller, CHAT_MODES, "not_chat_app")
    return _stop(request, caller, task_id, body.user)


@router.post("/completion-messages/{task_id}/stop", tags=["apps"], response_model=ResultResponse)
async def stop_completion(request: Request, task_id: str, body: StopRequest, caller: Caller):
    _check_mode(caller, (AppMode.COMPLETION,), "not_completion_app")
    return _stop(request, caller, task_id, body.user)


@router.post("/workflows/tasks/{task_id}/stop", tags=["workflows"], response_model=ResultResponse)
async def stop_workflow(request: Request, task_id: str, body: StopRequest, caller: Caller):
    _check_mode(caller, (AppMode.WORKFLOW,), "not_workflow_app")
    return _stop(request, caller, task_id, None)  # like Dify, the workflow stop does not check the user


