"""Cross-encoder reranking through llama.cpp's rank pooling: (query, passage) pairs scored 0..1."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from studio.core.cancel import CancelToken
from studio.core.errors import ModelError
from studio.runtime.embedding import DEFAULT_BATCH, LlamaEncoder


class LlamaReranker(LlamaEncoder):
    """Implements core.knowledge.Reranker for GGUF cross-encoders (BERT with a classifier head, as bert_gguf
    converts BertForSequenceClassification, or llama.cpp's own reranker GGUFs). llama.cpp's BERT graph gives every
    token type 0, so passage tokens do not get type 1 as in Hugging Face; llama-server's /rerank does the same."""

    def __init__(self, path: str | Path, *, n_threads: int, n_batch: int = DEFAULT_BATCH,
                 name: str | None = None) -> None:
        import llama_cpp

        super().__init__(path, n_threads=n_threads, n_batch=n_batch, name=name,
                         pooling=llama_cpp.LLAMA_POOLING_TYPE_RANK)
        arch = self._llm.metadata.get("general.architecture", "")
        if str(self._llm.metadata.get(f"{arch}.pooling_type")) != str(llama_cpp.LLAMA_POOLING_TYPE_RANK):
            # Without a classifier head llama.cpp's rank pooling still answers, with meaningless numbers.
            self.close()
            raise ModelError(f"{self.path.name} is not a reranker (its GGUF has no rank pooling head)")
        self._width = max(1, int(llama_cpp.llama_model_n_cls_out(self._llm._model.model)))

    def rerank(self, query: str, passages: Sequence[str], cancel: CancelToken | None = None) -> list[float]:
        """One score per passage in order: the sigmoid of the head's first logit (relevance for ms-marco heads)."""
        if not passages:
            return []
        with self._lock:
            self._check_open()
            pairs = [self._pair(query, p) for p in passages]
            logits = self._run(pairs, self._width, cancel)
        return [_sigmoid(float(row[0])) for row in logits]

    def _pair(self, query: str, passage: str) -> list[int]:
        """[CLS] query [SEP] passage [SEP], within max_tokens: the query keeps at most half, the passage the rest
        (Hugging Face's longest-first truncation gives much the same for a short query)."""
        q = self._raw_tokens(query, special=True)  # [CLS] query [SEP]
        half = self._max_tokens // 2
        if len(q) > half:
            q = q[:half - 1] + [self._sep]
        room = self._max_tokens - len(q) - 1
        p = self._raw_tokens(passage, special=False)[:max(room, 0)]
        return q + p + [self._sep]


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)
