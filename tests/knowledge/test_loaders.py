"""Loaders: every format, its metadata, and every failure as a LoaderError that names the file."""

from __future__ import annotations

import pytest

from studio.core.knowledge import LoaderError, ProcessRule
from studio.knowledge import loaders
from studio.knowledge.loaders import is_supported, load
from studio.knowledge.splitter import chunk_document, page_of
from tests.knowledge.support import CORPUS, encrypt_pdf, make_pdf


def write(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def error_of(path) -> str:
    with pytest.raises(LoaderError) as info:
        load(path)
    assert path.name in str(info.value)
    return str(info.value)


# --- plain text and failures -------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-16-le", "utf-32"])
def test_text_encodings_with_and_without_bom(tmp_path, encoding):
    text = "Grüße, 世界! 안녕하세요.\nSecond line."
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # with a BOM; utf-16-le below is the BOM-less case
    doc = load(write(tmp_path, "notes.txt", data))
    assert doc.text == text
    assert doc.title == "notes"
    assert doc.source.endswith("notes.txt")


def test_text_legacy_encodings_are_detected(tmp_path):
    french = "Le café est très apprécié à Paris. Où est la bibliothèque? Voilà, c'est déjà l'été.\n" * 3
    assert load(write(tmp_path, "fr.txt", french.encode("cp1252"))).text == french
    chinese = "知识库是检索增强生成的基础。我们把文档切成片段，然后建立索引。\n" * 3
    assert load(write(tmp_path, "zh.txt", chinese.encode("gbk"))).text == chinese


def test_crlf_becomes_lf(tmp_path):
    assert load(write(tmp_path, "a.txt", b"one\r\ntwo\rthree")).text == "one\ntwo\nthree"


def test_binary_file_is_not_text(tmp_path):
    assert "not a text file" in error_of(write(tmp_path, "blob.txt", bytes(range(256)) * 8))


@pytest.mark.parametrize("content", [b"", b"  \n\t \r\n"])
def test_empty_documents(tmp_path, content):
    assert "empty" in error_of(write(tmp_path, "empty.txt", content))


def test_unsupported_missing_directory_and_too_large(tmp_path, monkeypatch):
    assert "unsupported file type .exe" in error_of(write(tmp_path, "tool.exe", b"MZ"))
    assert "no such file" in error_of(tmp_path / "missing.txt")
    (tmp_path / "folder.txt").mkdir()
    assert "not a file" in error_of(tmp_path / "folder.txt")
    monkeypatch.setattr(loaders, "MAX_FILE_BYTES", 10)
    assert "too large" in error_of(write(tmp_path, "big.txt", b"x" * 11))


def test_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path, "secret.txt", b"text")

    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(path), "read_bytes", refuse)
    assert "unreadable (Permission denied)" in error_of(path)


def test_is_supported():
    assert is_supported("a/B.PDF") and is_supported("x.mdx") and is_supported("t.htm")
    assert not is_supported("x.exe") and not is_supported("noext")


# --- Markdown and MDX ----------------------------------------------------------------------------------------

def test_markdown_front_matter_becomes_metadata(tmp_path):
    source = "---\ntitle: Guide\ndescription: How to do it\ndate: 2024-01-02\n---\n\n# Heading\n\nBody &amp; text.\n"
    doc = load(write(tmp_path, "guide.md", source))
    assert doc.title == "Guide"
    assert doc.metadata == {"title": "Guide", "description": "How to do it", "date": "2024-01-02"}
    assert doc.text.strip() == "# Heading\n\nBody & text."


def test_markdown_title_falls_back_to_heading_then_stem(tmp_path):
    assert load(write(tmp_path, "a.md", "Intro\n\n```\n# not a heading\n```\n# Real  one #\n")).title == "Real one"
    assert load(write(tmp_path, "plain-notes.markdown", "just text\n")).title == "plain-notes"
    # a horizontal rule pair that is not YAML front matter stays text
    doc = load(write(tmp_path, "rule.md", "---\nnot: [valid\n---\ntext\n"))
    assert doc.metadata == {} and doc.text.startswith("---")


def test_mdx_drops_esm_and_tags_but_keeps_text_and_code(tmp_path):
    source = """---
title: Components
---
import { Tip } from "/snippets/tip.mdx";
export const meta = {
  a: 1,
}

<Note>
Keep this note with `<Tip>` as code &amp; more, but `&amp;` in code stays.
</Note>

<Card title="Quick start" href="/start">Card body</Card>
{/* an MDX comment */}
<!-- an HTML comment -->
Generic Array<string> and a < b stay.

```jsx
import React from "react";
<Note>inside code</Note>
```
"""
    doc = load(write(tmp_path, "page.mdx", source))
    text = doc.text
    assert "Keep this note with `<Tip>` as code & more, but `&amp;` in code stays." in text
    assert "Quick start" in text and "Card body" in text
    assert "<Note>" not in text.split("```jsx")[0] and "<Card" not in text
    assert "comment" not in text and "export const" not in text and "snippets" not in text
    assert "Array<string> and a < b stay." in text
    assert 'import React from "react";\n<Note>inside code</Note>' in text
    assert doc.title == "Components"


def test_real_mdx_file_from_the_corpus():
    path = CORPUS / "dify-docs" / "en" / "cloud_use-dify_workspace_api-extension_moderation-api-extension.mdx"
    doc = load(path)
    assert doc.title == "Sensitive Content Moderation" == doc.metadata["title"]
    assert doc.text.lstrip().startswith("This module is used to review the content")
    assert '"point": "app.moderation.input"' in doc.text  # code blocks are kept


def test_corpus_front_matter_titles_and_descriptions(corpus):
    described = 0
    for path in corpus[::7]:
        doc = load(path)
        assert doc.title and not doc.text.startswith("---\n")
        if "description" in doc.metadata:
            described += 1
            assert isinstance(doc.metadata["description"], str)
        for tag in ("<Note>", "</Note>", "<Frame>", "</Tip>", "<Intro>"):
            if tag in doc.text:  # only inside code blocks
                assert "```" in doc.text, (path.name, tag)
    assert described > 20


def test_korean_corpus_document():
    path = CORPUS / "react-docs-ko" / "learn_writing-markup-with-jsx.md"
    doc = load(path)
    assert "JSX" in doc.title and "<Intro>" not in doc.text and "<YouWillLearn>" not in doc.text
    assert "마크업" in doc.text


# --- HTML ----------------------------------------------------------------------------------------------------

def test_html(tmp_path):
    source = """<!doctype html><html><head><title>My &amp; Page</title>
<meta name="description" content="About it"><style>p { color: red }</style></head>
<body><h1>Main</h1><p>Para <b>bold</b> &lt;x&gt;
wrapped</p><script>var secret = 1;</script><ul><li>one</li><li>two</li></ul>
<table><tr><td>a</td><td>b</td></tr></table><pre>  code
    indented</pre><div>after<br>break</div></body></html>"""
    doc = load(write(tmp_path, "page.html", source))
    assert doc.title == "My & Page" and doc.metadata == {"description": "About it"}
    assert doc.text == ("# Main\n\nPara bold <x> wrapped\n\n- one\n- two\n\na | b\n\n  code\n    indented\n\n"
                        "after\nbreak")


def test_html_declared_charset(tmp_path):
    source = '<html><head><meta charset="iso-8859-1"><title>Caf\xe9</title></head><body>d\xe9j\xe0</body></html>'
    doc = load(write(tmp_path, "old.htm", source.encode("latin-1")))
    assert doc.title == "Café" and doc.text == "déjà"


# --- PDF -----------------------------------------------------------------------------------------------------

def test_pdf_pages_and_page_starts(tmp_path):
    data = make_pdf([["Page one (first)", "second line"], [], ["Page three text"]], title="Report")
    doc = load(write(tmp_path, "report.pdf", data))
    assert doc.title == "Report" and doc.metadata["page_count"] == 3
    starts = doc.metadata["page_starts"]
    assert doc.text[starts[0]:].startswith("Page one (first)\nsecond line")
    assert doc.text[starts[2]:] == "Page three text"
    assert page_of(doc.text.index("Page three"), starts) == 3 and page_of(0, starts) == 1


def test_pdf_page_starts_follow_cleaning(tmp_path):
    data = make_pdf([["Lots    of     spaces    here"], ["Second     page"]])
    doc = load(write(tmp_path, "spaces.pdf", data))
    assert doc.metadata["page_starts"][1] > len("Lots of spaces here") + 2
    rule = ProcessRule(segmentation={"separator": "\\n\\n", "max_tokens": 50, "chunk_overlap": 0})
    text, chunks = chunk_document(doc, rule)
    assert [c.content for c in chunks] == ["Lots of spaces here\n\nSecond page"]  # neighbours that fit merge
    # the document is cleaned in place: its page_starts now describe the returned text
    assert doc.text == text and doc.metadata["page_starts"] == [0, len("Lots of spaces here") + 2]
    assert page_of(text.index("Second"), doc.metadata["page_starts"]) == 2
    assert chunk_document(doc, rule) == (text, chunks)  # cleaning again changes nothing


def test_pdf_encrypted(tmp_path):
    locked = encrypt_pdf(make_pdf([["secret text"]]), "password")
    assert "encrypted" in error_of(write(tmp_path, "locked.pdf", locked))
    # an owner password only (empty user password) opens without asking
    opened = encrypt_pdf(make_pdf([["open text"]]), "")
    assert load(write(tmp_path, "open.pdf", opened)).text == "open text"


def test_pdf_without_text_layer(tmp_path):
    message = error_of(write(tmp_path, "scan.pdf", make_pdf([[], []])))
    assert "no text layer" in message and "scanned" in message


def test_pdf_damaged(tmp_path):
    assert "PDF" in error_of(write(tmp_path, "broken.pdf", b"%PDF-1.4\nthis is not a pdf at all"))


# --- DOCX ----------------------------------------------------------------------------------------------------

def test_docx_in_document_order(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    document.add_paragraph("First paragraph.")
    table = document.add_table(rows=2, cols=3)
    for (row, col), value in {(0, 0): "Name", (0, 1): "City", (0, 2): "Age", (1, 2): "41"}.items():
        table.cell(row, col).text = value
    table.cell(1, 0).merge(table.cell(1, 1)).text = "Alice in Paris"
    document.add_heading("Details", level=2)
    document.add_paragraph("An item", style="List Bullet")
    document.add_paragraph("")
    document.add_paragraph("Last paragraph.")
    document.save(tmp_path / "report.docx")
    doc = load(tmp_path / "report.docx")
    assert doc.text == ("# Quarterly report\n\nFirst paragraph.\n\n| Name | City | Age |\n| Alice in Paris | 41 |\n\n"
                        "## Details\n\n- An item\n\nLast paragraph.")
    assert doc.title == "Quarterly report"


def test_docx_title_property_and_damaged_file(tmp_path):
    import docx

    document = docx.Document()
    document.core_properties.title = "Official"
    document.add_paragraph("Body")
    document.save(tmp_path / "t.docx")
    assert load(tmp_path / "t.docx").title == "Official"
    assert "not a valid .docx" in error_of(write(tmp_path, "fake.docx", b"PK\x03\x04 not really a zip"))


# --- CSV and JSON --------------------------------------------------------------------------------------------

def test_csv_with_bom_and_semicolons(tmp_path):
    data = "\ufeffname;city;note\nAlice;Paris;\"likes; semicolons\"\nBob;Berlin;\"two\nlines\"\n".encode()
    doc = load(write(tmp_path, "people.csv", data))
    assert doc.text == "name: Alice;city: Paris;note: likes; semicolons\nname: Bob;city: Berlin;note: two lines"
    assert doc.metadata["columns"] == ["name", "city", "note"] and doc.metadata["delimiter"] == ";"


def test_csv_commas_extra_cells_and_header_only(tmp_path):
    doc = load(write(tmp_path, "a.csv", "a,b\n1,2\n3,,5\n"))
    assert doc.text == "a: 1;b: 2\na: 3;column 3: 5"
    assert "empty" in error_of(write(tmp_path, "header.csv", "a,b\n"))


def test_json_renders_key_paths(tmp_path):
    source = '{"name": "Studio", "tags": ["llm", "rag"], "owner": {"name": "Ann", "active": true, "x": null}}'
    doc = load(write(tmp_path, "app.json", source))
    assert doc.text == ("name: Studio\n\ntags[0]: llm\ntags[1]: rag\n\n"
                        "owner.name: Ann\nowner.active: true\nowner.x: null")
    records = load(write(tmp_path, "rows.json", '[{"q": "你好", "a": 1}, {"q": "bye", "a": [] }]'))
    assert records.text == "q: 你好\na: 1\n\nq: bye\na: []"
    assert load(write(tmp_path, "s.json", '"just text"')).text == "just text"


def test_json_invalid_names_line_and_column(tmp_path):
    message = error_of(write(tmp_path, "bad.json", '{\n  "a": 1,\n  "b": oops\n}'))
    assert "invalid JSON at line 3 column 8" in message


def test_json_deeply_nested(tmp_path):
    deep = "[" * 5000 + "]" * 5000
    try:
        doc = load(write(tmp_path, "deep.json", deep))
    except LoaderError as exc:
        assert "deep.json" in str(exc)
    else:
        assert doc.text
