"""Full-text tokens for any language: what the index stores in its `fts` column and what a query is cut into.

LanceDB's own tokenizers split on spaces and punctuation, which leaves a Chinese or Japanese sentence as one
unsearchable token. So the text is tokenised here and the index only splits on whitespace:

- NFKC, then lower case (full-width Latin and half-width kana become ordinary characters);
- Latin, Cyrillic, digits…: one token per word (the index stems English words itself);
- Han and kana runs: overlapping character bigrams ("知识库" → "知识 识库"), a lone character as itself —
  the classic CJK bigram scheme: any 2+ character query word is found inside an unsegmented sentence, and a
  longer query word becomes a phrase of bigrams;
- Hangul words: the word, then its bigrams. Korean glues particles onto words ("컴포넌트를"), so the bigrams are
  what lets "컴포넌트" match; the whole word rewards an exact form.

The same function cuts documents and queries, so both sides always agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Han (with 々 and 〇), hiragana, katakana (with ー), CJK compatibility and extension ideographs.
_CJ = "\u3005\u3007\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HANGUL = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"
_RUNS = re.compile(rf"([{_CJ}]+)|([{_HANGUL}]+)|([^\W_{_CJ}{_HANGUL}]+)")
_QUOTED = re.compile(r'"([^"]*)"')
# Quote marks that mean "exact phrase" besides the ASCII one (NFKC already maps the full-width ＂ to ").
_QUOTE_MARKS = str.maketrans({"\u201c": '"', "\u201d": '"', "\u300c": '"', "\u300d": '"'})


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _bigrams(run: str) -> list[str]:
    if len(run) < 2:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


def tokens(text: str) -> list[str]:
    """The tokens of `text` in reading order (the order matters: phrase queries match consecutive positions)."""
    out: list[str] = []
    for match in _RUNS.finditer(normalize(text)):
        cj, hangul, word = match.groups()
        if cj:
            out.extend(_bigrams(cj))
        elif hangul:
            out.append(hangul)
            if len(hangul) > 2:
                out.extend(_bigrams(hangul))
        else:
            out.append(word)
    return out


def index_text(text: str) -> str:
    """The value stored in the `fts` column for a chunk's content."""
    return " ".join(tokens(text))


@dataclass
class TextQuery:
    """A user's query cut for the index: `terms` for a BM25 match (any term), `phrases` that must appear as
    written (from double quotes), and `boost_phrase`: the unquoted query as a phrase, so that passages with
    the words together rank above passages with the words scattered."""

    terms: str = ""
    phrases: list[str] = field(default_factory=list)
    boost_phrase: str = ""

    @property
    def empty(self) -> bool:
        return not self.terms and not self.phrases


def parse_query(query: str) -> TextQuery:
    """Split a query into quoted phrases and loose terms, each tokenised like the documents."""
    text = unicodedata.normalize("NFKC", query).translate(_QUOTE_MARKS)
    phrases = [" ".join(tokens(p)) for p in _QUOTED.findall(text)]
    phrases = [p for p in phrases if p]
    loose = tokens(_QUOTED.sub(" ", text).replace('"', " "))
    all_terms = list(dict.fromkeys(loose + [t for p in phrases for t in p.split()]))
    boost = " ".join(loose) if len(loose) > 1 and not phrases else ""
    return TextQuery(terms=" ".join(all_terms), phrases=phrases, boost_phrase=boost)
