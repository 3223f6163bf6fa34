"""Pydantic models of the HTTP API's JSON (what OpenAPI at ``/docs`` shows)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Health(BaseModel):
    status: str = Field(description="`ok` while the process is alive.")


class Readiness(BaseModel):
    ready: bool = Field(description="True when the KB is loaded and query workers are up.")
    kb_loaded: bool
    content_hash: str = Field(description="SHA-256 of the KB snapshot being served.")
    workers_ready: int
    workers_wanted: int
    index_present: bool = Field(
        description="Whether the passage search index exists (needed by /api/search)."
    )


class Stats(BaseModel):
    documents: int
    triples: int
    graphs: int
    content_hash: str
    graph_names: list[str]


class AskValue(BaseModel):
    model_config = ConfigDict(extra="allow")

    value: Any = None
    unit: str | None = None
    label: str | None = None
    subject: str | None = None
    source: str | None = None


class Evidence(BaseModel):
    model_config = ConfigDict(extra="allow")

    document: str | None = None
    passage: str | None = None
    start: int | None = None
    end: int | None = None
    text: str | None = None


class AskAnswer(BaseModel):
    """The design's answer object: a value with its evidence and SPARQL, or an abstention with a reason."""

    model_config = ConfigDict(extra="allow")

    question: str
    answer: str | None = None
    abstained: bool = False
    values: list[AskValue] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    sparql: str | None = None
    confidence: float = 0.0
    reason: str | None = None


class SearchResults(BaseModel):
    query: str
    k: int
    hits: list[dict[str, Any]] = Field(
        description="Ranked passages, best first, as the facade's `search` returns them."
    )
