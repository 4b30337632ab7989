"""Server-Sent Events: a synchronous service stream runs on a worker thread; the event loop relays its frames
with Dify's `event: ping` keep-alive, and a client that goes away cancels the run instead of leaving it running.
Blocking answers get the same care: `run_until_done` watches the connection while the worker runs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from typing import Any

from starlette.requests import Request

from studio.api.errors import from_studio_error
from studio.core.cancel import CancelToken
from studio.core.errors import StudioError

log = logging.getLogger(__name__)
PING_SECONDS = 10.0
PING = b"event: ping\n\n"
DISCONNECT_POLL_SECONDS = 0.25
_END = object()


def frame(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, ensure_ascii=False, default=str).encode() + b"\n\n"


def error_payload(exc: BaseException) -> dict[str, Any]:
    """Dify's mid-stream `error` event body; unexpected failures say so without a trace."""
    if isinstance(exc, StudioError):
        status, code = from_studio_error(exc)
        if code in ("invalid_param", "not_found") or status >= 500:
            code = "completion_request_error" if status < 500 else "internal_server_error"
        return {"status": 400 if status < 500 else 500, "code": code, "message": exc.message}
    log.error("stream failed", exc_info=exc)
    return {"status": 500, "code": "internal_server_error", "message": "The server met an unexpected error; see "
            "Studio's log."}


async def relay(pool: Executor, produce: Callable[[], Iterator[dict[str, Any] | bytes]], cancel: CancelToken,
                on_error: Callable[[BaseException], dict[str, Any]], ping_seconds: float = PING_SECONDS,
                ping: bytes = PING) -> AsyncIterator[bytes]:
    """Yield SSE frames for the dicts `produce()` yields (bytes pass through as they are, e.g. OpenAI's
    `data: [DONE]`). The producer always runs to its end on its thread, so the services record every outcome;
    when the client leaves, `cancel` makes that end come quickly."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def put(item: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone (server shutting down); the run still records its own end
            cancel.cancel("the API server stopped")

    def work() -> None:
        try:
            for item in produce():
                put(item)
        except BaseException as exc:  # noqa: BLE001 - reported to the client as an `error` event
            put(on_error(exc))
        finally:
            put(_END)

    loop.run_in_executor(pool, work)
    finished = False
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), ping_seconds)
            except TimeoutError:
                yield ping
                continue
            if item is _END:
                finished = True
                return
            yield item if isinstance(item, bytes) else frame(item)
    finally:
        if not finished:
            cancel.cancel("the client went away")


async def run_until_done(request: Request, pool: Executor, fn: Callable[[], Any], cancel: CancelToken,
                         poll_seconds: float = DISCONNECT_POLL_SECONDS) -> Any:
    """`fn()` on the worker pool, for a blocking answer. If the client disconnects meanwhile, `cancel` is set: the
    run still ends on its thread, quickly, and stores itself as stopped instead of generating for nobody."""
    future = asyncio.get_running_loop().run_in_executor(pool, fn)
    try:
        while True:
            done, _ = await asyncio.wait({future}, timeout=poll_seconds)
            if done:
                return future.result()
            if not cancel.cancelled and await request.is_disconnected():
                cancel.cancel("the client went away")
    except asyncio.CancelledError:  # the server is stopping: the run must not outlive it
        cancel.cancel("the API server stopped")
        raise
