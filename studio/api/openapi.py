"""The published OpenAPI schema says what the API really answers: Dify's error envelope (400, not FastAPI's 422),
the key it needs, and that run endpoints stream `text/event-stream` when asked to."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from studio.api.errors import is_openai_path

ERROR_SCHEMA = {
    "type": "object", "required": ["code", "message", "status"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "status": {"type": "integer"},
                   "params": {"type": "string"}},
}
OPENAI_ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["message", "type"], "properties": {
        "message": {"type": "string"}, "type": {"type": "string"}, "param": {"type": ["string", "null"]},
        "code": {"type": ["string", "null"]}}}},
}
ERROR_STATUSES = {"400": "Invalid request (Dify code invalid_param, not_chat_app, …)",
                  "401": "Missing or invalid API key", "403": "The key does not grant this, or a foreign Host header",
                  "404": "Not found", "405": "Method not allowed", "408": "The request body arrived too slowly",
                  "413": "Body or file too large", "415": "Unsupported file type", "409": "Conflict",
                  "503": "The server is stopping"}
STREAMING_PATHS = ("/v1/chat-messages", "/v1/completion-messages", "/v1/workflows/run", "/v1/workflows/{workflow_id}/run",
                   "/v1/chat/completions")
# One Server-Sent Event: `data` holds a JSON event (Dify's or OpenAI's chunk), `event` is "message" or "ping".
SSE = {"text/event-stream": {"schema": {"type": "object", "properties": {
    "data": {"type": "string"}, "event": {"type": "string"}, "id": {"type": "string"}}}}}


def install(app: FastAPI) -> None:
    """Serve the schema at /v1/openapi.json to any valid key (like every other endpoint)."""
    from fastapi import Depends
    from fastapi.responses import JSONResponse

    from studio.api.auth import authenticate

    @app.get("/v1/openapi.json", include_in_schema=False, dependencies=[Depends(authenticate)])
    async def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    def schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            _rewrite(doc)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = schema


def _rewrite(doc: dict[str, Any]) -> None:
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {})["ErrorEnvelope"] = ERROR_SCHEMA
    components["schemas"]["OpenAIError"] = OPENAI_ERROR_SCHEMA
    components.setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer"}
    doc["security"] = [{"bearer": []}]
    for schema_name in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(schema_name, None)
    for path, item in doc.get("paths", {}).items():
        name = "OpenAIError" if is_openai_path(path) else "ErrorEnvelope"
        error = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, text in ERROR_STATUSES.items():
                responses.setdefault(status, {"description": text, **error})
            if path in STREAMING_PATHS:
                ok = responses.setdefault("200", {"description": "OK"})
                ok.setdefault("content", {}).update(SSE)
