"""Fixtures for the API tests: real services on a temp home, served by uvicorn on a free loopback port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "dsl-samples"


@pytest.fixture
def api(services):
    """A running API server over `services`; yields its base URL (…/v1)."""
    server = services.api_access.build(services, port=0)
    url = server.start()
    yield url
    server.stop()


@pytest.fixture
def chat_app(services):
    return services.apps.create("Helper", "chat", prompt="You are a helpful assistant. Answer briefly.")


@pytest.fixture
def chat_key(services, chat_app) -> str:
    return services.keys.create(chat_app.id)[1]


@pytest.fixture
def client(api) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api, timeout=120) as c:
        yield c


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def sse_events(response: httpx.Response) -> list[dict | str]:
    """Parse an SSE body exactly: each frame must be `data: {json}` or the bare `event: ping`, ending with a blank
    line. Returns the decoded JSON objects, and "ping" for keep-alives."""
    out: list[dict | str] = []
    text = response.text if response.is_stream_consumed else response.read().decode()
    assert text.endswith("\n\n"), "an SSE body ends with a blank line"
    for block in text.split("\n\n")[:-1]:
        if block == "event: ping":
            out.append("ping")
            continue
        assert block.startswith("data: ") and "\n" not in block, f"bad SSE frame: {block!r}"
        out.append(json.loads(block[len("data: "):]))
    return out


def import_sample(services, name: str):
    return services.dsl.import_file(SAMPLES / name).app
