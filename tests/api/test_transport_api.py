"""The API's transport limits over real sockets: slow or idle connections are cut off, a body is never read
before its key is checked, a trickled body times out, and the Host check in public mode."""

from __future__ import annotations

import os
import socket
import time

import httpx
import pytest

from tests.api.conftest import auth
from tests.api.rawhttp import connect, head, parse_response, read_response, read_until_closed

pytestmark = pytest.mark.slow


@pytest.fixture
def quick(services):
    """A server with short limits, so the tests need not wait the real ones out."""
    server = services.api_access.build(services, port=0, header_timeout=1.0, keep_alive=1, body_timeout=1.5)
    url = server.start()
    yield url
    server.stop()


def test_the_server_is_configured_with_limits(services):
    server = services.api_access.build(services, port=0)
    try:
        config = server._server.config
        assert config.timeout_keep_alive == 10 and config.limit_concurrency == 300
        assert config.h11_max_incomplete_event_size == 16 * 1024
        assert config.http.header_timeout == 10.0 and config.ws == "none"
    finally:
        server.stop()


def test_a_partial_request_line_is_closed_in_bounded_time(quick):
    with connect(quick) as sock:
        sock.sendall(b"POST /v1/chat-mess")
        data, took = read_until_closed(sock)
    assert took < 5, "the server waited too long for the rest of the request line"
    assert data.startswith(b"HTTP/1.1 408")


def _send_slowly(sock, data: bytes, pause: float = 0.1) -> tuple[bytes, float]:
    """Send `data` a byte or a few at a time, `pause` apart, until the server answers or closes."""
    start, received = time.monotonic(), b""
    sock.settimeout(pause)
    step = max(1, len(data) // 150)
    for i in range(0, len(data), step):
        try:
            sock.sendall(data[i:i + step])
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
        if not chunk:
            break
        received += chunk
        if b"\r\n\r\n" in received:
            rest, _ = read_until_closed(sock, limit=5)
            received += rest
            break
    return received, time.monotonic() - start


def test_trickled_headers_do_not_extend_the_deadline(quick):
    with connect(quick) as sock:
        data, took = _send_slowly(sock, head("GET", "/v1/info", quick, {"X-Slow": "a" * 200}))
    assert took < 4, "a client trickling its headers must be cut off"
    assert data == b"" or data.startswith(b"HTTP/1.1 408")


def test_an_idle_connection_and_an_idle_keep_alive_are_closed(quick, chat_key):
    with connect(quick) as idle:
        data, took = read_until_closed(idle)
    assert data == b"" and took < 5
    with connect(quick) as sock:
        sock.sendall(head("GET", "/v1/info", quick, auth(chat_key)))
        status, _, body = read_response(sock)
        assert status == 200 and body["name"] == "Helper"
        data, took = read_until_closed(sock)
    assert data == b"" and took < 5


def test_an_oversized_request_head_is_refused(api, chat_key):
    """h11 buffers at most 16 KB of an incomplete head (a head that arrives whole in one read may be larger)."""
    with connect(api) as sock:
        sock.sendall(head("GET", "/v1/info", api, {**auth(chat_key), "X-Big": "a" * (200 * 1024)}))
        data, _ = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 400")


@pytest.mark.parametrize("authorization", [None, "Basic abc", "Bearer two words", "Bearer app-" + "x" * 24])
def test_a_body_is_not_read_before_its_key_is_checked(api, authorization):
    """The headers promise a large chunked body that never comes; the 401 must come at once anyway."""
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    if authorization:
        headers["Authorization"] = authorization
    with connect(api) as sock:
        sock.sendall(head("POST", "/v1/chat-messages", api, headers) + b"4\r\n{\"in\r\n")
        status, headers_in, body = read_response(sock, limit=5)
    assert status == 401 and headers_in["www-authenticate"] == 'Bearer realm="api"'
    assert body["code"] == "unauthorized" and body["status"] == 401 and body["message"]


def test_the_401_before_the_body_speaks_openai_on_openai_paths(api):
    headers = {"Content-Type": "application/json", "Content-Length": str(10 * 1024 * 1024)}
    with connect(api) as sock:
        sock.sendall(head("POST", "/v1/chat/completions", api, headers) + b"{")
        status, _, body = read_response(sock, limit=5)
    assert status == 401 and body["error"]["code"] == "invalid_api_key" and body["error"]["message"]
    assert body["error"]["type"] == "invalid_request_error"


def _trickle(url: str, path: str, headers: dict[str, str], piece: bytes) -> tuple[bytes, float]:
    """The head at once, then the body `piece` by `piece`, 0.1 s apart, for up to 15 s."""
    with connect(url) as sock:
        sock.sendall(head("POST", path, url, headers))
        return _send_slowly(sock, piece * 150)


def test_a_trickled_chunked_body_times_out(quick, chat_key):
    headers = {**auth(chat_key), "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    data, took = _trickle(quick, "/v1/chat-messages", headers, b"1\r\n \r\n")
    assert took < 5, "a client trickling its body must be cut off"
    if data:
        status, headers_in, body = parse_response(data)
        assert status == 408 and body["code"] == "request_timeout" and headers_in["connection"] == "close"


def test_a_trickled_body_with_a_length_times_out(quick, chat_key):
    headers = {**auth(chat_key), "Content-Type": "application/json", "Content-Length": "100000"}
    data, took = _trickle(quick, "/v1/chat-messages", headers, b" ")
    assert took < 5
    if data:
        status, _, body = parse_response(data)
        assert status == 408 and body["code"] == "request_timeout" and "seconds" in body["message"]
    data, took = _trickle(quick, "/v1/chat/completions", headers, b" ")
    assert took < 5
    if data:
        status, _, body = parse_response(data)
        assert status == 408 and body["error"]["message"]


def test_a_body_that_arrives_in_time_still_works(quick, chat_key):
    """The limits do not get in the way of a normal client, nor of a chunked body."""
    def chunks():
        yield b'{"inputs": {}, "query": "Say hi", '
        yield b'"user": "u", "response_mode": "blocking"}'
    with httpx.Client(base_url=quick, timeout=120) as client:
        r = client.post("/chat-messages", headers={**auth(chat_key), "Content-Type": "application/json"},
                        content=chunks())
        assert r.status_code == 200, r.text
        assert r.json()["answer"]


def _host_check(url: str, key: str, host: str, path: str = "/info") -> httpx.Response:
    with httpx.Client(base_url=url, timeout=30) as client:
        return client.get(path, headers={**auth(key), "Host": host})


def test_a_wildcard_bind_accepts_ip_addresses_and_listed_names_only(services, chat_key):
    server = services.api_access.build(services, host="0.0.0.0", port=0, extra_hosts=["Proxy.Example"])
    server.start()
    url = f"http://127.0.0.1:{server.port}/v1"
    try:
        for ok in (f"127.0.0.1:{server.port}", "localhost", "192.168.7.9:5001", "[fe80::1]:5001", "proxy.example",
                   "PROXY.example:8443"):
            assert _host_check(url, chat_key, ok).status_code == 200, ok
        for bad in ("evil.example", "evil.example:5001", "127.0.0.1.nip.io", "0x7f000001"):
            r = _host_check(url, chat_key, bad)
            assert r.status_code == 403 and r.json()["code"] == "invalid_host", bad
        openai = _host_check(url, chat_key, "evil.example", "/models")
        assert openai.status_code == 403 and openai.json()["error"]["code"] == "invalid_host"
        assert server.host_note == ("Accepted Host headers: localhost, 127.0.0.1, ::1, proxy.example, any IP address; "
                                    "add others with --allowed-host NAME")
    finally:
        server.stop()


def test_a_specific_address_accepts_itself_and_localhost(services, chat_key):
    server = services.api_access.build(services, host="127.0.0.2", port=0)
    server.start()
    try:
        url = server.url
        assert _host_check(url, chat_key, f"127.0.0.2:{server.port}").status_code == 200
        assert _host_check(url, chat_key, "localhost").status_code == 200
        for bad in ("127.0.0.3", "10.0.0.1", "studio.example"):
            assert _host_check(url, chat_key, bad).status_code == 403, bad
        assert _host_check(url, chat_key, f"[0:0:0:0:0:0:0:1]:{server.port}").status_code == 200  # ::1, spelt out
        for malformed in (f"localhost:{server.port}, evil.com", "localhost:abc", "localhost:", "a b", "[::1",
                          "evil.com@localhost", "localhost:99999"):
            r = _host_check(url, chat_key, malformed)
            assert r.status_code == 400 and r.json()["code"] == "invalid_host", (malformed, r.text)
            assert "is not a host name" in r.json()["message"]
    finally:
        server.stop()


def _server_side_socket(client_sock: socket.socket) -> socket.socket:
    """The server's end of a loopback connection: the socket in this process whose peer is the client's end."""
    mine = client_sock.getsockname()
    for fd in os.listdir("/proc/self/fd"):
        try:
            sock = socket.socket(fileno=os.dup(int(fd)))
        except OSError:
            continue
        try:
            if sock.type == socket.SOCK_STREAM and sock.getpeername() == mine:
                return sock
        except OSError:
            pass
        sock.close()
    raise AssertionError("no server-side socket found for the connection")


def test_responses_are_not_held_back_by_nagle(api, chat_key):
    """Accepted connections send at once (TCP_NODELAY). Without it, every keep-alive response written as headers then
    body waited ~40 ms for the client's delayed ACK (GET /info took 48 ms instead of 3)."""
    port = int(api.rsplit(":", 1)[1].split("/")[0])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        request = f"GET /v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {chat_key}\r\n\r\n".encode()
        sock.sendall(request)
        deadline = time.monotonic() + 10
        data = b""
        while b"\r\n\r\n" not in data and time.monotonic() < deadline:
            data += sock.recv(4096)
        assert data.startswith(b"HTTP/1.1 200")
        server_end = _server_side_socket(sock)
        try:
            assert server_end.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            server_end.close()
