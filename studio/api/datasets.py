"""Dify's knowledge API (§4.5) for `dataset-…` keys: knowledge bases (list, create, get, update, delete) and retrieval
testing (/retrieve, /hit-testing). Tags and metadata fields, documents and chunks have their own modules, whose
routes this router includes, so the app mounts one `datasets` router."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from studio.api import datasets_documents, datasets_labels, datasets_segments
from studio.api.auth import dataset_caller
from studio.api.datasets_shapes import (HIDDEN_METADATA, DifyRetrieval, check_technique, dataset_json,
                                        dataset_or_404, embedding_choice, in_pool, page_of,
                                        retrieval_settings, segment_json)
from studio.api.errors import ApiError
from studio.core.entities import ApiKey, ModelKind
from studio.core.errors import ConflictError
from studio.core.knowledge import RetrievalSettings

router = APIRouter(tags=["datasets"])
router.include_router(datasets_labels.router)  # first: /datasets/tags is not a knowledge base's id
Key = Annotated[ApiKey, Depends(dataset_caller)]
MAX_QUERY = 250  # Dify's hit-testing limit
DUPLICATE = "The dataset name already exists. Please modify your dataset name."


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")  # like Dify: fields it does not know are ignored


class DatasetCreate(_Body):
    name: str = Field(min_length=1, max_length=40)
    description: str | None = Field(default="", max_length=400)
    indexing_technique: str | None = None
    permission: str | None = "only_me"  # one user: every knowledge base is "only_me"
    provider: str | None = "vendor"
    retrieval_model: DifyRetrieval | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None


class DatasetUpdate(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=40)
    description: str | None = Field(default=None, max_length=400)
    indexing_technique: str | None = None
    permission: str | None = None
    retrieval_model: DifyRetrieval | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None


class RetrieveRequest(_Body):
    query: str
    retrieval_model: DifyRetrieval | None = None
    external_retrieval_model: dict[str, Any] | None = None


def _embedding_ok(services):
    installed = {m.id for m in services.models.list() if m.kind == ModelKind.EMBEDDING and not m.error}
    return lambda dataset: dataset.embedding.provider != "local" or dataset.embedding.model in installed


def _detail(services, dataset_id: str) -> dict[str, Any]:
    dataset = dataset_or_404(services, dataset_id, counts=True)
    return dataset_json(dataset, services.knowledge.documents(dataset.id), _embedding_ok(services)(dataset),
                        services.knowledge.tags_of([dataset.id])[dataset.id])


@router.get("/datasets", summary="List knowledge bases")
async def list_datasets(request: Request, _: Key, page: int = Query(1, ge=1), limit: int = Query(20, ge=1, le=100),
                        keyword: str | None = None, include_all: bool = False,
                        tag_ids: list[str] = Query([], max_length=1000)):
    services = request.app.state.services

    def work():
        ok = _embedding_ok(services)
        wanted = [t for t in tag_ids if t.strip()]  # `?tag_ids=` with nothing in it filters nothing
        tagged = services.knowledge.tagged(wanted) if wanted else None
        found = [d for d in services.knowledge.list()
                 if (not keyword or keyword.casefold() in d.name.casefold()) and (tagged is None or d.id in tagged)]
        tags = services.knowledge.tags_of([d.id for d in found])
        return page_of(found, page, limit,
                       lambda d: dataset_json(d, services.knowledge.documents(d.id), ok(d), tags[d.id]))
    return await in_pool(request, work)


@router.post("/datasets", summary="Create an empty knowledge base")
async def create_dataset(request: Request, _: Key, body: DatasetCreate):
    services = request.app.state.services

    def work():
        check_technique(body.indexing_technique)
        if body.provider == "external":
            raise ApiError(400, "invalid_param", "Studio has no external knowledge bases; leave provider out",
                           params="provider")
        embedding = embedding_choice(services, body.embedding_model, body.embedding_model_provider)
        retrieval = retrieval_settings(services, body.retrieval_model, RetrievalSettings())
        try:
            dataset = services.knowledge.create(body.name, description=body.description or "", embedding=embedding,
                                                retrieval=retrieval)
        except ConflictError:
            raise ApiError(409, "dataset_name_duplicate", DUPLICATE) from None
        return _detail(services, dataset.id)
    return await in_pool(request, work)


@router.get("/datasets/{dataset_id}", summary="A knowledge base's settings and counts")
async def get_dataset(request: Request, _: Key, dataset_id: str):
    return await in_pool(request, lambda: _detail(request.app.state.services, dataset_id))


@router.patch("/datasets/{dataset_id}", summary="Rename, describe or re-configure a knowledge base")
async def update_dataset(request: Request, _: Key, dataset_id: str, body: DatasetUpdate):
    services = request.app.state.services

    def work():
        dataset = dataset_or_404(services, dataset_id)
        check_technique(body.indexing_technique)
        retrieval = (retrieval_settings(services, body.retrieval_model, dataset.retrieval)
                     if body.retrieval_model is not None else None)
        embedding = None
        if body.embedding_model and body.embedding_model != dataset.embedding.model:
            embedding = embedding_choice(services, body.embedding_model, body.embedding_model_provider)
        try:
            services.knowledge.update(dataset.id, name=body.name, description=body.description, retrieval=retrieval)
        except ConflictError:
            raise ApiError(409, "dataset_name_duplicate", DUPLICATE) from None
        if embedding is not None and embedding != dataset.embedding:
            services.knowledge.rebuild(dataset.id, embedding)  # every chunk is embedded again with the new model
            services.knowledge.keep_ingesting(dataset.id)
        return _detail(services, dataset.id)
    return await in_pool(request, work)


@router.delete("/datasets/{dataset_id}", status_code=204, summary="Delete a knowledge base and its index")
async def delete_dataset(request: Request, _: Key, dataset_id: str):
    services = request.app.state.services

    def work():
        dataset = dataset_or_404(services, dataset_id)
        services.knowledge.delete(dataset.id)
        services.knowledge.drop_stored(dataset.id)
    await in_pool(request, work)
    return Response(status_code=204)


def _record(record) -> dict[str, Any]:
    segment = segment_json(record.segment, record.document)
    doc = record.document
    segment["document"] = {"id": doc.id, "data_source_type": "upload_file", "name": doc.name, "doc_type": None,
                           "doc_metadata": {k: v for k, v in doc.doc_metadata.items() if k not in HIDDEN_METADATA}}
    return {"segment": segment, "child_chunks": record.child_chunks, "score": round(record.score, 6),
            "tsne_position": None, "files": [], "summary": None}


async def _retrieve(request: Request, dataset_id: str, body: RetrieveRequest) -> dict[str, Any]:
    services = request.app.state.services

    def work():
        dataset = dataset_or_404(services, dataset_id)
        if not body.query.strip():
            raise ApiError(400, "invalid_param", "Query is required.", params="query")
        if len(body.query) > MAX_QUERY:
            raise ApiError(400, "invalid_param", f"Query cannot exceed {MAX_QUERY} characters.", params="query")
        settings = retrieval_settings(services, body.retrieval_model, dataset.retrieval)
        conditions = body.retrieval_model.metadata_filtering_conditions if body.retrieval_model else None
        records = services.knowledge.search(dataset.id, body.query, settings=settings,
                                            metadata_conditions=conditions or None)
        return {"query": {"content": body.query}, "records": [_record(r) for r in records]}
    return await in_pool(request, work)


@router.post("/datasets/{dataset_id}/retrieve", summary="Retrieval testing: the chunks a query finds")
async def retrieve(request: Request, _: Key, dataset_id: str, body: RetrieveRequest):
    return await _retrieve(request, dataset_id, body)


@router.post("/datasets/{dataset_id}/hit-testing", summary="Retrieval testing (Dify's older path)")
async def hit_testing(request: Request, _: Key, dataset_id: str, body: RetrieveRequest):
    return await _retrieve(request, dataset_id, body)


router.include_router(datasets_documents.router)
router.include_router(datasets_segments.router)
