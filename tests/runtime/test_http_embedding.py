"""OpenAIEmbedder against a real llama_cpp.server running the bundled model, and its error messages."""

from __future__ import annotations

import http.server
import threading

import numpy as np
import pytest

from studio.core.errors import ModelError
from studio.runtime.embedding import LlamaEmbedder
from studio.runtime.http_embedding import OpenAIEmbedder
from tests.embedding_server import embedding_server, free_port

SECRET = "sk-test-secret-4242"
TEXTS = ["How do I reset my password?", "I forgot my password and need to change it.",
         "The cat sat on the warm windowsill.", "Knowledge bases split documents into chunks.", ""]


@pytest.fixture(scope="module")
def server():
    """`python -m llama_cpp.server` with the bundled embedding model on a free localhost port."""
    with embedding_server() as (url, path):
        yield url, path


@pytest.mark.slow
def test_server_embeddings_match_the_local_embedder(server):
    url, path = server
    remote = OpenAIEmbedder(url + "/v1", "all-MiniLM-L6-v2", api_key=SECRET, batch=2)  # 3 requests, reordered
    local = LlamaEmbedder(path, n_threads=1)
    try:
        got = remote.embed(TEXTS)
        want = local.embed(TEXTS)
        assert remote.dimension == 384 and got.shape == (len(TEXTS), 384) and got.dtype == np.float32
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert np.min(np.sum(got[:4] * want[:4], axis=1)) > 0.99
        assert remote.embed([]).shape == (0, 384)
    finally:
        remote.close()
        local.close()


@pytest.mark.slow
def test_http_errors_name_the_url_and_never_the_key(server):
    url, _ = server
    wrong_path = OpenAIEmbedder(url + "/nope", "m", api_key=SECRET)
    with pytest.raises(ModelError) as exc:
        wrong_path.embed(["x"])
    assert "404" in exc.value.message and f"{url}/nope/v1/embeddings" in exc.value.message
    assert SECRET not in str(exc.value)


def test_connection_refused_names_the_url():
    base = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ModelError) as exc:
        OpenAIEmbedder(base, "m", api_key=SECRET, timeout=5).embed(["x"])
    assert "Could not connect" in exc.value.message and base + "/v1/embeddings" in exc.value.message
    assert SECRET not in str(exc.value) and exc.value.__cause__ is None


class _Garbage(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"data": [{"index": 0}]}' if self.path.startswith("/partial") else b"<html>not json</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_malformed_answers_are_model_errors():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        for prefix in ("", "/partial"):
            with pytest.raises(ModelError) as exc:
                OpenAIEmbedder(base + prefix, "m", api_key=SECRET).embed(["x"])
            assert "malformed" in exc.value.message and SECRET not in str(exc.value)
    finally:
        httpd.shutdown()
        httpd.server_close()
