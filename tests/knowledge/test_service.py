"""Knowledge service end to end with real parts: corpus files → loaders → chunks → the bundled MiniLM GGUF through
llama.cpp → LanceDB, then semantic, full-text and hybrid search, citations, edits, filters and re-adds."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from studio.core.cancel import CancelToken
from studio.core.errors import NotFoundError, ValidationError
from studio.core.knowledge import DocumentStatus, ProcessRule
from studio.services.citations import resources
from tests.conftest import SHARED

pytestmark = pytest.mark.slow
EN = SHARED / "corpus" / "dify-docs" / "en"
ZH = SHARED / "corpus" / "dify-docs" / "zh"
KO = SHARED / "corpus" / "react-docs-ko"
FILES = ["api-reference_guides_streaming.mdx", "api-reference_guides_errors.mdx",
         "api-reference_guides_end-user-identity.mdx", "api-reference_guides_knowledge.mdx"]


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    """One knowledge base with four English docs, one Chinese and one Korean, shared by the read-only tests."""
    from studio.app import build
    from studio.core.settings import Settings

    root = tmp_path_factory.mktemp("kb")
    docs = root / "docs"
    docs.mkdir()
    for name in FILES:
        shutil.copy(EN / name, docs / name)
    shutil.copy(ZH / FILES[0], docs / ("zh-" + FILES[0]))
    ko = sorted(KO.glob("*.md"))[0]
    shutil.copy(ko, docs / ("ko-" + ko.name))
    services = build(Settings(home=root / "home"))
    dataset = services.knowledge.create("docs")
    plan = services.knowledge.add("docs", [docs])
    assert len(plan.queued) == 6
    report = services.knowledge.ingest("docs")
    assert not report.failed and report.chunks > 20
    yield services, dataset, docs
    services.close()


def test_every_document_is_indexed_with_offsets_into_its_text(kb):
    services, dataset, _ = kb
    docs = services.knowledge.documents("docs")
    assert [d.status for d in docs] == [DocumentStatus.COMPLETED] * 6
    for doc in docs:
        assert doc.segment_count > 0 and doc.indexed_count == doc.segment_count
        text = services.knowledge.document_text(doc.id)
        for seg in services.knowledge.segments(doc.id):
            assert text[seg.start:seg.end] == seg.content
    front = next(d for d in docs if d.name == FILES[0])
    assert front.title and front.doc_metadata.get("description")


@pytest.mark.parametrize("mode", ["semantic_search", "full_text_search", "hybrid_search"])
def test_each_mode_finds_the_document_a_description_describes(kb, mode):
    services, _, _ = kb
    doc = next(d for d in services.knowledge.documents("docs") if d.name == FILES[0])
    records = services.knowledge.search("docs", doc.doc_metadata["description"], mode=mode, top_k=3)
    assert records, mode
    assert records[0].document.id == doc.id
    assert all(0.0 <= r.score <= 1.0 for r in records)
    assert [r.score for r in records] == sorted((r.score for r in records), reverse=True)


def test_citations_carry_difys_fields(kb):
    services, dataset, _ = kb
    records = services.knowledge.search("docs", "streaming events", top_k=2)
    items = resources(records, retriever_from="api")
    assert [i["position"] for i in items] == [1, 2]
    for key in ("dataset_id", "dataset_name", "document_id", "document_name", "data_source_type", "segment_id",
                "retriever_from", "score", "hit_count", "word_count", "segment_position", "index_node_hash",
                "content", "page", "doc_metadata", "title"):
        assert key in items[0], key
    assert items[0]["dataset_name"] == "docs" and items[0]["retriever_from"] == "api"
    assert "page_starts" not in items[0]["doc_metadata"]


def test_chinese_and_korean_full_text_queries_match_without_spaces(kb):
    services, _, _ = kb
    zh = next(d for d in services.knowledge.documents("docs") if d.name.startswith("zh-"))
    # six Chinese characters from the middle of a sentence: no spaces mark word boundaries around them
    run = next(m.group(0)[2:8] for seg in services.knowledge.segments(zh.id)
               for m in re.finditer(r"[\u4e00-\u9fff]{10,}", seg.content))
    assert run in services.knowledge.document_text(zh.id)
    records = services.knowledge.search("docs", run, mode="full_text_search", top_k=5)
    assert records and records[0].document.id == zh.id
    ko = next(d for d in services.knowledge.documents("docs") if d.name.startswith("ko-"))
    word = next(w for seg in services.knowledge.segments(ko.id) for w in seg.content.split()
                if len(w) >= 4 and all("\uac00" <= c <= "\ud7a3" for c in w))
    records = services.knowledge.search("docs", word[:-1] if len(word) > 4 else word, mode="full_text_search")
    assert records and records[0].document.id == ko.id


def test_top_k_and_threshold(kb):
    services, _, _ = kb
    assert len(services.knowledge.search("docs", "API error codes", top_k=1)) == 1
    everything = services.knowledge.search("docs", "API error codes", top_k=10)
    assert len(everything) > 1
    cut = everything[1].score + 1e-6
    kept = services.knowledge.search("docs", "API error codes", top_k=10, score_threshold=cut)
    assert [r.segment.id for r in kept] == [r.segment.id for r in everything if r.score >= cut]


def test_metadata_filter_limits_documents(kb):
    services, _, _ = kb
    only = {"logical_operator": "and",
            "conditions": [{"name": "document_name", "comparison_operator": "is", "value": FILES[1]}]}
    records = services.knowledge.search("docs", "streaming", top_k=5, metadata_conditions=only)
    assert records and {r.document.name for r in records} == {FILES[1]}
    with pytest.raises(ValidationError, match="operator"):
        services.knowledge.search("docs", "x", metadata_conditions={"conditions": [
            {"name": "a", "comparison_operator": "resembles", "value": 1}]})


def test_bad_queries_and_names_are_clear_errors(kb):
    services, _, _ = kb
    with pytest.raises(ValidationError, match="query"):
        services.knowledge.search("docs", "   ")
    with pytest.raises(ValidationError, match="mode"):
        services.knowledge.search("docs", "x", mode="psychic")
    with pytest.raises(NotFoundError):
        services.knowledge.search("nope", "x")


def test_disabling_and_editing_a_chunk(services, tmp_path):
    doc = tmp_path / "notes.md"
    doc.write_text("# Notes\n\nThe walrus keeps a ledger of herring.\n\nPenguins prefer sardines on Tuesdays.\n")
    services.knowledge.create("notes", chunk_size=60, overlap=0)
    services.knowledge.add("notes", [doc])
    services.knowledge.ingest("notes")
    (d,) = services.knowledge.documents("notes")
    segs = services.knowledge.segments(d.id)
    walrus = next(s for s in segs if "walrus" in s.content)
    assert services.knowledge.search("notes", "walrus ledger", mode="full_text_search")[0].segment.id == walrus.id
    services.knowledge.update_segment(walrus.id, enabled=False)
    hits = services.knowledge.search("notes", "walrus ledger", mode="hybrid_search", top_k=5)
    assert walrus.id not in [r.segment.id for r in hits]
    services.knowledge.update_segment(walrus.id, enabled=True, content="A narwhal counts icebergs at dawn.")
    top = services.knowledge.search("notes", "narwhal icebergs", mode="full_text_search")[0]
    assert top.segment.id == walrus.id and "narwhal" in top.segment.content
    with pytest.raises(ValidationError, match="empty"):
        services.knowledge.update_segment(walrus.id, content="  ")


def test_readding_is_a_noop_and_a_changed_file_replaces_its_chunks(services, tmp_path):
    tmp_path = tmp_path / "in"
    tmp_path.mkdir()
    doc = tmp_path / "a.txt"
    doc.write_text("Alpacas hum when they are content.\n\nLlamas spit when annoyed.\n")
    services.knowledge.create("animals", chunk_size=50, overlap=0)
    services.knowledge.add("animals", [doc])
    services.knowledge.ingest("animals")
    again = services.knowledge.add("animals", [tmp_path])
    assert again.unchanged == [str(doc.resolve())] and not again.queued
    copy = tmp_path / "sub" / "copy.txt"
    copy.parent.mkdir()
    copy.write_text(doc.read_text())
    assert services.knowledge.add("animals", [copy]).duplicates
    doc.write_text("Capybaras relax in hot springs.\n")
    plan = services.knowledge.add("animals", [doc])
    assert plan.replaced == [str(doc.resolve())]
    services.knowledge.ingest("animals")
    (d,) = services.knowledge.documents("animals")
    assert d.status == DocumentStatus.COMPLETED
    assert [s.content for s in services.knowledge.segments(d.id)] == ["Capybaras relax in hot springs."]
    hits = services.knowledge.search("animals", "alpacas hum", mode="full_text_search")
    assert all("Alpacas" not in r.segment.content for r in hits)


def test_bad_files_are_reported_per_file_and_never_stop_the_batch(services, tmp_path):
    tmp_path = tmp_path / "in"
    tmp_path.mkdir()
    (tmp_path / "empty.md").write_text("")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02 not text \x00")
    (tmp_path / "bad.json").write_text("{ nope")
    (tmp_path / "good.md").write_text("# Good\n\nOtters hold hands while sleeping.\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    services.knowledge.create("mixed")
    plan = services.knowledge.add("mixed", [tmp_path, tmp_path / "image.png", tmp_path / "missing.md"])
    assert {Path(p).name for p, _ in plan.skipped} == {"image.png", "missing.md"}
    report = services.knowledge.ingest("mixed")
    failed = dict(report.failed)
    assert set(failed) == {"empty.md", "binary.txt", "bad.json"}
    assert all(name in message for name, message in failed.items())
    statuses = {d.name: d.status for d in services.knowledge.documents("mixed")}
    assert statuses["good.md"] == DocumentStatus.COMPLETED
    assert statuses["empty.md"] == DocumentStatus.ERROR
    assert services.knowledge.search("mixed", "otters sleeping")[0].document.name == "good.md"


def test_cancel_pauses_and_resume_finishes_without_duplicates(services, tmp_path):
    tmp_path = tmp_path / "in"
    tmp_path.mkdir()
    for name in FILES:
        shutil.copy(EN / name, tmp_path / name)
    services.knowledge.create("big", chunk_size=200, overlap=20)
    services.knowledge.add("big", [tmp_path])
    cancel = CancelToken()

    def stop_after_first_batch(p):
        if p.phase == "embedding" and p.chunks_done > 0:
            cancel.cancel()

    first = services.knowledge.ingest("big", cancel=cancel, on_progress=stop_after_first_batch)
    assert first.cancelled and 0 < first.chunks
    statuses = {d.status for d in services.knowledge.documents("big")}
    assert DocumentStatus.PAUSED in statuses
    services.knowledge.ingest("big")
    docs = services.knowledge.documents("big")
    assert {d.status for d in docs} == {DocumentStatus.COMPLETED}
    dataset = services.knowledge.get("big")
    index = services.knowledge._index(dataset, 0)
    units = sum(d.segment_count for d in docs)
    assert index.count() == units == len(index.segment_ids())


def test_parent_child_returns_parents_with_matching_children(services, tmp_path):
    doc = tmp_path / "zoo.md"
    doc.write_text("# Zoo\n\nThe reptile house holds a sleepy iguana.\nIt also holds a grumpy tortoise.\n\n"
                   "The aviary has parrots.\nToucans live there too.\n")
    rule = ProcessRule(mode="hierarchical", parent_mode="paragraph")
    services.knowledge.create("zoo", process_rule=rule)
    services.knowledge.add("zoo", [doc])
    services.knowledge.ingest("zoo")
    top = services.knowledge.search("zoo", "grumpy tortoise", mode="full_text_search")[0]
    assert "iguana" in top.segment.content and "tortoise" in top.segment.content
    assert top.child_chunks and "tortoise" in top.child_chunks[0]["content"]


def test_knowledge_base_names_are_checked(services):
    with pytest.raises(ValidationError):
        services.knowledge.create(" ")
    with pytest.raises(ValidationError, match="40"):
        services.knowledge.create("x" * 41)
    with pytest.raises(ValidationError, match="chunk"):
        services.knowledge.create("tiny", chunk_size=10)
    services.knowledge.create("once")
    from studio.core.errors import ConflictError

    with pytest.raises(ConflictError):
        services.knowledge.create("once")
    services.knowledge.delete("once")
    with pytest.raises(NotFoundError):
        services.knowledge.get("once")


def test_rebuild_embeds_every_chunk_again_into_a_fresh_index(services, tmp_path):
    doc = tmp_path / "r.md"
    doc.write_text("# R\n\nRebuilding keeps the chunks.\n\nOnly the vectors are made again.\n")
    services.knowledge.create("rb", chunk_size=50, overlap=0)
    services.knowledge.add("rb", [doc])
    services.knowledge.ingest("rb")
    before = [s.id for s in services.knowledge.segments(services.knowledge.documents("rb")[0].id)]
    dataset = services.knowledge.rebuild("rb")
    assert dataset.dimension == 0
    assert {d.status for d in services.knowledge.documents("rb")} == {DocumentStatus.INDEXING}
    assert services.knowledge.search("rb", "vectors made again") == []
    report = services.knowledge.ingest("rb")
    assert report.chunks == len(before)
    (d,) = services.knowledge.documents("rb")
    assert d.status == DocumentStatus.COMPLETED and [s.id for s in services.knowledge.segments(d.id)] == before
    assert services.knowledge.search("rb", "vectors made again")[0].segment.content.startswith("Only")


def test_names_are_unique_regardless_of_case_and_have_no_control_characters(services):
    from studio.core.errors import ConflictError

    services.knowledge.create("Docs")
    with pytest.raises(ConflictError):
        services.knowledge.create("docs")
    with pytest.raises(ValidationError, match="control"):
        services.knowledge.create("a\tb")
    assert services.knowledge.create("e\u0301" * 21).name == "é" * 21  # 21 letters, however they were typed


def test_small_chunk_size_shrinks_the_default_overlap(services):
    dataset = services.knowledge.create("small", chunk_size=50)
    assert dataset.process_rule.segmentation.chunk_overlap == 5


def test_empty_files_are_each_reported_not_skipped_as_duplicates(services, tmp_path):
    (tmp_path / "a.txt").write_text("")
    (tmp_path / "b.md").write_text("")
    services.knowledge.create("empties")
    plan = services.knowledge.add("empties", [tmp_path / "a.txt", tmp_path / "b.md"])
    assert len(plan.queued) == 2 and not plan.duplicates
    assert {name for name, _ in services.knowledge.ingest("empties").failed} == {"a.txt", "b.md"}


def test_top_k_beyond_the_candidate_pool_is_honoured(services, tmp_path):
    doc = tmp_path / "many.md"
    doc.write_text("\n\n".join(f"Paragraph {i} mentions the lighthouse keeper and item {i}." * 2
                               for i in range(60)))
    services.knowledge.create("many", chunk_size=120, overlap=0)
    services.knowledge.add("many", [doc])
    services.knowledge.ingest("many")
    for mode in ("semantic_search", "full_text_search", "hybrid_search"):
        assert len(services.knowledge.search("many", "lighthouse keeper", mode=mode, top_k=50)) == 50, mode


def test_a_second_run_on_the_same_knowledge_base_is_refused_while_one_holds_it(services, tmp_path):
    from studio.core.errors import ConflictError

    (tmp_path / "x.md").write_text("# X\n\nSomething to index.\n")
    dataset = services.knowledge.create("locked")
    services.knowledge.add("locked", [tmp_path])
    lock = services.knowledge._lock_of(dataset)
    assert lock.acquire()  # as another process's run would
    try:
        assert services.knowledge.ingesting_elsewhere("locked")
        with pytest.raises(ConflictError, match="being indexed"):
            services.knowledge.ingest("locked")
        with pytest.raises(ConflictError, match="another Studio run"):
            services.knowledge.delete("locked")
        assert services.knowledge.interrupted() == []
    finally:
        lock.release()
    assert [d.name for d in services.knowledge.interrupted()] == ["locked"]
    services.knowledge.ingest("locked")
    services.knowledge.delete("locked")
    assert not lock.path.exists()
