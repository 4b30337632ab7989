"""Knowledge bases on the real corpus, in one run: ingestion chunks/s against raw llama-cpp-python embed() on the
same chunks; retrieval quality (each front-matter description as a query for its own document: recall@1, recall@5,
MRR per mode and language); query latency p50/p95 per mode; and hybrid latency through the service at 100k chunks."""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared"
CORPUS = {"en": SHARED / "corpus" / "dify-docs" / "en", "zh": SHARED / "corpus" / "dify-docs" / "zh",
          "ko": SHARED / "corpus" / "react-docs-ko"}
MODES = {"semantic": ("semantic_search", "weighted_score"), "full_text": ("full_text_search", "weighted_score"),
         "hybrid": ("hybrid_search", "weighted_score"), "hybrid_rrf": ("hybrid_search", "reciprocal_rank_fusion")}
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
CORPUS_KB = "en"
SYNTHETIC = int(os.environ.get("BENCH_SYNTHETIC", "100000"))


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from studio.app import build
    from studio.core.settings import Settings

    home = tmp_path_factory.mktemp("kb-bench")
    services = build(Settings(home=home, n_threads=THREADS))
    yield services
    services.close()


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _ingest(services, lang):
    services.knowledge.create(lang)
    services.knowledge.add(lang, [CORPUS[lang]])
    report = services.knowledge.ingest(lang)
    return report


def _tokens(services, texts) -> tuple[int, int]:
    """Tokens the pipeline embeds (inputs over 512 tokens go in several windows) and tokens raw embed() sees
    (it truncates at 512)."""
    embedder = services.knowledge._embedders.embedder(services.knowledge.get(CORPUS_KB).embedding)
    counts = [embedder.count_tokens(t) for t in texts]
    window = embedder.max_tokens - 2
    studio = sum(c if c <= embedder.max_tokens else c + 2 * ((c - 2 + window - 1) // window - 1) for c in counts)
    return studio, sum(min(c, embedder.max_tokens) for c in counts)


def _raw_rate(services, lang) -> tuple[float, int]:
    """Raw llama-cpp-python on exactly the chunks the pipeline embedded (same model file, threads, batch)."""
    from llama_cpp import Llama

    from studio.runtime.bert_gguf import ensure_bundled_embedding

    from studio.runtime.embedding import prepare
    from studio.services.ingestion import indexed_text

    texts = [indexed_text(d.title, s.content) for d in services.knowledge.documents(lang)
             for s in services.knowledge.segments(d.id, limit=100_000)]  # exactly what the pipeline embedded
    path = ensure_bundled_embedding(services.knowledge._embedders._cache_dir)
    # n_batch 512: raw embed() truncates inputs to n_batch tokens, and Studio caps them at the model's 512.
    raw = Llama(model_path=str(path), embedding=True, n_ctx=512, n_batch=512, n_ubatch=512,
                n_threads=THREADS, n_threads_batch=THREADS, flash_attn=True, verbose=False)
    start = time.perf_counter()
    # Raw gets the NFD text too: without it llama.cpp's WordPiece turns Hangul syllables into [UNK] (fewer, wrong
    # tokens), which is faster but not the same work.
    nfd = [prepare(t) for t in texts]
    for i in range(0, len(nfd), 64):
        raw.embed(nfd[i:i + 64], normalize=True, truncate=True)
    elapsed = time.perf_counter() - start
    raw.close()
    studio_tokens, raw_tokens = _tokens(services, texts)
    return len(texts) / elapsed, len(texts), raw_tokens / elapsed, studio_tokens


def _quality(services, lang):
    from studio.core.knowledge import RetrievalSettings

    docs = [d for d in services.knowledge.documents(lang) if d.doc_metadata.get("description")]
    rows = {}
    for label, (method, fusion) in MODES.items():
        settings = RetrievalSettings(search_method=method, top_k=10, reranking_mode=fusion)
        ranks, times = [], []
        for doc in docs:
            start = time.perf_counter()
            records = services.knowledge.search(lang, str(doc.doc_metadata["description"]), settings=settings)
            times.append((time.perf_counter() - start) * 1000)
            names = [r.document.id for r in records]
            ranks.append(names.index(doc.id) + 1 if doc.id in names else None)
        n = len(ranks)
        rows[label] = {"queries": n, "r1": sum(r == 1 for r in ranks) / n,
                       "r5": sum(r is not None and r <= 5 for r in ranks) / n,
                       "mrr": sum(1 / r for r in ranks if r) / n,
                       "p50": _pct(times, 0.5), "p95": _pct(times, 0.95)}
    return rows


@pytest.mark.timeout(0)
def test_corpus_ingestion_quality_and_latency(studio):
    lines = ["", "| lang | files | chunks | pipeline chunks/s | raw embed chunks/s | pipeline/raw | pipeline tokens/s |"
             " raw tokens/s | tokens/s ratio |", "|---|---|---|---|---|---|---|---|---|"]
    quality = {}
    for lang in CORPUS:
        report = _ingest(studio, lang)
        rate = report.chunks / report.elapsed_s
        raw, n, raw_tps, studio_tokens = _raw_rate(studio, lang)
        assert n == report.chunks
        tps = studio_tokens / report.elapsed_s
        lines.append(f"| {lang} | {report.documents} | {report.chunks} | {rate:.1f} | {raw:.1f} | "
                     f"{rate / raw * 100:.0f}% | {tps:.0f} | {raw_tps:.0f} | {tps / raw_tps * 100:.0f}% |")
        quality[lang] = _quality(studio, lang)
    lines += ["", "| lang | mode | queries | recall@1 | recall@5 | MRR | p50 ms | p95 ms |",
              "|---|---|---|---|---|---|---|---|"]
    for lang, rows in quality.items():
        for mode, q in rows.items():
            lines.append(f"| {lang} | {mode} | {q['queries']} | {q['r1']:.3f} | {q['r5']:.3f} | {q['mrr']:.3f} | "
                         f"{q['p50']:.1f} | {q['p95']:.1f} |")
    print("\n".join(lines))


def _synthetic(services, n):
    """n chunks of corpus words with random unit vectors, written straight into SQLite and LanceDB."""
    from studio.knowledge.index import IndexRow

    words = " ".join(p.read_text(errors="replace") for p in sorted(CORPUS["en"].glob("*.mdx"))[:80]).split()
    rng = random.Random(7)
    dataset = services.knowledge.create("synthetic")
    repo = services.knowledge._repo
    doc_ids = [d.id for d in repo.add_documents(dataset.id, [
        {"id": str(uuid.uuid4()), "name": f"doc{i}.md", "source_path": f"/synthetic/{i}", "content_hash": str(i),
         "size_bytes": 0} for i in range(n // 100)])]
    index = services.knowledge._index(dataset, 384)
    vecs = np.random.default_rng(7).standard_normal((n, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    for start in range(0, n, 5000):
        segs, rows = [], []
        for i in range(start, min(n, start + 5000)):
            k = rng.randrange(len(words) - 80)
            text, seg_id, doc = " ".join(words[k:k + 60]), str(uuid.uuid4()), doc_ids[i // 100]
            segs.append({"id": seg_id, "dataset_id": dataset.id, "document_id": doc, "position": i % 100,
                         "content": text, "start": 0, "end": len(text), "word_count": 60, "enabled": True,
                         "indexed": True, "hit_count": 0, "index_node_hash": ""})
            rows.append(IndexRow(segment_id=seg_id, document_id=doc, content=text, vector=vecs[i]))
        with services.knowledge._repo._store.transaction() as s:
            from sqlalchemy import insert

            from studio.store.orm import SegmentRow

            s.execute(insert(SegmentRow), segs)
        index.add(rows)
    index.optimize()
    return words


@pytest.mark.timeout(0)
def test_hybrid_latency_at_100k_chunks(studio):
    start = time.perf_counter()
    words = _synthetic(studio, SYNTHETIC)
    build_s = time.perf_counter() - start
    rng = random.Random(3)
    queries = [" ".join(words[k:k + rng.randrange(3, 9)]) for k in (rng.randrange(len(words) - 10)
                                                                        for _ in range(200))]
    embedder = studio.knowledge._embedders.embedder(studio.knowledge.get("synthetic").embedding)
    embed_ms = []
    for q in queries[:50]:
        t = time.perf_counter()
        embedder.embed([q])
        embed_ms.append((time.perf_counter() - t) * 1000)
    lines = ["", f"synthetic table: {SYNTHETIC} chunks, built in {build_s:.1f} s; query embedding alone "
                 f"p50 {statistics.median(embed_ms):.1f} ms", "| mode | p50 ms | p95 ms |", "|---|---|---|"]
    dataset = studio.knowledge.get("synthetic", counts=False)
    index = studio.knowledge._index(dataset, 0)
    legs = []
    for q in queries:
        vec = embedder.embed([q])[0]
        t = time.perf_counter()
        hits = {h.segment_id for h in index.vector_search(vec, 40)}
        index.vectors([h.segment_id for h in index.text_search(q, 40, phrase_boost=False)
                       if h.segment_id not in hits])
        legs.append((time.perf_counter() - t) * 1000)
    lines.append(f"| hybrid, index only (vector k=40, full-text k=40, vectors of text-only hits; no embedding) | "
                 f"{_pct(legs, 0.5):.1f} | {_pct(legs, 0.95):.1f} |")
    for label, (method, _) in MODES.items():
        if label == "hybrid_rrf":
            continue
        times = []
        for q in queries:
            t = time.perf_counter()
            studio.knowledge.search("synthetic", q, mode=method, top_k=10)
            times.append((time.perf_counter() - t) * 1000)
        lines.append(f"| {label} (service, incl. query embedding) | {_pct(times, 0.5):.1f} | {_pct(times, 0.95):.1f} |")
    print("\n".join(lines))
