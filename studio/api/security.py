"""Transport guards that run before any route: the Host check against DNS rebinding, the API key before any body
is read, and the request body's size and time limits."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from studio.api.errors import envelope_for
from studio.core.errors import AuthenticationError
from studio.core.text import lone_surrogate_at

MAX_BODY_BYTES = 16 * 1024 * 1024  # a 15 MB upload (Dify's limit) plus its multipart framing
BODY_TIMEOUT_SECONDS = 30.0  # the whole body must arrive within this time after the headers
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARDS = ("0.0.0.0", "::")
MISSING_KEY = "Authorization header must be provided and start with 'Bearer'"
KEY_STATE = "studio_api_key"  # scope["state"] entry: the key the guard checked, so the routes do not look it up again
_PORT = r"([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"  # 0-65535
_HOST = re.compile(rf"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:{_PORT})?")  # RFC 7230: uri-host [":" port]
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]{1,512}=*")  # RFC 6750's b64token


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


def bearer(header: str) -> str | None:
    """The token of a well-formed `Authorization: Bearer <token>` header; None when missing or malformed."""
    scheme, _, token = (header or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _TOKEN.fullmatch(token):
        return None
    return token


@dataclass(frozen=True)
class HostPolicy:
    """Which Host headers a request may carry. A page whose DNS name was rebound to this machine sends its own
    name, so names must be listed; a bare IP address cannot be rebound, so a wildcard bind accepts any."""

    names: frozenset[str]
    any_ip: bool = False

    def allows(self, host: str) -> bool:
        if host in self.names:
            return True
        try:  # another spelling of a listed address: [0:0:0:0:0:0:0:1] is ::1
            if str(ipaddress.ip_address(host)) in self.names:
                return True
        except ValueError:
            pass
        if self.any_ip:
            try:
                ipaddress.ip_address(host)
                return True
            except ValueError:
                return False
        return False

    def describe(self) -> str:
        shown = [n for n in LOOPBACK_NAMES if n in self.names] + sorted(self.names - set(LOOPBACK_NAMES))
        return ", ".join(shown + (["any IP address"] if self.any_ip else []))


def allowed_hosts(bound: str, extra: Iterable[str] = ()) -> HostPolicy:
    """Localhost forms, the bound address and the `--allowed-host` names; a wildcard bind (0.0.0.0, ::) also takes
    any IP address, since it answers on all of them."""
    bound = bound.strip("[]").lower()
    names = {host_name(n) for n in extra if n and n.strip()}
    if bound not in WILDCARDS:
        names.add(bound)
    return HostPolicy(frozenset(names | set(LOOPBACK_NAMES)), any_ip=bound in WILDCARDS)


class BodyTimeout(HTTPException):
    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"The request body did not arrive within {seconds:g} seconds",
                         headers={"Connection": "close"})


async def reply(send, path: str, status: int, code: str, message: str, *, close: bool = False, **extra) -> None:
    """An error answered by the guard itself, in the envelope of the path (Dify's, or OpenAI's on its paths). A body
    left unread is discarded by the transport as it arrives, for a few seconds at most (see transport.py)."""
    body = json.dumps(envelope_for(path, status, code, message, **extra)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="api"'))
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def timed_receive(receive, seconds: float):
    """`receive` that raises BodyTimeout when the body is not complete `seconds` from now (after the headers)."""
    loop = asyncio.get_running_loop()
    deadline, complete = loop.time() + seconds, False

    async def timed() -> dict[str, Any]:
        nonlocal complete
        if complete:
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0))
        except TimeoutError:
            raise BodyTimeout(seconds) from None
        complete = message["type"] != "http.request" or not message.get("more_body", False)
        return message
    return timed


class GuardMiddleware:
    """Refuses a foreign Host header (a web page that rebinds its DNS name to 127.0.0.1 must not reach the API);
    checks the API key of any request with a body before reading a byte of it; and refuses bodies over the size
    limit (announced or not) or slower than the time limit."""

    def __init__(self, app, hosts: HostPolicy, authenticate: Callable[[str], Any] | None = None,
                 max_body: int = MAX_BODY_BYTES, body_timeout: float = BODY_TIMEOUT_SECONDS) -> None:
        self.app, self.hosts, self.authenticate = app, hosts, authenticate
        self.max_body, self.body_timeout = max_body, body_timeout

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raw_headers = list(scope.get("headers") or [])
        headers, path = dict(raw_headers), scope.get("path", "")
        raw_host = headers.get(b"host", b"").decode("latin-1")
        if not _HOST.fullmatch(raw_host.strip()):
            return await reply(send, path, 400, "invalid_host", f"The Host header {raw_host[:100]!r} is not a host "
                               "name or address with an optional port")
        host = host_name(raw_host)
        if not self.hosts.allows(host):
            return await reply(send, path, 403, "invalid_host", f"Host {host!r} is not allowed: use the address "
                               "the API is bound to or localhost, or start it with --allowed-host NAME")
        try:
            declared = int(headers[b"content-length"]) if b"content-length" in headers else None
        except ValueError:
            return await reply(send, path, 400, "invalid_param", "Content-Length is not a number")
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        if (declared or chunked) and scope.get("method") != "OPTIONS":
            refused = await self._check_key(scope, headers.get(b"authorization", b"").decode("latin-1"))
            if refused:
                return await reply(send, path, 401, "unauthorized", refused)
        if declared is not None and declared > self.max_body:
            return await reply(send, path, 413, "request_too_large", self._too_large())
        timed = timed_receive(receive, self.body_timeout)
        # The first Content-Type, as Starlette reads it (dict() above keeps the last of repeated headers).
        json_body = is_json(next((v for k, v in raw_headers if k == b"content-type"), b""))
        if not chunked and not (json_body and declared):
            return await self.app(scope, timed, send)  # h11 stops a body at its declared length
        await self._buffered(scope, timed, send, path, check_text=json_body)

    async def _check_key(self, scope, header: str) -> str:
        """"" when the request's key is valid (and remembered for the routes); else why it is refused."""
        token = bearer(header)
        if token is None:
            return MISSING_KEY
        if self.authenticate is None:
            return ""
        try:
            key = await run_in_threadpool(self.authenticate, token)
        except AuthenticationError as exc:
            return exc.message
        scope.setdefault("state", {})[KEY_STATE] = key
        return ""

    async def _buffered(self, scope, receive, send, path: str, *, check_text: bool = False) -> None:
        """Read the body (up to the limit, in time) before the app: a chunked body has no length to check up front,
        and a JSON body's text is checked (see unicode_problem)."""
        body, more, seen = [], True, 0
        try:
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                body.append(message.get("body", b""))
                seen += len(body[-1])
                if seen > self.max_body:
                    return await reply(send, path, 413, "request_too_large", self._too_large())
                more = message.get("more_body", False)
        except BodyTimeout as exc:
            return await reply(send, path, 408, "request_timeout", exc.detail, close=True)
        data = b"".join(body)
        problem = None
        if check_text:  # a large body is checked off the event loop, so other requests go on meanwhile
            problem = unicode_problem(data) if len(data) < 65536 else await run_in_threadpool(unicode_problem, data)
        if problem:
            field, message = problem
            return await reply(send, path, 400, "invalid_param", message, **({"params": field} if field else {}))
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": data, "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"The request body is larger than the limit of {self.max_body // (1024 * 1024)} MB"


# A surrogate escape that may be unpaired: a high one not followed by a low one, or a low one not after a high one.
# Only a prefilter (it ignores escaped backslashes), so valid pairs, as ensure_ascii JSON writes emoji, cost nothing.
_MAYBE_LONE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                         r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def is_json(content_type: bytes) -> bool:
    """Whether FastAPI will parse a body as JSON: application/json, */*+json, or no content type at all."""
    kind = content_type.split(b";", 1)[0].strip().lower()
    return not kind or kind == b"application/json" or (kind.startswith(b"application/") and kind.endswith(b"+json"))


def unicode_problem(body: bytes) -> tuple[str, str] | None:
    """(field, why) when a JSON body's text cannot be stored or tokenised, else None. Python's JSON parser accepts
    UTF-16 and UTF-32 (JSON must be UTF-8, RFC 8259), invalid UTF-8 (as lone surrogates) and escaped lone
    surrogates ("\\ud800"); each would fail much later, when SQLite, the tokenizer or a log writes the string, as a
    500 with half a run stored."""
    if not body:
        return None
    encoding = json.detect_encoding(body)
    if encoding not in ("utf-8", "utf-8-sig"):
        return "", f"The request body is {encoding.upper()}, not UTF-8; send JSON as UTF-8 text"
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        return "", f"The request body is not valid UTF-8 (byte {exc.start}); send JSON as UTF-8 text"
    if not _MAYBE_LONE.search(text):
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None  # the route reports malformed or too deeply nested JSON in its own words
    where = lone_surrogate_at(data)
    if where is None:
        return None
    return where, (f"{where or 'The body'} holds an unpaired UTF-16 surrogate (\\ud800-\\udfff), which is not "
                   "text; send valid Unicode")
