"""Markup to retrieval text: Markdown/MDX (front matter → metadata, JSX and HTML tags dropped, their text and
code blocks kept) and HTML (stdlib parser: no scripts or styles, a line per block element)."""

from __future__ import annotations

import datetime
import html
import re
from html.parser import HTMLParser
from typing import Any

import yaml

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.S | re.M)
_FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})")
_H1 = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.M)
_COMMENTS = re.compile(r"\{/\*.*?\*/\}|<!--.*?-->", re.S)
# MDX ESM: an import/export statement runs to the next blank line.
_ESM = re.compile(r"^(?:import\s+[\w*{'\"]|export\s+(?:const|let|var|function|default|class|async|\{|\*))"
                  r"[^\n]*(?:\n(?![ \t]*\n)[^\n]*)*", re.M)
_VALUE = r"""(?:"[^"]*"|'[^']*'|\{(?:[^{}]|\{[^{}]*\})*\}|[^\s"'=<>`{}]+)"""  # "x", 'x', {expr}, bare
_ATTRS = r"""(?:\s+(?:[^\s"'{}<>/=]+(?:\s*=\s*""" + _VALUE + r""")?|\{[^{}]*\}))*"""
# Inline code is matched first and kept, so `<Note>` written as code survives.
_TAG = re.compile(r"(?P<code>`[^`\n]+`)|<(?P<close>/)?(?P<name>[A-Za-z][\w.:-]*)(?P<attrs>" + _ATTRS + r")\s*/?>")
_ENTITY = re.compile(r"(?P<code>`[^`\n]+`)|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_TABLE_ROW = re.compile(r"<tr\b.*?</tr\s*>\s*", re.S | re.I)
_TABLE_PARTS = frozenset("table thead tbody tfoot tr".split())
_LABEL_ATTR = re.compile(r"""\b(?:title|label|path|query|body|header)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_WHITESPACE = re.compile(r"\s+")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_BLANK_RUNS = re.compile(r"\n{3,}")
_INLINE_HTML = frozenset("a abbr b bdi bdo cite code del dfn em font i ins kbd mark q s samp small span strike strong "
                         "sub sup time u var wbr".split())
_BLOCK_HTML = frozenset("address article aside blockquote br caption center dd details dialog div dl dt fieldset "
                        "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr iframe img input label legend li "
                        "main nav ol option p picture pre section select source summary table tbody td textarea "
                        "tfoot th thead tr ul video audio button".split())


def plain_metadata(value: Any) -> Any:
    """YAML values made JSON-safe (dates as ISO strings), so metadata can be stored anywhere."""
    if isinstance(value, dict):
        return {str(k): plain_metadata(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_metadata(v) for v in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """YAML front matter as a dict, and the text after it; text that only looks like front matter stays."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, text
    if not isinstance(data, dict):
        return {}, text
    return plain_metadata(data), text[match.end():]


def markdown_to_text(text: str, mdx: bool) -> tuple[str, str | None]:
    """Markdown (after front matter) → text for retrieval, and the first `# ` heading outside code, if any.
    Code blocks are kept verbatim; elsewhere comments, JSX/HTML tags and (MDX) import/export lines go."""
    out: list[str] = []
    prose: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        if fence is None:
            opened = _FENCE.match(line)
            if opened:
                fence = opened.group(1)
                out.append(_prose("\n".join(prose), mdx))
                prose = []
                out.append(line)
            else:
                prose.append(line)
        else:
            out.append(line)
            stripped = line.strip()
            if stripped.startswith(fence) and stripped == fence[0] * len(stripped):
                fence = None
    if prose:
        out.append(_prose("\n".join(prose), mdx))
    result = "\n".join(out)
    return result, _first_heading(result)


def _first_heading(text: str) -> str | None:
    fence: str | None = None
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if opened and fence is None:
            fence = opened.group(1)
        elif fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence) and stripped == fence[0] * len(stripped):
                fence = None
        elif line.startswith("#"):
            match = _H1.match(line)
            if match:
                return " ".join(match.group(1).split()) or None
    return None


def _prose(text: str, mdx: bool) -> str:
    if not text:
        return text
    if "<!--" in text or "{/*" in text:
        text = _COMMENTS.sub("", text)
    if mdx and ("import" in text or "export" in text):
        text = _ESM.sub("", text)
    if "<" in text:
        if "<tr" in text:  # an HTML table row becomes one line, as a Markdown table row would be
            text = _TABLE_ROW.sub(lambda m: " ".join(m.group().split()) + "\n", text)
        text = _TAG.sub(_replace_tag, text)
    if "&" in text:
        text = _ENTITY.sub(_unescape, text)
    return text


def _unescape(match: re.Match[str]) -> str:
    return match.group("code") or html.unescape(match.group())


def _replace_tag(match: re.Match[str]) -> str:
    if match.group("code"):
        return match.group("code")
    name = match.group("name")
    if name[0].isupper():  # a JSX component: keep its title-like attributes as a line of text
        found = [] if match.group("close") else _LABEL_ATTR.findall(match.group("attrs") or "")
        labels = [label for pair in found for label in pair if label.strip()]
        return "\n" + "\n".join(labels) + "\n" if labels else " "  # a space: `base.<Note>Members`
    lower = name.lower()
    if lower in _INLINE_HTML:
        return " " if lower in ("sup", "sub") else ""
    if lower in _BLOCK_HTML:
        if lower in ("td", "th"):
            return "" if match.group("close") else " | "
        if lower in _TABLE_PARTS:  # rows end with the newline the row pass put there
            return ""
        return "\n"
    return match.group()  # not markup (e.g. `Array<string>` in prose): leave it


class _HtmlText(HTMLParser):
    """Collects text: paragraphs are separated by blank lines, list items and rows start lines, headings
    become `#` lines, script/style are skipped, <pre> keeps its whitespace."""

    SKIP = frozenset("script style noscript template svg iframe object canvas".split())
    PARAGRAPHS = frozenset("address article aside blockquote caption center details dialog div dl fieldset figure "
                           "footer form header hr main nav ol p pre section table ul h1 h2 h3 h4 h5 h6".split())
    LINES = frozenset("br dd dt figcaption li option summary tr legend".split())

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.description = ""
        self.first_h1 = ""
        self._skip = 0
        self._pre = 0
        self._in_title = False
        self._in_h1 = False
        self._newlines = 2  # trailing newlines of the output; the start counts as a paragraph break

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag == "meta":
            values = dict(attrs)
            if (values.get("name") or "").lower() == "description":
                self.description = (values.get("content") or "").strip()
        if tag in self.SKIP:
            self._skip += 1
            return
        self._block(tag)
        if tag == "pre":
            self._pre += 1
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self._emit("#" * int(tag[1]) + " ")
            self._in_h1 = tag == "h1" and not self.first_h1
        elif tag == "li":
            self._emit("- ")
        elif tag in ("td", "th") and not self._newlines:
            self._emit(" | ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in self.SKIP:
            self._skip = max(0, self._skip - 1)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self.SKIP:
            self._skip = max(0, self._skip - 1)
        else:
            if tag == "pre":
                self._pre = max(0, self._pre - 1)
            if tag == "h1":
                self._in_h1 = False
            self._block(tag)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if self._skip:
            return
        if not self._pre:
            data = _WHITESPACE.sub(" ", data)
            if self._newlines:
                data = data.lstrip()
        if self._in_h1:
            self.first_h1 += data
        self._emit(data)

    def _block(self, tag: str) -> None:
        wanted = 2 if tag in self.PARAGRAPHS else 1 if tag in self.LINES else 0
        if wanted > self._newlines:
            self.parts.append("\n" * (wanted - self._newlines))
            self._newlines = wanted

    def _emit(self, data: str) -> None:
        if data:
            self.parts.append(data)
            stripped = data.rstrip("\n")
            self._newlines = len(data) - len(stripped) if stripped else self._newlines + len(data)

    def text(self) -> str:
        joined = _TRAILING_SPACE.sub("\n", "".join(self.parts))
        return _BLANK_RUNS.sub("\n\n", joined).strip()


def html_to_text(source: str) -> tuple[str, str, dict[str, Any]]:
    """HTML → (text, title or "", metadata)."""
    parser = _HtmlText()
    parser.feed(source)
    parser.close()
    title = " ".join(parser.title.split()) or " ".join(parser.first_h1.split())
    metadata = {"description": parser.description} if parser.description else {}
    return parser.text(), title, metadata
