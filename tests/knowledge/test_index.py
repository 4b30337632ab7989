"""The knowledge index: writes, enabled/disabled rows, prefilters, persistence, CJK full-text, phrases,
concurrency, and the tokenizer on its own."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from studio.core.errors import ValidationError
from studio.knowledge import fts_tokens
from studio.knowledge.index import IndexRow, KnowledgeIndex

DIM = 16


def unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture
def rng():
    return np.random.default_rng(42)


@pytest.fixture
def index(tmp_path):
    return KnowledgeIndex(tmp_path / "lancedb", "kb_test", DIM)


def rows(rng, texts: dict[str, str], document_id: str = "d1") -> list[IndexRow]:
    return [IndexRow(sid, document_id, text, unit(rng)) for sid, text in texts.items()]


def ids(hits) -> list[str]:
    return [h.segment_id for h in hits]


# ---- the tokenizer ---------------------------------------------------------------------------------------------

def test_tokens_latin_words_lowercased_and_nfkc():
    assert fts_tokens.tokens("Hello, ＷＯＲＬＤ! retrieval_setting v1.2") == \
        ["hello", "world", "retrieval", "setting", "v1", "2"]


def test_tokens_han_and_kana_become_bigrams():
    assert fts_tokens.tokens("知识库") == ["知识", "识库"]
    assert fts_tokens.tokens("検索する") == ["検索", "索す", "する"]
    assert fts_tokens.tokens("猫") == ["猫"]
    assert fts_tokens.tokens("Dify的知识库") == ["dify", "的知", "知识", "识库"]


def test_tokens_hangul_word_plus_bigrams():
    assert fts_tokens.tokens("컴포넌트를 써요") == ["컴포넌트를", "컴포", "포넌", "넌트", "트를", "써요"]
    assert set(fts_tokens.tokens("컴포넌트")) - {"컴포넌트"} <= set(fts_tokens.tokens("컴포넌트를"))


def test_parse_query_quotes_and_boost():
    q = fts_tokens.parse_query('"Quick Brown" fox')
    assert q.phrases == ["quick brown"] and set(q.terms.split()) == {"quick", "brown", "fox"}
    assert q.boost_phrase == ""
    q = fts_tokens.parse_query("quick brown fox")
    assert q.phrases == [] and q.boost_phrase == "quick brown fox"
    assert fts_tokens.parse_query("「知识库」").phrases == ["知识 识库"]
    assert fts_tokens.parse_query("  ?! ").empty


# ---- the index -------------------------------------------------------------------------------------------------

def test_empty_index_searches_to_nothing(index, rng):
    assert index.count() == 0 and index.segment_ids() == set()
    assert index.vector_search(unit(rng), 5) == []
    assert index.text_search("anything", 5) == []
    index.optimize()
    assert index.text_search("anything", 5) == []


def test_add_and_search(index, rng):
    batch = rows(rng, {"a": "The cat sat on the mat", "b": "Dogs chase cars", "c": "Stock markets fell today"})
    index.add(batch)
    assert index.count() == 3 and index.segment_ids() == {"a", "b", "c"}
    hits = index.vector_search(batch[1].vector, 3)
    assert hits[0].segment_id == "b" and hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert ids(index.text_search("cats", 3)) == ["a"]  # stemmed
    assert ids(index.text_search("market", 3)) == ["c"]
    assert index.text_search("zebra", 3) == []
    got = index.vectors(["a", "c", "missing"])
    assert set(got) == {"a", "c"} and np.allclose(got["a"], batch[0].vector)


def test_delete_enable_disable_update(index, rng):
    index.add(rows(rng, {"a": "alpha text", "b": "beta text"}, "d1") + rows(rng, {"c": "gamma text"}, "d2"))
    index.set_enabled(["a"], False)
    assert ids(index.text_search("alpha", 5)) == []
    assert "a" not in ids(index.vector_search(unit(rng), 5))
    index.set_enabled(["a"], True)
    assert ids(index.text_search("alpha", 5)) == ["a"]
    new_vec = unit(rng)
    index.update_content("b", "delta words now", new_vec)
    assert ids(index.text_search("beta", 5)) == [] and ids(index.text_search("delta", 5)) == ["b"]
    assert index.vector_search(new_vec, 1)[0].segment_id == "b"
    index.delete_segments(["a"])
    assert index.segment_ids() == {"b", "c"}
    index.delete_document("d2")
    assert index.segment_ids() == {"b"}
    index.delete_segments([])
    assert index.count() == 1


def test_update_keeps_disabled_rows_hidden(index, rng):
    index.add([IndexRow("a", "d1", "hidden words", unit(rng), enabled=False)])
    index.update_content("a", "still hidden", unit(rng))
    assert index.text_search("hidden", 5) == [] and index.vector_search(unit(rng), 5) == []


def test_prefilter_by_document_ids(index, rng):
    index.add(rows(rng, {f"a{i}": f"shared word {i}" for i in range(5)}, "d1"))
    index.add(rows(rng, {f"b{i}": f"shared word {i}" for i in range(5)}, "d2"))
    index.add(rows(rng, {"q'1": "shared quote"}, "it's"))
    assert {h.segment_id[0] for h in index.text_search("shared", 20, ["d2"])} == {"b"}
    assert {h.segment_id[0] for h in index.vector_search(unit(rng), 20, ["d1"])} == {"a"}
    assert ids(index.text_search("shared", 20, ["it's"])) == ["q'1"]
    assert index.vector_search(unit(rng), 5, []) == [] and index.text_search("shared", 5, []) == []


def test_persists_across_reopen_and_checks_dimension(tmp_path, rng):
    first = KnowledgeIndex(tmp_path, "kb_p", DIM)
    first.add(rows(rng, {"a": "persistent text"}))
    first.optimize()
    again = KnowledgeIndex(tmp_path, "kb_p", DIM)
    assert again.segment_ids() == {"a"} and ids(again.text_search("persistent", 5)) == ["a"]
    with pytest.raises(ValidationError, match="16-dimensional"):
        KnowledgeIndex(tmp_path, "kb_p", 8)
    with pytest.raises(ValidationError, match="dimensions"):
        again.add([IndexRow("b", "d", "x", np.ones(DIM + 1, np.float32))])
    with pytest.raises(ValidationError):
        again.vector_search(np.ones(3), 5)
    again.drop()
    assert KnowledgeIndex(tmp_path, "kb_p", 8).count() == 0


def test_rows_added_after_optimize_are_found(index, rng):
    index.add(rows(rng, {f"s{i}": f"filler sentence number {i}" for i in range(50)}))
    index.optimize()
    late = rows(rng, {"late": "a freshly added passage about volcanoes"})
    index.add(late)
    assert ids(index.text_search("volcanoes", 5)) == ["late"]
    assert index.vector_search(late[0].vector, 1)[0].segment_id == "late"


def test_chinese_japanese_korean(index, rng):
    index.add(rows(rng, {
        "zh": "在Dify中创建知识库后可以上传文档并进行检索测试",
        "zh2": "工作流由多个节点组成",
        "ja": "ナレッジベースを作成してからドキュメントを検索します",
        "ko": "리액트에서는 컴포넌트를 사용하여 화면을 만듭니다",
        "en": "plain english text about components",
    }))
    assert ids(index.text_search("检索", 5)) == ["zh"]
    assert ids(index.text_search("知识库", 5)) == ["zh"]
    assert ids(index.text_search("節点", 5)) == []  # a different character
    assert ids(index.text_search("検索", 5)) == ["ja"]
    assert ids(index.text_search("ドキュメント", 5)) == ["ja"]
    assert ids(index.text_search("컴포넌트", 5)) == ["ko"]
    assert ids(index.text_search("工作流 节点", 5)) == ["zh2"]


def test_exact_phrase_ranks_first(index, rng):
    index.add(rows(rng, {
        "scattered": "the brown dog was quick and the fox slept; brown quick fox",
        "exact": "we saw a quick brown fox today",
        "partial": "a brown fox",
        "other": "nothing relevant here",
    }))
    for attempt in range(2):  # unindexed, then indexed
        assert ids(index.text_search("quick brown fox", 5))[0] == "exact"
        assert ids(index.text_search('"quick brown fox"', 5)) == ["exact"]
        assert ids(index.text_search('"brown fox"', 5)) == ["exact", "partial"] or \
            set(ids(index.text_search('"brown fox"', 5))) == {"exact", "partial"}
        index.optimize()
    index.add(rows(rng, {"zh": "知识库检索", "zh_far": "知识很多，检索很快，库很大"}))
    assert ids(index.text_search('"知识库"', 5)) == ["zh"]


def test_concurrent_add_and_search(index, rng):
    index.add(rows(rng, {"seed": "seed passage"}))
    vectors = [unit(rng) for _ in range(40)]
    errors: list[BaseException] = []
    done = threading.Event()

    def writer():
        try:
            for i in range(20):
                index.add([IndexRow(f"w{i}-{j}", f"d{i}", f"written passage {i} {j}", vectors[i * 2 + j])
                           for j in range(2)])
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            done.set()

    def reader():
        try:
            while not done.is_set():
                index.vector_search(vectors[0], 5)
                index.text_search("written passage", 5)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and index.count() == 41
    assert len(index.text_search("written", 100)) == 40
    assert index.vector_search(vectors[39], 1)[0].segment_id == "w19-1"


def test_memory_search_matches_lancedb_search_and_follows_writes(index, rng, monkeypatch):
    """Tables within the memory budget are searched exactly in memory; bigger ones go to LanceDB. Both give the
    same ranking, and every write (add, delete, disable) shows in the next memory search."""
    from studio.knowledge import vector_cache

    docs = {f"s{i}": f"passage number {i}" for i in range(300)}
    index.add([IndexRow(sid, f"d{i % 7}", text, unit(rng)) for i, (sid, text) in enumerate(docs.items())])
    queries = [unit(rng) for _ in range(5)]
    memory = [[h.segment_id for h in index.vector_search(q, 10)] for q in queries]
    assert index._cache is not None and len(index._cache) == 300
    monkeypatch.setattr(vector_cache, "MEMORY_BUDGET", 0)
    index._cache = None
    lance = [[h.segment_id for h in index.vector_search(q, 10)] for q in queries]
    assert memory == lance and index._cache is None
    monkeypatch.undo()
    top = memory[0][0]
    index.set_enabled([top], False)
    assert top not in [h.segment_id for h in index.vector_search(queries[0], 10)]
    index.delete_segments([memory[0][1]])
    assert memory[0][1] not in [h.segment_id for h in index.vector_search(queries[0], 10)]
    only = [h.segment_id for h in index.vector_search(queries[1], 50, document_ids=["d3"])]
    assert only and all(int(sid[1:]) % 7 == 3 for sid in only)
    new = IndexRow("fresh", "d9", "a new passage", queries[2])
    index.add([new])
    assert index.vector_search(queries[2], 1)[0].segment_id == "fresh"
    assert set(index.vectors(["fresh", "s5"])) == {"fresh", "s5"}
