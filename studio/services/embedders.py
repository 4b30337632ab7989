"""Embedder and reranker handles: one loaded instance per model, shared by ingestion and queries."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from studio.core.errors import ModelError, NotFoundError
from studio.core.knowledge import EmbeddingChoice, Embedder, Reranker

log = logging.getLogger(__name__)
_KIND_NAMES = {"chat": "a chat", "embedding": "an embedding", "rerank": "a reranking"}


class EmbedderPool:
    """Opens embedders lazily and keeps them: loading a GGUF model costs more than most queries."""

    def __init__(self, models, cache_dir: Path, threads) -> None:
        self._models = models  # ModelService
        self._cache_dir = Path(cache_dir)
        self._threads = threads  # () -> int, read at load time so a changed preference applies
        self._lock = threading.Lock()
        self._embedders: dict[EmbeddingChoice, Embedder] = {}
        self._rerankers: dict[str, Reranker] = {}

    def embedder(self, choice: EmbeddingChoice) -> Embedder:
        with self._lock:
            found = self._embedders.get(choice)
            if found is None:
                found = self._embedders[choice] = self._open(choice)
            return found

    def _open(self, choice: EmbeddingChoice) -> Embedder:
        if choice.provider == "openai_api_compatible":
            from studio.runtime.http_embedding import OpenAIEmbedder

            if not choice.base_url:
                raise ModelError("The embedding endpoint has no base URL")
            return OpenAIEmbedder(choice.base_url, choice.model)
        from studio.runtime.embedding import LlamaEmbedder

        return LlamaEmbedder(self._local_path(choice.model), n_threads=self._threads())

    def _local_path(self, model_id: str) -> str:
        from studio.core.entities import ModelKind

        try:
            model = self._models.get(model_id)
        except NotFoundError:
            raise ModelError(f"The embedding model {model_id!r} is not installed; pick another one for this "
                             "knowledge base.") from None
        if model.kind != ModelKind.EMBEDDING:
            raise ModelError(f"{model.name} is {_KIND_NAMES.get(model.kind, 'a ' + model.kind.value)} model, not an "
                             "embedding model")
        if model.error:
            raise ModelError(f"Embedding model {model.name} is unavailable: {model.error}")
        if model.source == "bundled" and not Path(model.path).exists():
            from studio.runtime.bert_gguf import ensure_bundled_embedding

            return str(ensure_bundled_embedding(self._cache_dir))
        return model.path

    def reranker(self, model_id: str) -> Reranker:
        """The cross-encoder a retrieval setting's `reranking_model_name` names (a Studio model id), loaded once."""
        with self._lock:
            found = self._rerankers.get(model_id)
            if found is None:
                from studio.runtime.rerank import LlamaReranker

                path = self._reranker_path(model_id)
                found = self._rerankers[model_id] = LlamaReranker(path, n_threads=self._threads())
            return found

    def has_reranker(self, model_id: str) -> bool:
        """Whether `model_id` names an installed, usable reranker."""
        from studio.core.entities import ModelKind

        return any(m.id == model_id and m.kind == ModelKind.RERANK and not m.error for m in self._models.list())

    def _reranker_path(self, model_id: str) -> str:
        from studio.core.entities import ModelKind

        try:
            model = self._models.get(model_id)
        except NotFoundError:
            raise ModelError(f"The reranking model {model_id!r} is not installed; add a reranker GGUF on the Models "
                             "page, pick another one, or turn reranking off.") from None
        if model.error:
            raise ModelError(f"Reranking model {model.name} is unavailable: {model.error}")
        if model.kind != ModelKind.RERANK:
            raise ModelError(f"{model.name} is {_KIND_NAMES.get(model.kind, 'a ' + model.kind.value)} model, not a "
                             "reranking model")
        return model.path

    def close(self) -> None:
        with self._lock:
            for handle in [*self._embedders.values(), *self._rerankers.values()]:
                try:
                    handle.close()
                except Exception:  # noqa: BLE001 - closing must not stop the others from closing
                    log.exception("closing %s failed", handle)
            self._embedders.clear()
            self._rerankers.clear()
