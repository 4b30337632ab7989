"""Dify's pre-processing rules: the always-on clean-up, `remove_extra_spaces` and `remove_urls_emails`."""

from __future__ import annotations

import re

from studio.core.knowledge import ProcessRule

# Dify (api/core/rag/cleaner/clean_processor.py) also lists \xEF\xBF\xBE in its control-character class, meaning
# the UTF-8 bytes of U+FFFE; on a str that deletes the letters ï, ¿ and ¾, so only U+FFFE itself goes here.
# C1 controls (\x80-\x9f) go too: they are never text, only mis-decoded bytes.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe]+")
_NEWLINES = re.compile(r"\r\n?")
# Dify's `\n{3,}`, plus blank lines that hold only spaces (so "\n \n \n" collapses as well).
_BLANK_LINES = re.compile(r"\n(?:[ \t\f\u00a0\u3000]*\n){2,}")
_SPACE = "[\t\f\x20\u00a0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000]"
_HSPACE = re.compile(_SPACE + _SPACE + "+")  # Dify's `{2,}`, spelled out: twice as fast in `re`
# Markdown links and images are kept whole (so a URL that is a link's text survives too); autolinks in angle
# brackets and bare http(s) URLs go, without the sentence punctuation that follows them. The "!" of an image
# needs no matching: it is kept as ordinary text, and leaving it out of the pattern keeps the scan fast.
_LINKS_URLS = re.compile(
    r"(?P<md>\[[^\]\n]*\]\([^)\s]*(?:\s+\"[^\"\n]*\")?\))"
    r"|<https?://[^>\s]*>"
    r"|https?://[^\s<>\"]*[^\s<>\".,;:!?)\]}'’”]"
)
# Emails are found from their "@domain" (a literal to search for) and extended back over the local part; a
# regex that starts with the local part's character class tries every letter of the text and is 30x slower.
_EMAIL_DOMAIN = re.compile(r"@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]*[a-zA-Z0-9]")
_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-")


def _drop_emails(text: str) -> str:
    if "@" not in text:
        return text
    parts: list[str] = []
    position = 0
    for match in _EMAIL_DOMAIN.finditer(text):
        start = match.start()
        while start > position and text[start - 1] in _EMAIL_LOCAL:
            start -= 1
        if start < match.start():
            parts.append(text[position:start])
            position = match.end()
    parts.append(text[position:])
    return "".join(parts)


def _drop_urls_emails(text: str) -> str:
    parts: list[str] = []
    position = 0
    for match in _LINKS_URLS.finditer(text):
        parts.append(_drop_emails(text[position:match.start()]))
        if match.group("md"):
            parts.append(match.group())
        position = match.end()
    parts.append(_drop_emails(text[position:]))
    return "".join(parts)


def clean(text: str, rule: ProcessRule) -> str:
    """Apply the always-on clean-up and the rule's optional pre-processing to `text`."""
    text = text.replace("<|", "<").replace("|>", ">")
    if "\r" in text:
        text = _NEWLINES.sub("\n", text)
    text = _CONTROL.sub("", text)
    # URLs go before spaces are squeezed, so the gap a removed URL leaves is squeezed too.
    if rule.remove_urls_emails:
        text = _drop_urls_emails(text)
    if rule.remove_extra_spaces:
        text = _BLANK_LINES.sub("\n\n", text)
        text = _HSPACE.sub(" ", text)
    return text
