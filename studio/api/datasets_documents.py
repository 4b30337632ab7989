"""Documents of a knowledge base through Dify's knowledge API: create from text or an uploaded file (indexed in the
background, so the reply comes at once with its `batch`), replace a document's text or file, list, get,
enable/disable, delete, and indexing status."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from studio.api.auth import dataset_caller
from studio.api.datasets_shapes import (DifyRetrieval, check_technique, dataset_or_404, display_status, doc_form,
                                        document_json, document_or_404, embedding_choice, in_pool, page_of,
                                        retrieval_settings, ts)
from studio.api.errors import ApiError
from studio.api.validation import describe
from studio.core.entities import ApiKey
from studio.core.text import require_text
from studio.core.knowledge import SUPPORTED_EXTENSIONS, DocumentStatus, KbDocument, ProcessRule

router = APIRouter(tags=["datasets"])
Key = Annotated[ApiKey, Depends(dataset_caller)]
BUSY = (DocumentStatus.WAITING, DocumentStatus.PARSING, DocumentStatus.INDEXING)
FILE_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"},
                   "data": {"type": "string", "description": "JSON: process_rule, doc_form, …"}}}}}}}

UPDATE_FILE_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": FILE_BODY["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"],
}}}}}


class DocumentOptions(BaseModel):
    """What create-by-text and the `data` field of create-by-file carry besides the content."""

    model_config = ConfigDict(extra="ignore")

    process_rule: dict[str, Any] | None = None
    original_document_id: str | None = None
    doc_form: str = "text_model"
    doc_language: str = "English"
    indexing_technique: str | None = None
    retrieval_model: DifyRetrieval | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None


class TextDocument(DocumentOptions):
    name: str = Field(min_length=1, max_length=255)
    text: str


class StatusRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    document_ids: list[str]


def _chunking(services, dataset, options: DocumentOptions) -> None:
    """Dify chunks each document by its own process rule; Studio chunks a knowledge base by one. An explicit rule
    becomes the knowledge base's while it is empty; "automatic" (or none) means the knowledge base's own."""
    if options.doc_form == "qa_model":
        raise ApiError(400, "invalid_param", "qa_model needs a language model to write question-answer pairs; Studio "
                       "does not implement it. Use text_model or hierarchical_model", params="doc_form")
    if options.doc_form not in ("text_model", "hierarchical_model"):
        raise ApiError(400, "invalid_param", "doc_form must be text_model or hierarchical_model", params="doc_form")
    given = options.process_rule or {}
    if given and given.get("mode") != "automatic":
        services.knowledge.set_process_rule(dataset.id, ProcessRule.from_dify(given))
    elif options.doc_form == "hierarchical_model" and dataset.process_rule.mode != "hierarchical":
        raise ApiError(400, "invalid_param", "hierarchical_model needs a process_rule with mode hierarchical",
                       params="process_rule")


def _first_document_settings(services, dataset, options: DocumentOptions) -> None:
    """As in Dify, the first document may choose the embedding model and retrieval settings of an empty knowledge
    base; later documents follow the knowledge base's."""
    if dataset.document_count:
        return
    embedding = embedding_choice(services, options.embedding_model, options.embedding_model_provider)
    if embedding is not None and embedding != dataset.embedding:
        services.knowledge.rebuild(dataset.id, embedding)
    if options.retrieval_model is not None:
        services.knowledge.update(dataset.id, retrieval=retrieval_settings(services, options.retrieval_model,
                                                                           dataset.retrieval))


def _create(services, dataset_id: str, options: DocumentOptions, name: str, source, filename: str) -> dict:
    dataset = dataset_or_404(services, dataset_id, counts=True)
    check_technique(options.indexing_technique)
    if options.original_document_id:
        raise ApiError(400, "invalid_param", "Studio does not replace a document through original_document_id; "
                       "delete the old document and create the new one", params="original_document_id")
    if Path(filename).suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise ApiError(415, "unsupported_file_type", f"File type not allowed: Studio reads "
                       f"{', '.join(SUPPORTED_EXTENSIONS)}")
    _chunking(services, dataset, options)
    _first_document_settings(services, dataset, options)
    doc = services.knowledge.add_document(dataset.id, name, source, filename)
    fresh = services.knowledge.get(dataset.id, counts=False)
    return {"document": document_json(services.knowledge.document(doc.id), doc_form(fresh), fresh.metadata_fields),
            "batch": doc.id}


def _text_file_name(name: str) -> str:
    """The stored file's name: the document's (its stem becomes the title ingestion embeds with every chunk)."""
    stem = "".join(c if c.isalnum() or c in " -_.()" else "_" for c in name).strip(" .") or "document"
    return stem[:200] if stem.lower().endswith(".txt") else f"{stem[:200]}.txt"


def _check_text(text: str) -> None:
    require_text(text, "text")
    if not text.strip():
        raise ApiError(400, "invalid_param", "text is empty: a document needs some text", params="text")


async def _by_text(request: Request, dataset_id: str, body: TextDocument):
    _check_text(body.text)
    services = request.app.state.services
    source = io.BytesIO(body.text.encode("utf-8"))
    return await in_pool(request, lambda: _create(services, dataset_id, body, body.name, source,
                                                  _text_file_name(body.name)))


@router.post("/datasets/{dataset_id}/document/create-by-text", summary="Add a document from text")
async def create_by_text(request: Request, _: Key, dataset_id: str, body: TextDocument):
    return await _by_text(request, dataset_id, body)


@router.post("/datasets/{dataset_id}/document/create_by_text", include_in_schema=False)
async def create_by_text_alias(request: Request, _: Key, dataset_id: str, body: TextDocument):
    return await _by_text(request, dataset_id, body)


def _options(raw: Any) -> DocumentOptions:
    if raw is None:
        return DocumentOptions()
    try:
        data = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        raise ApiError(400, "invalid_param", "data must be a JSON object of document options", params="data") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_param", "data must be a JSON object of document options", params="data")
    require_text(data, "data")
    try:
        return DocumentOptions.model_validate(data)
    except PydanticError as exc:
        field, message = describe(exc.errors(), prefix="data")
        raise ApiError(400, "invalid_param", message, params=field) from None


async def _by_file(request: Request, dataset_id: str):
    form = await request.form()
    item = form.get("file")
    if item is None or isinstance(item, str):
        raise ApiError(400, "no_file_uploaded", "Please upload your file.")
    if len(form.getlist("file")) > 1:
        raise ApiError(400, "too_many_files", "Only one file is allowed.")
    upload: UploadFile = item
    if not upload.filename:
        raise ApiError(400, "filename_not_exists_error", "The specified filename does not exist.")
    options = _options(form.get("data"))
    services = request.app.state.services
    name = Path(upload.filename.replace("\\", "/")).name
    return await in_pool(request, lambda: _create(services, dataset_id, options, name, upload.file, name))


@router.post("/datasets/{dataset_id}/document/create-by-file", summary="Add a document from an uploaded file",
             openapi_extra=FILE_BODY)
async def create_by_file(request: Request, _: Key, dataset_id: str):
    return await _by_file(request, dataset_id)


@router.post("/datasets/{dataset_id}/document/create_by_file", include_in_schema=False)
async def create_by_file_alias(request: Request, _: Key, dataset_id: str):
    return await _by_file(request, dataset_id)


class TextUpdate(DocumentOptions):
    name: str | None = Field(None, min_length=1, max_length=255)
    text: str | None = None


def _replace(services, dataset_id: str, document_id: str, options: DocumentOptions, name: str | None, source,
             filename: str | None) -> dict:
    """update-by-text/-file: the document keeps its id; new content is chunked and indexed again."""
    dataset = dataset_or_404(services, dataset_id, counts=True)
    doc = document_or_404(services, dataset, document_id)
    check_technique(options.indexing_technique)
    knowledge = services.knowledge
    if source is not None:
        if doc.status in BUSY and (knowledge.is_ingesting(dataset.id) or knowledge.ingesting_elsewhere(dataset.id)):
            raise ApiError(400, "document_indexing", "The document is being processed and cannot be edited.")
        if filename and Path(filename).suffix.lower() not in SUPPORTED_EXTENSIONS:
            raise ApiError(415, "unsupported_file_type", f"File type not allowed: Studio reads "
                           f"{', '.join(SUPPORTED_EXTENSIONS)}")
        _chunking(services, dataset, options)
    knowledge.replace_document(doc.id, name=name, source=source, filename=filename)
    fresh = knowledge.get(dataset.id, counts=False)
    return {"document": document_json(knowledge.document(doc.id), doc_form(fresh), fresh.metadata_fields),
            "batch": doc.id}


async def _update_by_text(request: Request, dataset_id: str, document_id: str, body: TextUpdate):
    if body.text is not None and body.name is None:
        raise ApiError(400, "invalid_param", "name is required with text: both text and name must be strings",
                       params="name")
    if body.text is not None:
        _check_text(body.text)
    services = request.app.state.services
    source = io.BytesIO(body.text.encode("utf-8")) if body.text is not None else None
    filename = _text_file_name(body.name) if body.text is not None else None
    return await in_pool(request, lambda: _replace(services, dataset_id, document_id, body, body.name, source,
                                                   filename))


@router.post("/datasets/{dataset_id}/documents/{document_id}/update-by-text",
             summary="Rename a document or replace its text (it keeps its id and is indexed again)")
async def update_by_text(request: Request, _: Key, dataset_id: str, document_id: str, body: TextUpdate):
    return await _update_by_text(request, dataset_id, document_id, body)


@router.post("/datasets/{dataset_id}/documents/{document_id}/update_by_text", include_in_schema=False)
async def update_by_text_alias(request: Request, _: Key, dataset_id: str, document_id: str, body: TextUpdate):
    return await _update_by_text(request, dataset_id, document_id, body)


async def _update_by_file(request: Request, dataset_id: str, document_id: str):
    form = await request.form()
    item = form.get("file")
    if isinstance(item, str):
        raise ApiError(400, "no_file_uploaded", "Please upload your file.")
    if len(form.getlist("file")) > 1:
        raise ApiError(400, "too_many_files", "Only one file is allowed.")
    options = _options(form.get("data"))
    services = request.app.state.services
    if item is None:  # Dify allows an update with options only; without content only the name could change
        name = None
        return await in_pool(request, lambda: _replace(services, dataset_id, document_id, options, name, None, None))
    upload: UploadFile = item
    if not upload.filename:
        raise ApiError(400, "filename_not_exists_error", "The specified filename does not exist.")
    name = Path(upload.filename.replace("\\", "/")).name
    return await in_pool(request, lambda: _replace(services, dataset_id, document_id, options, name, upload.file,
                                                   name))


@router.post("/datasets/{dataset_id}/documents/{document_id}/update-by-file",
             summary="Replace a document's file (it keeps its id and is indexed again)",
             openapi_extra=UPDATE_FILE_BODY)
async def update_by_file(request: Request, _: Key, dataset_id: str, document_id: str):
    return await _update_by_file(request, dataset_id, document_id)


@router.post("/datasets/{dataset_id}/documents/{document_id}/update_by_file", include_in_schema=False)
async def update_by_file_alias(request: Request, _: Key, dataset_id: str, document_id: str):
    return await _update_by_file(request, dataset_id, document_id)


@router.get("/datasets/{dataset_id}/documents", summary="A knowledge base's documents, newest first")
async def list_documents(request: Request, _: Key, dataset_id: str, page: int = Query(1, ge=1),
                         limit: int = Query(20, ge=1, le=100), keyword: str | None = None, status: str | None = None):
    services = request.app.state.services

    def work():
        dataset = dataset_or_404(services, dataset_id)
        docs = [d for d in services.knowledge.documents(dataset.id)
                if (not keyword or keyword.casefold() in d.name.casefold())
                and (not status or status in (display_status(d), d.status.value))]
        docs.sort(key=lambda d: (d.created_at, d.position), reverse=True)
        form = doc_form(dataset)
        return page_of(docs, page, limit, lambda d: document_json(d, form, dataset.metadata_fields))
    return await in_pool(request, work)


@router.get("/datasets/{dataset_id}/documents/{document_id}", summary="One document with its process rule")
async def get_document(request: Request, _: Key, dataset_id: str, document_id: str,
                       metadata: Literal["all", "only", "without"] = "all"):
    services = request.app.state.services

    def work():
        dataset = dataset_or_404(services, dataset_id)
        services.knowledge.keep_ingesting(dataset.id)
        doc = document_or_404(services, dataset, document_id)
        out = document_json(doc, doc_form(dataset), dataset.metadata_fields)
        if metadata == "only":
            return {"id": doc.id, "doc_type": None, "doc_metadata": out["doc_metadata"]}
        rule = dataset.process_rule.to_dify()
        out.update(dataset_process_rule=rule, document_process_rule=rule, doc_language="English",
                   updated_at=ts(doc.completed_at or doc.created_at), indexing_latency=None,
                   average_segment_length=doc.word_count // doc.segment_count if doc.segment_count else 0)
        if metadata == "without":
            out.pop("doc_metadata")
        return out
    return await in_pool(request, work)


@router.delete("/datasets/{dataset_id}/documents/{document_id}", status_code=204, summary="Delete a document")
async def delete_document(request: Request, _: Key, dataset_id: str, document_id: str):
    services = request.app.state.services

    def work():
        dataset = dataset_or_404(services, dataset_id)
        doc = document_or_404(services, dataset, document_id)
        knowledge = services.knowledge
        if doc.status in BUSY and (knowledge.is_ingesting(dataset.id) or knowledge.ingesting_elsewhere(dataset.id)):
            raise ApiError(400, "document_indexing", "Cannot delete document during indexing.")
        knowledge.delete_document(doc.id)
        knowledge.drop_stored(dataset.id, doc.id)
    await in_pool(request, work)
    return Response(status_code=204)


def _status_json(doc: KbDocument) -> dict[str, Any]:
    started = ts(doc.created_at) if doc.status != DocumentStatus.WAITING else None
    total = doc.segment_count
    done = total if doc.status == DocumentStatus.COMPLETED else min(doc.indexed_count, total)
    return {"id": doc.id, "indexing_status": doc.status.value, "processing_started_at": started,
            "parsing_completed_at": None, "cleaning_completed_at": None, "splitting_completed_at": None,
            "completed_at": ts(doc.completed_at), "paused_at": None, "error": doc.error or None, "stopped_at": None,
            "completed_segments": done, "total_segments": total}


@router.get("/datasets/{dataset_id}/documents/{batch}/indexing-status",
            summary="Indexing progress of the documents a create call made (its batch is the document id)")
async def indexing_status(request: Request, _: Key, dataset_id: str, batch: str):
    services = request.app.state.services

    def work():
        dataset = dataset_or_404(services, dataset_id)
        services.knowledge.keep_ingesting(dataset.id)  # a document that arrived as a run was ending waits no more
        docs = [d for d in services.knowledge.documents(dataset.id) if d.id == batch]
        if not docs:
            raise ApiError(404, "not_found", "Documents not found.")
        return {"data": [_status_json(d) for d in docs]}
    return await in_pool(request, work)


@router.patch("/datasets/{dataset_id}/documents/status/{action}", summary="Enable or disable documents")
async def document_status(request: Request, _: Key, dataset_id: str,
                          action: Literal["enable", "disable", "archive", "un_archive"], body: StatusRequest):
    services = request.app.state.services

    def work():
        dataset = dataset_or_404(services, dataset_id)
        if action in ("archive", "un_archive"):
            raise ApiError(400, "invalid_param", "Studio does not archive documents; disable them instead")
        docs = [document_or_404(services, dataset, doc_id) for doc_id in body.document_ids]
        for doc in docs:
            services.knowledge.set_document_enabled(doc.id, action == "enable")
        return {"result": "success"}
    return await in_pool(request, work)
