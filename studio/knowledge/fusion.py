"""Score fusion for hybrid search: a weighted sum of vector cosine and scaled BM25 (Dify's weighted score) and
reciprocal-rank fusion, plus the mapping of raw BM25 scores onto 0..1 so a score threshold means something."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

RRF_K = 60  # the constant from Cormack et al.; large enough that rank 1 and 2 are not worlds apart


def bm25_to_unit(score: float, half: float = 8.0) -> float:
    """Map an unbounded BM25 score monotonically onto 0..1 (`half` scores 0.5), so ranking is preserved."""
    return score / (score + half) if score > 0 else 0.0


def scaled(scores: Mapping[str, float]) -> dict[str, float]:
    """Scores divided by the best one (BM25 has no upper bound; the best hit of a query scores 1.0)."""
    best = max(scores.values(), default=0.0)
    return {k: (v / best if best > 0 else 0.0) for k, v in scores.items()}


def reciprocal_rank(*rankings: Sequence[str], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal-rank fusion, scaled so that an item ranked first in every list scores 1.0."""
    if not rankings:
        return {}
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    best = len(rankings) / (k + 1)
    return {key: s / best for key, s in scores.items()}
