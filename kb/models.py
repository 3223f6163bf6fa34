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
    heading: str | None = None  # the source's own section ("Results", "Figure 1") when it has sections


@dataclass(frozen=True)
class ArticleRecord:
    """The bibliographic record of an article read from MEDLINE/PubMed or PMC JATS XML.

    MeSH descriptors, substances and publication types are (unique id, name) pairs; the id is the MeSH UI
    ("D016449") when the source gives it, else "". ``registry_ids`` are the ClinicalTrials.gov accession
    numbers the record lists (MEDLINE's ``DataBankList``, JATS's trial-registry links)."""

    format: str  # "medline" or "jats"
    pmid: str | None = None
    pmcid: str | None = None
    doi: str | None = None
    title: str | None = None
    journal_title: str | None = None
    journal_abbreviation: str | None = None
    issns: tuple[str, ...] = ()
    published: str | None = None  # ISO 8601: a date, a year-month or a year
    authors: tuple[str, ...] = ()  # "Gandhi L", as MEDLINE cites them
    affiliations: tuple[str, ...] = ()
    publication_types: tuple[tuple[str, str], ...] = ()
    mesh_headings: tuple[tuple[str, str], ...] = ()
    substances: tuple[tuple[str, str], ...] = ()
    registry_ids: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    @property
    def reports_trial(self) -> bool:
        """Whether the record itself says the article reports a trial: a registry id or a trial publication type."""
        return bool(self.registry_ids) or any("trial" in label.lower() for _, label in self.publication_types)


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
    record: ArticleRecord | None = None  # the bibliographic record of an XML source
    source: bytes | None = None  # the bytes kept as its source when they are not ``text`` (an XML article)

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
    passage_trials: tuple[tuple[str, Entity], ...] = ()
    """(passage id, trial) for a document that reports several trials: the passages only that trial's."""

    def entities(self) -> set[Entity]:
        found: set[Entity] = set()
        for fact in self.facts:
            found.add(fact.subject)
            if isinstance(fact.object, Entity):
                found.add(fact.object)
        return found
