"""Generic passage retrieval: embedders, vector indexes, BM25, fusion. Knows nothing of RDF."""

from search.embedder import (
    Embedder,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    compare_embedders,
    default_embedder,
    export_onnx,
)
from search.errors import CorruptIndex, EmbedderUnavailable, IndexNotFound, SearchIndexError, StaleIndex
from search.fusion import FusedHit, reciprocal_rank_fusion, score_fusion
from search.manifest import IndexManifest, read_manifest, verify_index
from search.passage_index import PassageIndex, PassageRecord, SearchHit

__all__ = [
    "CorruptIndex",
    "Embedder",
    "EmbedderUnavailable",
    "FusedHit",
    "IndexManifest",
    "IndexNotFound",
    "OnnxEmbedder",
    "PassageIndex",
    "PassageRecord",
    "SearchHit",
    "SearchIndexError",
    "SentenceTransformerEmbedder",
    "StaleIndex",
    "compare_embedders",
    "default_embedder",
    "export_onnx",
    "read_manifest",
    "reciprocal_rank_fusion",
    "score_fusion",
    "verify_index",
]
