"""Request bodies of the Dify service API, as pydantic models (they also make the OpenAPI schema)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

MAX_USER = 255  # Dify's end-user session ids are at most 255 characters


def no_nul(value: str | None) -> str | None:
    """A `user` is stored and shown in the logs: a NUL character there is never a real id."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


User = Annotated[str, Field(min_length=1, max_length=MAX_USER), AfterValidator(no_nul)]
OptionalUser = Annotated[str | None, Field(max_length=MAX_USER), AfterValidator(no_nul)]
QueryUser = Annotated[str | None, Query(max_length=MAX_USER), AfterValidator(no_nul)]  # `?user=` on GET endpoints
RequiredQueryUser = Annotated[str, Query(min_length=1, max_length=MAX_USER), AfterValidator(no_nul)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")  # like Dify: fields it does not know are ignored


class FileItem(_Body):
    type: Literal["image", "document", "audio", "video", "custom"] = "custom"
    transfer_method: Literal["remote_url", "local_file"]
    url: str | None = None
    upload_file_id: str | None = None


class _Run(_Body):
    inputs: dict[str, Any]
    files: list[FileItem] | None = None
    response_mode: Literal["blocking", "streaming"] | None = "blocking"
    user: User


class ChatRequest(_Run):
    query: str = Field(max_length=100_000)
    conversation_id: str | None = None
    auto_generate_name: bool = True
    workflow_id: str | None = None

    @field_validator("conversation_id")
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        if value:
            try:
                uuid.UUID(value)
            except ValueError:
                raise ValueError("must be a valid UUID") from None
        return value or None


class CompletionRequest(_Run):
    query: str = Field(default="", max_length=100_000)
    retriever_from: str = "dev"


class WorkflowRequest(_Run):
    pass


class StopRequest(_Body):
    user: User


class ResultResponse(BaseModel):
    result: Literal["success"] = "success"
