"""Internal values passed between ingestion, extraction and the RDF builder (frozen dataclasses)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

Scalar = str | int | Decimal | bool | dt.date


@dataclass(frozen=True)
class Passage:
    """A sentence (or metadata line) of a document, with character offsets into the original text."""

    id: str  # stable: "<document id>-p<ordinal>"
    document_id: str
    ordinal: int
    start: int
    end: int
    text: str
    section: str = "body"  # "title", "body" or "metadata"


@dataclass(frozen=True)
class Document:
    """An ingested source: its text, parsed metadata block and passages."""

    id: str  # stable slug of the file name, e.g. "e1910-news"
    path: str  # the name it was ingested from (no directories)
    text: str  # the original text, exactly as read (offsets refer to it)
    sha256: str
    title: str | None
    metadata: dict[str, str]  # metadata block "Key: value" lines, keys lower-cased
    references: tuple[str, ...]  # list items under "References:" / "Web References:"
    passages: tuple[Passage, ...]

    def passage(self, passage_id: str) -> Passage:
        for passage in self.passages:
            if passage.id == passage_id:
                return passage
        raise KeyError(passage_id)


@dataclass(frozen=True)
class Evidence:
    """Where a fact was read: the passage and the exact span (offsets into the document text)."""

    passage_id: str
    start: int
    end: int
    quote: str


@dataclass(frozen=True)
class Entity:
    """A thing a fact is about. ``kind`` is an ontology class local name (``tkb:Drug`` -> "Drug").

    ``key`` identifies it within its kind. Shared kinds (trial, drug, target, disease, organization,
    endpoint, drug class, journal) use a document-independent key (NCT id, lexicon id) so that the
    same entity from two documents becomes one node; document-scoped kinds (cohort, arm, outcome,
    regimen, funding, publication) use a key that starts with the document id.
    """

    kind: str
    key: str
    label: str


@dataclass(frozen=True)
class Value:
    """A typed literal. ``datatype`` is an XSD local name; ``unit`` a unit code from ``kb.units``."""

    value: Scalar
    datatype: str = "string"  # string, integer, decimal, date, gYear, duration, boolean, anyURI
    unit: str | None = None


@dataclass(frozen=True)
class Fact:
    """One statement: subject, ontology predicate (``tkb:`` local name or a CURIE), object, evidence."""

    subject: Entity
    predicate: str
    object: Entity | Value
    evidence: Evidence | None = None


@dataclass(frozen=True)
class Extraction:
    """Everything extracted from one document."""

    document: Document
    facts: tuple[Fact, ...] = field(default_factory=tuple)

    def entities(self) -> set[Entity]:
        found: set[Entity] = set()
        for fact in self.facts:
            found.add(fact.subject)
            if isinstance(fact.object, Entity):
                found.add(fact.object)
        return found
