"""The HTTP-request node's typed config, with Dify's timeout defaults and maxima and its legacy body forms."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from studio.workflow.node import NodeConfig

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
# HTTP_REQUEST_MAX_CONNECT_TIMEOUT / _READ_ / _WRITE_ (seconds): the defaults and the ceilings
MAX_CONNECT, MAX_READ, MAX_WRITE = 10, 600, 600
MAX_TEXT_SIZE = 1024 * 1024  # HTTP_REQUEST_NODE_MAX_TEXT_SIZE
MAX_BINARY_SIZE = 10 * 1024 * 1024  # HTTP_REQUEST_NODE_MAX_BINARY_SIZE


class AuthConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["basic", "bearer", "custom"] | None = None
    api_key: str | None = ""
    header: str | None = ""


class Authorization(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["no-auth", "api-key"] = "no-auth"
    config: AuthConfig | None = None


class BodyItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str = ""
    type: Literal["text", "file"] = "text"
    value: str = ""
    file: list[str] = Field(default_factory=list)


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["none", "form-data", "x-www-form-urlencoded", "raw-text", "json", "binary"] = "none"
    data: list[BodyItem] = Field(default_factory=list)

    @field_validator("data", mode="before")
    @classmethod
    def _legacy(cls, value: Any) -> Any:
        """Older DSL keeps the body as one string."""
        if value is None:
            return []
        if isinstance(value, str):
            return [{"key": "", "type": "text", "value": value}] if value else []
        return value


class Timeout(BaseModel):
    model_config = ConfigDict(extra="ignore")

    connect: float | None = None
    read: float | None = None
    write: float | None = None

    def seconds(self) -> tuple[float, float, float]:
        """Missing or zero means Dify's default; anything above the ceiling is the ceiling."""
        return (min(self.connect or MAX_CONNECT, MAX_CONNECT), min(self.read or MAX_READ, MAX_READ),
                min(self.write or MAX_WRITE, MAX_WRITE))


class HttpRequestConfig(NodeConfig):
    method: str = "get"
    url: str = ""
    authorization: Authorization = Field(default_factory=Authorization)
    headers: str = ""
    params: str = ""
    body: Body | None = None
    timeout: Timeout | None = None
    ssl_verify: bool | None = True
    variables: list[Any] = Field(default_factory=list)  # legacy, unused

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        if value.lower() not in METHODS:
            raise ValueError(f"Invalid http method {value}")
        return value.lower()
