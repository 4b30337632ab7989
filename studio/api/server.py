"""Runs the API with uvicorn: on a background thread for the GUI, or in the foreground for `studio serve`."""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from collections.abc import Iterable

import uvicorn

from studio.api.app import DEFAULT_WORKERS, create_app
from studio.api.security import allowed_hosts, is_loopback
from studio.api.transport import HEADER_TIMEOUT_SECONDS, ApiUvicorn, ShutdownGuard, protocol_with
from studio.core.errors import ConflictError, StudioError

log = logging.getLogger(__name__)
KEEP_ALIVE_SECONDS = 10  # an idle keep-alive connection is closed after this
MAX_CONNECTIONS = 300  # connections and requests at once; more get a 503 (Python's asyncio handles a few hundred well)
MAX_HEADER_BYTES = 16 * 1024  # request line and headers; a bigger head is a 400
GRACEFUL_SECONDS = 5  # after the runs were stopped, how long open responses may take to finish


class ApiServer:
    """One listening API. The socket is bound here, so a busy port is a clear error and port 0 picks a free one."""

    def __init__(self, services, *, host: str = "127.0.0.1", port: int = 5001, workers: int = DEFAULT_WORKERS,
                 extra_hosts: Iterable[str] = (), cors_origins: Iterable[str] = (),
                 header_timeout: float = HEADER_TIMEOUT_SECONDS, keep_alive: float = KEEP_ALIVE_SECONDS,
                 **app_options) -> None:
        host = host.strip()
        if host.startswith("[") and host.endswith("]"):  # --host [::1], as an address is written in a URL
            host = host[1:-1]
        self.host, extra_hosts = host, tuple(extra_hosts)
        self.hosts = allowed_hosts(host, extra_hosts)
        self._show_hosts = bool(extra_hosts) or not is_loopback(host)
        self._sock = _bind(host, port)
        self.port = self._sock.getsockname()[1]
        app = create_app(services, host=host, extra_hosts=extra_hosts, cors_origins=cors_origins, workers=workers,
                         **app_options)
        guard = ShutdownGuard(app)
        config = uvicorn.Config(guard, log_level="warning", access_log=False, lifespan="on",
                                http=protocol_with(header_timeout), ws="none", timeout_keep_alive=keep_alive,
                                limit_concurrency=MAX_CONNECTIONS, h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                                timeout_graceful_shutdown=GRACEFUL_SECONDS)
        self._server = ApiUvicorn(config, app.state.tasks, guard)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 15.0) -> str:
        """Serve on a daemon thread; returns the base URL once uvicorn accepts connections."""
        self._thread = threading.Thread(target=self._serve, name="studio-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise StudioError(f"The API server did not start on {self.url}; see Studio's log")
            time.sleep(0.02)
        log.info("API listening on %s. %s", self.url, self.host_note)
        return self.url

    @property
    def host_note(self) -> str:
        """Which Host headers are accepted, for the start-up message."""
        return f"Accepted Host headers: {self.hosts.describe()}; add others with --allowed-host NAME"

    def serve_forever(self) -> None:
        """Serve in this thread until SIGINT/SIGTERM (uvicorn installs its handlers on the main thread). Open runs
        are stopped first, so their streams end cleanly and they are stored as stopped."""
        if self._show_hosts:
            print(self.host_note, file=sys.stderr, flush=True)
        try:
            self._server.run(sockets=[self._sock])
        except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled once it has shut down cleanly
            pass
        finally:
            self._sock.close()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop serving: open runs are cancelled (and stored as stopped), then connections close."""
        self._server.should_exit = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._sock.close()

    def _serve(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException:  # noqa: BLE001 - a server thread must not die silently
            log.exception("the API server stopped with an error")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise ConflictError(f"Port {port} on {host} is already in use; choose another port") from None
        raise StudioError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock

