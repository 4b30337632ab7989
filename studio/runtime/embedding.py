"""Local embedding models through llama.cpp: safe tokenising and truncation, packed batches, cancel, thread safety."""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from studio.core.cancel import CancelToken
from studio.core.entities import ModelInfo
from studio.core.errors import CancelledError, ModelError
from studio.runtime import bert_gguf
from studio.runtime.gguf_info import GGUFInspector

log = logging.getLogger(__name__)

# Tokens packed per decode call (tests/bench/RESULTS.md): packing short texts is ~50% faster than one per decode,
# and 256 beats 512 because attention over a packed batch grows with its square. A longer input still goes alone in
# one decode: the context's own batch is the model's full n_ctx_train (a non-causal encoder needs a whole sequence
# in one ubatch).
DEFAULT_BATCH = 256
MAX_CONTEXT = 8192


class LlamaEncoder:
    """A BERT-family GGUF loaded for pooled outputs: tokenises safely and packs many sequences per decode.
    Subclasses turn the pooled rows into embeddings or rerank scores."""

    def __init__(self, path: str | Path, *, n_threads: int, n_batch: int = DEFAULT_BATCH, name: str | None = None,
                 pooling: int | None = None) -> None:
        import llama_cpp

        self.path = Path(path)
        self._name = name or self.path.stem
        self._lock = threading.Lock()
        # A non-causal encoder takes a whole sequence in one ubatch, so the batch is the model's full context
        # (capped: long-context encoders would need huge compute buffers); `n_batch` only sets how many tokens
        # we pack per decode.
        n_ctx = min(GGUFInspector().inspect(str(self.path)).context_length or 512, MAX_CONTEXT)
        extra = {} if pooling is None else {"pooling_type": pooling}
        try:
            self._llm = llama_cpp.Llama(model_path=str(self.path), embedding=True, n_ctx=n_ctx, n_batch=n_ctx,
                                        n_ubatch=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
                                        flash_attn=True, verbose=False, **extra)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"Could not load {self.path.name}: {exc}") from exc
        self._max_tokens = min(self._llm.n_ctx(), self._llm._model.n_ctx_train() or self._llm.n_ctx())
        self._pack = min(n_batch, self._llm.n_batch)
        self._n_seq_max = int(self._llm.context_params.n_seq_max)
        self._sep = self._llm.token_eos()
        self._closed = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def max_tokens(self) -> int:
        """The longest input the model sees, special tokens included; longer inputs are cut to this."""
        return self._max_tokens

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._llm.close()

    # -- tokens ------------------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        """The token ids the model sees for `text`: NFD-normalised, with [CLS]/[SEP], capped at max_tokens."""
        with self._lock:
            self._check_open()
            return self._tokenize(text)

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes before truncation, [CLS]/[SEP] included (compare with max_tokens)."""
        with self._lock:
            self._check_open()
            return len(self._raw_tokens(text, special=True))

    def _raw_tokens(self, text: str, special: bool) -> list[int]:
        return self._llm.tokenize(prepare(text).encode("utf-8"), add_bos=special, special=False)

    def _tokenize(self, text: str) -> list[int]:
        tokens = self._raw_tokens(text, special=True)
        if len(tokens) > self._max_tokens:
            # llama.cpp aborts the whole process on an input longer than its context; keep [SEP] at the end
            # like Hugging Face's truncation does.
            tokens = tokens[:self._max_tokens - 1] + [self._sep]
        return tokens

    # -- decoding ----------------------------------------------------------------------------------
    def _run(self, sequences: Sequence[list[int]], width: int, cancel: CancelToken | None) -> np.ndarray:
        """Pooled outputs (n, width) for token sequences, packing up to n_batch tokens per decode; the caller
        holds the lock."""
        self._check_open()
        out = np.zeros((len(sequences), width), dtype=np.float32)
        batch: list[tuple[int, list[int]]] = []
        used = 0
        for i, tokens in enumerate(sequences):
            if batch and (used + len(tokens) > self._pack or len(batch) >= self._n_seq_max):
                self._decode(batch, out, cancel)
                batch, used = [], 0
            batch.append((i, tokens))
            used += len(tokens)
        if batch:
            self._decode(batch, out, cancel)
        return out

    def _decode(self, batch: list[tuple[int, list[int]]], out: np.ndarray, cancel: CancelToken | None) -> None:
        import llama_cpp

        if cancel is not None and cancel.cancelled:
            raise CancelledError(cancel.reason or "cancelled")
        llm = self._llm
        llm._batch.reset()
        for seq, (_, tokens) in enumerate(batch):
            llm._batch.add_sequence(tokens, seq, True)  # every token is an output, or llama.cpp warns per batch
        try:
            llm._ctx.kv_cache_clear()
            llm._ctx.decode(llm._batch)
        except RuntimeError as exc:
            raise ModelError(f"{self._name} failed: {exc}") from exc
        finally:
            llm._batch.reset()
        for seq, (row, _) in enumerate(batch):
            ptr = llama_cpp.llama_get_embeddings_seq(llm._ctx.ctx, seq)
            if not ptr:
                raise ModelError(f"{self._name} returned no pooled output (is it an embedding model?)")
            out[row] = np.ctypeslib.as_array(ptr, shape=(out.shape[1],))

    def _check_open(self) -> None:
        if self._closed:
            raise ModelError(f"The model {self._name} is closed")


class LlamaEmbedder(LlamaEncoder):
    """Implements core.knowledge.Embedder for GGUF embedding models (BERT family) with the pooling in their file."""

    def __init__(self, path: str | Path, *, n_threads: int, n_batch: int = DEFAULT_BATCH,
                 name: str | None = None) -> None:
        super().__init__(path, n_threads=n_threads, n_batch=n_batch, name=name)
        self._dimension = int(self._llm.n_embd())

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: Sequence[str], cancel: CancelToken | None = None) -> np.ndarray:
        """L2-normalised float32 vectors, shape (len(texts), dimension). An input longer than max_tokens is
        embedded in windows of max_tokens whose vectors are averaged (weighted by length), so the end of a long
        chunk counts as much as its start instead of being cut off."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        with self._lock:
            self._check_open()
            sequences, owners = [], []
            for i, text in enumerate(texts):
                for window in self._windows(text):
                    sequences.append(window)
                    owners.append(i)
            rows = _normalised(self._run(sequences, self._dimension, cancel))
        if len(sequences) == len(texts):
            return rows
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        np.add.at(out, owners, rows * np.array([len(s) for s in sequences], dtype=np.float32)[:, None])
        return _normalised(out)

    def _windows(self, text: str) -> list[list[int]]:
        tokens = self._raw_tokens(text, special=True)
        if len(tokens) <= self._max_tokens:
            return [tokens]
        first, body, last = tokens[0], tokens[1:-1], tokens[-1]
        size = self._max_tokens - 2
        return [[first, *body[i:i + size], last] for i in range(0, len(body), size)]


def _normalised(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def prepare(text: str) -> str:
    """NFD first: llama.cpp's WordPiece splits precomposed Hangul syllables wrongly (into [UNK]), and after NFD its
    ids match Hugging Face's tokenizer for every script we tested."""
    return unicodedata.normalize("NFD", text)


def open_embedder(model: ModelInfo | str | Path, n_threads: int, n_batch: int = DEFAULT_BATCH) -> LlamaEmbedder:
    """An embedder for a ModelInfo (named after it) or a GGUF path. The bundled model is converted here on first
    use: GGUFInspector lists it at its future path in the cache (see bert_gguf)."""
    if isinstance(model, ModelInfo):
        path = Path(model.path)
        if model.source == "bundled" and model.id == bert_gguf.BUNDLED_EMBEDDING_ID and not path.is_file():
            path = bert_gguf.ensure_bundled_embedding(path.parent.parent)
        return LlamaEmbedder(path, n_threads=n_threads, n_batch=n_batch, name=model.name)
    return LlamaEmbedder(model, n_threads=n_threads, n_batch=n_batch)
