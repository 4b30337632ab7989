"""Chunks (Dify's segments) of a document through the knowledge API: list, add (embedded at once), get, update
(Dify updates with POST), delete, and the child chunks of parent-child knowledge bases (list, add, edit and delete)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from studio.api.auth import dataset_caller
from studio.api.datasets_shapes import (child_json, dataset_or_404, doc_form, document_or_404, in_pool, page_of,
                                        segment_json, segment_or_404)
from studio.api.errors import ApiError
from studio.core.entities import ApiKey
from studio.core.knowledge import DocumentStatus

router = APIRouter(tags=["datasets"])
Key = Annotated[ApiKey, Depends(dataset_caller)]
DOC = "/datasets/{dataset_id}/documents/{document_id}"
NOT_INDEXED = "The document is still being indexed; change its chunks once its indexing_status is completed."


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class NewSegment(_Body):
    content: str = Field(min_length=1)
    answer: str | None = None
    keywords: list[str] | None = None


class AddSegments(_Body):
    segments: list[NewSegment] = Field(min_length=1)


class SegmentChange(_Body):
    content: str | None = None
    answer: str | None = None
    keywords: list[str] | None = None
    enabled: bool | None = None
    regenerate_child_chunks: bool = False


class UpdateSegment(_Body):
    segment: SegmentChange


class ChildChange(_Body):
    content: str = Field(min_length=1)


def _lookup(services, dataset_id: str, document_id: str):
    dataset = dataset_or_404(services, dataset_id)
    return dataset, document_or_404(services, dataset, document_id)


def _child_or_404(services, dataset_id: str, document_id: str, segment_id: str, child_id: str):
    """The document of a child chunk addressed under its parent, once its indexing has completed."""
    _, doc = _lookup(services, dataset_id, document_id)
    seg = segment_or_404(services, doc, segment_id)
    if not any(c.id == child_id for c in seg.children):
        raise ApiError(404, "not_found", "Child chunk not found.")
    if doc.status != DocumentStatus.COMPLETED:
        raise ApiError(400, "document_indexing", NOT_INDEXED)
    return doc


@router.get(DOC + "/segments", summary="A document's chunks in order")
async def list_segments(request: Request, _: Key, dataset_id: str, document_id: str, page: int = Query(1, ge=1),
                        limit: int = Query(20, ge=1, le=100), keyword: str | None = None,
                        status: str | None = None):
    services = request.app.state.services

    def work():
        dataset, doc = _lookup(services, dataset_id, document_id)
        found = services.knowledge.segments(doc.id, keyword=keyword or "", limit=max(doc.segment_count, 1))
        shaped = [segment_json(s, doc) for s in found]
        if status:
            shaped = [s for s in shaped if s["status"] == status]
        return {**page_of(shaped, page, limit, lambda s: s), "doc_form": doc_form(dataset)}
    return await in_pool(request, work)


@router.post(DOC + "/segments", summary="Add chunks written by hand")
async def add_segments(request: Request, _: Key, dataset_id: str, document_id: str, body: AddSegments):
    services = request.app.state.services

    def work():
        dataset, doc = _lookup(services, dataset_id, document_id)
        if doc.status != DocumentStatus.COMPLETED:
            raise ApiError(404, "not_found", "Document is not completed.")
        if not doc.enabled:
            raise ApiError(404, "not_found", "Document is disabled.")
        added = services.knowledge.add_segments(doc.id, [s.content for s in body.segments])
        doc = services.knowledge.document(doc.id)
        return {"data": [segment_json(s, doc) for s in added], "doc_form": doc_form(dataset)}
    return await in_pool(request, work)


@router.get(DOC + "/segments/{segment_id}", summary="One chunk")
async def get_segment(request: Request, _: Key, dataset_id: str, document_id: str, segment_id: str):
    services = request.app.state.services

    def work():
        dataset, doc = _lookup(services, dataset_id, document_id)
        return {"data": segment_json(segment_or_404(services, doc, segment_id), doc), "doc_form": doc_form(dataset)}
    return await in_pool(request, work)


@router.post(DOC + "/segments/{segment_id}", summary="Edit a chunk's text (embedded again) or switch it on or off")
async def update_segment(request: Request, _: Key, dataset_id: str, document_id: str, segment_id: str,
                         body: UpdateSegment):
    services = request.app.state.services
    change = body.segment

    def work():
        dataset, doc = _lookup(services, dataset_id, document_id)
        seg = segment_or_404(services, doc, segment_id)
        if doc.status != DocumentStatus.COMPLETED:
            raise ApiError(400, "document_indexing", NOT_INDEXED)
        content = change.content if change.content is not None and change.content != seg.content else None
        if content is not None and not content.strip():
            raise ApiError(400, "invalid_param", "Content is empty", params="segment.content")
        seg = services.knowledge.update_segment(seg.id, content=content, enabled=change.enabled)
        return {"data": segment_json(seg, doc), "doc_form": doc_form(dataset)}
    return await in_pool(request, work)


@router.delete(DOC + "/segments/{segment_id}", status_code=204, summary="Delete a chunk")
async def delete_segment(request: Request, _: Key, dataset_id: str, document_id: str, segment_id: str):
    services = request.app.state.services

    def work():
        _, doc = _lookup(services, dataset_id, document_id)
        seg = segment_or_404(services, doc, segment_id)
        if doc.status != DocumentStatus.COMPLETED:
            raise ApiError(400, "document_indexing", NOT_INDEXED)
        services.knowledge.delete_segment(seg.id)
    await in_pool(request, work)
    return Response(status_code=204)


@router.get(DOC + "/segments/{segment_id}/child_chunks", summary="The child chunks of a parent chunk")
async def list_child_chunks(request: Request, _: Key, dataset_id: str, document_id: str, segment_id: str,
                            page: int = Query(1, ge=1), limit: int = Query(20, ge=1, le=100),
                            keyword: str | None = None):
    services = request.app.state.services

    def work() -> dict[str, Any]:
        _, doc = _lookup(services, dataset_id, document_id)
        seg = segment_or_404(services, doc, segment_id)
        children = [c for c in seg.children if not keyword or keyword.casefold() in c.content.casefold()]
        out = page_of(children, page, limit, lambda c: child_json(c, doc))
        pages = -(-len(children) // limit)
        return {"data": out["data"], "total": out["total"], "total_pages": pages, "page": page, "limit": limit}
    return await in_pool(request, work)


@router.patch(DOC + "/segments/{segment_id}/child_chunks/{child_id}", summary="Edit a child chunk (embedded again)")
async def update_child_chunk(request: Request, _: Key, dataset_id: str, document_id: str, segment_id: str,
                             child_id: str, body: ChildChange):
    services = request.app.state.services

    def work():
        doc = _child_or_404(services, dataset_id, document_id, segment_id, child_id)
        parent = services.knowledge.update_child_chunk(child_id, content=body.content)
        return {"data": child_json(next(c for c in parent.children if c.id == child_id), doc)}
    return await in_pool(request, work)


@router.post(DOC + "/segments/{segment_id}/child_chunks",
             summary="Add a child chunk written by hand (embedded at once)")
async def add_child_chunk(request: Request, _: Key, dataset_id: str, document_id: str, segment_id: str,
                          body: ChildChange):
    services = request.app.state.services

    def work():
        _, doc = _lookup(services, dataset_id, document_id)
        seg = segment_or_404(services, doc, segment_id)
        if doc.status != DocumentStatus.COMPLETED:
            raise ApiError(400, "document_indexing", NOT_INDEXED)
        return {"data": child_json(services.knowledge.add_child_chunk(seg.id, body.content), doc)}
    return await in_pool(request, work)


@router.delete(DOC + "/segments/{segment_id}/child_chunks/{child_id}", status_code=204,
               summary="Delete a child chunk (a chunk keeps at least one)")
async def delete_child_chunk(request: Request, _: Key, dataset_id: str, document_id: str, segment_id: str,
                             child_id: str):
    services = request.app.state.services

    def work():
        _child_or_404(services, dataset_id, document_id, segment_id, child_id)
        services.knowledge.delete_child_chunk(child_id)
    await in_pool(request, work)
    return Response(status_code=204)
