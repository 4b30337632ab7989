"""Cuts cleaned text into chunks that are slices of it (offsets, never rebuilt strings): Dify's split on the
user's separator, then recursive splitting of long pieces with merging and overlap, and parent-child chunks."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence

from studio.core.knowledge import Chunk, LoadedDocument, ProcessRule, Segmentation
from studio.knowledge.cleaner import clean

Span = tuple[int, int]

# Finer and finer boundaries for a piece that is too long; a boundary is where a match ends, so separators
# stay with the text before them. Dify uses ["\n\n", "。", ". ", " ", ""]; lines, the other sentence ends (CJK
# full-width ones included) and clauses sit between, so a chunk breaks inside a sentence only when it must.
_LEVELS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\n[^\S\n]*\n\s*"),  # blank lines: paragraphs
    re.compile(r"\n\s*"),  # lines
    re.compile(r"[.!?…][\"'”’)\]]*[^\S\n]+|[。！？；][\"'”’」』）)\]]*[^\S\n]*"),  # sentences
    re.compile(r"[，、：][^\S\n]*|[,;:][^\S\n]+"),  # clauses
    re.compile(r"[^\S\n]+"),  # words
)
_CHARS = len(_LEVELS)  # the last resort: grapheme-safe character positions
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|([ntr\\]))")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
_AUTOMATIC = ProcessRule.automatic().segmentation


def unescape_separator(separator: str) -> str:
    """`\\n`, `\\t`, `\\r`, `\\\\`, `\\uXXXX` and `\\xXX` as Dify's unicode_escape decoding reads them, without
    re-decoding the rest (unicode_escape would turn non-ASCII separators such as "。" into mojibake)."""

    def replace(match: re.Match[str]) -> str:
        code = match.group(1) or match.group(2)
        return chr(int(code, 16)) if code else _SIMPLE_ESCAPES[match.group(3)]

    return _ESCAPE.sub(replace, separator)


def split(text: str, rule: ProcessRule) -> list[Chunk]:
    """Chunks of `text` by `rule`: parents with children in hierarchical mode, flat chunks otherwise."""
    if rule.mode == "automatic":
        spans: list[Span] = []
        _split_long(text, 0, len(text), 0, _AUTOMATIC.max_tokens, _AUTOMATIC.chunk_overlap, spans)
        return _chunks(text, spans)
    if rule.mode != "hierarchical":
        return _chunks(text, _segment(text, 0, len(text), rule.segmentation))
    if rule.parent_mode == "full-doc":
        whole: list[Span] = []
        _add_trimmed(text, 0, len(text), whole)
        parents = _chunks(text, whole)
    else:
        parents = _chunks(text, _segment(text, 0, len(text), rule.segmentation))
    for parent in parents:
        parent.children = _chunks(text, _segment(text, parent.start, parent.end, rule.subchunk_segmentation))
    return [parent for parent in parents if parent.children]


def clean_document(doc: LoadedDocument, rule: ProcessRule) -> LoadedDocument:
    """The document with its text cleaned; a PDF's `page_starts` are moved to match the cleaned text."""
    starts = doc.metadata.get("page_starts")
    if not starts:
        return LoadedDocument(clean(doc.text, rule), doc.title, doc.source, dict(doc.metadata))
    bounds = [0, *starts[1:], len(doc.text)]
    pieces: list[str] = []
    new_starts: list[int] = []
    position = 0
    for start, end in zip(bounds, bounds[1:]):  # page by page, so each page's new start is known
        new_starts.append(position)
        piece = clean(doc.text[start:end], rule)
        pieces.append(piece)
        position += len(piece)
    return LoadedDocument("".join(pieces), doc.title, doc.source, {**doc.metadata, "page_starts": new_starts})


def chunk_document(doc: LoadedDocument, rule: ProcessRule) -> tuple[str, list[Chunk]]:
    """Clean then split; returns the cleaned text, which the chunks' offsets refer to.

    The document is cleaned in place as well (its text, and a PDF's `page_starts`), so `doc.metadata` stays
    true of the text that is returned and stored with the chunks; cleaning twice changes nothing."""
    cleaned = clean_document(doc, rule)
    doc.text, doc.metadata = cleaned.text, cleaned.metadata
    return cleaned.text, split(cleaned.text, rule)


def page_of(offset: int, page_starts: Sequence[int]) -> int:
    """The 1-based page that holds character `offset`, given a document's `page_starts`."""
    return max(1, bisect.bisect_right(page_starts, offset))


def _chunks(text: str, spans: list[Span]) -> list[Chunk]:
    return [Chunk(text[start:end], start, end) for start, end in spans]


def _add_trimmed(text: str, start: int, end: int, out: list[Span]) -> None:
    """Append the span without its surrounding whitespace (by moving offsets), unless nothing is left."""
    piece = text[start:end]
    body = piece.lstrip()
    if body:
        start += len(piece) - len(body)
        end = start + len(body.rstrip())
        if not out or start > out[-1][0] and end > out[-1][1]:
            out.append((start, end))
        elif start == out[-1][0] and end > out[-1][1]:  # the last chunk lies inside this one
            out[-1] = (start, end)
        # else this one lies inside the last chunk (a tail of trimmed whitespace): it adds nothing


def _segment(text: str, start: int, end: int, seg: Segmentation) -> list[Span]:
    """Dify's custom splitting, then neighbours merged: pieces between separators that together fit in
    max_tokens share a chunk (Dify keeps each one alone, so a heading becomes a chunk of its own that matches
    queries but answers nothing); longer pieces are split recursively."""
    return _merge_neighbours(text, _separated(text, start, end, seg), seg.max_tokens)


def _merge_neighbours(text: str, spans: list[Span], size: int) -> list[Span]:
    merged: list[Span] = []
    for span in spans:
        if merged and span[1] - merged[-1][0] <= size and span[0] >= merged[-1][1]:
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
    return merged


def _separated(text: str, start: int, end: int, seg: Segmentation) -> list[Span]:
    """Every piece between two separators, trimmed; a piece longer than max_tokens split recursively."""
    separator = unescape_separator(seg.separator)
    spans: list[Span] = []
    position = start
    for piece in text[start:end].split(separator) if separator else [text[start:end]]:
        body = piece.strip()
        if body:
            piece_start = position + len(piece) - len(piece.lstrip())
            if len(body) <= seg.max_tokens:
                spans.append((piece_start, piece_start + len(body)))
            else:
                _split_long(text, piece_start, piece_start + len(body), 0, seg.max_tokens, seg.chunk_overlap, spans)
        position += len(piece) + len(separator)
    return spans


def _split_long(text: str, start: int, end: int, level: int, size: int, overlap: int, out: list[Span]) -> None:
    """Langchain's recursive splitting on offsets: cut at the first level of boundary the span contains, merge
    the pieces that fit, and go one level finer for the pieces that don't."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end - start <= size:
        if start < end:
            out.append((start, end))
        return
    cuts: list[int] = []
    while level < _CHARS:
        cuts = [m.end() for m in _LEVELS[level].finditer(text, start, end) if start < m.end() < end]
        if cuts:
            break
        level += 1
    if not cuts:
        _split_chars(text, start, end, size, overlap, out)
        return
    bounds = [start, *cuts, end]
    good: list[Span] = []
    for piece in zip(bounds, bounds[1:]):
        if piece[1] - piece[0] <= size:
            good.append(piece)
            continue
        if good:
            _merge(text, good, size, overlap, out)
            good = []
        _split_long(text, piece[0], piece[1], level + 1, size, overlap, out)
    if good:
        _merge(text, good, size, overlap, out)


def _merge(text: str, pieces: list[Span], size: int, overlap: int, out: list[Span]) -> None:
    """Greedily pack contiguous pieces (each ≤ size) into spans ≤ size. After the first, a span starts at a
    boundary inside the last `overlap` characters of the one before, so overlap never exceeds it."""
    count = len(pieces)
    chunk_start = pieces[0][0]
    index = 0
    while index < count:
        nxt = index + 1
        while nxt < count and pieces[nxt][1] - chunk_start <= size:
            nxt += 1
        chunk_end = pieces[nxt - 1][1]
        _add_trimmed(text, chunk_start, chunk_end, out)
        if nxt >= count:
            return
        low = max(chunk_end - overlap, pieces[nxt][1] - size, chunk_start + 1)
        chunk_start = _overlap_start(text, low, chunk_end, overlap) if overlap and low < chunk_end else chunk_end
        index = nxt


def _overlap_start(text: str, low: int, high: int, overlap: int) -> int:
    """The earliest boundary in [low, high) of the coarsest kind present, ignoring ones that would leave an
    overlap too small to carry context; `high` (no overlap) rather than a cut inside a word."""
    latest = high - max(1, overlap // 4)
    if latest < low:
        return high
    for pattern in _LEVELS:
        for match in pattern.finditer(text, low, high):
            if low < match.end() <= latest:
                return match.end()
            if match.end() > latest:
                break
    match = _CJK.search(text, low, latest + 1)
    if match and (match.start() > low or _CJK.match(text, low - 1)):
        return match.start()
    return high


def _split_chars(text: str, start: int, end: int, size: int, overlap: int, out: list[Span]) -> None:
    """The last resort for a span with no boundary at all (a long URL, unpunctuated CJK): cut at `size`
    characters, moved back so no grapheme (surrogate pair, combining sequence, jamo, emoji sequence) is cut.
    Every chunk must end past the one before; when a long grapheme prevents that, the overlap shrinks."""
    position = last_cut = start
    while end - position > size:
        cut = _safe_before(text, position + size, last_cut + 1)
        while cut is None and position < last_cut:
            position = _safe_after(text, position + 1, last_cut)
            if end - position <= size:
                break
            cut = _safe_before(text, position + size, last_cut + 1)
        if end - position <= size:
            break
        if cut is None:  # one grapheme longer than a chunk: it has to be cut
            cut = position + size
        _add_trimmed(text, position, cut, out)
        last_cut = cut
        position = _safe_after(text, max(cut - overlap, position + 1), cut)
    _add_trimmed(text, position, end, out)


def _safe_before(text: str, high: int, low: int) -> int | None:
    for index in range(high, low - 1, -1):
        if _safe_cut(text, index):
            return index
    return None


def _safe_after(text: str, low: int, high: int) -> int:
    for index in range(low, high):
        if _safe_cut(text, index):
            return index
    return high


def _safe_cut(text: str, index: int) -> bool:
    """Whether cutting between text[index-1] and text[index] keeps every grapheme whole."""
    char, before = text[index], text[index - 1]
    code = ord(char)
    if 0xDC00 <= code <= 0xDFFF or 0xD800 <= ord(before) <= 0xDBFF:  # surrogates (only in lone-surrogate text)
        return False
    if char == "\u200d" or before == "\u200d" or (before == "\r" and char == "\n"):
        return False
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or 0x1F3FB <= code <= 0x1F3FF:
        return False  # variation selectors, emoji skin tones
    if 0x1160 <= code <= 0x11FF or 0xD7B0 <= code <= 0xD7FF:  # Hangul vowel and final jamo (NFD Korean)
        return False
    if 0xE0020 <= code <= 0xE007F:  # emoji tag sequences (flags of regions)
        return False
    if 0x1F1E6 <= code <= 0x1F1FF and 0x1F1E6 <= ord(before) <= 0x1F1FF:
        return False  # regional indicators come in pairs; an odd run is cut unsafely only in broken text
    return unicodedata.category(char) not in ("Mn", "Mc", "Me")
