"""Turns an HTTP-request node's config and the variable pool into the request to send, as Dify builds it."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlparse

from studio.core.files import is_file
from studio.workflow.files import FileReadError, load_bytes
from studio.workflow.node import NodeError
from studio.workflow.nodes.http_request.config import MAX_BINARY_SIZE, HttpRequestConfig
from studio.workflow.variables import VariablePool

BODY_CONTENT_TYPES = {"json": "application/json", "x-www-form-urlencoded": "application/x-www-form-urlencoded",
                      "form-data": "multipart/form-data", "raw-text": "text/plain"}


@dataclass
class Request:
    method: str
    url: str
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)  # httpx keyword arguments: content, data, files, json
    secret_header: str = ""  # the authorization header the log masks


def _lines(text: str) -> list[tuple[str, str]]:
    """`Key: value` lines; a line without a colon is a key with an empty value."""
    pairs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        key, _, value = line.partition(":")
        if key.strip():
            pairs.append((key.strip(), value.strip()))
    return pairs


def build(config: HttpRequestConfig, pool: VariablePool) -> Request:
    url = pool.render(config.url)
    if not url:
        raise NodeError("url is required", "InvalidURLError")
    if not url.startswith(("http://", "https://")):
        raise NodeError("url should start with http:// or https://", "InvalidURLError")
    # Params are split first, then each side is rendered (a value may hold newlines); headers are rendered first.
    params = [(pool.render(k), pool.render(v)) for k, v in _lines(config.params)]
    headers = dict(_lines(pool.render(config.headers)))
    request = Request(config.method, url, params, headers)
    _authorize(config, pool, request)
    if config.body is not None:
        request.body = _body(config, pool, request)
    return request


def _authorize(config: HttpRequestConfig, pool: VariablePool, request: Request) -> None:
    auth = config.authorization
    if auth.type != "api-key":
        return
    if auth.config is None or auth.config.type is None:
        raise NodeError("authorization config is required", "AuthorizationConfigError")
    key = pool.render(auth.config.api_key or "")
    header = auth.config.header or "Authorization"
    if auth.config.type == "bearer":
        request.headers[header] = f"Bearer {key}"
    elif auth.config.type == "basic":
        # "user:password" is encoded; anything else is taken as already encoded
        request.headers[header] = "Basic " + (base64.b64encode(key.encode()).decode() if ":" in key else key)
    else:
        request.headers[header] = key
    request.secret_header = header


def _one(config: HttpRequestConfig) -> Any:
    data = config.body.data
    if len(data) != 1:
        raise NodeError(f"{config.body.type} body type should have exactly one item", "RequestBodyError")
    return data[0]


def _file_bytes(selector: list[str], pool: VariablePool) -> list[tuple[dict, bytes]]:
    value = pool.get_or(selector)
    files = value if isinstance(value, list) else [value]
    if value is None or not all(is_file(f) for f in files):
        raise NodeError(f"cannot fetch file with selector {selector}", "FileFetchError")
    try:
        return [(f, load_bytes(f, max_bytes=MAX_BINARY_SIZE)) for f in files]
    except FileReadError as exc:
        raise NodeError(str(exc), "FileFetchError") from None


def _body(config: HttpRequestConfig, pool: VariablePool, request: Request) -> dict[str, Any]:
    kind, data = config.body.type, config.body.data
    if kind == "none":
        return {}
    if kind == "raw-text":
        return {"content": pool.render(_one(config).value)}
    if kind == "json":
        text = pool.render(_one(config).value)
        try:
            return {"json": json.loads(text, strict=False)}
        except ValueError:
            raise NodeError(f"Failed to parse JSON: {text}", "RequestBodyError") from None
    if kind == "binary":
        return {"content": _file_bytes(_one(config).file, pool)[0][1]}
    fields = {pool.render(i.key): pool.render(i.value) for i in data if i.type == "text"}
    if kind == "x-www-form-urlencoded":
        return {"data": fields}
    # multipart: text fields as parts without a file name, then the files; httpx sets the boundary itself
    for name in [h for h in request.headers if h.lower() == "content-type"]:
        del request.headers[name]
    parts: list[tuple[str, tuple]] = [(k, (None, v.encode())) for k, v in fields.items()]
    for item in (i for i in data if i.type == "file"):
        for file, content in _file_bytes(item.file, pool):
            parts.append((pool.render(item.key), (file.get("name") or "file", content,
                                                  file.get("mime_type") or "application/octet-stream")))
    return {"files": parts}


def to_log(request: Request, body_type: str | None) -> str:
    """The request as raw HTTP text for the trace, with the authorization value masked (Dify's `to_log`)."""
    parts = urlparse(request.url)
    path = parts.path or "/"
    if request.params:
        path += "?" + urlencode(request.params)
    elif parts.query:
        path += "?" + parts.query
    lines = [f"{request.method.upper()} {path} HTTP/1.1", f"Host: {parts.netloc}"]
    headers = dict(request.headers)
    if body_type in BODY_CONTENT_TYPES and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = BODY_CONTENT_TYPES[body_type]
    for key, value in headers.items():
        secret = request.secret_header and key.lower() == request.secret_header.lower()
        lines.append(f"{key}: {'*' * len(value) if secret else value}")
    return "\r\n".join(lines) + "\r\n\r\n" + _body_text(request.body)


def _body_text(body: dict[str, Any]) -> str:
    if "json" in body:
        return json.dumps(body["json"], ensure_ascii=False)
    if "data" in body:
        return urlencode(body["data"])
    if "files" in body:
        return "\r\n".join(f"{name}: {part[1].decode(errors='replace') if part[0] is None else f'<file {part[0]}>'}"
                           for name, part in body["files"])
    content = body.get("content", "")
    return content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
