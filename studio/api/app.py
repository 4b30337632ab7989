"""The FastAPI application: guards, error envelope, and the Dify and OpenAI-compatible routers under /v1."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from studio import __version__
from studio.api import (
    conversations, datasets, errors, files, info, openai_compat, openapi, runs, workflow_logs,
)
from studio.api.security import BODY_TIMEOUT_SECONDS, MAX_BODY_BYTES, GuardMiddleware, allowed_hosts
from studio.api.streams import PING_SECONDS
from studio.api.tasks import TaskRegistry

DEFAULT_WORKERS = 16
ROUTERS = (runs.router, info.router, conversations.router, files.router, workflow_logs.router, openai_compat.router,
           datasets.router)


def create_app(services, *, host: str = "127.0.0.1", extra_hosts: Iterable[str] = (),
               cors_origins: Iterable[str] = (), workers: int = DEFAULT_WORKERS,
               max_body: int = MAX_BODY_BYTES, body_timeout: float = BODY_TIMEOUT_SECONDS,
               ping_seconds: float = PING_SECONDS) -> FastAPI:
    """An ASGI app over `services`. `workers` bounds how many requests run service code at once; a request body
    must arrive within `body_timeout` seconds and weigh at most `max_body` bytes."""
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="studio-api")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="Studio service API", version=__version__, lifespan=lifespan,
                  description="Dify-compatible service API and OpenAI-compatible chat completions for Studio apps.",
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services
    app.state.pool = pool
    app.state.tasks = TaskRegistry()
    app.state.ping_seconds = ping_seconds
    errors.install(app)
    openapi.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix="/v1")
    origins = [o for o in cors_origins if o]
    if origins:  # off unless configured: a web page must not read answers from a local API by default
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(GuardMiddleware, hosts=allowed_hosts(host, extra_hosts), authenticate=lambda token: app.state.services.keys.authenticate(token),
                       max_body=max_body, body_timeout=body_timeout)
    return app

