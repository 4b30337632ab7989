"""Transport guards that run before any route: the Host check against DNS rebinding and the request body limit."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

MAX_BODY_BYTES = 16 * 1024 * 1024  # a 15 MB upload (Dify's limit) plus its multipart framing
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The host part of a Host header: 'localhost:8000' → 'localhost', '[::1]:80' → '::1'."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def allowed_hosts(bound: str, extra: Iterable[str] = ()) -> frozenset[str] | None:
    """The Host names a request may carry; None means any (bound to all interfaces with no list given)."""
    names = {n.lower() for n in extra}
    if bound in ("0.0.0.0", "::") and not names:
        return None
    return frozenset(LOOPBACK_NAMES | {bound.lower()} | names)


async def _reply(send, status: int, code: str, message: str) -> None:
    body = json.dumps({"code": code, "message": message, "status": status}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """Refuses a foreign Host header (a web page that rebinds its DNS name to 127.0.0.1 must not reach the API)
    and bodies over the limit, whether or not they announce a Content-Length."""

    def __init__(self, app, hosts: frozenset[str] | None, max_body: int = MAX_BODY_BYTES) -> None:
        self.app, self.hosts, self.max_body = app, hosts, max_body

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        host = host_name(headers.get(b"host", b"").decode("latin-1"))
        if self.hosts is not None and host not in self.hosts:
            return await _reply(send, 403, "invalid_host", f"Host {host!r} is not allowed: use the address the API "
                                "is bound to, or localhost")
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return await _reply(send, 400, "invalid_param", "Content-Length is not a number")
            if declared > self.max_body:
                return await _reply(send, 413, "request_too_large", self._too_large())
            return await self.app(scope, receive, send)  # h11 stops a body at its declared length
        # A chunked body has no length to check up front: read it (up to the limit) before the app sees it.
        body, more = [], True
        seen = 0
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body.append(message.get("body", b""))
            seen += len(body[-1])
            if seen > self.max_body:
                return await _reply(send, 413, "request_too_large", self._too_large())
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(body), "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"The request body is larger than the limit of {self.max_body // (1024 * 1024)} MB"
