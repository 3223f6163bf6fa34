"""PassageIndex: passages searchable by meaning (dense vectors) and by exact term (BM25), fused by score.

The public API of the search package. An index holds its passage records, so a search result needs
nothing else; it is saved to a directory with a manifest and verified when loaded. The dense vectors are
kept by a `PassageVectors` store: FAISS in the same directory (the default), or a vector database
(`search.milvus_index`) that records the content hash it was written for.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from search.embedder import Embedder
from search.errors import CorruptIndex, StaleIndex
from search.fusion import DEFAULT_RRF_K, reciprocal_rank_fusion, score_fusion
from search.keyword import KeywordIndex
from search.manifest import MANIFEST_FILE, IndexManifest, describe_files, verify_index
from search.storage import atomic_directory
from search.vector_index import (
    DEFAULT_EXACT_THRESHOLD,
    HNSW_EF_SEARCH,
    VECTORS_FILE,
    FaissPassageVectors,
    PassageVectors,
)

RECORDS_FILE = "records.jsonl"
KEYWORD_DIRECTORY = "keyword"

# The manifest's index_kind when the vectors are in FAISS files in the index directory.
FAISS_KINDS = frozenset({"flat", "hnsw"})

SearchMode = Literal["fused", "dense", "bm25"]
# "score": normalised score fusion (the default, see search/fusion.py for why); "rank": reciprocal rank.
Fusion = Literal["score", "rank"]
Filters = Mapping[str, str | Sequence[str]]
DENSE = "dense"
BM25 = "bm25"
# How deep each retriever's list goes before fusion: enough for a passage ranked low by one retriever
# and high by the other to surface.
FUSION_DEPTH = 50
# Weight of BM25 in the fusion when the query holds an identifier found verbatim in the collection
# (an NCT id, a DOI, CD22, a trial code): the embedding model cannot tell one identifier from another
# (tests/test_search_model.py shows it ranking the wrong NCT id first), an exact match can.
IDENTIFIER_BM25_WEIGHT = 2.0


@dataclass(frozen=True)
class PassageRecord:
    """A passage to index: a stable id, its text, and string metadata (document, trial, start, end...)."""

    id: str
    text: str
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "metadata", MappingProxyType({str(k): str(v) for k, v in self.metadata.items()})
        )

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "metadata": dict(self.metadata)}


@dataclass(frozen=True)
class SearchHit:
    """A ranked passage.

    ``score`` is the fused score (mode "fused": between 0 and 1 with score fusion, the RRF score with rank
    fusion), the cosine similarity ("dense") or the BM25 score ("bm25"). ``retrievers`` gives the rank
    (from 1) in each retriever's list that found the passage; ``retriever_scores`` the raw cosine / BM25
    score of the passage (with score fusion, from both retrievers, even one whose list did not have it).
    """

    id: str
    text: str
    metadata: Mapping[str, str]
    score: float
    retrievers: Mapping[str, int]
    retriever_scores: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "metadata": dict(self.metadata),
            "score": self.score,
            "retrievers": dict(self.retrievers),
            "retriever_scores": dict(self.retriever_scores),
        }


class PassageIndex:
    """Dense + BM25 passage search with incremental updates and verified persistence.

    Not thread-safe for writes: guard ``add``/``remove``/``save`` with a lock if several threads share it.
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        exact_threshold: int = DEFAULT_EXACT_THRESHOLD,
        ef_search: int = HNSW_EF_SEARCH,
        fusion: Fusion = "score",
        rrf_k: int = DEFAULT_RRF_K,
        fusion_weights: Mapping[str, float] | None = None,
        vector_store: PassageVectors | None = None,
    ) -> None:
        """``vector_store`` keeps the dense vectors elsewhere (a vector database); by default FAISS."""
        if fusion not in ("score", "rank"):
            raise ValueError(f"unknown fusion {fusion!r}: use 'score' or 'rank'")
        self.embedder = embedder
        self.exact_threshold = exact_threshold
        self.ef_search = ef_search
        self.fusion: Fusion = fusion
        self.rrf_k = rrf_k
        self.fusion_weights = dict(fusion_weights) if fusion_weights else None
        self._records: list[PassageRecord] = []
        self._positions: dict[str, int] = {}
        self._vectors: PassageVectors = (
            vector_store
            if vector_store is not None
            else FaissPassageVectors(embedder.dimension, exact_threshold, ef_search)
        )
        self._keyword: KeywordIndex | None = KeywordIndex.from_tokens([])
        self._metadata_index: dict[tuple[str, str], list[int]] | None = None

    # -- building -------------------------------------------------------------------------------

    @classmethod
    def build(cls, records: Iterable[PassageRecord], embedder: Embedder, **options: Any) -> PassageIndex:
        """A new index of ``records`` (embedded in batches); a given vector store is emptied first."""
        index = cls(embedder, **options)
        index._vectors.clear()
        index.add(records)
        return index

    def add(self, records: Iterable[PassageRecord]) -> int:
        """Add records; a record whose id is already indexed replaces it. Returns how many were embedded.

        Only new texts are embedded: a replaced record with unchanged text keeps its vector.
        """
        incoming = {record.id: record for record in records}  # the last of duplicate ids wins
        if not incoming:
            return 0
        reused: dict[str, np.ndarray] = {}
        replaced = [record_id for record_id in incoming if record_id in self._positions]
        if replaced:
            old_vectors = self._vectors.fetch(replaced)
            for record_id, vector in zip(replaced, old_vectors, strict=True):
                if self._records[self._positions[record_id]].text == incoming[record_id].text:
                    reused[record_id] = vector
            self.remove(replaced)
        new_records = list(incoming.values())
        to_embed = [record for record in new_records if record.id not in reused]
        embedded = self.embedder.encode([record.text for record in to_embed]) if to_embed else None
        vectors = np.zeros((len(new_records), self.embedder.dimension), dtype=np.float32)
        embedded_rows = {record.id: row for row, record in enumerate(to_embed)}
        for row, record in enumerate(new_records):
            if record.id in reused:
                vectors[row] = reused[record.id]
            else:
                assert embedded is not None
                vectors[row] = embedded[embedded_rows[record.id]]
        self._append(new_records, vectors)
        return len(to_embed)

    def _append(self, records: list[PassageRecord], vectors: np.ndarray) -> None:
        self._vectors.upsert(
            [record.id for record in records],
            vectors,
            [record.metadata.get("document", "") for record in records],
        )
        for record in records:
            self._positions[record.id] = len(self._records)
            self._records.append(record)
        self._invalidate()

    def remove(self, which: Iterable[str] | Callable[[PassageRecord], bool]) -> int:
        """Remove records by id or by predicate; returns how many were removed. No re-embedding."""
        if callable(which):
            doomed = {record.id for record in self._records if which(record)}
        else:
            doomed = {record_id for record_id in which if record_id in self._positions}
        if not doomed:
            return 0
        keep = [position for position, record in enumerate(self._records) if record.id not in doomed]
        self._vectors.delete(doomed)
        self._records = [self._records[position] for position in keep]
        self._positions = {record.id: position for position, record in enumerate(self._records)}
        self._invalidate()
        return len(doomed)

    def _invalidate(self) -> None:
        # BM25 weights depend on the whole collection, so the keyword index is rebuilt (cheaply, no
        # embedding) on the next search or save.
        self._keyword = None
        self._metadata_index = None

    # -- reading --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._positions

    @property
    def records(self) -> Sequence[PassageRecord]:
        return tuple(self._records)

    @property
    def index_kind(self) -> str:
        return self._vectors.kind

    def get(self, record_id: str) -> PassageRecord:
        return self._records[self._positions[record_id]]

    def _keyword_index(self) -> KeywordIndex:
        if self._keyword is None:
            self._keyword = KeywordIndex.build([record.text for record in self._records])
        return self._keyword

    def _allowed(self, filters: Filters | None) -> list[int] | None:
        """Positions matching every filter (a value, or any of several values); None for no filter."""
        if not filters:
            return None
        if self._metadata_index is None:
            metadata_index: dict[tuple[str, str], list[int]] = {}
            for position, record in enumerate(self._records):
                for key, value in record.metadata.items():
                    metadata_index.setdefault((key, value), []).append(position)
            self._metadata_index = metadata_index
        allowed: set[int] | None = None
        for key, wanted in filters.items():
            values = [wanted] if isinstance(wanted, str) else list(wanted)
            matching: set[int] = set()
            for value in values:
                matching.update(self._metadata_index.get((key, str(value)), ()))
            allowed = matching if allowed is None else allowed & matching
        return sorted(allowed or ())

    def search(
        self,
        query: str,
        k: int = 5,
        mode: SearchMode = "fused",
        filters: Filters | None = None,
        *,
        keyword_query: str | None = None,
    ) -> list[SearchHit]:
        """The ``k`` best passages for ``query``; ``filters`` keep passages whose metadata match.

        ``keyword_query``, when given, is what BM25 searches for instead of ``query`` (for instance the
        query with synonyms of its terms added); the embedder always sees ``query``.
        """
        keyword_queries = None if keyword_query is None else [keyword_query]
        return self.search_many([query], k, mode, filters, keyword_queries=keyword_queries)[0]

    def search_many(
        self,
        queries: Sequence[str],
        k: int = 5,
        mode: SearchMode = "fused",
        filters: Filters | None = None,
        *,
        keyword_queries: Sequence[str] | None = None,
    ) -> list[list[SearchHit]]:
        """``search`` for several queries, embedding them in one batch."""
        if mode not in ("fused", "dense", "bm25"):
            raise ValueError(f"unknown search mode {mode!r}: use 'fused', 'dense' or 'bm25'")
        if keyword_queries is not None and len(keyword_queries) != len(queries):
            raise ValueError("keyword_queries must have one entry per query")
        if not queries:
            return []
        allowed = self._allowed(filters)
        if k <= 0 or not self._records or (allowed is not None and not allowed):
            return [[] for _ in queries]
        depth = k if mode != "fused" else max(k, FUSION_DEPTH)
        dense: list[list[tuple[int, float]]] = [[] for _ in queries]
        query_vectors = None
        if mode in ("fused", "dense"):
            query_vectors = self.embedder.encode(list(queries))
            allowed_ids = None if allowed is None else [self._records[p].id for p in allowed]
            found = self._vectors.search(query_vectors, min(depth, len(self)), allowed_ids)
            dense = [
                [(self._positions[i], score) for i, score in row if i in self._positions] for row in found
            ]
        keyword: list[list[tuple[int, float]]] = [[] for _ in queries]
        keyword_scores: list[np.ndarray] = []
        if mode in ("fused", "bm25"):
            index = self._keyword_index()
            keyword_scores = [index.scores(q) for q in (keyword_queries or queries)]
            keyword = [
                [(hit.position, hit.score) for hit in index.top(row_scores, depth, allowed)]
                for row_scores in keyword_scores
            ]
        results = []
        for row, query in enumerate(queries):
            other_scores: dict[str, dict[int, float]] = {}
            if mode == "fused" and self.fusion == "score":
                assert query_vectors is not None
                other_scores = self._other_scores(
                    dense[row], keyword[row], query_vectors[row], keyword_scores[row]
                )
            results.append(self._hits(dense[row], keyword[row], k, mode, self._weights(query), other_scores))
        return results

    def _other_scores(
        self,
        dense: list[tuple[int, float]],
        keyword: list[tuple[int, float]],
        query_vector: np.ndarray,
        keyword_scores: np.ndarray,
    ) -> dict[str, dict[int, float]]:
        """Each retriever's score for the candidates only the other retriever found, so that score
        fusion judges every candidate by both (a passage just past one list's depth is not scored 0)."""
        in_dense = {position for position, _ in dense}
        in_keyword = {position for position, _ in keyword}
        dense_missing = [position for position, _ in keyword if position not in in_dense]
        keyword_missing = [position for position, _ in dense if position not in in_keyword]
        similarities = self._vectors.similarities(
            query_vector, [self._records[position].id for position in dense_missing]
        )
        return {
            DENSE: {p: float(s) for p, s in zip(dense_missing, similarities, strict=True)},
            BM25: {p: float(keyword_scores[p]) for p in keyword_missing},
        }

    def _weights(self, query: str) -> dict[str, float]:
        """Fusion weights for one query: the configured ones, BM25 raised for exact identifiers."""
        weights = {DENSE: 1.0, BM25: 1.0, **(self.fusion_weights or {})}
        if self._keyword_index().identifiers_in(query):
            weights[BM25] *= IDENTIFIER_BM25_WEIGHT
        return weights

    def _hits(
        self,
        dense: list[tuple[int, float]],
        keyword: list[tuple[int, float]],
        k: int,
        mode: SearchMode,
        weights: Mapping[str, float],
        other_scores: Mapping[str, Mapping[int, float]] | None = None,
    ) -> list[SearchHit]:
        raw = {DENSE: dict(dense), BM25: dict(keyword)}
        rankings = {DENSE: [p for p, _ in dense], BM25: [p for p, _ in keyword]}
        if mode == "fused" and self.fusion == "score":
            fused = score_fusion({DENSE: dense, BM25: keyword}, weights, k, other_scores=other_scores)
            for name, scores in (other_scores or {}).items():
                raw[name].update(scores)
            ranked = [(hit.key, hit.score, hit.ranks) for hit in fused]
        elif mode == "fused":
            fused = reciprocal_rank_fusion(rankings, self.rrf_k, weights, limit=k)
            ranked = [(hit.key, hit.score, hit.ranks) for hit in fused]
        else:
            name = DENSE if mode == "dense" else BM25
            ranked = [(p, raw[name][p], {name: rank}) for rank, p in enumerate(rankings[name][:k], start=1)]
        hits = []
        for position, score, ranks in ranked:
            record = self._records[position]
            hits.append(
                SearchHit(
                    id=record.id,
                    text=record.text,
                    metadata=record.metadata,
                    score=float(score),
                    retrievers=MappingProxyType(dict(ranks)),
                    retriever_scores=MappingProxyType(
                        {name: scores[position] for name, scores in raw.items() if position in scores}
                    ),
                )
            )
        return hits

    # -- persistence ----------------------------------------------------------------------------

    def save(self, directory: Path, content_hash: str) -> IndexManifest:
        """Write the index to ``directory`` atomically, with a manifest of checksums; returns it.

        ``content_hash`` identifies the content the passages came from (the KB's hash): ``load``
        reports the index as stale when it differs.
        """
        keyword = self._keyword_index()
        with atomic_directory(Path(directory)) as staging:
            with (staging / RECORDS_FILE).open("w", encoding="utf-8") as handle:
                for record in self._records:
                    handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
            try:
                self._vectors.persist(staging, content_hash)
            except RuntimeError as error:
                # FAISS reports a failed write (disk full, file too large) as RuntimeError: make it the
                # OSError it is, so callers handle every failed write of the index alike.
                where = str(staging / VECTORS_FILE)
                raise OSError(errno.EIO, f"cannot write the vector index ({error})", where) from error
            (staging / KEYWORD_DIRECTORY).mkdir()
            keyword.save(staging / KEYWORD_DIRECTORY)
            manifest = IndexManifest(
                model=self.embedder.name,
                dimension=self.embedder.dimension,
                count=len(self._records),
                index_kind=self._vectors.kind,
                content_hash=content_hash,
                created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                files=describe_files(staging),
            )
            (staging / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
        return manifest

    @classmethod
    def load(
        cls,
        directory: Path,
        embedder: Embedder,
        expected_content_hash: str | None,
        *,
        check_checksums: bool = True,
        **options: Any,
    ) -> PassageIndex:
        """Load a saved index after verifying it.

        Raises ``IndexNotFound`` (nothing there), ``StaleIndex`` (built from other content, i.e. the
        manifest's content hash is not ``expected_content_hash``, or with another model) or
        ``CorruptIndex`` (a file missing, truncated or altered, or an unreadable manifest).
        ``expected_content_hash=None`` skips the staleness check. With a ``vector_store`` option the
        vectors are that store's, which must hold them for the manifest's content hash.
        """
        directory = Path(directory)
        manifest = verify_index(
            directory,
            expected_content_hash,
            embedder.name,
            embedder.dimension,
            check_checksums=check_checksums,
        )
        index = cls(embedder, **options)
        external = options.get("vector_store") is not None
        if manifest.index_kind not in ({index._vectors.kind} if external else FAISS_KINDS):
            raise StaleIndex(
                f"the search index at {directory} keeps its vectors in {manifest.index_kind}, "
                f"not {index._vectors.kind if external else 'FAISS files'}: rebuild it"
            )
        try:
            with (directory / RECORDS_FILE).open(encoding="utf-8") as handle:
                records = [
                    PassageRecord(item["id"], item["text"], item.get("metadata", {}))
                    for item in map(json.loads, handle)
                ]
            if external:
                vectors = index._vectors
                vectors.verify(manifest.content_hash, manifest.count)
            else:
                vectors = FaissPassageVectors.load(
                    directory / VECTORS_FILE,
                    [record.id for record in records],
                    index.exact_threshold,
                    index.ef_search,
                )
            keyword = KeywordIndex.load(directory / KEYWORD_DIRECTORY)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
            raise CorruptIndex(f"the search index at {directory} cannot be read: {error}") from error
        sizes = {len(records), len(vectors), len(keyword), manifest.count}
        if len(sizes) != 1:
            raise CorruptIndex(
                f"the search index at {directory} is inconsistent: {len(records)} records, "
                f"{len(vectors)} vectors, {len(keyword)} keyword entries, manifest {manifest.count}"
            )
        index._records = records
        index._positions = {record.id: position for position, record in enumerate(records)}
        index._vectors = vectors
        index._keyword = keyword
        return index
