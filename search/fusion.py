"""Fusion: merge the ranked lists of several retrievers (dense, BM25) into one ranking.

Two fusions. ``score_fusion``, the one `PassageIndex` uses, is a convex combination of each retriever's
scores normalised by the best score that retriever gave for the query (its theoretical minimum, 0 for
BM25 and for unrelated texts' cosine, kept as the floor): a passage scores the weighted mean of
``score / best`` over the retrievers, so each retriever's *confidence* counts, not only its order. This
is the "TMM" convex combination that Bruch, Gai and Ingber found better than RRF in and out of domain,
and robust to its weight ("An Analysis of Fusion Functions for Hybrid Retrieval", ACM TOIS 2023,
https://arxiv.org/abs/2210.11934). It matters for short factoid questions: BM25's first passage often
stands well clear of the rest (a rare drug name, "randomly assigned"), while the embedding model's
cosines sit close together; rank fusion throws that margin away and lets the dense first pick displace
BM25's. Weights are equal by default (no weight tuned to a question set); see
tests/test_search_quality.py for the measured effect on recall@1, recall@5 and MRR.

``reciprocal_rank_fusion`` scores ``sum(weight_r / (k + rank_r))`` (Cormack, Clarke and Buettcher, SIGIR
2009), ``k = 60``; it needs no scores, so it suits retrievers whose scores mean nothing across queries.
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


def _first_ranks(rankings: Mapping[str, Sequence[Key]]) -> dict[Key, dict[str, int]]:
    """Key -> {retriever: best rank}, keys in order of first appearance (retrievers in the order given)."""
    ranks: dict[Key, dict[str, int]] = {}
    for name, ranking in rankings.items():
        for rank, key in enumerate(ranking, start=1):
            ranks.setdefault(key, {}).setdefault(name, rank)  # a key listed twice counts at its best rank
    return ranks


def _ranked(
    scores: Mapping[Key, float], ranks: dict[Key, dict[str, int]], limit: int | None
) -> list[FusedHit[Key]]:
    order = {key: index for index, key in enumerate(ranks)}
    fused = sorted(ranks, key=lambda key: (-scores[key], order[key]))
    if limit is not None:
        fused = fused[:limit]
    return [FusedHit(key, scores[key], dict(ranks[key])) for key in fused]


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
    ranks = _first_ranks(rankings)
    scores = {
        key: sum(
            (1.0 if weights is None else weights.get(name, 1.0)) / (k + rank) for name, rank in by.items()
        )
        for key, by in ranks.items()
    }
    return _ranked(scores, ranks, limit)


def score_fusion(
    ranked: Mapping[str, Sequence[tuple[Key, float]]],
    weights: Mapping[str, float] | None = None,
    limit: int | None = None,
    *,
    other_scores: Mapping[str, Mapping[Key, float]] | None = None,
) -> list[FusedHit[Key]]:
    """Fuse ``ranked`` (retriever name -> (key, score) pairs, best first) by normalised score.

    A key scores ``sum_r w_r * max(0, s_r) / best_r / sum_r w_r`` (between 0 and 1), where ``best_r`` is
    retriever ``r``'s highest score here. ``other_scores`` gives a retriever's scores for keys another
    retriever found and it did not rank (so every candidate is judged by every retriever); a key with
    no score from a retriever gets 0 from it. A retriever whose best score is not positive adds nothing.
    Ties keep the order of first appearance, as in ``reciprocal_rank_fusion``.
    """
    ranks = _first_ranks({name: [key for key, _ in pairs] for name, pairs in ranked.items()})
    total_weight = 0.0
    scores = dict.fromkeys(ranks, 0.0)
    for name, pairs in ranked.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        total_weight += weight
        known = {**(other_scores or {}).get(name, {}), **dict(reversed(pairs))}
        best = max(known.values(), default=0.0)
        if best <= 0:
            continue
        for key in scores:
            scores[key] += weight * max(0.0, known.get(key, 0.0)) / best
    if total_weight > 0:
        scores = {key: score / total_weight for key, score in scores.items()}
    return _ranked(scores, ranks, limit)
