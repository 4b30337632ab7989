"""The whole shared corpus (English, Chinese and Korean Markdown/MDX): loading, and splitting properties under
Dify's default, automatic and small rules, plus speed."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from studio.core.knowledge import LoadedDocument, ProcessRule, Segmentation
from studio.knowledge.cleaner import clean
from studio.knowledge.loaders import load
from studio.knowledge.splitter import split
from tests.knowledge.support import language
from tests.knowledge.test_splitter import check

SMALL = ProcessRule(segmentation=Segmentation(max_tokens=100, chunk_overlap=30))
RULES = {"default": ProcessRule(), "automatic": ProcessRule.automatic(), "small": SMALL}


@pytest.fixture(scope="module")
def documents(corpus) -> list[tuple[str, LoadedDocument]]:
    return [(language(path), load(path)) for path in corpus]


@pytest.fixture(scope="module")
def cleaned(documents) -> dict[str, list[tuple[str, str]]]:
    return {name: [(lang, clean(doc.text, rule)) for lang, doc in documents] for name, rule in RULES.items()}


def test_every_corpus_file_loads(documents):
    assert Counter(lang for lang, _ in documents) == {"en": 287, "zh": 287, "ko": 78}
    assert all(doc.title and doc.text.strip() for _, doc in documents)
    assert sum("description" in doc.metadata for _, doc in documents) > 300


@pytest.mark.parametrize("name", list(RULES))
def test_splitting_invariants_over_the_corpus(cleaned, name):
    rule = RULES[name]
    segmentation = ProcessRule.automatic().segmentation if name == "automatic" else rule.segmentation
    size, overlap = segmentation.max_tokens, segmentation.chunk_overlap
    total = 0
    for _, text in cleaned[name]:
        chunks = split(text, rule)
        check(text, chunks, size, overlap)
        total += len(chunks)
    assert total > 5000


def test_hierarchical_over_the_corpus(cleaned):
    paragraph = ProcessRule(mode="hierarchical")
    full_doc = ProcessRule(mode="hierarchical", parent_mode="full-doc")
    for _, text in cleaned["default"][::3]:
        parents = split(text, paragraph)
        check(text, parents, 500, 50)
        for parent in parents:
            check(text, parent.children, 200, 0, "\n", within=parent)
        [whole] = split(text, full_doc)
        assert whole.content == text.strip()
        check(text, whole.children, 200, 0, "\n", within=whole)


def _inside_run(text: str, index: int) -> int:
    """Length of the whitespace-free run around a cut at `index`."""
    start, end = index, index
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return end - start


def _cuts(texts, rule):
    for lang, text in texts:
        for chunk in split(text, rule):
            yield lang, text, chunk


def test_chinese_breaks_at_sentence_ends(cleaned):
    rule = ProcessRule(segmentation=Segmentation(max_tokens=100, chunk_overlap=0))
    ends = Counter()
    for lang, text, chunk in _cuts((t for t in cleaned["default"] if t[0] == "zh"), rule):
        end = chunk.end
        if end < len(text) and not text[end].isspace():  # a cut inside a line
            ends[chunk.content[-1]] += 1
            if "\u4e00" <= text[end - 1] <= "\u9fff" and "\u4e00" <= text[end] <= "\u9fff":
                assert "。" not in chunk.content, "cut between two Han characters although a sentence end was there"
    assert ends.most_common(1)[0][0] == "。"


@pytest.mark.parametrize("lang, is_letter", [
    ("ko", lambda c: "\uac00" <= c <= "\ud7a3"), ("en", lambda c: c.isascii() and c.isalnum())])
def test_words_are_cut_only_when_longer_than_a_chunk(cleaned, lang, is_letter):
    """Korean and English break at spaces; a cut between two letters happens only inside a space-free run
    (a long URL) that is itself longer than a chunk."""
    for name in ("small", "automatic"):
        rule = RULES[name]
        size = 500 if name == "automatic" else rule.segmentation.max_tokens
        for _, text, chunk in _cuts((t for t in cleaned[name] if t[0] == lang), rule):
            for index in (chunk.start, chunk.end):
                if 0 < index < len(text) and is_letter(text[index - 1]) and is_letter(text[index]):
                    assert _inside_run(text, index) > size, text[index - 40:index + 40]


def test_corpus_splits_fast(cleaned):
    texts = [text for _, text in cleaned["default"]]
    for rule in (ProcessRule(), ProcessRule.automatic()):
        start = time.process_time()
        for text in texts:
            split(text, rule)
        assert time.process_time() - start < 1.5  # about 0.05-0.1 s for 4.6 M characters on one core
