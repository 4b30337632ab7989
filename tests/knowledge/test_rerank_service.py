"""Knowledge search with a reranking model: a real cross-encoder GGUF orders the hits, then top_k and the score
threshold apply to its scores (Dify's order); a missing or wrong model is a clear error."""

from __future__ import annotations

import pytest

from studio.core.entities import ModelKind
from studio.core.errors import StudioError
from studio.core.knowledge import RetrievalSettings
from studio.runtime import bert_gguf
from studio.runtime.rerank import LlamaReranker
from tests.runtime.reference import write_test_reranker


PARAGRAPHS = [
    "The walrus keeps a ledger of herring.",
    "Penguins prefer sardines on Tuesdays.",
    "Reset your password from the login page.",
    "The river Thames flows through London.",
    "Bananas are rich in potassium and fibre.",
    "A lighthouse keeper counts ships at dawn.",
]
QUERY = "what do penguins eat"


@pytest.fixture(scope="module")
def reranker_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("reranker") / "minilm-test-reranker.gguf"
    write_test_reranker(path)
    return path


@pytest.fixture
def kb(services, tmp_path, reranker_path):
    doc = tmp_path / "notes.md"
    doc.write_text("\n\n".join(PARAGRAPHS) + "\n")
    services.knowledge.create("notes", chunk_size=60, overlap=0)
    services.knowledge.add("notes", [doc])
    services.knowledge.ingest("notes")
    model = services.models.add(str(reranker_path))
    return services, model


def rerank_settings(model_id: str, **kw) -> RetrievalSettings:
    return RetrievalSettings(search_method="hybrid_search", reranking_enable=True, reranking_mode="reranking_model",
                             reranking_model={"reranking_provider_name": "", "reranking_model_name": model_id}, **kw)


def test_a_rank_pooled_gguf_is_listed_as_a_reranker(kb):
    services, model = kb
    assert model.kind == ModelKind.RERANK
    assert services.models.get(model.id).kind == ModelKind.RERANK


def test_the_reranker_orders_hits_and_the_threshold_applies_to_its_scores(kb, reranker_path):
    services, model = kb
    (doc,) = services.knowledge.documents("notes")
    chunks = [s.content for s in services.knowledge.segments(doc.id)]
    assert len(chunks) == len(PARAGRAPHS)  # one chunk a paragraph, and all of them are candidates
    direct = LlamaReranker(reranker_path, n_threads=1)
    try:
        scores = dict(zip(chunks, direct.rerank(QUERY, chunks)))
    finally:
        direct.close()
    expected = sorted(chunks, key=lambda c: -scores[c])
    everything = services.knowledge.search("notes", QUERY, settings=rerank_settings(model.id, top_k=10))
    assert [r.segment.content for r in everything] == expected
    for record in everything:  # the service packs the pairs in another order: llama.cpp's sums differ by < 5e-4
        assert record.score == pytest.approx(scores[record.segment.content], abs=1e-3)
    plain = services.knowledge.search("notes", QUERY, mode="hybrid_search", top_k=10)
    assert [r.segment.content for r in plain] != expected  # so the order above is the reranker's, not the fusion's

    first, second = scores[expected[0]], scores[expected[1]]
    assert first - second > 0.01  # well beyond llama.cpp's packing noise, so the cut is safe
    top_two = services.knowledge.search("notes", QUERY, settings=rerank_settings(model.id, top_k=2))
    assert [r.segment.content for r in top_two] == expected[:2]
    cut = (first + second) / 2
    kept = services.knowledge.search("notes", QUERY, settings=rerank_settings(
        model.id, top_k=2, score_threshold_enabled=True, score_threshold=cut))
    assert [r.segment.content for r in kept] == expected[:1]


def test_a_missing_reranking_model_is_a_clear_error(kb):
    services, _ = kb
    with pytest.raises(StudioError, match="'bge-reranker-nowhere' is not installed"):
        services.knowledge.search("notes", QUERY, settings=rerank_settings("bge-reranker-nowhere"))
    with pytest.raises(StudioError, match="not a reranking model"):
        services.knowledge.search("notes", QUERY, settings=rerank_settings(bert_gguf.BUNDLED_EMBEDDING_ID))


def test_the_reranker_rescores_only_the_searchs_best_candidates(kb, monkeypatch):
    from studio.services import retrieval

    services, model = kb
    monkeypatch.setattr(retrieval, "RERANK_CANDIDATES", 3)
    plain = [r.segment.content for r in services.knowledge.search("notes", QUERY, mode="hybrid_search", top_k=10)]
    reranked = services.knowledge.search("notes", QUERY, settings=rerank_settings(model.id, top_k=2))
    # Uncapped, the reranker's top two are not both among the fused top three (checked), so this needs the cap.
    assert len(reranked) == 2 and {r.segment.content for r in reranked} < set(plain[:3])
    assert reranked[0].score >= reranked[1].score
    everything = services.knowledge.search("notes", QUERY, settings=rerank_settings(model.id, top_k=10))
    assert len(everything) == len(PARAGRAPHS)  # a top_k above the cap still gets its top_k
