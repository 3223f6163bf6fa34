"""Vector indexes behind one interface: exact inner product (FAISS flat) and approximate (FAISS HNSW).

Vectors are expected L2-normalised, so inner product is cosine similarity. A `VectorIndex` addresses
vectors by position (the order in which they were added). A `PassageVectors` store addresses them by
passage id: what `PassageIndex` uses, with two implementations, `FaissPassageVectors` here (the vectors
in a file of the index directory, the default) and `search.milvus_index.MilvusPassageVectors` (a Milvus
collection, Milvus Lite or a server).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

DEFAULT_EXACT_THRESHOLD = 20_000
VECTORS_FILE = "vectors.faiss"
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


# A query or a few run on one OpenMP thread: splitting one query's scan over threads saves little, and on
# shared, busy cores the threads' spin-waiting made a 10,000-vector exact search take 16 ms instead of
# 0.55 ms (bench/bench_vectors.py under load). Batches of queries keep every thread.
SINGLE_THREAD_QUERIES = 4


@contextmanager
def _threads_for(queries: int) -> Iterator[None]:
    if queries > SINGLE_THREAD_QUERIES:
        yield
        return
    faiss = _faiss()
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


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
        with _threads_for(len(queries)):
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


class VectorStoreUnavailable(Exception):
    """The vector database cannot be used: bad URI, unreachable, a client package missing, a failed call.

    Not a `SearchIndexError`: rebuilding the index would not help, the user must fix the URI or the server.
    """


class PassageVectors(Protocol):
    """Passage vectors keyed by passage id, each with the id of its document: what `PassageIndex` needs."""

    dimension: int

    @property
    def kind(self) -> str:
        """What holds the vectors: "flat" or "hnsw" (FAISS), "milvus"; the manifest's ``index_kind``."""
        ...

    def __len__(self) -> int: ...

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, documents: Sequence[str]) -> None:
        """Store these vectors; an id already stored is replaced (so a retried batch doubles nothing)."""
        ...

    def delete(self, ids: Collection[str]) -> None: ...

    def clear(self) -> None:
        """Remove every vector (a rebuild starts from nothing)."""
        ...

    def fetch(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of ``ids``, in that order (all must be stored)."""
        ...

    def search(
        self, query_vectors: np.ndarray, k: int, allowed: Sequence[str] | None = None
    ) -> list[list[tuple[str, float]]]:
        """For each query, up to ``k`` (passage id, inner product), best first; ``allowed`` restricts the
        candidates to those ids (a metadata filter)."""
        ...

    def similarities(self, query_vector: np.ndarray, ids: Sequence[str]) -> np.ndarray:
        """Inner product of one query vector with the vectors of ``ids`` (exact, in that order)."""
        ...

    def persist(self, directory: Path, content_hash: str) -> None:
        """Make the vectors durable for an index saved to ``directory`` from content ``content_hash``: a
        file there (FAISS), or a flush and the hash recorded in the database (Milvus)."""
        ...

    def verify(self, content_hash: str, count: int) -> None:
        """Raise `StaleIndex` unless the store holds ``count`` vectors written for ``content_hash``."""
        ...


class FaissPassageVectors:
    """Passage vectors in a FAISS index (flat, HNSW from ``exact_threshold`` vectors), saved as one file.

    Position i of the FAISS index holds the vector of the i-th id; ids keep the order they were added in,
    and a deletion compacts them (rebuilding the FAISS index from the vectors kept, no re-embedding).
    """

    def __init__(
        self,
        dimension: int,
        exact_threshold: int = DEFAULT_EXACT_THRESHOLD,
        ef_search: int = HNSW_EF_SEARCH,
        *,
        index: VectorIndex | None = None,
        ids: Sequence[str] = (),
    ) -> None:
        self.dimension = dimension
        self.exact_threshold = exact_threshold
        self.ef_search = ef_search
        self._index = index if index is not None else self._build(np.zeros((0, dimension), dtype=np.float32))
        self._ids = list(ids)
        # A count that differs from the index's is reported by the caller (a damaged index directory).
        self._positions = {passage_id: position for position, passage_id in enumerate(self._ids)}

    @classmethod
    def load(
        cls,
        path: Path,
        ids: Sequence[str],
        exact_threshold: int = DEFAULT_EXACT_THRESHOLD,
        ef_search: int = HNSW_EF_SEARCH,
    ) -> FaissPassageVectors:
        """Read a file written by `persist`; ``ids`` are the passage ids in the order they were added."""
        index = load_vector_index(path, ef_search)
        return cls(index.dimension, exact_threshold, ef_search, index=index, ids=ids)

    def _build(self, vectors: np.ndarray) -> VectorIndex:
        return build_vector_index(vectors, self.exact_threshold, self.ef_search)

    @property
    def kind(self) -> str:
        return self._index.kind

    def __len__(self) -> int:
        return len(self._index)

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, documents: Sequence[str]) -> None:
        matrix = _as_matrix(vectors, self.dimension)
        if len(ids) != len(matrix):
            raise ValueError(f"{len(ids)} ids for {len(matrix)} vectors")
        self.delete([passage_id for passage_id in ids if passage_id in self._positions])
        if self._index.kind == "flat" and len(self._ids) + len(ids) >= self.exact_threshold:
            # Crossing the size threshold: move every vector to the approximate index.
            self._index = self._build(np.concatenate([self._index.vectors(), matrix]))
        else:
            self._index.add(matrix)
        for passage_id in ids:
            self._positions[passage_id] = len(self._ids)
            self._ids.append(passage_id)

    def delete(self, ids: Collection[str]) -> None:
        doomed = {passage_id for passage_id in ids if passage_id in self._positions}
        if not doomed:
            return
        keep = [position for position, passage_id in enumerate(self._ids) if passage_id not in doomed]
        vectors = self._index.vectors()[np.asarray(keep, dtype=np.int64)]
        self._ids = [self._ids[position] for position in keep]
        self._positions = {passage_id: position for position, passage_id in enumerate(self._ids)}
        self._index = self._build(vectors)

    def clear(self) -> None:
        self._ids, self._positions = [], {}
        self._index = self._build(np.zeros((0, self.dimension), dtype=np.float32))

    def fetch(self, ids: Sequence[str]) -> np.ndarray:
        if not ids:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.vectors()[np.asarray([self._positions[i] for i in ids], dtype=np.int64)]

    def search(
        self, query_vectors: np.ndarray, k: int, allowed: Sequence[str] | None = None
    ) -> list[list[tuple[str, float]]]:
        positions_allowed = None
        if allowed is not None:
            positions_allowed = sorted(self._positions[i] for i in allowed if i in self._positions)
        scores, positions = self._index.search(query_vectors, k, positions_allowed)
        return [
            [(self._ids[p], float(s)) for p, s in zip(row_positions, row_scores, strict=True) if p >= 0]
            for row_positions, row_scores in zip(positions, scores, strict=True)
        ]

    def similarities(self, query_vector: np.ndarray, ids: Sequence[str]) -> np.ndarray:
        return self._index.similarities(query_vector, [self._positions[i] for i in ids])

    def persist(self, directory: Path, content_hash: str) -> None:
        self._index.save(Path(directory) / VECTORS_FILE)

    def verify(self, content_hash: str, count: int) -> None:
        # The file is in the index directory, checked against the manifest's checksums and count.
        return None
