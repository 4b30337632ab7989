"""Uploads for runs: POST /files/upload (multipart) and GET /files/{id}/preview.

An upload belongs to the app whose key uploaded it; another app's key is told it does not exist (404 file_not_found).
"""

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
MAX_USER_CHARS = 255  # the upload_files.user column, and the `user` limit of the run endpoints


def file_json(f: UploadedFile) -> dict:
    return {"id": f.id, "name": f.name, "size": f.size, "extension": f.extension, "mime_type": f.mime_type,
            "created_by": f.user, "created_at": unix(f.created_at), "preview_url": None,
            "source_url": None, "original_url": None, "user_id": f.user, "tenant_id": None, "conversation_id": None,
            "file_key": None}


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"}, "user": {"type": "string"}}}}}}}


def form_user(value: object) -> str:
    """The form's `user` field: text of at most 255 characters without NUL; DEFAULT-USER when left out."""
    if value is None or value == "":
        return DEFAULT_USER
    if not isinstance(value, str):
        raise ApiError(400, "invalid_param", "user must be a text field, not a file", params="user")
    if "\x00" in value:
        raise ApiError(400, "invalid_param", "user must not contain NUL characters", params="user")
    if len(value) > MAX_USER_CHARS:
        raise ApiError(400, "invalid_param", f"user must be at most {MAX_USER_CHARS} characters", params="user")
    return value


@router.post("/files/upload", status_code=201, summary="Upload a file to use in runs", openapi_extra=UPLOAD_BODY)
async def upload(caller: Caller, request: Request):
    async with request.form() as form:  # closes the spooled temp files of the form on the way out
        item = form.get("file")
        if item is None or isinstance(item, str):
            raise ApiError(400, "no_file_uploaded", "Please upload your file.")
        if len(form.getlist("file")) > 1:
            raise ApiError(400, "too_many_files", "Only one file is allowed.")
        user = form_user(form.get("user"))
        upload_file: UploadFile = item
        if not upload_file.filename:
            raise ApiError(400, "invalid_param", "The uploaded file has no name", params="file")
        services = request.app.state.services
        saved = await run_in_threadpool(services.files.save, upload_file.filename, upload_file.file, user=user,
                                        mime_type=upload_file.content_type or "", app_id=caller.app.id)
    return file_json(saved)


@router.get("/files/{file_id}/preview", summary="Download an uploaded file")
async def preview(caller: Caller, request: Request, file_id: str, user: str | None = None,
                  as_attachment: bool = False):
    services = request.app.state.services
    f = await run_in_threadpool(lambda: services.files.get_for(file_id, app_id=caller.app.id, user=user))
    if user and f.user != user:
        raise ApiError(403, "file_access_denied", "file access denied")
    inline = not as_attachment and _safe_inline(f.mime_type)
    return FileResponse(f.path, media_type=f.mime_type, filename=f.name,
                        content_disposition_type="inline" if inline else "attachment",
                        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"})


def _safe_inline(mime_type: str) -> bool:
    """Only types a browser shows without running anything are served inline; HTML, SVG and the rest download,
    so an uploaded page can never run script from the API's address."""
    kind = (mime_type or "").split(";")[0].strip().lower()
    return (kind in ("application/pdf", "text/plain") or kind.split("/")[0] in ("audio", "video")
            or (kind.startswith("image/") and kind != "image/svg+xml"))
