"""The HTTP layer under the API: uvicorn's h11 protocol with a deadline for request headers (uvicorn has none, so a
client that sends half a request line and waits would hold its connection forever), and a uvicorn server whose
shutdown first ends the open runs, so streams finish cleanly and every run is stored as stopped."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from studio.api.errors import envelope_for
from studio.api.tasks import TaskRegistry

log = logging.getLogger(__name__)
HEADER_TIMEOUT_SECONDS = 10.0  # from a connection's opening (or its previous response) to the end of the headers
DRAIN_SECONDS = 5.0  # how long the unread body of an already answered request may keep arriving
RUNS_GRACE_SECONDS = 3.0  # how long a stopping server waits for cancelled runs to end before closing connections
STOPPED = "the API server stopped"
_TIMEOUT_REPLY = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                  b"content-length: 25\r\nconnection: close\r\n\r\nRequest headers timed out")


def _no_delay(transport) -> None:
    """Send each write at once. asyncio turns Nagle's algorithm off only for sockets whose proto is IPPROTO_TCP, and
    a socket made with socket.socket(family, SOCK_STREAM) (as the server binds its own) has proto 0. With Nagle on,
    a response written as headers then body waits for the client's delayed ACK: 40 ms on every keep-alive request."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # the peer may already be gone
            pass


class HeaderTimedH11Protocol(H11Protocol):
    """Two deadlines uvicorn lacks. Request headers must be complete `header_timeout` seconds after they began
    (or after the connection opened, or the previous response ended). And when a response was sent before its
    request's body was read (a 401, 413 or 408), the rest of that body, which h11 discards as it comes, has
    `drain_timeout` seconds to arrive. Between the two, uvicorn's keep-alive and the guard's body timeout apply."""

    header_timeout = HEADER_TIMEOUT_SECONDS
    drain_timeout = DRAIN_SECONDS
    _timer: asyncio.TimerHandle | None = None
    _waiting_for: str = ""  # "headers" | "drain" | "" (no deadline of ours)

    def connection_made(self, transport) -> None:  # type: ignore[override]
        _no_delay(transport)
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._set_deadline("")
        super().connection_lost(exc)

    def _watch(self) -> None:
        state, cycle = self.conn.their_state, self.cycle
        if self.transport.is_closing():
            self._set_deadline("")
        elif state is h11.IDLE:
            self._set_deadline("headers")
        elif state is h11.SEND_BODY and cycle is not None and cycle.response_complete:
            self._set_deadline("drain")
        else:
            self._set_deadline("")

    def _set_deadline(self, kind: str) -> None:
        """One deadline per phase: bytes trickling in do not extend it."""
        if kind == self._waiting_for:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._waiting_for = kind
        if kind:
            delay = self.header_timeout if kind == "headers" else self.drain_timeout
            self._timer = self.loop.call_later(delay, self._expired, kind)

    def _expired(self, kind: str) -> None:
        self._timer, self._waiting_for = None, ""
        if self.transport.is_closing():
            return
        if kind == "headers" and self.conn.their_state is h11.IDLE:
            if self.conn.trailing_data[0]:  # part of a request came: say why the connection ends
                self.transport.write(_TIMEOUT_REPLY)
            self.transport.close()
        elif kind == "drain" and self.conn.their_state is h11.SEND_BODY:
            self.transport.close()


def protocol_with(header_timeout: float) -> type[HeaderTimedH11Protocol]:
    """The protocol class for one server (uvicorn builds a protocol per connection from its class)."""
    return type("HeaderTimedH11Protocol", (HeaderTimedH11Protocol,), {"header_timeout": header_timeout})


class ShutdownGuard:
    """The outermost ASGI layer. Should a request outlive the graceful shutdown, uvicorn cancels it and would log
    the cancellation as a crash; this ends its response instead: a stream gets its last (empty) chunk, a request
    with no answer yet a 503 in the API's error envelope."""

    def __init__(self, app) -> None:
        self.app, self.stopping = app, False

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        sent = {"started": False, "done": False}

        async def tracked(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                sent["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                sent["done"] = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except asyncio.CancelledError:
            if not self.stopping:
                raise
            await self._finish(send, sent, scope.get("path", ""))

    @staticmethod
    async def _finish(send, sent: dict[str, bool], path: str) -> None:
        if sent["done"]:
            return
        if not sent["started"]:
            body = json.dumps(envelope_for(path, 503, "service_unavailable", "The API server stopped")).encode()
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"content-type", b"application/json"), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class ApiUvicorn(uvicorn.Server):
    """uvicorn's server, whose shutdown (ApiServer.stop() or Ctrl-C) cancels the open runs and waits a moment
    for them to end before uvicorn closes connections, so each stream ends with its own last events."""

    def __init__(self, config: uvicorn.Config, tasks: TaskRegistry, guard: ShutdownGuard,
                 grace: float = RUNS_GRACE_SECONDS) -> None:
        super().__init__(config)
        self.tasks, self.guard, self.grace = tasks, guard, grace

    async def shutdown(self, sockets=None) -> None:
        self.guard.stopping = True
        if self.tasks.cancel_all(STOPPED) and not await self.tasks.wait_idle(self.grace):
            log.warning("%d API run(s) still running after the server stopped", len(self.tasks))
        await super().shutdown(sockets)
