"""Retrieved chunks in Dify's shapes: `retriever_resources` citations, the knowledge-retrieval node's `result`
items, and the knowledge port the workflow engine calls."""

from __future__ import annotations

import bisect
import logging
from collections.abc import Sequence
from typing import Any

from studio.core.cancel import CancelToken
from studio.core.errors import NotFoundError, ValidationError
from studio.core.knowledge import RetrievalSettings
from studio.core.workflow import RetrievalRequest
from studio.services.retrieval import Record

log = logging.getLogger(__name__)
HIDDEN_METADATA = ("page_starts",)  # loader bookkeeping, not the user's metadata


def _page(record: Record) -> int | None:
    starts = record.document.doc_metadata.get("page_starts")
    if not starts:
        return None
    return bisect.bisect_right(starts, record.segment.start)


def _doc_metadata(record: Record) -> dict[str, Any]:
    return {k: v for k, v in record.document.doc_metadata.items() if k not in HIDDEN_METADATA}


def resources(records: Sequence[Record], retriever_from: str = "dev") -> list[dict[str, Any]]:
    """Dify's `RetrievalSourceMetadata` items, position counted from 1."""
    out = []
    for position, r in enumerate(records, start=1):
        out.append({
            "position": position, "dataset_id": r.dataset.id, "dataset_name": r.dataset.name,
            "document_id": r.document.id, "document_name": r.document.name, "data_source_type": "upload_file",
            "segment_id": r.segment.id, "retriever_from": retriever_from, "score": round(r.score, 6),
            "hit_count": r.segment.hit_count, "word_count": r.segment.word_count,
            "segment_position": r.segment.position, "index_node_hash": r.segment.index_node_hash,
            "content": r.segment.content, "page": _page(r), "doc_metadata": _doc_metadata(r),
            "title": r.document.title or r.document.name, "files": [], "summary": None,
            "child_chunks": r.child_chunks,
        })
    return out


def node_items(records: Sequence[Record]) -> list[dict[str, Any]]:
    """The knowledge-retrieval node's `result` list."""
    return [{
        "content": r.segment.content, "title": r.document.title or r.document.name, "files": [], "summary": None,
        "metadata": {
            "_source": "knowledge", "dataset_id": r.dataset.id, "dataset_name": r.dataset.name,
            "document_id": r.document.id, "document_name": r.document.name, "data_source_type": "upload_file",
            "segment_id": r.segment.id, "retriever_from": "workflow", "score": round(r.score, 6),
            "child_chunks": r.child_chunks, "segment_hit_count": r.segment.hit_count,
            "segment_word_count": r.segment.word_count, "segment_position": r.segment.position,
            "segment_index_node_hash": r.segment.index_node_hash, "doc_metadata": _doc_metadata(r),
            "page": _page(r),
        },
    } for r in records]


def settings_from_dify(reranking: dict[str, Any], top_k: int, score_threshold: float | None,
                       method: str = "hybrid_search", knowledge=None) -> RetrievalSettings:
    """Dify's multiple-retrieval config (node or `dataset_configs`) → retrieval settings. An app made on a Dify
    server often names a cloud reranker (say Cohere's); when `knowledge` says it is not installed here, the
    hits are fused by weighted score instead of failing every run of an imported app."""
    weights = reranking.get("weights") or {}
    mode = reranking.get("reranking_mode") or "weighted_score"
    model = reranking.get("reranking_model") or {}
    model = {"reranking_provider_name": model.get("reranking_provider_name") or model.get("provider", ""),
             "reranking_model_name": model.get("reranking_model_name") or model.get("model", "")}
    if mode == "reranking_model" and knowledge is not None and not knowledge.has_reranker(
            model["reranking_model_name"]):
        if model["reranking_model_name"]:
            log.warning("reranking model %r is not installed; using weighted-score fusion",
                        model["reranking_model_name"])
        mode = "weighted_score"
    return RetrievalSettings.from_dify({
        "search_method": method, "top_k": top_k or 4,
        "score_threshold_enabled": score_threshold is not None and score_threshold > 0,
        "score_threshold": score_threshold or 0.0,
        "reranking_enable": bool(reranking.get("reranking_enable")) and mode == "reranking_model"
        and bool(model["reranking_model_name"]),
        "reranking_mode": mode if mode in ("reranking_model", "weighted_score", "reciprocal_rank_fusion")
        else "weighted_score",
        "reranking_model": model, "weights": weights,
    })


class KnowledgePortAdapter:
    """The workflow engine's KnowledgePort over the knowledge service."""

    def __init__(self, knowledge) -> None:
        self._knowledge = knowledge

    def missing(self, dataset_ids: Sequence[str]) -> list[str]:
        out = []
        for ref in dataset_ids:
            try:
                self._knowledge.get(ref, counts=False)
            except NotFoundError:
                out.append(ref)
        return out

    def retrieve(self, request: RetrievalRequest, cancel: CancelToken) -> list[dict[str, Any]]:
        datasets = [self._knowledge.get(ref, counts=False) for ref in request.dataset_ids]
        # Multiple-retrieval searches every knowledge base the way the first is set to search (Dify requires
        # one embedding model across them for weighted scores), then fuses and ranks all hits together.
        settings = settings_from_dify(request.reranking, request.top_k, request.score_threshold,
                                      datasets[0].retrieval.search_method, self._knowledge)
        conditions = None
        if request.metadata_filter:
            if request.metadata_filter.get("mode") == "automatic":
                raise ValidationError("automatic metadata filtering needs an LLM to write the filter; "
                                      "use manual conditions in Studio")
            conditions = request.metadata_filter.get("conditions")
        ids = [d.id for d in datasets]
        if request.mode == "single" and len(ids) > 1:
            # Dify asks an LLM to route to one knowledge base; Studio routes by evidence instead: the knowledge
            # base whose best chunk scores highest answers alone.
            best = max(ids, key=lambda i: next(iter(
                [r.score for r in self._knowledge.search([i], request.query, settings=settings,
                                                         metadata_conditions=conditions, cancel=cancel)]), -1.0))
            ids = [best]
        records = self._knowledge.search(ids, request.query, settings=settings, metadata_conditions=conditions,
                                         cancel=cancel)
        return node_items(records)


def resources_from_node_items(items: Sequence[dict[str, Any]], start: int = 1) -> list[dict[str, Any]]:
    """A knowledge-retrieval node's `result` items as `retriever_resources` citations (a chatflow's message)."""
    out = []
    for position, item in enumerate((i for i in items if isinstance(i, dict)), start=start):
        meta = item.get("metadata") or {}
        if meta.get("_source") != "knowledge":
            continue
        out.append({
            "position": position, "dataset_id": meta.get("dataset_id"), "dataset_name": meta.get("dataset_name"),
            "document_id": meta.get("document_id"), "document_name": meta.get("document_name"),
            "data_source_type": meta.get("data_source_type", "upload_file"), "segment_id": meta.get("segment_id"),
            "retriever_from": "workflow", "score": meta.get("score"), "hit_count": meta.get("segment_hit_count"),
            "word_count": meta.get("segment_word_count"), "segment_position": meta.get("segment_position"),
            "index_node_hash": meta.get("segment_index_node_hash"), "content": item.get("content", ""),
            "page": meta.get("page"), "doc_metadata": meta.get("doc_metadata") or {},
            "title": item.get("title", ""), "files": [], "summary": None,
            "child_chunks": meta.get("child_chunks") or [],
        })
    return out
