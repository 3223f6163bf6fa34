"""Vector indexes behind one interface: exact inner product (FAISS flat) and approximate (FAISS HNSW).

Vectors are expected L2-normalised, so inner product is cosine similarity. Positions are the order in
which vectors were added (0, 1, 2, ...); the caller maps them to its own ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

DEFAULT_EXACT_THRESHOLD = 20_000
DEFAULT_DIMENSION = 384  # all-MiniLM-L6-v2
# Below this many allowed positions, a filtered HNSW search is done exactly over the subset.
EXACT_FILTER_LIMIT = 5_000
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
# Measured by bench/bench_search.py: efSearch 64 gives recall@10 0.99 against exact search at 100k
# (0.4 ms a query); 16 already gives 0.96.
HNSW_EF_SEARCH = 64


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as error:
        raise ImportError("vector search needs FAISS: pip install faiss-cpu==1.15.1") from error
    return faiss


def _as_matrix(vectors: np.ndarray, dimension: int) -> np.ndarray:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or matrix.shape[1] != dimension:
        raise ValueError(f"expected vectors of dimension {dimension}, got shape {matrix.shape}")
    return matrix


class VectorIndex(Protocol):
    """An inner-product nearest-neighbour index over float32 vectors."""

    kind: str
    dimension: int

    def __len__(self) -> int: ...

    def add(self, vectors: np.ndarray) -> None: ...

    def search(
        self, query_vectors: np.ndarray, k: int, allowed: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, positions), each of shape (queries, k); position -1 where fewer than k were found.

        ``allowed`` restricts the search to those positions (a metadata filter).
        """
        ...

    def similarities(self, query_vector: np.ndarray, positions: Sequence[int]) -> np.ndarray:
        """Inner product of one query vector with the vectors at ``positions`` (exact, in that order)."""
        ...

    def vectors(self) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...


class _FaissIndex:
    """What the flat and HNSW indexes share: a FAISS index object, search with an optional id filter."""

    kind = "abstract"

    def __init__(self, index: Any, dimension: int) -> None:
        self._index = index
        self.dimension = dimension

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        matrix = _as_matrix(vectors, self.dimension)
        if len(matrix):
            self._index.add(matrix)

    def _search_parameters(self, selector: Any) -> Any:
        return _faiss().SearchParameters(sel=selector)

    def search(
        self, query_vectors: np.ndarray, k: int, allowed: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = _as_matrix(query_vectors, self.dimension)
        if len(self) == 0 or k <= 0:
            empty = np.zeros((len(queries), max(k, 0)), dtype=np.float32)
            return empty, np.full(empty.shape, -1, dtype=np.int64)
        if allowed is None:
            scores, positions = self._index.search(queries, k, params=self._search_parameters(None))
        else:
            faiss = _faiss()
            ids = np.ascontiguousarray(np.asarray(allowed, dtype=np.int64))
            selector = faiss.IDSelectorBatch(len(ids), faiss.swig_ptr(ids))
            scores, positions = self._index.search(queries, k, params=self._search_parameters(selector))
        return scores, positions

    def similarities(self, query_vector: np.ndarray, positions: Sequence[int]) -> np.ndarray:
        query = _as_matrix(query_vector, self.dimension)[0]
        if len(positions) == 0:
            return np.zeros(0, dtype=np.float32)
        ids = np.asarray(positions, dtype=np.int64)
        return np.asarray(self._index.reconstruct_batch(ids), dtype=np.float32) @ query

    def vectors(self) -> np.ndarray:
        if len(self) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self._index.reconstruct_n(0, len(self)), dtype=np.float32)

    def save(self, path: Path) -> None:
        # Not faiss.write_index: it writes through C stdio and, when the disk fills at the final flush, only
        # prints an error and leaves a truncated file; Python's writes raise OSError (ENOSPC, EFBIG).
        data = _faiss().serialize_index(self._index)
        with Path(path).open("wb") as handle:
            handle.write(memoryview(data))


class FlatIndex(_FaissIndex):
    """Exact search: every vector is compared (FAISS ``IndexFlatIP``). Best below tens of thousands."""

    kind = "flat"

    def __init__(self, dimension: int, index: Any = None) -> None:
        super().__init__(index if index is not None else _faiss().IndexFlatIP(dimension), dimension)


class HNSWIndex(_FaissIndex):
    """Approximate search on a navigable small-world graph (FAISS ``IndexHNSWFlat``, inner product)."""

    kind = "hnsw"

    def __init__(
        self,
        dimension: int,
        neighbours: int = HNSW_NEIGHBOURS,
        ef_construction: int = HNSW_EF_CONSTRUCTION,
        ef_search: int = HNSW_EF_SEARCH,
        index: Any = None,
    ) -> None:
        if index is None:
            faiss = _faiss()
            index = faiss.IndexHNSWFlat(dimension, neighbours, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = ef_construction
        super().__init__(index, dimension)
        self.ef_search = ef_search

    def _search_parameters(self, selector: Any) -> Any:
        # A filter leaves fewer usable neighbours per hop, so search wider when one is set.
        ef_search = self.ef_search if selector is None else max(self.ef_search * 4, 256)
        return _faiss().SearchParametersHNSW(sel=selector, efSearch=ef_search)

    def search(
        self, query_vectors: np.ndarray, k: int, allowed: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        # A graph walk restricted to a small subset misses most of it (the allowed nodes are rarely
        # connected), so a selective filter is answered exactly over the subset instead.
        if allowed is not None and len(allowed) <= max(EXACT_FILTER_LIMIT, len(self) // 10):
            return self._search_subset(query_vectors, k, allowed)
        return super().search(query_vectors, k, allowed)

    def _search_subset(
        self, query_vectors: np.ndarray, k: int, allowed: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = _as_matrix(query_vectors, self.dimension)
        ids = np.unique(np.asarray(allowed, dtype=np.int64))
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        positions = np.full((len(queries), k), -1, dtype=np.int64)
        if len(ids) == 0 or k <= 0:
            return scores, positions
        similarities = queries @ np.asarray(self._index.reconstruct_batch(ids), dtype=np.float32).T
        take = min(k, len(ids))
        for row, values in enumerate(similarities):
            best = np.argsort(-values, kind="stable")[:take]
            scores[row, :take] = values[best]
            positions[row, :take] = ids[best]
        return scores, positions


def make_vector_index(
    n: int,
    threshold: int = DEFAULT_EXACT_THRESHOLD,
    *,
    dimension: int = DEFAULT_DIMENSION,
    ef_search: int = HNSW_EF_SEARCH,
) -> VectorIndex:
    """An exact index for ``n`` below ``threshold`` vectors, an HNSW index from there up."""
    if n < threshold:
        return FlatIndex(dimension)
    return HNSWIndex(dimension, ef_search=ef_search)


def load_vector_index(path: Path, ef_search: int = HNSW_EF_SEARCH) -> VectorIndex:
    """Read an index written by ``VectorIndex.save``; its kind is taken from the file."""
    faiss = _faiss()
    index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexHNSWFlat):
        return HNSWIndex(index.d, index=index, ef_search=ef_search)
    if isinstance(index, faiss.IndexFlatIP):
        return FlatIndex(index.d, index=index)
    raise ValueError(f"{path} holds an unsupported FAISS index ({type(index).__name__})")


def build_vector_index(
    vectors: np.ndarray, threshold: int = DEFAULT_EXACT_THRESHOLD, ef_search: int = HNSW_EF_SEARCH
) -> VectorIndex:
    """A new index of the right kind for these vectors, filled with them."""
    index = make_vector_index(len(vectors), threshold, dimension=vectors.shape[1], ef_search=ef_search)
    index.add(vectors)
    return index
