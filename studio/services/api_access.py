"""Starting and stopping the localhost API for the GUI and `studio serve`; app.py supplies the server factory."""

from __future__ import annotations

import errno
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any, Protocol

from studio.core.errors import ConflictError, ValidationError

log = logging.getLogger(__name__)
DEFAULT_PORT = 5001  # Dify's API port
API_PREFERENCES: dict[str, tuple[Any, type, float | None, float | None]] = {
    "api_port": (DEFAULT_PORT, int, 1, 65535),
    "api_autostart": (0, int, 0, 1),  # 1: start the API when the Studio window opens
    "api_local_models": (0, int, 0, 1),  # 1: /v1/models also lists the raw local chat models, for any app key
}


def in_use_message(port: int) -> str:
    """What the window says when another program holds the API port (often a `studio serve` left in a terminal)."""
    return (f"Port {port} is in use by another program, perhaps a studio serve in a terminal. "
            "Stop that program or choose another port.")


class Server(Protocol):
    url: str
    port: int

    def start(self) -> str: ...
    def stop(self) -> None: ...
    def serve_forever(self) -> None: ...


class ApiAccessService:
    """Owns at most one running server; the studio.api package builds it through `factory`."""

    def __init__(self, prefs, factory: Callable[..., Server] | None = None) -> None:
        self._prefs = prefs
        self._factory = factory
        self._server: Server | None = None
        self._lock = threading.Lock()

    def set_factory(self, factory: Callable[..., Server]) -> None:
        self._factory = factory

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        return self._server.url if self._server is not None else self.url_for(self.port)

    @property
    def port(self) -> int:
        return int(self._server.port if self._server is not None else self._prefs.get("api_port"))

    @staticmethod
    def url_for(port: int, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{port}/v1"

    def port_in_use(self, port: int, host: str = "127.0.0.1") -> bool:
        """Whether another program holds `port`, so starting there would fail; False while this server has it.

        Binds the way the server does (SO_REUSEADDR, so the leftovers of a closed server do not count) and lets go
        at once. Only "address in use" counts: any other failure is left for start() to report."""
        if self._server is not None and self._server.port == port:
            return False
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                return exc.errno == errno.EADDRINUSE
        return False

    def build(self, services, *, host: str = "127.0.0.1", port: int | None = None, **options: Any) -> Server:
        if self._factory is None:
            raise ValidationError("The API server is not available in this build of Studio")
        return self._factory(services, host=host, port=self._prefs.get("api_port") if port is None else port,
                             **options)

    def start(self, services, port: int | None = None) -> str:
        """Start on 127.0.0.1 (the GUI never binds other interfaces). Returns the base URL."""
        with self._lock:
            if self._server is not None:
                return self._server.url
            if port is not None:
                self._prefs.set("api_port", port)
            if self.port_in_use(self.port):  # say who holds it (the server's own bind error stays for a race)
                raise ConflictError(in_use_message(self.port))
            server = self.build(services, port=port)
            url = server.start()
            self._server = server
            return url

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()
