"""Reciprocal rank fusion: merge ranked lists from several retrievers into one ranking.

Each item scores ``sum(weight_r / (k + rank_r))`` over the retrievers ``r`` that returned it (ranks from
1), as in Cormack, Clarke and Buettcher (SIGIR 2009); ``k = 60`` damps the head of each list so that
agreement between retrievers outweighs a single first place.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

DEFAULT_RRF_K = 60

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class FusedHit(Generic[Key]):
    """An item of the fused ranking: its fused score and its rank (from 1) in each list that had it."""

    key: Key
    score: float
    ranks: Mapping[str, int] = field(default_factory=dict)


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[Key]],
    k: int = DEFAULT_RRF_K,
    weights: Mapping[str, float] | None = None,
    limit: int | None = None,
) -> list[FusedHit[Key]]:
    """Fuse ``rankings`` (retriever name -> keys, best first) into one list, best first.

    ``weights`` scale each retriever's contribution (default 1 each). Ties keep the order of first
    appearance, taking the retrievers in the order given, so the result is deterministic.
    """
    scores: dict[Key, float] = {}
    ranks: dict[Key, dict[str, int]] = {}
    for name, ranking in rankings.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        for rank, key in enumerate(ranking, start=1):
            if name in ranks.get(key, {}):
                continue  # a key listed twice by one retriever counts at its best rank only
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
            ranks.setdefault(key, {})[name] = rank
    order = {key: index for index, key in enumerate(scores)}
    fused = sorted(scores, key=lambda key: (-scores[key], order[key]))
    if limit is not None:
        fused = fused[:limit]
    return [FusedHit(key, scores[key], dict(ranks[key])) for key in fused]
