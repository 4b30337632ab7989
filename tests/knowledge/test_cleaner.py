"""Dify's cleaning rules, and the places where Studio deliberately differs."""

from __future__ import annotations

import time

from studio.core.knowledge import ProcessRule
from studio.knowledge.cleaner import clean
from tests.knowledge.support import corpus_files

RAW = ProcessRule(remove_extra_spaces=False, remove_urls_emails=False)
SPACES = ProcessRule(remove_extra_spaces=True)
URLS = ProcessRule(remove_extra_spaces=False, remove_urls_emails=True)


def test_always_on_cleaning():
    text = "a<|im_start|>b\x00c\x07d\x1be\x7ff\ufffeg\u0085h\tkeep\nline\r\nwin\rmac"
    assert clean(text, RAW) == "a<im_start>bcdefgh\tkeep\nline\nwin\nmac"


def test_letters_dify_would_eat_are_kept():
    # Dify's class [\xEF\xBF\xBE] (meant as the bytes of U+FFFE) deletes these letters from str text
    assert clean("naïve ¿qué? ¾", RAW) == "naïve ¿qué? ¾"


def test_remove_extra_spaces():
    text = "a  b\t\tc\u3000\u3000d  \n\n\n\ne\n \n \n f"
    assert clean(text, SPACES) == "a b c d \n\ne\n\n f"
    assert clean(text, RAW) == text


def test_remove_urls_and_emails_keeps_markdown_links():
    text = ("Mail ann.lee+kb@mail.example.com or see https://example.com/a?b=1. "
            "[docs](https://docs.example.com/x) ![shot](https://img.example.com/s.png) "
            "[https://a.example](https://a.example) [write](mailto:bob@example.org) <https://auto.example> end")
    assert clean(text, URLS) == (
        "Mail  or see . [docs](https://docs.example.com/x) ![shot](https://img.example.com/s.png) "
        "[https://a.example](https://a.example) [write](mailto:bob@example.org)  end")


def test_urls_then_spaces():
    rule = ProcessRule(remove_extra_spaces=True, remove_urls_emails=True)
    assert clean("see https://x.example/y here, or a@b.co now", rule) == "see here, or now"


def test_corpus_cleans_fast():
    files = corpus_files()
    text = "".join(p.read_text(encoding="utf-8") for p in files)
    rule = ProcessRule(remove_extra_spaces=True, remove_urls_emails=True)
    start = time.process_time()
    cleaned = clean(text, rule)
    assert time.process_time() - start < 1.5  # about 0.25 s for 7 MB on one core
    assert "](" in cleaned and "https://" in cleaned  # markdown links survive
