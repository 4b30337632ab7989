"""Sends the request with httpx and reads the response within Dify's size caps; tells a file from text as Dify does."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from email.message import Message
from typing import TYPE_CHECKING

from studio.core.cancel import CancelToken
from studio.workflow.node import NodeError

if TYPE_CHECKING:
    import httpx
from studio.workflow.nodes.http_request.config import MAX_BINARY_SIZE, MAX_TEXT_SIZE
from studio.workflow.nodes.http_request.request import Request

# application/* types that are text, whatever their bytes look like
TEXT_APPLICATION = ("json", "xml", "javascript", "x-javascript", "x-www-form-urlencoded", "yaml", "x-yaml", "graphql")


@dataclass
class Response:
    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def disposition(self) -> Message | None:
        raw = self.headers.get("content-disposition")
        if not raw:
            return None
        msg = Message()
        msg["content-disposition"] = raw
        return msg

    @property
    def filename(self) -> str:
        disposition = self.disposition
        return (disposition.get_filename() or "") if disposition else ""

    @property
    def is_file(self) -> bool:
        return is_file(self.headers, self.content)

    @property
    def text(self) -> str:
        charset = Message()
        charset["content-type"] = self.headers.get("content-type", "")
        encoding = charset.get_param("charset") or "utf-8"
        try:
            return self.content.decode(str(encoding), errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")


def is_file(headers: dict[str, str], head: bytes) -> bool:
    """An attachment, or a named download, is a file; text types are not; application/* is a file unless its
    first bytes read as structured text; image, audio and video are files."""
    raw = headers.get("content-disposition", "")
    if raw:
        msg = Message()
        msg["content-disposition"] = raw
        if msg.get_content_disposition() == "attachment" or msg.get_filename():
            return True
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    main, _, sub = ctype.partition("/")
    if main == "text":
        return sub == "csv"
    if main == "application":
        if sub in TEXT_APPLICATION or sub.endswith(("+json", "+xml")):
            return False
        try:
            sample = head[:1024].decode("utf-8")
        except UnicodeDecodeError:
            return True
        return not any(mark in sample for mark in "{[<")
    return main in ("image", "audio", "video")


def send(request: Request, *, timeout: tuple[float, float, float], verify: bool, cancel: CancelToken) -> Response:
    """Send, following redirects; read at most the binary cap, then apply the cap for the kind of content."""
    import httpx  # imported when a request is sent, not when Studio starts

    connect, read, write = timeout
    try:
        with httpx.Client(verify=verify, follow_redirects=True,
                          timeout=httpx.Timeout(connect=connect, read=read, write=write, pool=connect)) as client:
            with client.stream(request.method.upper(), request.url, params=request.params or None,
                               headers=request.headers, **request.body) as raw:
                headers = {k.lower(): v for k, v in raw.headers.items()}
                content = _read(raw, headers, cancel)
                return Response(raw.status_code, headers, content)
    except httpx.HTTPError as exc:
        raise NodeError(str(exc) or type(exc).__name__, "HttpRequestNodeError") from None


def _read(raw: httpx.Response, headers: dict[str, str], cancel: CancelToken) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in raw.iter_bytes():
        if cancel.cancelled:
            raise NodeError("The request was stopped", "HttpRequestNodeError")
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BINARY_SIZE:
            break
    content = b"".join(chunks)
    file = is_file(headers, content)
    limit = MAX_BINARY_SIZE if file else MAX_TEXT_SIZE
    if len(content) > limit:
        raise NodeError(f"{'File' if file else 'Text'} size is too large, max size is {limit / 1024 / 1024:.2f} MB, "
                        f"but current size is {_readable(len(content))}{'+' if size > MAX_BINARY_SIZE else ''}.",
                        "ResponseSizeError")
    return content


def _readable(size: int) -> str:
    return f"{size / 1024 / 1024:.2f} MB" if size >= 1024 * 1024 else f"{size / 1024:.2f} KB"


def file_name_and_type(response: Response, url: str) -> tuple[str, str]:
    """A downloaded file's name (Content-Disposition, else the URL's last segment) and MIME type."""
    name = response.filename or url.split("?")[0].rstrip("/").split("/")[-1]
    guessed = mimetypes.guess_type(response.filename)[0] if response.filename else None
    mime = guessed or response.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return name, mime
