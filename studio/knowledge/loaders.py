"""Files → `LoadedDocument`s: text, Markdown/MDX, HTML, PDF, DOCX, CSV and JSON, with every failure turned
into a `LoaderError` that names the file and the problem."""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.core.knowledge import SUPPORTED_EXTENSIONS, LoadedDocument, LoaderError
from studio.knowledge import markup

log = logging.getLogger(__name__)
# pypdf logs its repairs of damaged files as warnings; the user gets one clear message from us instead.
logging.getLogger("pypdf").setLevel(logging.ERROR)

MAX_FILE_BYTES = 100 * 1024 * 1024
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.I)
_NEWLINES = re.compile(r"\r\n?")
Parsed = tuple[str, str, dict[str, Any]]  # text, title ("" = use the file's stem), metadata


def is_supported(path: str | Path) -> bool:
    """Whether `load` reads files with this one's extension."""
    return Path(path).suffix.lower() in SUPPORTED_EXTENSIONS


def load(path: str | Path) -> LoadedDocument:
    """Read one file into a document; raises `LoaderError` for anything that is not a readable document."""
    path = Path(path)
    name = path.name
    extension = path.suffix.lower()
    if extension not in SUPPORTED_EXTENSIONS:
        raise LoaderError(f"{name}: unsupported file type {extension or '(no extension)'}; "
                          f"supported: {', '.join(SUPPORTED_EXTENSIONS)}")
    data = _read(path)
    try:
        text, title, metadata = _PARSERS[extension](data, path)
    except LoaderError:
        raise
    except RecursionError:
        raise LoaderError(f"{name}: the document is nested too deeply to read") from None
    except MemoryError:
        raise LoaderError(f"{name}: the document is too large to read") from None
    except Exception as exc:  # a library's own error for a damaged file must not escape as a crash
        log.debug("loading %s failed", path, exc_info=True)
        raise LoaderError(f"{name}: could not read the file ({type(exc).__name__}: {exc})") from None
    text = _NEWLINES.sub("\n", text) if "\r" in text else text
    if not text.strip():
        raise LoaderError(f"{name}: the document is empty (no text)")
    return LoadedDocument(text=text, title=title or path.stem, source=str(path), metadata=metadata)


def _read(path: Path) -> bytes:
    try:
        if not path.is_file():
            raise LoaderError(f"{path.name}: no such file" if not path.exists() else f"{path.name}: not a file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LoaderError(f"{path.name}: the file is too large ({size / 2**20:.0f} MB; "
                              f"the limit is {MAX_FILE_BYTES // 2**20} MB)")
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError(f"{path.name}: the file is unreadable ({exc.strerror or exc})") from None
    if not data.strip():
        raise LoaderError(f"{path.name}: the document is empty (no text)")
    return data


def decode_text(data: bytes, name: str) -> str:
    """Bytes → str: a BOM (UTF-8/16/32) decides; else UTF-16 without BOM when it looks like it, else UTF-8,
    else what charset-normalizer finds, else cp1252. NUL bytes in anything else mean binary data."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if b"\x00" in data:
        utf16 = _bomless_utf16(data)
        if utf16 is None:
            raise LoaderError(f"{name}: not a text file (it contains binary data)")
        return utf16
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - installed with httpx's usual dependencies
        return data.decode("cp1252", errors="replace")
    matches = from_bytes(data[:1_000_000])
    best = matches.best()
    if best is None or best.encoding is None:
        return data.decode("cp1252", errors="replace")
    # Western European text fits several 8-bit code pages almost equally well (cp1257 and cp1250 often score
    # first for French); cp1252 is by far the likeliest writer of such a file, so it wins a near tie.
    western = next((m for m in matches if m.encoding == "cp1252" and m.chaos <= best.chaos + 0.1), None)
    return data.decode(western.encoding if western else best.encoding, errors="replace")


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 text without a BOM has NULs in every other byte (for Latin script); binary data does not."""
    sample = data[:4096]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2 or 1
    for zeros, others, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros > half * 0.3 and others == 0:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None
            return text if "\x00" not in text else None
    return None


def _text(data: bytes, path: Path) -> Parsed:
    return decode_text(data, path.name), "", {}


def _markdown(data: bytes, path: Path) -> Parsed:
    source = decode_text(data, path.name)
    source = _NEWLINES.sub("\n", source) if "\r" in source else source
    metadata, body = markup.split_front_matter(source)
    text, heading = markup.markdown_to_text(body, mdx=path.suffix.lower() == ".mdx")
    title = metadata.get("title")
    return text, (str(title).strip() if title else "") or heading or "", metadata


def _html(data: bytes, path: Path) -> Parsed:
    source = None
    if not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        declared = _META_CHARSET.search(data[:4096])
        if declared:
            try:
                source = data.decode(declared.group(1).decode("ascii"), errors="replace")
            except LookupError:  # an unknown charset name: detect instead
                source = None
    if source is None:
        source = decode_text(data, path.name)
    return markup.html_to_text(source)


def _csv(data: bytes, path: Path) -> Parsed:
    """Dify's CSVExtractor style: one line per row, `column: value` pairs joined by ";"."""
    source = decode_text(data, path.name)
    sample = source[:16 * 1024]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:  # one column, or too irregular to tell: a comma
        delimiter = ","
    reader = csv.reader(io.StringIO(source, newline=""), delimiter=delimiter)
    try:
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise LoaderError(f"{path.name}: invalid CSV at line {reader.line_num}: {exc}") from None
    if len(rows) < 2:
        raise LoaderError(f"{path.name}: the document is empty (no rows under the header)")
    header = [cell.strip() or f"column {i + 1}" for i, cell in enumerate(rows[0])]
    lines = []
    for row in rows[1:]:
        names = header + [f"column {i + 1}" for i in range(len(header), len(row))]
        pairs = [f"{names[i]}: {' '.join(cell.split())}" for i, cell in enumerate(row) if cell.strip()]
        lines.append(";".join(pairs))
    return "\n".join(lines), "", {"columns": header, "rows": len(rows) - 1, "delimiter": delimiter}


def _json(data: bytes, path: Path) -> Parsed:
    """`key.path: value` lines; each top-level entry (or array item) is a paragraph of its own, so the default
    separator keeps records together."""
    try:
        value = json.loads(decode_text(data, path.name))
    except json.JSONDecodeError as exc:
        raise LoaderError(f"{path.name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if isinstance(value, dict):
        blocks = ["\n".join(_flatten(item, str(key))) for key, item in value.items()]
    elif isinstance(value, list):
        blocks = ["\n".join(_flatten(item, "")) for item in value]
    else:
        blocks = [_scalar(value)]
    return "\n\n".join(block for block in blocks if block), "", {}


def _flatten(value: Any, prefix: str) -> list[str]:
    lines: list[str] = []
    stack: list[tuple[str, Any]] = [(prefix, value)]
    while stack:  # iterative, so deep nesting cannot overflow the stack
        key, item = stack.pop()
        if isinstance(item, dict) and item:
            stack.extend((f"{key}.{k}" if key else str(k), v) for k, v in reversed(item.items()))
        elif isinstance(item, list) and item:
            stack.extend((f"{key}[{i}]", v) for i, v in reversed(list(enumerate(item))))
        else:
            lines.append(f"{key}: {_scalar(item)}" if key else _scalar(item))
    return lines


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _pdf(data: bytes, path: Path) -> Parsed:
    """Text per page, pages joined by blank lines; `page_starts` holds where each page begins in the text."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoaderError(f"{path.name}: the PDF is encrypted (password-protected)")
        pages = reader.pages
        count = len(pages)
    except (FileNotDecryptedError, DependencyError, NotImplementedError) as exc:  # pypdf: unsupported cipher
        raise LoaderError(f"{path.name}: the PDF is encrypted and cannot be opened ({exc})") from None
    except PdfReadError as exc:
        raise LoaderError(f"{path.name}: not a valid PDF ({exc})") from None
    texts = [_page_text(page, index, path) for index, page in enumerate(pages)]
    if not any(text.strip() for text in texts):
        raise LoaderError(f"{path.name}: the PDF has no text layer ({count} page(s), no extractable text; "
                          "is it a scanned document?)")
    starts, position = [], 0
    for text in texts:
        starts.append(position)
        position += len(text) + 2
    info = _pdf_info(reader)
    return "\n\n".join(texts), info.pop("title", ""), {**info, "page_count": count, "page_starts": starts}


def _page_text(page: Any, index: int, path: Path) -> str:
    try:
        text = page.extract_text() or ""
    except Exception:  # one damaged page should not lose the rest of the document
        log.warning("%s: could not extract the text of page %d", path.name, index + 1, exc_info=True)
        return ""
    return _NEWLINES.sub("\n", text).strip()


def _pdf_info(reader: Any) -> dict[str, str]:
    try:
        info = reader.metadata or {}
        found = {"title": info.get("/Title"), "author": info.get("/Author")}
    except Exception:  # a broken info dictionary is not worth failing the document for
        return {}
    return {key: str(value).strip() for key, value in found.items() if value and str(value).strip()}


def _docx(data: bytes, path: Path) -> Parsed:
    """Paragraphs and tables in document order; headings become `#` lines and tables Markdown rows."""
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # not a zip, or a zip that is not a Word document
        raise LoaderError(f"{path.name}: not a valid .docx file ({type(exc).__name__}: {exc})") from None
    blocks: list[str] = []
    heading = ""
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            block = _docx_table(item)
        else:
            block, level = _docx_paragraph(item)
            if level and not heading:
                heading = block.lstrip("# ")
        if block:
            blocks.append(block)
    title = (document.core_properties.title or "").strip() or heading
    author = (document.core_properties.author or "").strip()
    return "\n\n".join(blocks), title, {"author": author} if author else {}


def _docx_paragraph(paragraph: Any) -> tuple[str, int]:
    text = paragraph.text.strip()
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    level = 0
    if style == "Title":
        level = 1
    elif style.startswith("Heading") and style[7:].strip().isdigit():
        level = min(int(style[7:]), 6)
    if text and level:
        return "#" * level + " " + text, level
    if text and style.startswith("List"):
        return "- " + text, 0
    return text, 0


def _docx_table(table: Any) -> str:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a merged cell repeats for every grid column it spans
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


_PARSERS: dict[str, Callable[[bytes, Path], Parsed]] = {
    ".txt": _text, ".md": _markdown, ".markdown": _markdown, ".mdx": _markdown, ".html": _html, ".htm": _html,
    ".pdf": _pdf, ".docx": _docx, ".csv": _csv, ".json": _json,
}
