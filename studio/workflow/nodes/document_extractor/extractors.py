"""Text out of document bytes, chosen by extension then MIME type as Dify chooses: plain text, markdown, HTML,
JSON, YAML, CSV (as a Markdown table), PDF (pypdf) and DOCX (python-docx, tables as Markdown)."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable

import yaml

log = logging.getLogger(__name__)

PLAIN_EXTENSIONS = frozenset(
    ".txt .markdown .md .mdx .html .htm .xml .c .h .cpp .hpp .cc .cxx .c++ .py .js .ts .jsx .tsx .java .php .rb .go "
    ".rs .swift .kt .scala .sh .bash .bat .ps1 .sql .r .m .pl .lua .vim .asm .s .css .scss .less .sass .ini .cfg "
    ".conf .toml .env .log .vtt".split())


class ExtractionError(Exception):
    """The bytes cannot be read as the document type they claim to be; `error_type` is Dify's class name."""

    def __init__(self, message: str, error_type: str = "TextExtractionError") -> None:
        super().__init__(message)
        self.error_type = error_type


def decode(content: bytes) -> str:
    """UTF-8 (with or without BOM), else the encoding charset-normalizer finds, else UTF-8 ignoring errors."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(content).best()
        if best is not None:
            return str(best)
    except ImportError:  # pragma: no cover - charset-normalizer comes with httpx's usual installs
        pass
    return content.decode("utf-8", errors="ignore")


def plain(content: bytes) -> str:
    return decode(content)


def from_json(content: bytes) -> str:
    try:
        return json.dumps(json.loads(decode(content)), indent=2, ensure_ascii=False)
    except ValueError as exc:
        raise ExtractionError(f"Failed to decode or parse JSON file: {exc}") from None


def from_yaml(content: bytes) -> str:
    try:
        return yaml.dump_all(list(yaml.safe_load_all(decode(content))), allow_unicode=True, sort_keys=False)
    except yaml.YAMLError as exc:
        raise ExtractionError(f"Failed to decode or parse YAML file: {exc}") from None


def from_csv(content: bytes) -> str:
    """A Markdown table; newlines inside cells become spaces."""
    try:
        rows = list(csv.reader(io.StringIO(decode(content))))
    except csv.Error as exc:
        raise ExtractionError(f"Failed to extract text from CSV: {exc}") from None
    if not rows:
        return ""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("\n", " ").replace("\r", "") for c in cells) + " |\n"

    return line(rows[0]) + "| " + " | ".join("-" * len(c) for c in rows[0]) + " |\n" + "".join(map(line, rows[1:]))


def from_pdf(content: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("The PDF is encrypted (password-protected); its text cannot be extracted")
        return "".join(page.extract_text() or "" for page in reader.pages)
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise ExtractionError(f"Failed to extract text from PDF: {exc}") from None
    except Exception as exc:  # pypdf raises assorted errors (e.g. a missing AES backend) for odd files
        raise ExtractionError(f"Failed to extract text from PDF: {type(exc).__name__}: {exc}") from None


def from_docx(content: bytes) -> str:
    """Paragraphs and tables in document order; a table becomes a Markdown table."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(content))
    except Exception as exc:  # not a zip, not a Word document, or damaged
        raise ExtractionError(f"Failed to extract text from DOCX: {type(exc).__name__}: {exc}") from None
    parts: list[str] = []
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            parts.append(Paragraph(block, document).text)
        elif tag == "tbl":
            table = _markdown_table(Table(block, document))
            if table:
                parts.append(table)
    return "\n".join(parts)


def _markdown_table(table) -> str:
    rows = [[cell.text.replace("\n", "<br>") for cell in row.cells] for row in table.rows]
    if not rows or not any(c.strip() for row in rows for c in row):
        return ""
    out = "| " + " | ".join(rows[0]) + " |\n| " + " | ".join(["---"] * len(rows[0])) + " |\n"
    return out + "".join("| " + " | ".join(row) + " |\n" for row in rows[1:])


def from_properties(content: bytes) -> str:
    lines = []
    for line in decode(content).splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "!")):
            lines.append(line)
            continue
        sep = "=" if "=" in line else ":" if ":" in line else None
        key, value = line.split(sep, 1) if sep else (line, "")
        lines.append(f"{key.strip()}: {value.strip()}")
    return "\n".join(lines)


BY_EXTENSION: dict[str, Callable[[bytes], str]] = {
    **{ext: plain for ext in PLAIN_EXTENSIONS}, ".json": from_json, ".yaml": from_yaml, ".yml": from_yaml,
    ".pdf": from_pdf, ".docx": from_docx, ".csv": from_csv, ".properties": from_properties,
}
BY_MIME: dict[str, Callable[[bytes], str]] = {
    "text/plain": plain, "text/html": plain, "text/htm": plain, "text/markdown": plain, "text/xml": plain,
    "application/pdf": from_pdf, "text/csv": from_csv, "application/json": from_json,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": from_docx,
    "application/x-yaml": from_yaml, "text/yaml": from_yaml, "text/properties": from_properties,
}


def extract(content: bytes, extension: str, mime_type: str) -> str:
    """By extension first, else by MIME type (Dify's order); unsupported types are an error."""
    if extension:
        reader = BY_EXTENSION.get(extension.lower())
        if reader is None:
            raise ExtractionError(f"Unsupported Extension Type: {extension}", "UnsupportedFileTypeError")
        return reader(content)
    if mime_type:
        reader = BY_MIME.get(mime_type.split(";")[0].strip().lower())
        if reader is None:
            raise ExtractionError(f"Unsupported MIME type: {mime_type}", "UnsupportedFileTypeError")
        return reader(content)
    raise ExtractionError("Unable to determine file type: MIME type or file extension is missing",
                          "UnsupportedFileTypeError")
