"""Retrieval across knowledge bases: semantic, full-text or hybrid search, fusion, optional rerank, then top_k and
the score threshold (applied only when enabled, after rerank, as Dify does)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from studio.core.cancel import CancelToken
from studio.core.errors import CancelledError
from studio.core.knowledge import ChildChunk, Dataset, KbDocument, RetrievalSettings, Segment
from studio.knowledge import fusion

log = logging.getLogger(__name__)
MAX_CHILDREN = 5  # matched children shown per parent: a full-doc parent would otherwise list dozens
CANDIDATES = 40  # per search leg at least: fusion and rerank need more than top_k to choose from
RERANK_CANDIDATES = 20  # the fused best that a reranking model rescores (or top_k of them, when more)


@dataclass
class Candidate:
    unit_id: str
    dataset: Dataset
    content: str = ""
    vector_score: float | None = None
    text_score: float | None = None  # BM25
    score: float = 0.0


@dataclass
class Record:
    """One retrieved chunk with what a citation needs."""

    segment: Segment
    document: KbDocument
    dataset: Dataset
    score: float
    child_chunks: list[dict[str, Any]] = field(default_factory=list)  # [{id, content, position, score}]


class Retriever:
    def __init__(self, repo, index_for: Callable[[Dataset], Any], embedders) -> None:
        self._repo = repo
        self._index_for = index_for  # dataset -> KnowledgeIndex | None (None before anything was indexed)
        self._embedders = embedders

    def search(self, datasets: Sequence[Dataset], query: str, settings: RetrievalSettings,
               allowed_documents: dict[str, list[str] | None] | None = None,
               cancel: CancelToken | None = None) -> list[Record]:
        """`allowed_documents` maps a dataset id to the document ids a metadata filter let through."""
        cancel = cancel or CancelToken()
        pool: list[Candidate] = []
        for dataset in datasets:
            if cancel.cancelled:
                raise CancelledError(cancel.reason)
            allowed = self._allowed(dataset, (allowed_documents or {}).get(dataset.id))
            if allowed == []:
                continue
            pool += self._candidates(dataset, query, settings, allowed, cancel)
        if not pool:
            return []
        units = self._score(pool, query, settings, cancel)
        records = self._records(pool, units)
        if settings.score_threshold_enabled:
            records = [r for r in records if r.score >= settings.score_threshold]
        records = records[:settings.top_k]
        self._repo.add_hits([r.segment.id for r in records])
        return records

    def _allowed(self, dataset: Dataset, allowed: list[str] | None) -> list[str] | None:
        disabled = set(self._repo.disabled_document_ids(dataset.id))
        if allowed is None and not disabled:
            return None
        if allowed is None:
            allowed = [d.id for d in self._repo.list_documents(dataset.id)]
        return [d for d in allowed if d not in disabled]

    def _candidates(self, dataset, query, settings, allowed, cancel) -> list[Candidate]:
        index = self._index_for(dataset)
        if index is None:
            return []
        method = settings.search_method
        found: dict[str, Candidate] = {}
        legs = max(CANDIDATES, settings.top_k * 3)  # parent-child hits group several children under one parent
        vector = None
        if method in ("semantic_search", "hybrid_search"):
            vector = self._embedders.embedder(dataset.embedding).embed([query], cancel)[0]
            for hit in index.vector_search(vector, legs, document_ids=allowed):
                found.setdefault(hit.segment_id, Candidate(hit.segment_id, dataset)).vector_score = hit.score
        if method in ("full_text_search", "hybrid_search"):
            # The two legs run one after the other: on two cores, running them side by side (with the query
            # embedding) only made each slower.
            # The phrase clause (words side by side rank higher) costs ~18 ms at 100k chunks and changed no
            # hybrid result on the quality set, where the vector leg already rewards the whole meaning.
            for hit in index.text_search(query, legs, document_ids=allowed,
                                         phrase_boost=method == "full_text_search"):
                found.setdefault(hit.segment_id, Candidate(hit.segment_id, dataset)).text_score = hit.score
        missing = [c.unit_id for c in found.values() if c.vector_score is None] if vector is not None else []
        if missing:  # text-only hits get their cosine too (from memory when the index holds its vectors there)
            for unit_id, vec in index.vectors(missing).items():
                found[unit_id].vector_score = float(np.dot(vector, vec))
        return list(found.values())

    def _score(self, pool: list[Candidate], query: str, settings: RetrievalSettings, cancel) -> dict:
        units = self._repo.resolve_units([c.unit_id for c in pool])
        for c in pool:
            seg, child = units.get(c.unit_id, (None, None))
            c.content = (child.content if child else seg.content) if seg else ""
        pool[:] = [c for c in pool if c.unit_id in units and units[c.unit_id][0].enabled]
        _fuse(pool, settings)
        model_id = settings.reranking_model.get("reranking_model_name")
        if settings.reranking_enable and settings.reranking_mode == "reranking_model" and model_id:
            # A cross-encoder reads every pair in full (about 50 ms for a 100-token chunk on one thread), so it
            # sees the search's best candidates, not all of both legs' (Dify reranks each leg's top_k).
            reranker = self._embedders.reranker(model_id)
            pool[:] = sorted(pool, key=lambda c: -c.score)[:max(RERANK_CANDIDATES, settings.top_k)]
            started = time.perf_counter()
            for c, s in zip(pool, reranker.rerank(query, [c.content for c in pool], cancel)):
                c.score = float(s)
            log.debug("reranked %d candidates with %s in %.0f ms", len(pool), model_id,
                      1000 * (time.perf_counter() - started))
        return units

    def _records(self, pool: list[Candidate], units: dict) -> list[Record]:
        """Group hits by segment: a parent-child hit returns its parent with the matching children."""
        by_segment: dict[str, Record] = {}
        docs = self._repo.documents_by_id(list({units[c.unit_id][0].document_id for c in pool}))
        for c in sorted(pool, key=lambda c: -c.score):
            seg, child = units[c.unit_id]
            record = by_segment.get(seg.id)
            if record is None:
                record = by_segment[seg.id] = Record(seg, docs[seg.document_id], c.dataset, c.score)
            if child is not None and len(record.child_chunks) < MAX_CHILDREN:
                record.child_chunks.append(_child(child, c.score))
        return sorted(by_segment.values(), key=lambda r: -r.score)


def _fuse(pool: list[Candidate], settings: RetrievalSettings) -> None:
    """Each candidate's score from its search legs (before any rerank)."""
    method = settings.search_method
    if method == "semantic_search":
        for c in pool:
            c.score = max(0.0, c.vector_score or 0.0)
    elif method == "full_text_search":
        for c in pool:
            c.score = fusion.bm25_to_unit(c.text_score or 0.0)
    elif settings.reranking_mode == "reciprocal_rank_fusion":
        by_vec = [c.unit_id for c in sorted(pool, key=lambda c: -(c.vector_score or -1.0))]
        by_text = [c.unit_id for c in sorted(pool, key=lambda c: -(c.text_score or 0.0)) if c.text_score]
        fused = fusion.reciprocal_rank(by_vec, by_text)
        for c in pool:
            c.score = fused.get(c.unit_id, 0.0)
    else:
        # Dify's weighted score, with BM25 (scaled by the best hit) as the keyword half instead of Dify's
        # TF-IDF over jieba keywords: on the corpus's description queries it lifts MRR from 0.81 to 0.90
        # (English) and from 0.58 to 0.88 (Chinese) at equal weights (tests/bench/RESULTS.md).
        keyword = fusion.scaled({c.unit_id: c.text_score or 0.0 for c in pool})
        for c in pool:
            c.score = (settings.vector_weight * max(0.0, c.vector_score or 0.0)
                       + settings.keyword_weight * keyword.get(c.unit_id, 0.0))


def _child(child: ChildChunk, score: float) -> dict[str, Any]:
    return {"id": child.id, "content": child.content, "position": child.position, "score": round(score, 6)}
