"""Raw-socket helpers for the transport tests: what a slow or hostile client does, byte by byte."""

from __future__ import annotations

import json
import socket
import time

import httpx


def connect(url: str, timeout: float = 10.0) -> socket.socket:
    parsed = httpx.URL(url)
    return socket.create_connection((parsed.host, parsed.port), timeout=timeout)


def head(method: str, path: str, url: str, headers: dict[str, str] | None = None) -> bytes:
    parsed = httpx.URL(url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parsed.host}:{parsed.port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_until_closed(sock: socket.socket, limit: float = 15.0) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    start, data = time.monotonic(), b""
    sock.settimeout(0.2)
    while time.monotonic() - start < limit:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    else:
        raise AssertionError(f"the server kept the connection open for {limit} s")
    return data, time.monotonic() - start


def read_response(sock: socket.socket, limit: float = 10.0) -> tuple[int, dict[str, str], dict]:
    """One response with a Content-Length body (the connection may stay open): status, headers, JSON body."""
    sock.settimeout(limit)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection before answering: {data!r}"
        data += chunk
    raw_head, body = data.split(b"\r\n\r\n", 1)
    status, headers = parse_head(raw_head)
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection in the middle of its answer"
        body += chunk
    return status, headers, json.loads(body)


def parse_head(raw: bytes) -> tuple[int, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers


def parse_response(data: bytes) -> tuple[int, dict[str, str], dict]:
    """A whole response already read (e.g. by read_until_closed)."""
    raw_head, body = data.split(b"\r\n\r\n", 1)
    status, headers = parse_head(raw_head)
    return status, headers, json.loads(body) if body else {}
