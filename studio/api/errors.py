"""Dify's error envelope {code, message, status}: every failure a client can meet, and never a stack trace."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from studio.api.validation import describe
from studio.core import errors as core

log = logging.getLogger(__name__)

# Domain error code → HTTP status. Codes not listed are client mistakes (400).
STATUS_BY_CODE = {
    core.NotFoundError.code: 404,
    core.FileNotFoundInStoreError.code: 404,
    core.AuthenticationError.code: 401,
    core.ForbiddenError.code: 403,
    "file_access_denied": 403,
    core.FileTooLargeError.code: 413,
    "request_too_large": 413,
    core.UnsupportedFileTypeError.code: 415,
    core.ConflictError.code: 409,
    core.DatabaseVersionError.code: 500,
}
# Studio's own codes that Dify spells differently.
DIFY_CODE = {
    core.ModelError.code: "model_currently_not_support",
    core.PromptTooLongError.code: "completion_request_error",
    core.CancelledError.code: "completion_request_error",
    core.ConflictError.code: "invalid_param",
    core.StudioError.code: "invalid_param",
    core.DatabaseVersionError.code: "internal_server_error",
}
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              408: "request_timeout", 413: "request_too_large", 415: "unsupported_media_type",
              429: "too_many_requests", 503: "service_unavailable"}
OPENAI_PATHS = ("/v1/chat/completions", "/v1/models")  # these answer in OpenAI's error envelope, not Dify's


def is_openai_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in OPENAI_PATHS)


class ApiError(Exception):
    """An HTTP-level failure with Dify's code name (e.g. not_chat_app, app_unavailable)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def envelope(status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "status": status, **extra}


def openai_envelope(status: int, message: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def envelope_for(path: str, status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    """Dify's envelope, or OpenAI's on the OpenAI-compatible paths (`params` becomes OpenAI's `param`)."""
    if is_openai_path(path):
        return openai_envelope(status, message, extra.get("params"), "invalid_api_key" if status == 401 else code)
    return envelope(status, code, message, **extra)


def error_json(status: int, code: str, message: str, headers: dict[str, str] | None = None, *, path: str = "",
               **extra: Any) -> JSONResponse:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="api"'}
    return JSONResponse(envelope_for(path, status, code, message, **extra), status_code=status, headers=headers)


def from_studio_error(exc: core.StudioError) -> tuple[int, str]:
    """The HTTP status and Dify code for a domain error."""
    status = STATUS_BY_CODE.get(exc.code, 400)
    return status, DIFY_CODE.get(exc.code, exc.code)


def install(app: FastAPI) -> None:
    """Route every error, ours or the framework's, into the envelope."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_json(exc.status, exc.code, exc.message, path=request.url.path, **exc.extra)

    @app.exception_handler(core.StudioError)
    async def _studio_error(request: Request, exc: core.StudioError) -> JSONResponse:
        status, code = from_studio_error(exc)
        if status >= 500:
            log.error("request failed: %s", exc.message)
        return error_json(status, code, exc.message, path=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        field, message = describe(exc.errors())
        return error_json(400, "invalid_param", message, path=request.url.path, **({"params": field} if field else {}))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal_server_error")
        message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = "The requested URL was not found on the server."
        return error_json(exc.status_code, code, message, headers=getattr(exc, "headers", None),
                          path=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in the API")  # the trace goes to the log, never to the client
        return error_json(500, "internal_server_error", "The server met an unexpected error; see Studio's log.",
                          path=request.url.path)
