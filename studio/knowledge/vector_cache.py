"""Exact cosine search over a knowledge base's vectors held in memory: one matrix product beats a LanceDB vector
query (a few ms against ~13-25 ms of per-query overhead at 100k rows) and is exact, so tables that fit the memory
budget are searched here; bigger ones use LanceDB's ANN index."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

MEMORY_BUDGET = 256 * 1024 * 1024  # bytes of float32 vectors one knowledge base may keep in memory


_blas_limited = False


def _one_blas_thread() -> None:
    """OpenBLAS threads spin after a product and starve llama.cpp's threads on a small machine: a 100k-row
    search then slowed the next query embedding from 5 to 11 ms. One BLAS thread does the product in ~5 ms.
    (Set once per process; Studio runs no other heavy BLAS work.)"""
    global _blas_limited
    if not _blas_limited:
        threadpool_limits(1, "blas")
        _blas_limited = True


def fits(rows: int, dimension: int) -> bool:
    return rows * dimension * 4 <= MEMORY_BUDGET


class VectorCache:
    """An immutable snapshot of a table's rows (segment id, document id, enabled, vector) at `version`, searched
    by matrix product. A write makes the owner drop it; the next search loads a fresh one."""

    def __init__(self, ids: Sequence[str], docs: Sequence[str], enabled: Sequence[bool], matrix: np.ndarray,
                 version: int) -> None:
        self.ids = list(ids)
        self.docs = np.asarray(docs, dtype=object)
        self.enabled = np.asarray(enabled, dtype=bool)
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.version = version
        self._row = {sid: i for i, sid in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, vector: np.ndarray, k: int, document_ids: Sequence[str] | None) -> list[tuple[str, float]]:
        if not self.ids or k <= 0:
            return []
        _one_blas_thread()
        scores = self.matrix @ vector
        mask = self.enabled.copy()
        if document_ids is not None:
            mask &= np.isin(self.docs, list(document_ids))
        scores = np.where(mask, scores, -np.inf)
        k = min(k, int(mask.sum()))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top]

    def vectors(self, segment_ids: Iterable[str]) -> dict[str, np.ndarray]:
        return {sid: self.matrix[self._row[sid]] for sid in segment_ids if sid in self._row}
