"""What the knowledge (datasets) endpoints share: lookups that answer Dify's 404s, request settings mapped to Studio's,
and Studio's knowledge bases, documents and chunks in Dify's JSON shapes (timestamps as unix seconds)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from studio.api.errors import ApiError
from studio.api.events import unix
from studio.api.validation import clean_text
from studio.core.entities import ModelKind
from studio.core.errors import NotFoundError, StudioError
from studio.core.knowledge import (ChildChunk, Dataset, DocumentStatus, EmbeddingChoice, KbDocument, KbTag,
                                   MetadataField, RetrievalSettings, Segment)
from studio.services.citations import settings_from_dify
from studio.services.kb_labels import HIDDEN_METADATA, metadata_fields_of, value_kind

ECONOMY = ("Studio indexes every knowledge base with embeddings (high_quality); Dify's keyword-only \"economy\" "
           "indexing is not implemented")
INDEXING = {DocumentStatus.PARSING, DocumentStatus.INDEXING}


async def in_pool(request: Request, fn: Callable[[], Any]) -> Any:
    """Service calls block (SQLite, embedding): run them on the API's bounded worker pool."""
    return await asyncio.get_running_loop().run_in_executor(request.app.state.pool, fn)


ts = unix  # stored times are naive UTC


def page_of(items: Sequence[Any], page: int, limit: int, shape: Callable[[Any], dict]) -> dict[str, Any]:
    start = (page - 1) * limit
    return {"data": [shape(x) for x in items[start:start + limit]], "has_more": start + limit < len(items),
            "limit": limit, "total": len(items), "page": page}


# -- lookups ----------------------------------------------------------------------------------------------------
def dataset_or_404(services, dataset_id: str, *, counts: bool = False) -> Dataset:
    try:
        dataset = services.knowledge.get(dataset_id, counts=counts)
    except NotFoundError:
        dataset = None
    if dataset is None or dataset.id != dataset_id:  # the service also finds names; Dify's paths carry ids
        raise ApiError(404, "not_found", "Dataset not found.")
    return dataset


def document_or_404(services, dataset: Dataset, document_id: str) -> KbDocument:
    try:
        doc = services.knowledge.document(document_id)
    except NotFoundError:
        doc = None
    if doc is None or doc.dataset_id != dataset.id:
        raise ApiError(404, "not_found", "Document not found.")
    return doc


def segment_or_404(services, doc: KbDocument, segment_id: str) -> Segment:
    try:
        seg = services.knowledge.segment(segment_id)
    except NotFoundError:
        seg = None
    if seg is None or seg.document_id != doc.id:
        raise ApiError(404, "not_found", "Segment not found.")
    return seg


# -- requests → Studio settings -------------------------------------------------------------------------------
def check_technique(technique: str | None) -> None:
    if technique == "economy":
        raise ApiError(400, "invalid_param", ECONOMY, params="indexing_technique")
    if technique not in (None, "", "high_quality"):
        raise ApiError(400, "invalid_param", "indexing_technique must be high_quality", params="indexing_technique")


def embedding_choice(services, model: str | None, provider: str | None) -> EmbeddingChoice | None:
    """Dify's embedding_model(_provider) → one of Studio's installed local embedding models (by id or name)."""
    if not model:
        return None
    installed = [m for m in services.models.list() if m.kind == ModelKind.EMBEDDING and not m.error]
    found = next((m for m in installed if model in (m.id, m.name)), None)
    if found is None:
        names = ", ".join(m.id for m in installed) or "none"
        raise ApiError(400, "invalid_param", f"Embedding model {model!r} (provider {provider or 'unset'!r}) is not "
                       f"installed in Studio; Studio embeds with its local embedding models: {names}",
                       params="embedding_model")
    return EmbeddingChoice(provider="local", model=found.id)


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DifyVectorSetting(_Loose):
    vector_weight: float | None = Field(default=None, ge=0.0, le=1.0)
    embedding_provider_name: str | None = None
    embedding_model_name: str | None = None


class DifyKeywordSetting(_Loose):
    keyword_weight: float | None = Field(default=None, ge=0.0, le=1.0)


class DifyWeights(_Loose):
    weight_type: str | None = None
    vector_setting: DifyVectorSetting | None = None
    keyword_setting: DifyKeywordSetting | None = None


class DifyRetrieval(_Loose):
    """Dify's `retrieval_model` (typed here so a malformed one is a 400, not a failure deep inside)."""

    search_method: str | None = None
    reranking_enable: bool | None = False
    reranking_mode: str | None = None
    reranking_model: dict[str, str | None] | None = None
    weights: DifyWeights | None = None
    top_k: int | None = Field(default=None, ge=0, le=100)  # 0: the knowledge base's own top_k
    score_threshold_enabled: bool | None = False
    score_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    metadata_filtering_conditions: dict[str, Any] | None = None


def retrieval_settings(services, given: DifyRetrieval | None, base: RetrievalSettings) -> RetrievalSettings:
    """Dify's retrieval_model → Studio's settings, mapped as the knowledge-retrieval node's are (an unknown
    reranker falls back to weighted scores); what it leaves out comes from `base`."""
    if given is None:
        return base
    method = given.search_method or base.search_method
    if method == "keyword_search":
        raise ApiError(400, "invalid_param", f"keyword_search belongs to economy indexing. {ECONOMY}; use "
                       "full_text_search, semantic_search or hybrid_search", params="retrieval_model")
    reranking = given.model_dump(exclude_none=True)
    if given.reranking_enable and not given.reranking_mode:
        reranking["reranking_mode"] = "reranking_model"  # Dify leaves the mode out when a model reranks
    threshold = given.score_threshold if given.score_threshold_enabled else None
    try:
        settings = settings_from_dify(reranking, given.top_k or base.top_k, threshold, method, services.knowledge)
    except StudioError as exc:  # never pydantic's own wording or links
        raise ApiError(400, "invalid_param", f"retrieval_model: {clean_text(exc.message)}",
                       params="retrieval_model") from None
    if given.weights is None:
        settings = settings.model_copy(update={"vector_weight": base.vector_weight,
                                               "keyword_weight": base.keyword_weight})
    return settings


# -- Studio → Dify JSON ---------------------------------------------------------------------------------------
def retrieval_json(settings: RetrievalSettings, embedding: EmbeddingChoice) -> dict[str, Any]:
    model = settings.reranking_model or {}
    return {
        "search_method": settings.search_method, "reranking_enable": settings.reranking_enable,
        "reranking_mode": settings.reranking_mode,
        "reranking_model": {"reranking_provider_name": model.get("reranking_provider_name", ""),
                            "reranking_model_name": model.get("reranking_model_name", "")},
        "weights": {"weight_type": "customized",
                    "vector_setting": {"vector_weight": settings.vector_weight, "embedding_model_name": embedding.model,
                                       "embedding_provider_name": embedding.provider},
                    "keyword_setting": {"keyword_weight": settings.keyword_weight}},
        "top_k": settings.top_k, "score_threshold_enabled": settings.score_threshold_enabled,
        "score_threshold": settings.score_threshold,
    }


def doc_form(dataset: Dataset) -> str:
    return "hierarchical_model" if dataset.process_rule.mode == "hierarchical" else "text_model"


def dataset_json(dataset: Dataset, docs: Sequence[KbDocument], embedding_ok: bool,
                 tags: Sequence[KbTag] = ()) -> dict[str, Any]:
    return {
        "id": dataset.id, "name": dataset.name, "description": dataset.description, "provider": "vendor",
        "permission": "only_me", "data_source_type": "upload_file" if docs else None,
        "indexing_technique": "high_quality", "app_count": 0, "document_count": len(docs),
        "word_count": sum(d.word_count for d in docs), "created_by": "", "author_name": "",
        "created_at": ts(dataset.created_at), "updated_by": None, "updated_at": ts(dataset.updated_at),
        "embedding_model": dataset.embedding.model, "embedding_model_provider": dataset.embedding.provider,
        "embedding_available": embedding_ok, "retrieval_model_dict": retrieval_json(dataset.retrieval,
                                                                                    dataset.embedding),
        "summary_index_setting": None, "tags": [{"id": t.id, "name": t.name, "type": "knowledge"} for t in tags],
        "doc_form": doc_form(dataset), "external_knowledge_info": None,
        "external_retrieval_model": None, "doc_metadata": metadata_fields_of(dataset, docs),
        "built_in_field_enabled": dataset.built_in_metadata,
        "pipeline_id": None, "runtime_mode": "general", "chunk_structure": None, "icon_info": None,
        "is_published": False, "total_documents": len(docs),
        "total_available_documents": sum(1 for d in docs if display_status(d) == "available"),
        "enable_api": True, "is_multimodal": False,
    }


def display_status(doc: KbDocument) -> str:
    """Dify's display_status (models/dataset.py)."""
    if doc.status == DocumentStatus.WAITING:
        return "queuing"
    if doc.status == DocumentStatus.PAUSED:
        return "paused"
    if doc.status in INDEXING:
        return "indexing"
    if doc.status == DocumentStatus.ERROR:
        return "error"
    return "available" if doc.enabled else "disabled"


def document_json(doc: KbDocument, form: str, fields: Sequence[MetadataField] = ()) -> dict[str, Any]:
    declared = {f.name: f for f in fields}
    metadata = [{"id": declared[k].id if k in declared else k, "name": k,
                 "type": declared[k].type if k in declared else value_kind(v), "value": v}
                for k, v in doc.doc_metadata.items() if k not in HIDDEN_METADATA]
    return {
        "id": doc.id, "position": doc.position, "data_source_type": "upload_file", "data_source_info": None,
        "data_source_detail_dict": None, "dataset_process_rule_id": None, "name": doc.name, "created_from": "api",
        "created_by": "", "created_at": ts(doc.created_at), "tokens": doc.word_count,
        "indexing_status": doc.status.value, "error": doc.error or None, "enabled": doc.enabled,
        "disabled_at": None, "disabled_by": None, "archived": False, "display_status": display_status(doc),
        "word_count": doc.word_count, "hit_count": 0, "doc_form": form, "doc_metadata": metadata,
        "segment_count": doc.segment_count, "completed_at": ts(doc.completed_at),
    }


def segment_json(seg: Segment, doc: KbDocument) -> dict[str, Any]:
    created = ts(doc.created_at)
    done = doc.status == DocumentStatus.COMPLETED
    return {
        "id": seg.id, "position": seg.position, "document_id": seg.document_id, "content": seg.content,
        "sign_content": seg.content, "answer": None, "word_count": seg.word_count, "tokens": len(seg.content.split()),
        "keywords": [], "index_node_id": seg.id, "index_node_hash": seg.index_node_hash, "hit_count": seg.hit_count,
        "enabled": seg.enabled, "disabled_at": None, "disabled_by": None,
        "status": "completed" if done else "indexing", "created_by": "", "created_at": created, "updated_at": created,
        "updated_by": None, "indexing_at": created, "completed_at": ts(doc.completed_at) if done else None,
        "error": None, "stopped_at": None, "child_chunks": [child_json(c, doc) for c in seg.children],
        "attachments": [], "summary": None,
    }


def child_json(child: ChildChunk, doc: KbDocument) -> dict[str, Any]:
    created = ts(doc.created_at)
    return {"id": child.id, "segment_id": child.segment_id, "content": child.content, "position": child.position,
            "word_count": len(child.content), "type": "customized" if child.start == child.end else "automatic",
            "created_at": created, "updated_at": created}
