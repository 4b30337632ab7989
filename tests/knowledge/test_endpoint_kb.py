"""Knowledge bases embedded through an OpenAI-compatible endpoint: a real llama_cpp.server with the bundled MiniLM,
ingestion and search end to end, an endpoint that is down (clear per-document errors, chunks kept, resumed later),
URL checks at create, and the `studio kb create --embedding-url/--embedding-model` options."""

from __future__ import annotations

import http.server
import threading
import time

import httpx
import pytest

from studio.cli import run_cli
from studio.core.errors import NotFoundError, ValidationError
from studio.core.knowledge import DocumentStatus, EmbeddingChoice
from studio.core.settings import Settings
from tests.embedding_server import embedding_server, free_port

MODEL = "all-MiniLM-L6-v2"
DOCS = {"bees.md": "# Bees\n\nHoney bees dance to tell the hive where the flowers are.\n",
        "trains.txt": "The night train leaves the station at midnight and reaches the coast by morning.\n"}


def endpoint(url: str) -> EmbeddingChoice:
    return EmbeddingChoice(provider="openai_api_compatible", model=MODEL, base_url=url)


def write_docs(folder):
    folder.mkdir(exist_ok=True)
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / name for name in DOCS]


@pytest.fixture(scope="module")
def server():
    """`python -m llama_cpp.server` with the bundled embedding model on a free localhost port."""
    with embedding_server() as (url, path):
        yield url


def forwarder(port: int, target: str) -> http.server.ThreadingHTTPServer:
    """An endpoint that comes up later on a given port: it passes embedding requests on to the real server."""

    class Forward(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            answer = httpx.post(target + self.path, content=body, headers={"Content-Type": "application/json"},
                                timeout=60)
            self.send_response(answer.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Forward)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.mark.slow
def test_endpoint_kb_ingests_and_searches(services, server, tmp_path):
    dataset = services.knowledge.create("remote", embedding=endpoint(server + "/v1/"), chunk_size=200, overlap=0)
    assert dataset.embedding.provider == "openai_api_compatible"
    assert dataset.embedding.base_url == server + "/v1" and dataset.embedding.model == MODEL
    services.knowledge.add("remote", write_docs(tmp_path / "docs"))
    report = services.knowledge.ingest("remote")
    assert not report.failed and not report.embedding_error and report.chunks == 2
    assert {d.status for d in services.knowledge.documents("remote")} == {DocumentStatus.COMPLETED}
    assert services.knowledge.get("remote").dimension == 384
    queries = {"semantic_search": ("How do insects communicate about food?", "overnight rail journey to the sea"),
               "hybrid_search": ("why do bees dance", "when does the night train reach the coast")}
    for mode, (about_bees, about_trains) in queries.items():
        bees = services.knowledge.search("remote", about_bees, mode=mode, top_k=2)
        assert bees[0].document.name == "bees.md" and bees[0].score > bees[1].score, mode
        trains = services.knowledge.search("remote", about_trains, mode=mode, top_k=2)
        assert trains[0].document.name == "trains.txt", mode


@pytest.mark.slow
def test_endpoint_down_marks_documents_and_resume_embeds_them(services, server, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    services.knowledge.create("offline", embedding=endpoint(base), chunk_size=200, overlap=0)
    services.knowledge.add("offline", write_docs(tmp_path / "docs"))
    started = time.monotonic()
    report = services.knowledge.ingest("offline")
    assert time.monotonic() - started < 30 and not report.cancelled
    assert base + "/embeddings" in report.embedding_error and "Could not connect" in report.embedding_error
    assert sorted(name for name, _ in report.failed) == sorted(DOCS)
    docs = services.knowledge.documents("offline")
    for doc in docs:
        assert doc.status == DocumentStatus.ERROR and base + "/embeddings" in doc.error
        assert "Traceback" not in doc.error and doc.segment_count == 1 and doc.indexed_count == 0
    assert services.knowledge.interrupted() == []  # an error is not a crash: the GUI does not retry it at start

    httpd = forwarder(port, server)  # the endpoint is up now: the next run embeds the saved chunks
    try:
        again = services.knowledge.ingest("offline")
        top = services.knowledge.search("offline", "honey bees dance", mode="semantic")[0]
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert not again.failed and again.chunks == 2
    docs = services.knowledge.documents("offline")
    assert {d.status for d in docs} == {DocumentStatus.COMPLETED} and all(not d.error for d in docs)
    index = services.knowledge._index(services.knowledge.get("offline"), 0)
    assert index.count() == 2 and top.document.name == "bees.md"


def test_endpoint_down_fails_fast_without_the_server(services, tmp_path):
    """The same clear error with no model server at all (runs in the quick suite)."""
    base = f"http://127.0.0.1:{free_port()}"
    services.knowledge.create("nowhere", embedding=endpoint(base))
    services.knowledge.add("nowhere", write_docs(tmp_path / "docs"))
    report = services.knowledge.ingest("nowhere")
    assert len(report.failed) == 2 and all(base + "/v1/embeddings" in message for _, message in report.failed)
    docs = services.knowledge.documents("nowhere")
    assert {d.status for d in docs} == {DocumentStatus.ERROR} and all(d.segment_count == 1 for d in docs)
    assert services.knowledge.add("nowhere", [tmp_path / "docs"]).unchanged == []  # errors are not "done"


@pytest.mark.parametrize("url, message", [
    ("", "URL"), ("localhost:8080", "URL"), ("ftp://example.com/v1", "URL"), ("http://", "URL"),
    ("http://user:secret@example.com/v1", "credentials"), ("http://example.com/v1?key=abc", "base URL"),
    ("http://example.com:99999/v1", "URL"),
])
def test_endpoint_url_is_checked_at_create(services, url, message):
    with pytest.raises(ValidationError, match=message):
        services.knowledge.create("bad", embedding=EmbeddingChoice(provider="openai_api_compatible", model=MODEL,
                                                                    base_url=url))
    with pytest.raises(ValidationError, match="model name"):
        services.knowledge.create("bad", embedding=EmbeddingChoice(provider="openai_api_compatible", model=" ",
                                                                    base_url="http://127.0.0.1:8080"))
    assert services.knowledge.list() == []


def test_cli_create_with_endpoint_and_local_model(home, capsys):
    assert run_cli(["kb", "create", "remote", "--embedding-url", "http://127.0.0.1:8080/v1",
                    "--embedding-model", MODEL]) == 0
    assert run_cli(["kb", "create", "local", "--embedding-model", "all-minilm-l6-v2"]) == 0
    capsys.readouterr()
    assert run_cli(["kb", "create", "x", "--embedding-url", "http://127.0.0.1:8080/v1"]) == 1
    assert "--embedding-model" in capsys.readouterr().err
    assert run_cli(["kb", "create", "y", "--embedding-url", "not a url", "--embedding-model", MODEL]) == 1
    assert "URL" in capsys.readouterr().err
    assert run_cli(["kb", "create", "z", "--embedding-model", "no-such-model"]) == 1
    assert "no-such-model" in capsys.readouterr().err
    assert run_cli(["kb", "list"]) == 0
    listing = capsys.readouterr().out
    assert f"{MODEL} @ http://127.0.0.1:8080/v1" in listing and "all-minilm-l6-v2" in listing
    from studio.app import build

    services = build(Settings(home=home))
    try:
        remote = services.knowledge.get("remote").embedding
        assert (remote.provider, remote.model, remote.base_url) == ("openai_api_compatible", MODEL,
                                                                    "http://127.0.0.1:8080/v1")
        assert services.knowledge.get("local").embedding.provider == "local"
        with pytest.raises(NotFoundError):
            services.knowledge.get("x")
    finally:
        services.close()
