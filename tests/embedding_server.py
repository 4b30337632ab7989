"""A real OpenAI-compatible embeddings endpoint for tests: `python -m llama_cpp.server` serving the bundled MiniLM
on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from studio.core.settings import Settings
from studio.runtime import bert_gguf


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def embedding_server() -> Iterator[tuple[str, Path]]:
    """Yields (base URL, model path) once the server answers; stops it afterwards."""
    path = bert_gguf.ensure_bundled_embedding(Settings().cache_dir)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--embedding", "true",
                             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "512", "--n_threads", "1",
                             "--n_threads_batch", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, url)
        yield url, path
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(proc: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(url + "/v1/models", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail("llama_cpp.server did not start within 60 s")
        time.sleep(0.2)
