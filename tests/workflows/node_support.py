"""Helpers for the node tests: load Dify-DSL fixtures, run them, and summarise the event stream for order checks."""

from __future__ import annotations

import copy
import http.server
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from studio.core.workflow import (
    ContainerNext, NodeFinished, NodeStarted, WorkflowFinished, WorkflowText,
)
from studio.workflow.runner import WorkflowRunner

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "dsl-samples"


def load(name: str) -> dict[str, Any]:
    """A fixture's whole DSL document (tests/workflows/fixtures/<name>.yml)."""
    return yaml.safe_load((FIXTURES / f"{name}.yml").read_text(encoding="utf-8"))


def load_sample(name: str) -> dict[str, Any]:
    """One of Dify's own sample DSL files from the shared folder (read in place, never copied)."""
    return yaml.safe_load((SHARED_SAMPLES / f"{name}.yml").read_text(encoding="utf-8"))


def graph_of(doc: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(doc["workflow"]["graph"])


def node_data(graph: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n["data"] for n in graph["nodes"] if n["id"] == node_id)


class Run:
    """The events of one run, with the views the tests assert on."""

    def __init__(self, events: list[Any]) -> None:
        self.events = events
        self.finished: WorkflowFinished = events[-1]
        assert isinstance(self.finished, WorkflowFinished)

    @property
    def status(self) -> str:
        return self.finished.status.value

    @property
    def outputs(self) -> dict[str, Any]:
        return self.finished.outputs

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, WorkflowText))

    def node(self, node_id: str, *, index: int = -1) -> NodeFinished:
        done = [e for e in self.events if isinstance(e, NodeFinished) and e.node_id == node_id]
        assert done, f"{node_id} never finished; got {self.sequence()}"
        return done[index]

    def sequence(self, *, inner: bool = True) -> list[tuple]:
        """Compact event order: ("start"|"done", node_id[, status]) / ("next", node_id, index) / ("text", text)."""
        out: list[tuple] = []
        for e in self.events:
            if isinstance(e, NodeStarted) and (inner or e.parent_id is None):
                out.append(("start", e.node_id))
            elif isinstance(e, NodeFinished) and (inner or e.parent_id is None):
                out.append(("done", e.node_id, e.status.value))
            elif isinstance(e, ContainerNext) and (inner or e.parent_id is None):
                out.append(("next", e.node_id, e.index))
            elif isinstance(e, WorkflowText):
                out.append(("text", e.text))
        return out


def run(graph: dict[str, Any], *, runner: WorkflowRunner | None = None, **kwargs) -> Run:
    runner = runner or WorkflowRunner()
    return Run(list(runner.run(graph, **kwargs)))


class Server:
    """A real HTTP server on 127.0.0.1 in a thread; `routes` maps a path to a handler(request) -> (status,
    headers, body bytes). Every request is recorded (method, path, headers, body)."""

    def __init__(self, routes: dict[str, Callable[[dict[str, Any]], tuple[int, dict[str, str], bytes]]]) -> None:
        self.routes = routes
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = {"method": self.command, "path": self.path, "headers": dict(self.headers),
                           "body": self.rfile.read(length) if length else b""}
                server.requests.append(request)
                handler = server.routes.get(self.path.split("?")[0])
                status, headers, body = handler(request) if handler else (404, {}, b"not found")
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _any

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
