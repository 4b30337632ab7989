"""Uploads for runs: POST /files/upload (multipart) and GET /files/{id}/preview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from studio.api.auth import AppCaller, app_caller
from studio.api.errors import ApiError
from studio.api.events import unix
from studio.core.entities import UploadedFile

router = APIRouter(tags=["files"])
Caller = Annotated[AppCaller, Depends(app_caller)]
DEFAULT_USER = "DEFAULT-USER"


def file_json(f: UploadedFile) -> dict:
    return {"id": f.id, "name": f.name, "size": f.size, "extension": f.extension, "mime_type": f.mime_type,
            "created_by": f.user, "created_at": unix(f.created_at), "preview_url": None,
            "source_url": None, "original_url": None, "user_id": f.user, "tenant_id": None, "conversation_id": None,
            "file_key": None}


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"}, "user": {"type": "string"}}}}}}}


@router.post("/files/upload", status_code=201, summary="Upload a file to use in runs", openapi_extra=UPLOAD_BODY)
async def upload(caller: Caller, request: Request):
    form = await request.form()
    item = form.get("file")
    if item is None or isinstance(item, str):
        raise ApiError(400, "no_file_uploaded", "Please upload your file.")
    if len(form.getlist("file")) > 1:
        raise ApiError(400, "too_many_files", "Only one file is allowed.")
    user = str(form.get("user") or DEFAULT_USER)
    upload_file: UploadFile = item
    if not upload_file.filename:
        raise ApiError(400, "invalid_param", "The uploaded file has no name", params="file")
    services = request.app.state.services
    saved = await run_in_threadpool(services.files.save, upload_file.filename, upload_file.file, user=user,
                                    mime_type=upload_file.content_type or "")
    return file_json(saved)


@router.get("/files/{file_id}/preview", summary="Download an uploaded file")
async def preview(caller: Caller, request: Request, file_id: str, user: str | None = None,
                  as_attachment: bool = False):
    services = request.app.state.services
    f = await run_in_threadpool(services.files.get, file_id)
    if user and f.user != user:
        raise ApiError(403, "file_access_denied", "file access denied")
    return FileResponse(f.path, media_type=f.mime_type, filename=f.name,
                        content_disposition_type="attachment" if as_attachment else "inline")
