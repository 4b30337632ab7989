"""List-operator and document-extractor nodes: Dify's step order and operators; text out of real documents."""

from __future__ import annotations

import io
import json

import docx
import pytest
from pypdf import PdfWriter

from studio.core.files import make_file
from tests.workflows.node_support import Server, graph_of, load, node_data, run

# -- list operator ----------------------------------------------------------------------------------------


def list_graph(**changes):
    graph = graph_of(load("list_operator_workflow"))
    node_data(graph, "list").update(changes)
    return graph


def test_filter_order_limit_in_that_order():
    result = run(graph_of(load("list_operator_workflow")), inputs={"values": [5, 1, 9, 3, 7, 2], "min": 3})
    assert result.status == "succeeded", result.finished.error
    assert result.outputs == {"result": [9, 7, 5], "first": 9, "last": 5}
    assert result.sequence() == [("start", "start"), ("done", "start", "succeeded"), ("start", "list"),
                                 ("text", "[9, 7, 5]"), ("text", "\n"), ("text", "9"), ("text", "\n"), ("text", "5"),
                                 ("done", "list", "succeeded"), ("start", "end"), ("done", "end", "succeeded")]


def test_extract_comes_after_filter_and_before_order():
    graph = list_graph(extract_by={"enabled": True, "serial": "{{#start.pick#}}"})
    result = run(graph, inputs={"values": [5, 1, 9, 3], "min": 3, "pick": 2})  # filtered: [5, 9, 3] → 2nd is 9
    assert result.outputs == {"result": [9], "first": 9, "last": 9}


def test_extract_out_of_range_fails():
    graph = list_graph(extract_by={"enabled": True, "serial": "7"})
    result = run(graph, inputs={"values": [5, 9], "min": 0})
    assert result.status == "failed"
    assert "must be <= 2" in result.node("list").error


@pytest.mark.parametrize("operator, value, expected", [
    ("contains", "an", ["banana", "mango"]),
    ("start with", "b", ["banana", "blueberry"]),
    ("end with", "y", ["blueberry"]),
    ("is", "kiwi", ["kiwi"]),
    ("is not", "kiwi", ["banana", "blueberry", "mango", ""]),
    ("in", "kiwi,mango", ["kiwi", "mango", ""]),  # Dify tests `item in value`: a substring test on text
    ("not in", "kiwi,mango", ["banana", "blueberry"]),
    ("empty", "", [""]),
    ("not empty", "", ["banana", "blueberry", "kiwi", "mango"]),
    ("not contains", "b", ["kiwi", "mango", ""]),
])
def test_string_filters(operator, value, expected):
    graph = list_graph(filter_by={"enabled": True, "conditions": [{"comparison_operator": operator, "value": value}]},
                       order_by={"enabled": False}, limit={"enabled": False})
    result = run(graph, inputs={"values": ["banana", "blueberry", "kiwi", "mango", ""], "min": 0})
    assert result.outputs["result"] == expected


def test_files_filtered_by_extension_and_ordered_by_size():
    files = [make_file(name="b.pdf", size=30), make_file(name="a.txt", size=10), make_file(name="c.pdf", size=20)]
    graph = list_graph(filter_by={"enabled": True, "conditions": [
                           {"key": "extension", "comparison_operator": "is", "value": ".pdf"}]},
                       order_by={"enabled": True, "key": "size", "value": "asc"}, limit={"enabled": False})
    result = run(graph, inputs={"values": files, "min": 0})
    assert [f["name"] for f in result.outputs["result"]] == ["c.pdf", "b.pdf"]
    assert result.outputs["first"]["name"] == "c.pdf"


def test_booleans_and_empty_lists():
    graph = list_graph(filter_by={"enabled": True, "conditions": [{"comparison_operator": "is", "value": True}]},
                       order_by={"enabled": False}, limit={"enabled": False})
    assert run(graph, inputs={"values": [True, False, True], "min": 0}).outputs["result"] == [True, True]
    assert run(graph, inputs={"values": [], "min": 0}).outputs == {"result": [], "first": None, "last": None}


def test_objects_are_not_supported():
    result = run(graph_of(load("list_operator_workflow")), inputs={"values": [{"a": 1}], "min": 0})
    assert result.status == "failed"
    assert "not an array of strings, numbers, booleans or files" in result.node("list").error


# -- document extractor -----------------------------------------------------------------------------------


def make_pdf(text: str) -> bytes:
    """A one-page PDF with a line of Helvetica text, built by hand with a correct xref table."""
    stream = f"BT /F1 18 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 144] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def make_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Quarterly report")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Region", "Sales"), ("North", "12")]):
        for cell, text in zip(row.cells, cells):
            cell.text = text
    document.add_paragraph("The end")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def extract(tmp_path, name: str, content: bytes, **file_fields):
    path = tmp_path / name
    path.write_bytes(content)
    return run(graph_of(load("document_extractor_workflow")),
               inputs={"upload": make_file(path=str(path), **file_fields)})


@pytest.mark.parametrize("name, content, text", [
    ("notes.txt", "héllo\nworld".encode(), "héllo\nworld"),
    ("readme.md", b"# Title\n\n* item", "# Title\n\n* item"),
    ("page.html", b"<p>hi</p>", "<p>hi</p>"),
    ("data.json", b'{"b": [1, 2], "a": "x"}', json.dumps({"b": [1, 2], "a": "x"}, indent=2)),
    ("table.csv", b"name,age\nann,31\n", "| name | age |\n| ---- | --- |\n| ann | 31 |\n"),
    ("conf.yaml", b"a: 1\nb: [x]\n", "a: 1\nb:\n- x\n"),
    ("bom.txt", "\ufeffwith a byte-order mark".encode(), "with a byte-order mark"),
])
def test_text_formats(tmp_path, name, content, text):
    result = extract(tmp_path, name, content)
    assert result.status == "succeeded", result.finished.error
    assert result.outputs == {"text": text}


def test_pdf_text(tmp_path):
    assert extract(tmp_path, "hello.pdf", make_pdf("Hello PDF world")).outputs["text"].strip() == "Hello PDF world"


def test_docx_paragraphs_and_tables_in_order(tmp_path):
    text = extract(tmp_path, "report.docx", make_docx()).outputs["text"]
    assert text == "Quarterly report\n| Region | Sales |\n| --- | --- |\n| North | 12 |\n\nThe end"


def test_mime_type_is_used_when_there_is_no_extension(tmp_path):
    result = extract(tmp_path, "blob", b"a,b\n1,2\n", mime_type="text/csv", extension="")
    assert result.outputs["text"].startswith("| a | b |")


@pytest.mark.parametrize("name, content, error_type, message", [
    ("locked.pdf", None, "TextExtractionError", "encrypted"),
    ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "TextExtractionError", "Failed to extract text from PDF"),
    ("broken.docx", b"PK not a zip", "TextExtractionError", "Failed to extract text from DOCX"),
    ("program.exe", b"MZ", "UnsupportedFileTypeError", "Unsupported Extension Type: .exe"),
    ("bad.json", b"{nope", "TextExtractionError", "Failed to decode or parse JSON"),
])
def test_unreadable_files_fail_clearly(tmp_path, name, content, error_type, message):
    result = extract(tmp_path, name, encrypted_pdf() if content is None else content)
    assert result.status == "failed"
    node = result.node("doc")
    assert node.error_type == error_type
    assert message in node.error and name in node.error


def test_a_missing_file_fails(tmp_path):
    result = run(graph_of(load("document_extractor_workflow")),
                 inputs={"upload": make_file(path=str(tmp_path / "gone.txt"))})
    assert result.node("doc").error_type == "FileDownloadError"


def test_a_list_of_files_gives_a_list_of_texts(tmp_path):
    (tmp_path / "a.txt").write_text("first")
    (tmp_path / "b.md").write_text("second")
    files = [make_file(path=str(tmp_path / "a.txt")), make_file(path=str(tmp_path / "b.md"))]
    result = run(graph_of(load("document_extractor_workflow")), inputs={"upload": files})
    assert result.outputs == {"text": ["first", "second"]}


def test_a_remote_file_is_downloaded():
    with Server({"/doc.txt": lambda r: (200, {"Content-Type": "text/plain"}, b"from the web")}) as server:
        file = make_file(url=f"{server.url}/doc.txt", transfer_method="remote_url")
        result = run(graph_of(load("document_extractor_workflow")), inputs={"upload": file})
    assert result.outputs == {"text": "from the web"}


def test_not_a_file_fails():
    result = run(graph_of(load("document_extractor_workflow")), inputs={"upload": "just text"})
    assert result.status == "failed"
    assert result.node("doc").error == "Variable ['start', 'upload'] is not a file"
