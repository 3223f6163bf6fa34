"""Settings in one place: environment variables with the prefix ``TRIALKB_`` (or a ``.env`` file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def bundled_home() -> Path:
    """The knowledge base shipped with the package, built from the seed article."""
    return Path(__file__).resolve().parent / "data" / "kb"


class Settings(BaseSettings):
    """Every knob of TrialKB. The README's settings table is checked against these fields by a test."""

    model_config = SettingsConfigDict(env_prefix="TRIALKB_", env_file=".env", extra="ignore")

    home: Path | None = Field(
        None, description="Knowledge base directory (default: the bundled KB built from the seed)."
    )
    host: str = Field("127.0.0.1", description="Address `trialkb serve` listens on.")
    port: int = Field(8000, description="Port `trialkb serve` listens on.")
    query_timeout: float = Field(
        10.0, description="Deadline in seconds for one SPARQL query or question; the query is killed past it."
    )
    max_query_length: int = Field(20_000, description="Longest SPARQL query accepted, in characters.")
    max_query_nesting: int = Field(
        32, description="Deepest nesting of braces and parentheses accepted in a query."
    )
    max_results: int = Field(
        10_000, description="Most rows (or triples) one query returns; past it the result is cut and flagged."
    )
    max_body_bytes: int = Field(1_000_000, description="Largest HTTP request body accepted, in bytes.")
    max_concurrent_queries: int = Field(
        4, description="SPARQL queries run at once; beyond it and a short queue the server answers 503."
    )
    query_workers: int = Field(
        2, description="Worker processes that run SPARQL queries (killed and replaced at the deadline)."
    )
    max_queued_queries: int = Field(
        16,
        description="Requests that may wait for a query slot beyond max_concurrent_queries; past it 503 with Retry-After.",
    )
    queue_timeout: float = Field(
        5.0,
        description="Seconds a request may wait for a query slot or a free worker before a 503 with Retry-After.",
    )
    query_memory_limit_mb: int = Field(
        2048,
        description="Memory in MiB a query may add to its worker process beyond the loaded KB (0: no cap); a query past it fails, the server stays up.",
    )
    result_cache_mb: int = Field(
        64,
        description="Memory in MiB for SPARQL answers kept until the next commit and served again without a worker (0: off).",
    )
    max_question_length: int = Field(
        2_000, description="Longest question `ask` considers, in characters; longer ones are cut."
    )
    lock_timeout: float = Field(
        120.0, description="Seconds a writer waits for another writer's lock on the KB before failing."
    )
    exact_index_limit: int = Field(
        20_000, description="Passage count up to which search uses an exact vector index; above it HNSW."
    )
    vectors: str | None = Field(
        None,
        description="Vector database for the passage vectors, a URI as pymilvus.MilvusClient takes it (a path ending in .db: Milvus Lite; http://host:19530: a Milvus server); unset: FAISS files in the KB's index directory.",
    )
    store: str | None = Field(
        None,
        description="SPARQL 1.1 query endpoint of a remote store that holds the KB's graphs (every read goes there); unset: the embedded store.",
    )
    store_update: str | None = Field(
        None, description="SPARQL 1.1 Update endpoint of the remote store (needed to write to it)."
    )
    store_graphs: str | None = Field(
        None,
        description="Graph Store HTTP Protocol endpoint of the remote store; each named graph is written there with one PUT.",
    )
    store_merged_graph: str | None = Field(
        None,
        description="IRI of a named graph in which the remote store keeps the merge of the KB's graphs, for stores whose default graph is the union of all graphs (Virtuoso); unset: the store's default graph holds it.",
    )
    store_timeout: float = Field(
        60.0, description="Seconds one write to the remote store (a graph PUT, an update) may take."
    )
    store_attempts: int = Field(
        4,
        description="Tries of a request to the remote store that failed to connect, timed out or got a 5xx.",
    )
    store_backoff: float = Field(
        0.5, description="Seconds before the first retry of a remote-store request; doubled at each retry."
    )
    online: bool = Field(
        False,
        description="Allow fetching ClinicalTrials.gov records over the network (`trialkb link` without --record).",
    )
    ctgov_base_url: str = Field(
        "https://clinicaltrials.gov/api/v2", description="Base URL of the ClinicalTrials.gov API v2."
    )
    cache_dir: Path | None = Field(
        None,
        description="Cache for registry records and the exported ONNX encoder (default: ~/.cache/trialkb).",
    )
    public_base_url: str | None = Field(
        None,
        description="Base URL the service is reached at, for links in pages (default: from the request).",
    )

    def resolved_home(self) -> Path:
        return (self.home or bundled_home()).expanduser().resolve()

    def resolved_cache_dir(self) -> Path:
        return (self.cache_dir or Path.home() / ".cache" / "trialkb").expanduser()
