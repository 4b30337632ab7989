"""Runs the API with uvicorn: on a background thread for the GUI, or in the foreground for `studio serve`."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterable

import uvicorn

from studio.api.app import DEFAULT_WORKERS, create_app
from studio.core.errors import ConflictError, StudioError

log = logging.getLogger(__name__)


class ApiServer:
    """One listening API. The socket is bound here, so a busy port is a clear error and port 0 picks a free one."""

    def __init__(self, services, *, host: str = "127.0.0.1", port: int = 5001, workers: int = DEFAULT_WORKERS,
                 extra_hosts: Iterable[str] = (), cors_origins: Iterable[str] = (), **app_options) -> None:
        self.host = host
        self._sock = _bind(host, port)
        self.port = self._sock.getsockname()[1]
        app = create_app(services, host=host, extra_hosts=extra_hosts, cors_origins=cors_origins, workers=workers,
                         **app_options)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=3, timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
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
        log.info("API listening on %s", self.url)
        return self.url

    def serve_forever(self) -> None:
        """Serve in this thread until SIGINT/SIGTERM (uvicorn installs its handlers on the main thread)."""
        try:
            self._server.run(sockets=[self._sock])
        except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled once it has shut down cleanly
            pass
        finally:
            self._sock.close()

    def stop(self, timeout: float = 10.0) -> None:
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

