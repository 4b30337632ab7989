"""Knowledge tags (/datasets/tags, bound to knowledge bases) and metadata fields (/datasets/{id}/metadata, values set
on documents with /documents/metadata), as Dify's knowledge API and its Python SDK use them. Its router is
included before /datasets/{dataset_id}, so that /datasets/tags is not read as a knowledge base's id."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from studio.api.auth import dataset_caller
from studio.api.datasets_shapes import dataset_or_404, in_pool
from studio.api.errors import ApiError
from studio.core.entities import ApiKey
from studio.core.knowledge import KbTag
from studio.services.kb_labels import BUILT_IN_FIELDS

router = APIRouter(tags=["datasets"])
Key = Annotated[ApiKey, Depends(dataset_caller)]
MAX_IDS = 1000


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TagCreate(_Body):
    name: str = Field(min_length=1, max_length=50)


class TagUpdate(_Body):
    tag_id: str = Field(min_length=1)
    name: str = Field(min_length=1, max_length=50)


class TagDelete(_Body):
    tag_id: str = Field(min_length=1)


class TagBinding(_Body):
    tag_ids: list[str] = Field(min_length=1, max_length=MAX_IDS)
    target_id: str = Field(min_length=1)


class TagUnbinding(_Body):
    """Dify's older body names one tag (tag_id); the newer one a list (tag_ids). Either is read."""

    tag_id: str | None = None
    tag_ids: list[str] | None = Field(default=None, max_length=MAX_IDS)
    target_id: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_of(self):
        if not self.tag_id and not self.tag_ids:
            raise ValueError("tag_id or tag_ids is required")
        return self


class FieldCreate(_Body):
    type: Literal["string", "number", "time"]
    name: str = Field(min_length=1, max_length=255)


class FieldRename(_Body):
    name: str = Field(min_length=1, max_length=255)


class MetadataValue(_Body):
    id: str = Field(min_length=1)
    name: str | None = None
    value: Any = None  # typed by its field (KnowledgeLabels.set_document_metadata); true/false is not a number


class DocumentMetadata(_Body):
    document_id: str = Field(min_length=1)
    metadata_list: list[MetadataValue] = Field(max_length=MAX_IDS)
    partial_update: bool = False


class MetadataOperations(_Body):
    operation_data: list[DocumentMetadata] = Field(min_length=1, max_length=MAX_IDS)


def _tag_json(tag: KbTag) -> dict[str, Any]:
    # Dify sends binding_count as a string
    return {"id": tag.id, "name": tag.name, "type": "knowledge", "binding_count": str(tag.binding_count)}


# -- tags -------------------------------------------------------------------------------------------------------
@router.get("/datasets/tags", summary="Knowledge tags, newest first, with how many knowledge bases carry each")
async def list_tags(request: Request, _: Key):
    return await in_pool(request, lambda: [_tag_json(t) for t in request.app.state.services.knowledge.tags()])


@router.post("/datasets/tags", summary="Create a knowledge tag")
async def create_tag(request: Request, _: Key, body: TagCreate):
    return await in_pool(request, lambda: _tag_json(request.app.state.services.knowledge.create_tag(body.name)))


@router.patch("/datasets/tags", summary="Rename a knowledge tag")
async def rename_tag(request: Request, _: Key, body: TagUpdate):
    return await in_pool(request, lambda: _tag_json(
        request.app.state.services.knowledge.rename_tag(body.tag_id, body.name)))


@router.delete("/datasets/tags", status_code=204, summary="Delete a knowledge tag (its knowledge bases stay)")
async def delete_tag(request: Request, _: Key, body: TagDelete):
    await in_pool(request, lambda: request.app.state.services.knowledge.delete_tag(body.tag_id))
    return Response(status_code=204)


@router.post("/datasets/tags/binding", status_code=204, summary="Put tags on a knowledge base")
async def bind_tags(request: Request, _: Key, body: TagBinding):
    services = request.app.state.services

    def work():
        services.knowledge.bind_tags(body.tag_ids, dataset_or_404(services, body.target_id).id)
    await in_pool(request, work)
    return Response(status_code=204)


@router.post("/datasets/tags/unbinding", status_code=204, summary="Take tags off a knowledge base")
async def unbind_tags(request: Request, _: Key, body: TagUnbinding):
    services = request.app.state.services
    tag_ids = [*(body.tag_ids or []), *([body.tag_id] if body.tag_id else [])]

    def work():
        services.knowledge.unbind_tags(tag_ids, dataset_or_404(services, body.target_id).id)
    await in_pool(request, work)
    return Response(status_code=204)


@router.get("/datasets/{dataset_id}/tags", summary="The tags on a knowledge base")
async def dataset_tags(request: Request, _: Key, dataset_id: str):
    services = request.app.state.services

    def work():
        dataset = dataset_or_404(services, dataset_id)
        tags = services.knowledge.tags_of([dataset.id])[dataset.id]
        return {"data": [{"id": t.id, "name": t.name} for t in tags], "total": len(tags)}
    return await in_pool(request, work)


# -- metadata fields ----------------------------------------------------------------------------------------------
@router.get("/datasets/{dataset_id}/metadata", summary="A knowledge base's metadata fields and their use")
async def list_metadata(request: Request, _: Key, dataset_id: str):
    services = request.app.state.services

    def work():
        dataset = dataset_or_404(services, dataset_id)
        return {"doc_metadata": services.knowledge.metadata_fields(dataset.id),
                "built_in_field_enabled": dataset.built_in_metadata}
    return await in_pool(request, work)


@router.post("/datasets/{dataset_id}/metadata", status_code=201, summary="Declare a metadata field")
async def create_metadata(request: Request, _: Key, dataset_id: str, body: FieldCreate):
    services = request.app.state.services

    def work():
        dataset = dataset_or_404(services, dataset_id)
        field = services.knowledge.add_metadata_field(dataset.id, body.name, body.type)
        return JSONResponse(field.model_dump(), status_code=201)
    return await in_pool(request, work)


@router.get("/datasets/{dataset_id}/metadata/built-in", summary="Dify's built-in metadata fields")
async def built_in_metadata(request: Request, _: Key, dataset_id: str):
    await in_pool(request, lambda: dataset_or_404(request.app.state.services, dataset_id))
    return {"fields": [{"name": name, "type": kind} for name, kind in BUILT_IN_FIELDS]}


@router.post("/datasets/{dataset_id}/metadata/built-in/{action}", summary="Switch the built-in fields on or off")
async def switch_built_in(request: Request, _: Key, dataset_id: str, action: str):
    if action not in ("enable", "disable"):
        raise ApiError(400, "invalid_action", f"Unknown action {action[:40]!r}; use enable or disable.")
    services = request.app.state.services

    def work():
        dataset = dataset_or_404(services, dataset_id)
        services.knowledge.set_built_in_metadata(dataset.id, action == "enable")
        return {"result": "success"}
    return await in_pool(request, work)


@router.patch("/datasets/{dataset_id}/metadata/{metadata_id}",
              summary="Rename a metadata field (documents' values follow)")
async def rename_metadata(request: Request, _: Key, dataset_id: str, metadata_id: str, body: FieldRename):
    services = request.app.state.services

    def work():
        dataset = dataset_or_404(services, dataset_id)
        return services.knowledge.rename_metadata_field(dataset.id, metadata_id, body.name).model_dump()
    return await in_pool(request, work)


@router.delete("/datasets/{dataset_id}/metadata/{metadata_id}", status_code=204,
               summary="Remove a metadata field and every document's value for it")
async def delete_metadata(request: Request, _: Key, dataset_id: str, metadata_id: str):
    services = request.app.state.services

    def work():
        services.knowledge.delete_metadata_field(dataset_or_404(services, dataset_id).id, metadata_id)
    await in_pool(request, work)
    return Response(status_code=204)


@router.post("/datasets/{dataset_id}/documents/metadata", summary="Set documents' metadata values")
async def document_metadata(request: Request, _: Key, dataset_id: str, body: MetadataOperations):
    services = request.app.state.services

    def work():
        dataset = dataset_or_404(services, dataset_id)
        operations = [(op.document_id, [item.model_dump() for item in op.metadata_list], op.partial_update)
                      for op in body.operation_data]
        services.knowledge.set_document_metadata(dataset.id, operations)
        return {"result": "success"}
    return await in_pool(request, work)
