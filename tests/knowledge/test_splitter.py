"""The splitter on small texts and random ones: offsets, sizes, overlap, separators, hierarchies, graphemes."""

from __future__ import annotations

import random
import unicodedata

import pytest
from pydantic import ValidationError as PydanticValidationError

from studio.core.errors import ValidationError
from studio.core.knowledge import Chunk, ProcessRule, Segmentation
from studio.knowledge.splitter import split, unescape_separator


def custom(max_tokens: int = 100, overlap: int = 0, separator: str = "\n\n") -> ProcessRule:
    return ProcessRule(segmentation=Segmentation(separator=separator, max_tokens=max_tokens, chunk_overlap=overlap))


def unbreakable(text: str, index: int) -> bool:
    """Cutting before text[index] would split a grapheme (checked independently of the splitter's code)."""
    if index <= 0 or index >= len(text):
        return False
    char, before = text[index], text[index - 1]
    return (unicodedata.category(char) in ("Mn", "Mc", "Me") or "\u1160" <= char <= "\u11ff"
            or "\udc00" <= char <= "\udfff" or char == "\u200d" or before == "\u200d"
            or "\ufe00" <= char <= "\ufe0f" or "\U0001f3fb" <= char <= "\U0001f3ff"
            or ("\U0001f1e6" <= before <= "\U0001f1ff" and "\U0001f1e6" <= char <= "\U0001f1ff"))


def check(text: str, chunks: list[Chunk], max_tokens: int, overlap: int, separator: str = "",
          within: Chunk | None = None) -> None:
    """Offsets, size, order, overlap bound, whole graphemes, and coverage: every character outside the chunks
    is whitespace or part of the separator (which, as in Dify, belongs to no chunk). Children are checked
    `within` their parent."""

    def uncovered(gap: str) -> str:
        return (gap.replace(unescape_separator(separator), "") if separator else gap).strip()

    covered_to, end = (within.start, within.end) if within else (0, len(text))
    for index, chunk in enumerate(chunks):
        assert text[chunk.start:chunk.end] == chunk.content
        assert chunk.content and chunk.content == chunk.content.strip()
        assert len(chunk.content) <= max_tokens
        assert not unbreakable(text, chunk.start) and not unbreakable(text, chunk.end)
        if index:
            previous = chunks[index - 1]
            assert previous.start < chunk.start and previous.end < chunk.end
            assert previous.end - chunk.start <= overlap
        assert not uncovered(text[covered_to:chunk.start]), f"uncovered: {text[covered_to:chunk.start]!r}"
        covered_to = max(covered_to, chunk.end)
    assert not uncovered(text[covered_to:end])


# --- Dify's rules --------------------------------------------------------------------------------------------

def test_separator_pieces_that_fit_together_share_a_chunk():
    text = "Title\n\nFirst paragraph here.\n\n\n\nSecond one.\n"
    chunks = split(text, custom())
    assert [c.content for c in chunks] == [text.strip()]  # Dify would make "Title" a chunk of its own
    check(text, chunks, 100, 0)
    long = "Title\n\n" + "a" * 40 + "\n\n" + "b" * 40
    assert [c.content for c in split(long, custom(max_tokens=50))] == ["Title\n\n" + "a" * 40, "b" * 40]


@pytest.mark.parametrize("separator", ["\\n\\n", "\n\n"])
def test_escaped_separator(separator):
    one, three = "one two " * 4 + "\n" + "two " * 5, "three " * 8
    text = f"{one}\n\n{three}"
    assert [c.content for c in split(text, custom(max_tokens=60, separator=separator))] == [
        one.strip(), three.strip()]


def test_unescape_separator_keeps_other_text():
    assert unescape_separator("\\n") == "\n" and unescape_separator("\\t|\\r\\\\") == "\t|\r\\"
    assert unescape_separator("\\u3002") == "。" and unescape_separator("。") == "。"
    assert unescape_separator("***") == "***" and unescape_separator("é\\n") == "é\n"


def test_non_ascii_separator():
    parts = ["第一句" * 10, "第二句" * 10, "第三句" * 10]
    text = "。".join(parts)
    chunks = split(text, custom(max_tokens=50, separator="。"))
    assert [c.content for c in chunks] == parts
    check(text, chunks, 50, 0, "。")


def test_empty_separator_merges_up_to_the_size():
    text = " ".join(f"word{i}." for i in range(60))
    chunks = split(text, custom(max_tokens=50, separator=""))
    assert all(c.content.endswith(".") for c in chunks) and len(chunks) > 5
    check(text, chunks, 50, 0)


def test_long_pieces_split_at_sentences_then_words():
    text = "Alpha beta gamma. " * 10 + "x" * 10
    chunks = split(text, custom(max_tokens=60))
    assert [c.content for c in chunks[:2]] == ["Alpha beta gamma. Alpha beta gamma. Alpha beta gamma."] * 2
    check(text, chunks, 60, 0)


def test_words_are_never_glued_or_cut():
    words = [f"w{i:03d}" for i in range(200)]
    text = " ".join(words)
    chunks = split(text, custom(max_tokens=50, overlap=12))
    assert all(set(c.content.split()) <= set(words) for c in chunks)
    assert {w for c in chunks for w in c.content.split()} == set(words)
    check(text, chunks, 50, 12)


def test_overlap_starts_at_a_boundary_inside_the_tail():
    text = " ".join(f"token{i}" for i in range(100))
    chunks = split(text, custom(max_tokens=60, overlap=20))
    overlaps = [a.end - b.start for a, b in zip(chunks, chunks[1:])]
    assert all(5 <= o <= 20 for o in overlaps), overlaps
    assert all(text[c.start - 1] == " " for c in chunks[1:])
    check(text, chunks, 60, 20)


def test_chinese_splits_at_sentence_ends():
    random.seed(7)
    han = [chr(c) for c in range(0x4E00, 0x4E00 + 500)]
    sentences = ["".join(random.choices(han, k=random.randint(10, 40))) + "。" for _ in range(80)]
    text = "".join(sentences)
    chunks = split(text, custom(max_tokens=100))
    assert len(chunks) > 10 and all(c.content.endswith("。") for c in chunks[:-1])
    check(text, chunks, 100, 0)


def test_chinese_without_punctuation_and_korean():
    han = "".join(chr(0x4E00 + i % 300) for i in range(450))
    check(han, split(han, custom(max_tokens=100, overlap=10)), 100, 10)
    korean = " ".join(["안녕하세요", "리액트", "컴포넌트를", "만듭니다"] * 40)
    chunks = split(korean, custom(max_tokens=60, overlap=15))
    assert all(c.content.split()[0] in korean.split() and c.content.split()[-1] in korean.split() for c in chunks)
    check(korean, chunks, 60, 15)


def test_graphemes_are_not_cut_at_the_character_level():
    decomposed = unicodedata.normalize("NFD", "한국어텍스트" * 30)  # jamo sequences, no spaces
    accents = "e\u0301\u0323" * 80
    emoji = "👨\u200d👩\u200d👧👍🏽🇫🇷❤\ufe0f" * 20
    astral = "𝒳𝒴𝒵🙂" * 60
    for text in (decomposed, accents, emoji, astral):
        for overlap in (0, 7):
            check(text, split(text, custom(max_tokens=50, overlap=overlap)), 50, overlap)


def test_automatic_mode_is_recursive_500_50():
    text = "\n\n".join(f"Paragraph {i}. " + "Some words here. " * 8 for i in range(40))
    chunks = split(text, ProcessRule.automatic())
    assert 10 < len(chunks) < 20 and max(len(c.content) for c in chunks) > 400
    check(text, chunks, 500, 50)


def test_whitespace_only_text():
    assert split(" \n\n \t ", custom()) == []
    assert split("", ProcessRule.automatic()) == []


# --- hierarchical --------------------------------------------------------------------------------------------

def test_hierarchical_paragraph_parents():
    a1, a2, b1, b2 = "First parent, line one " * 2, "line two " * 4, "Second parent " * 3, "with two lines " * 3
    text = f"{a1}\n{a2}\n\n{b1}\n{b2}"
    rule = ProcessRule(mode="hierarchical", segmentation=Segmentation(separator="\n\n", max_tokens=100),
                       subchunk_segmentation=Segmentation(separator="\n", max_tokens=50, chunk_overlap=0))
    parents = split(text, rule)
    assert [p.content for p in parents] == [f"{a1}\n{a2}".strip(), f"{b1}\n{b2}".strip()]
    assert [[c.content for c in p.children] for p in parents] == [
        [a1.strip(), a2.strip()], [b1.strip(), b2.strip()]]
    for parent in parents:
        assert text[parent.start:parent.end] == parent.content
        for child in parent.children:
            assert parent.start <= child.start < child.end <= parent.end
            assert text[child.start:child.end] == child.content


def test_hierarchical_full_doc():
    text = "  \n" + "\n".join(f"Line {i} of the document, which is long enough." for i in range(50)) + "\n\n"
    rule = ProcessRule(mode="hierarchical", parent_mode="full-doc",
                       subchunk_segmentation=Segmentation(separator="\\n", max_tokens=60, chunk_overlap=0))
    [parent] = split(text, rule)
    assert parent.content == text.strip() and len(parent.children) == 50
    check(text, parent.children, 60, 0, "\n", within=parent)


def test_hierarchical_long_children_are_split():
    text = "word " * 300
    rule = ProcessRule(mode="hierarchical", parent_mode="full-doc",
                       subchunk_segmentation=Segmentation(separator="\n", max_tokens=50, chunk_overlap=10))
    [parent] = split(text, rule)
    check(text, parent.children, 50, 10, within=parent)


# --- validation (Dify's bounds) ------------------------------------------------------------------------------

@pytest.mark.parametrize("values", [
    {"max_tokens": 49}, {"max_tokens": 4001}, {"max_tokens": 100, "chunk_overlap": 100}, {"chunk_overlap": -1}])
def test_bounds(values):
    with pytest.raises(PydanticValidationError):
        Segmentation(**values)


def test_dify_rule_with_bad_bounds():
    with pytest.raises(ValidationError, match="between 50 and 4000"):
        ProcessRule.from_dify({"mode": "custom", "rules": {"segmentation": {"separator": "\\n", "max_tokens": 5000}}})
    rule = ProcessRule.from_dify({"mode": "custom", "rules": {
        "pre_processing_rules": [{"id": "remove_urls_emails", "enabled": True}],
        "segmentation": {"separator": "\\n\\n", "max_tokens": 60, "chunk_overlap": 5}}})
    assert [c.content for c in split("a" * 40 + "\n\n" + "b" * 40, rule)] == ["a" * 40, "b" * 40]


# --- random property test ------------------------------------------------------------------------------------

def _random_text(rng: random.Random) -> str:
    han = [chr(c) for c in range(0x4E00, 0x4E00 + 300)]
    hangul = [chr(c) for c in range(0xAC00, 0xAC00 + 300)]
    parts = []
    for _ in range(rng.randint(20, 200)):
        kind = rng.random()
        if kind < 0.3:
            parts.append("".join(rng.choices("abcdefghij", k=rng.randint(1, 12))))
        elif kind < 0.45:
            parts.append("".join(rng.choices(han, k=rng.randint(1, 30))) + rng.choice(["。", "，", "", "！"]))
        elif kind < 0.55:
            word = "".join(rng.choices(hangul, k=rng.randint(1, 6)))
            parts.append(unicodedata.normalize("NFD", word) if rng.random() < 0.5 else word)
        elif kind < 0.62:
            parts.append("e\u0301" * rng.randint(1, 4) + rng.choice(["👍🏽", "🇯🇵", "👨\u200d👩\u200d👧", "𝒳"]))
        elif kind < 0.7:
            parts.append("x" * rng.randint(40, 400))  # no boundary at all
        else:
            parts.append(rng.choice([" ", "  ", ". ", ", ", "\n", "\n\n", "\n \n", "? ", "\t"]))
    return "".join(parts)


def test_random_texts_keep_every_invariant():
    rng = random.Random(20240601)
    for _ in range(150):
        text = _random_text(rng)
        size = rng.randint(50, 300)
        overlap = rng.choice([0, 0, rng.randint(0, size - 1), rng.randint(0, min(60, size - 1))])
        separator = rng.choice(["\n\n", "\\n", "", "。", " "])
        check(text, split(text, custom(size, overlap, separator)), size, overlap, separator)
    for _ in range(30):
        text = _random_text(rng)
        check(text, split(text, ProcessRule.automatic()), 500, 50)
        rule = ProcessRule(mode="hierarchical", segmentation=Segmentation(max_tokens=200, chunk_overlap=20),
                           subchunk_segmentation=Segmentation(separator="\n", max_tokens=60, chunk_overlap=10))
        parents = split(text, rule)
        check(text, parents, 200, 20)
        for parent in parents:
            check(text, parent.children, 60, 10, "\n", within=parent)
            assert parent.start <= parent.children[0].start and parent.children[-1].end <= parent.end
