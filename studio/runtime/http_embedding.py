"""Embeddings from an OpenAI-compatible `/v1/embeddings` server (httpx); errors name the server, never the key."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import httpx
import numpy as np

from studio.core.cancel import CancelToken
from studio.core.errors import CancelledError, ModelError

log = logging.getLogger(__name__)

BATCH = 64  # inputs per request: OpenAI accepts 2048, but small requests let cancel act sooner


class OpenAIEmbedder:
    """Implements core.knowledge.Embedder against `<base_url>/embeddings` (base_url ends in /v1 or is the host)."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *, timeout: float = 60.0,
                 batch: int = BATCH) -> None:
        base = base_url.rstrip("/")
        self.url = (base if base.endswith("/v1") else base + "/v1") + "/embeddings"
        self.model = model
        self.batch = max(1, batch)
        self._secret = api_key or ""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)
        self._dimension: int | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.model

    @property
    def dimension(self) -> int:
        """The vector size, learned from the server on first use (one small request if nothing was embedded yet)."""
        if self._dimension is None:
            self.embed(["dimension probe"])
        assert self._dimension is not None
        return self._dimension

    def embed(self, texts: Sequence[str], cancel: CancelToken | None = None) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), self.batch):
            if cancel is not None and cancel.cancelled:
                raise CancelledError(cancel.reason or "embedding cancelled")
            rows.append(self._request(list(texts[start:start + self.batch])))
        if not rows:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        out = np.concatenate(rows)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)

    def close(self) -> None:
        self._client.close()

    def _request(self, inputs: list[str]) -> np.ndarray:
        # Some servers reject an empty string; a single space embeds the same "nothing" there.
        body = {"model": self.model, "input": [t if t else " " for t in inputs], "encoding_format": "float"}
        try:
            response = self._client.post(self.url, json=body)
        except httpx.ConnectError:
            raise ModelError(f"Could not connect to the embedding server at {self.url} (is it running?)") from None
        except httpx.TimeoutException:
            raise ModelError(f"The embedding server at {self.url} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise ModelError(f"Request to the embedding server at {self.url} failed: {type(exc).__name__}") from None
        if response.status_code >= 400:
            detail = _detail(response)
            if self._secret:  # a server could echo the request, header and all
                detail = detail.replace(self._secret, "***")
            raise ModelError(f"The embedding server at {self.url} answered HTTP {response.status_code}: {detail}")
        return self._vectors(response, len(inputs))

    def _vectors(self, response: httpx.Response, expected: int) -> np.ndarray:
        try:
            data = response.json()["data"]
            items = sorted(data, key=lambda d: d["index"])
            out = np.asarray([item["embedding"] for item in items], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"The embedding server at {self.url} sent a malformed answer "
                             f"({type(exc).__name__}: {str(exc)[:100]})") from None
        if out.ndim != 2 or out.shape[0] != expected:
            raise ModelError(f"The embedding server at {self.url} returned {out.shape[0] if out.ndim else 0} "
                             f"vectors for {expected} inputs")
        with self._lock:
            if self._dimension is None:
                self._dimension = int(out.shape[1])
            elif out.shape[1] != self._dimension:
                raise ModelError(f"The embedding server at {self.url} changed its vector size from "
                                 f"{self._dimension} to {out.shape[1]}")
        return out


def _detail(response: httpx.Response) -> str:
    """The server's own error message, short."""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error or response.json().get("detail")
    except (ValueError, AttributeError):
        message = None
    return str(message or response.reason_phrase or "error")[:300]
