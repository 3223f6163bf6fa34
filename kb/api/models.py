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
    truncated: bool | None = Field(
        None, description="True when the answer lists only some of the trials that have a value (see `note`)."
    )
    note: str | None = Field(None, description="Why the answer is partial, and how to ask for the rest.")


class SearchResults(BaseModel):
    query: str
    k: int
    hits: list[dict[str, Any]] = Field(
        description="Ranked passages, best first, as the facade's `search` returns them."
    )


class SourcedValue(BaseModel):
    """One side's value for a topic, with where it comes from."""

    value: Any = Field(None, description="The value: a number, a string, or an IRI.")
    label: str = Field(description="The value as a person reads it, e.g. '33 enrolled (A041703 Cohort 1)'.")
    detail: str | None = Field(None, description="ESTIMATED, funder, primary endpoint, time frame...")
    node: str | None = Field(None, description="The KB node the value is about, when it is an entity.")
    source: str = Field(description="The registry record's page, or the article's document id.")
    graph: str = Field(description="The named graph the value was read from.")
    document: str | None = Field(None, description="The article's document id (null for the registry).")
    record: str | None = Field(None, description="The registry record's page (null for articles).")


class ReconciliationItem(BaseModel):
    topic: str = Field(
        description="enrollment, phase, sponsor, interventions, conditions, ages, primary endpoint, arms, "
        "effect estimates, adverse events"
    )
    subject: str | None = Field(
        None, description="The arm, effect estimate or adverse event of a per-arm or per-estimate item."
    )
    status: str = Field(description="agree, differ, only_article, only_registry or neither.")
    conflict: bool = Field(
        description="True only when both values cannot be right (phase 2 against phase 3)."
    )
    note: str = Field(description="Why the verdict, e.g. a cohort's enrollment against the whole study's.")
    article: list[SourcedValue]
    registry: list[SourcedValue]


class Reconciliation(BaseModel):
    """A trial's articles against its ClinicalTrials.gov record (`KnowledgeBase.reconcile`)."""

    nct_id: str
    trial: str = Field(description="The trial's KB IRI.")
    record: str = Field(description="The registry page of the trial.")
    registry_graph: str | None = Field(description="The record's named graph; null when not imported.")
    documents: list[str] = Field(description="Ids of the articles that report the trial.")
    items: list[ReconciliationItem]
