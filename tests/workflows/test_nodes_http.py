"""HTTP-request node against a real server on 127.0.0.1: templating, auth, bodies, files, caps, failures, retries."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from studio.core.files import make_file
from studio.core.workflow import NodeRetry
from studio.workflow.nodes.http_request.config import Timeout
from studio.workflow.runner import WorkflowRunner
from tests.workflows.node_support import Server, graph_of, load, node_data, run


def echo(request):
    """Answers with what it received, as JSON."""
    body = {"method": request["method"], "path": request["path"], "body": request["body"].decode("latin-1"),
            "content_type": request["headers"].get("Content-Type", "")}
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


@pytest.fixture
def server():
    routes = {
        "/items": lambda r: (200, {"Content-Type": "application/json"}, b'{"items": [1, 2]}'),
        "/echo": echo,
        "/broken": lambda r: (500, {"Content-Type": "text/plain"}, b"boom"),
        "/report.csv": lambda r: (200, {"Content-Type": "text/csv", "Content-Disposition":
                                        'attachment; filename="report.csv"'}, b"name,age\nann,31\nbob,42\n"),
        "/big.txt": lambda r: (200, {"Content-Type": "text/plain"}, b"x" * (1024 * 1024 + 10)),
        "/big.bin": lambda r: (200, {"Content-Type": "application/octet-stream"}, b"\x00\xff" * (5 * 1024 * 1024 + 8)),
        "/image.png": lambda r: (200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        "/slow": lambda r: (time.sleep(2), (200, {}, b"late"))[1],
    }
    with Server(routes) as s:
        yield s


def http_graph(**changes):
    graph = graph_of(load("http_post_workflow"))
    node_data(graph, "http").update(changes)
    return graph


def test_get_renders_url_params_headers_and_bearer_auth(server):
    result = run(graph_of(load("http_get_json_workflow")),
                 inputs={"base": server.url, "q": "cats", "token": "s3cret"})
    assert result.status == "succeeded", result.finished.error
    assert result.outputs == {"status": 200, "body": '{"items": [1, 2]}', "kind": "application/json"}
    sent = server.requests[-1]
    assert sent["method"] == "GET" and sent["path"] == "/items?q=cats&limit=2"
    assert sent["headers"]["Authorization"] == "Bearer s3cret"
    assert sent["headers"]["X-Trace"] == "t-cats"
    log = result.node("http").process_data["request"]
    assert log.startswith("GET /items?q=cats&limit=2 HTTP/1.1") and "s3cret" not in log
    assert "Authorization: " + "*" * len("Bearer s3cret") in log
    assert result.sequence() == [
        ("start", "start"), ("done", "start", "succeeded"), ("start", "http"), ("text", "200"), ("text", "\n"),
        ("text", '{"items": [1, 2]}'), ("text", "\n"), ("text", "application/json"), ("done", "http", "succeeded"),
        ("start", "end"), ("done", "end", "succeeded")]


@pytest.mark.parametrize("config, header", [
    ({"type": "basic", "api_key": "ann:pw"}, ("Authorization", "Basic " + base64.b64encode(b"ann:pw").decode())),
    ({"type": "basic", "api_key": "YWxyZWFkeQ=="}, ("Authorization", "Basic YWxyZWFkeQ==")),
    ({"type": "custom", "api_key": "k-{{#start.name#}}", "header": "X-Api-Key"}, ("X-Api-Key", "k-ann")),
])
def test_api_key_authorization(server, config, header):
    graph = http_graph(authorization={"type": "api-key", "config": config}, body={"type": "none", "data": []})
    result = run(graph, inputs={"url": f"{server.url}/echo", "name": "ann", "count": 1})
    assert result.status == "succeeded", result.finished.error
    assert server.requests[-1]["headers"][header[0]] == header[1]


def test_json_body_is_a_rendered_template(server):
    result = run(http_graph(), inputs={"url": f"{server.url}/echo", "name": "ann", "count": 2})
    echoed = json.loads(result.outputs["body"])
    assert echoed["method"] == "POST" and echoed["content_type"] == "application/json"
    assert json.loads(echoed["body"]) == {"name": "ann", "count": 2}


def test_invalid_json_body_fails_the_node(server):
    graph = http_graph(body={"type": "json", "data": [{"type": "text", "value": "{oops"}]})
    result = run(graph, inputs={"url": f"{server.url}/echo", "name": "a", "count": 1})
    assert result.status == "failed"
    assert result.node("http").error_type == "RequestBodyError"
    assert server.requests == []


def test_form_urlencoded_body(server):
    body = {"type": "x-www-form-urlencoded", "data": [{"key": "name", "type": "text", "value": "{{#start.name#}}"},
                                                        {"key": "n", "type": "text", "value": "{{#start.count#}}"}]}
    result = run(http_graph(body=body), inputs={"url": f"{server.url}/echo", "name": "ann lee", "count": 3})
    echoed = json.loads(result.outputs["body"])
    assert echoed["content_type"] == "application/x-www-form-urlencoded"
    assert echoed["body"] == "name=ann+lee&n=3"


def test_multipart_body_with_text_and_file(server, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"file contents here")
    body = {"type": "form-data", "data": [{"key": "who", "type": "text", "value": "{{#start.name#}}"},
                                          {"key": "upload", "type": "file", "file": ["start", "doc"]}]}
    graph = http_graph(body=body, headers="Content-Type: multipart/form-data")
    doc = make_file(path=str(path), mime_type="text/plain")
    result = run(graph, inputs={"url": f"{server.url}/echo", "name": "ann", "count": 1, "doc": doc})
    assert result.status == "succeeded", result.finished.error
    echoed = json.loads(result.outputs["body"])
    assert echoed["content_type"].startswith("multipart/form-data; boundary=")
    assert 'name="who"' in echoed["body"] and "\r\n\r\nann\r\n" in echoed["body"]
    assert 'name="upload"; filename="notes.txt"' in echoed["body"] and "file contents here" in echoed["body"]


def test_raw_text_and_binary_bodies(server, tmp_path):
    result = run(http_graph(body={"type": "raw-text", "data": [{"type": "text", "value": "hi {{#start.name#}}"}]}),
                 inputs={"url": f"{server.url}/echo", "name": "ann", "count": 1})
    assert json.loads(result.outputs["body"])["body"] == "hi ann"
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)))
    graph = http_graph(body={"type": "binary", "data": [{"type": "file", "file": ["start", "doc"]}]})
    result = run(graph, inputs={"url": f"{server.url}/echo", "name": "a", "count": 1,
                                "doc": make_file(path=str(path))})
    assert json.loads(result.outputs["body"])["body"].encode("latin-1") == bytes(range(256))


def test_non_2xx_is_a_plain_result_without_error_handling(server):
    result = run(http_graph(body={"type": "none"}), inputs={"url": f"{server.url}/broken", "name": "a", "count": 1})
    assert result.status == "succeeded"
    assert result.outputs == {"status": 500, "body": "boom"}


def test_non_2xx_fails_a_node_with_an_error_strategy(server):
    graph = http_graph(body={"type": "none"}, error_strategy="default-value",
                       default_value=[{"key": "body", "type": "string", "value": "fallback"},
                                      {"key": "status_code", "type": "number", "value": "0"}])
    result = run(graph, inputs={"url": f"{server.url}/broken", "name": "a", "count": 1})
    assert result.status == "partial-succeeded"
    assert result.outputs == {"status": 0, "body": "fallback"}
    http = result.node("http")
    assert http.error == "Request failed with status code 500" and http.error_type == "HTTPResponseCodeError"
    assert http.process_data["request"].startswith("POST /broken")


def test_non_2xx_with_retry_is_retried_then_fails(server):
    graph = http_graph(body={"type": "none"}, retry_config={"retry_enabled": True, "max_retries": 2,
                                                            "retry_interval": 1})
    result = run(graph, inputs={"url": f"{server.url}/broken", "name": "a", "count": 1})
    assert result.status == "failed"
    assert [e.retry_index for e in result.events if isinstance(e, NodeRetry)] == [1, 2]
    assert len(server.requests) == 3


def test_attachment_becomes_a_file_that_the_extractor_reads(server, tmp_path):
    runner = WorkflowRunner(files_dir=str(tmp_path / "files"))
    result = run(graph_of(load("http_download_extract_workflow")), runner=runner,
                 inputs={"url": f"{server.url}/report.csv"})
    assert result.status == "succeeded", result.finished.error
    assert result.outputs["body"] == ""
    (file,) = result.outputs["files"]
    assert file["name"] == "report.csv" and file["extension"] == ".csv" and file["mime_type"] == "text/csv"
    assert file["transfer_method"] == "tool_file" and file["type"] == "document"
    assert Path(file["path"]).parent == tmp_path / "files"
    assert Path(file["path"]).read_bytes() == b"name,age\nann,31\nbob,42\n"
    assert result.outputs["text"] == ["| name | age |\n| ---- | --- |\n| ann | 31 |\n| bob | 42 |\n"]


def test_an_image_response_is_a_file(server, tmp_path):
    graph = http_graph(body={"type": "none"}, method="get")
    result = run(graph, runner=WorkflowRunner(files_dir=str(tmp_path)),
                 inputs={"url": f"{server.url}/image.png", "name": "a", "count": 1})
    assert result.outputs["body"] == ""
    assert result.node("http").outputs["files"][0]["type"] == "image"


@pytest.mark.parametrize("path, message", [
    ("/big.txt", "Text size is too large, max size is 1.00 MB"),
    ("/big.bin", "File size is too large, max size is 10.00 MB"),
])
def test_size_caps(server, tmp_path, path, message):
    graph = http_graph(body={"type": "none"}, method="get")
    result = run(graph, runner=WorkflowRunner(files_dir=str(tmp_path)),
                 inputs={"url": f"{server.url}{path}", "name": "a", "count": 1})
    assert result.status == "failed"
    assert result.node("http").error_type == "ResponseSizeError"
    assert message in result.node("http").error
    assert list(tmp_path.iterdir()) == []


def test_read_timeout(server):
    graph = http_graph(body={"type": "none"}, method="get", timeout={"connect": 1, "read": 1, "write": 1})
    started = time.monotonic()
    result = run(graph, inputs={"url": f"{server.url}/slow", "name": "a", "count": 1})
    assert result.status == "failed" and result.node("http").error_type == "HttpRequestNodeError"
    assert time.monotonic() - started < 1.9


def test_timeouts_default_and_cap():
    assert Timeout().seconds() == (10, 600, 600)
    assert Timeout(connect=0, read=30, write=None).seconds() == (10, 30, 600)
    assert Timeout(connect=99, read=9999, write=601).seconds() == (10, 600, 600)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "", "example.com"])
def test_url_needs_http_scheme(url):
    result = run(http_graph(url=url), inputs={"name": "a", "count": 1})
    assert result.status == "failed"
    assert result.node("http").error_type == "InvalidURLError"
