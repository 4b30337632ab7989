"""API keys on every request: `Authorization: Bearer app-…` selects the app; `dataset-…` keys reach knowledge bases."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from studio.api.errors import ApiError
from studio.api.security import KEY_STATE, MISSING_KEY, bearer
from studio.core.entities import ApiKey, App
from studio.core.errors import AuthenticationError, NotFoundError

MISSING = MISSING_KEY


@dataclass(frozen=True)
class AppCaller:
    """Who is calling: the key and the app it belongs to."""

    key: ApiKey
    app: App


def bearer_token(request: Request) -> str:
    token = bearer(request.headers.get("authorization", ""))
    if token is None:
        raise ApiError(401, "unauthorized", MISSING)
    return token


async def authenticate(request: Request) -> ApiKey:
    checked = request.scope.get("state", {}).get(KEY_STATE)  # a request with a body was checked by the guard
    if checked is not None:
        return checked
    services = request.app.state.services
    return await run_in_threadpool(services.keys.authenticate, bearer_token(request))


async def app_caller(request: Request) -> AppCaller:
    """FastAPI dependency for the app endpoints."""
    key = await authenticate(request)
    if key.scope != "app" or not key.app_id:
        raise ApiError(403, "forbidden", "This key is a knowledge-base key; app endpoints need an app key (app-…)")
    services = request.app.state.services
    try:
        app = await run_in_threadpool(services.apps.get, key.app_id)
    except NotFoundError:
        raise AuthenticationError("Access token is invalid: its app was deleted") from None
    return AppCaller(key=key, app=app)


async def dataset_caller(request: Request) -> ApiKey:
    """FastAPI dependency for the knowledge (datasets) endpoints."""
    key = await authenticate(request)
    if key.scope != "dataset":
        raise ApiError(403, "forbidden", "The knowledge API needs a knowledge-base key (dataset-…), not an app key")
    return key
