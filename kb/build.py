"""Build: an `Extraction` becomes RDF in the ontology's terms, one named graph per source document.

Every fact with evidence is also reified (``rdf:Statement``) with ``prov:wasDerivedFrom`` its passage,
the exact quote and its offsets, so a SPARQL query can reach the sentence any fact came from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from decimal import Decimal

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD

from kb.ctgov.links import trial_link_triples
from kb.lexicon import KINDS, Lexicon, LexiconEntry
from kb.models import Document, Entity, Extraction, Fact, Value
from kb.units import unit_iri
from ontology import GRAPH, PREFIXES, RES, TKB

KIND_SEGMENTS: dict[str, str] = {
    "ClinicalTrial": "trial",
    "Cohort": "cohort",
    "Arm": "arm",
    "Drug": "drug",
    "DrugClass": "drug-class",
    "MolecularTarget": "target",
    "Biomarker": "biomarker",
    "Disease": "disease",
    "Organization": "organization",
    "Funding": "funding",
    "Regimen": "regimen",
    "RegimenStep": "regimen-step",
    "Endpoint": "endpoint",
    "OutcomeMeasurement": "outcome",
    "EffectEstimate": "effect-estimate",
    "AdverseEventCount": "adverse-event",
    "DoseSpecification": "dose",
    "Publication": "publication",
    "Journal": "journal",
    "SourceDocument": "document",
    "Passage": "passage",
}
SEGMENT_KINDS = {segment: kind for kind, segment in KIND_SEGMENTS.items()}
LEXICON_GRAPH = GRAPH["lexicon"]
SHARED_KINDS = frozenset({*KINDS, "ClinicalTrial"})
"""Kinds whose nodes are shared across documents; the others are scoped to one document."""

# Lexicon fields that become object links between lexicon entities.
_LEXICON_LINKS = {"drug_class": ("drugClass", "DrugClass"), "targets": ("target", "MolecularTarget")}


def entity_iri(kind: str, key: str) -> URIRef:
    return RES[f"{KIND_SEGMENTS.get(kind, kind.lower())}/{key}"]


def document_graph_iri(document_id: str) -> URIRef:
    return GRAPH[document_id]


def passage_iri(passage_id: str) -> URIRef:
    return RES[f"passage/{passage_id}"]


def predicate_iri(name: str) -> URIRef:
    """``"target"`` -> tkb:target; ``"schema:datePublished"`` -> schema:datePublished."""
    if ":" in name:
        prefix, local = name.split(":", 1)
        if prefix not in PREFIXES:
            raise ValueError(f"unknown prefix in predicate {name!r}")
        return URIRef(str(PREFIXES[prefix]) + local)
    return TKB[name]


def literal(value: Value) -> Literal:
    """A typed literal: decimals normalised ("97", not "97.0"), dates as xsd:date."""
    raw = value.value
    if value.datatype == "decimal":
        number = Decimal(str(raw)).normalize()
        text = format(number, "f")
        return Literal(text, datatype=XSD.decimal)
    if value.datatype == "integer":
        return Literal(int(raw), datatype=XSD.integer)  # type: ignore[arg-type]
    if value.datatype == "boolean":
        return Literal(bool(raw), datatype=XSD.boolean)
    if value.datatype == "date" and isinstance(raw, dt.date):
        return Literal(raw.isoformat(), datatype=XSD.date)
    if value.datatype in {"date", "gYear", "gYearMonth", "duration", "anyURI", "dateTime"}:
        return Literal(str(raw), datatype=XSD[value.datatype])
    return Literal(str(raw))


CONCEPT = "Concept"
"""The kind of entities that are ontology individuals (an arm role, an effect measure): ``tkb:<key>``."""


def _object_term(fact: Fact) -> URIRef | Literal:
    if isinstance(fact.object, Entity):
        if fact.object.kind == CONCEPT:
            return TKB[fact.object.key]
        return entity_iri(fact.object.kind, fact.object.key)
    return literal(fact.object)


def _statement_iri(
    subject: URIRef, predicate: URIRef, obj: URIRef | Literal, passage: str, start: int
) -> URIRef:
    digest = hashlib.sha1(f"{subject}|{predicate}|{obj.n3()}|{passage}|{start}".encode()).hexdigest()[:16]
    return RES[f"statement/{digest}"]


def add_document_triples(graph: Graph, document: Document) -> URIRef:
    """The source document and its passages (offsets and text), in its own graph."""
    node = entity_iri("SourceDocument", document.id)
    graph.add((node, RDF.type, TKB.SourceDocument))
    graph.add((node, RDFS.label, Literal(document.title or document.path)))
    graph.add((node, TKB.sourceFile, Literal(document.path)))
    graph.add((node, TKB.sha256, Literal(document.sha256)))
    graph.add((document_graph_iri(document.id), PROV.wasDerivedFrom, node))
    for passage in document.passages:
        p = passage_iri(passage.id)
        graph.add((p, RDF.type, TKB.Passage))
        graph.add((p, DCTERMS.isPartOf, node))
        graph.add((p, TKB.ordinal, Literal(passage.ordinal)))
        graph.add((p, TKB.startOffset, Literal(passage.start)))
        graph.add((p, TKB.endOffset, Literal(passage.end)))
        graph.add((p, TKB.section, Literal(passage.section)))
        graph.add((p, PROV.value, Literal(passage.text)))
    return node


def add_entity(graph: Graph, entity: Entity, lexicon: Lexicon) -> URIRef:
    node = entity_iri(entity.kind, entity.key)
    graph.add((node, RDF.type, TKB[entity.kind]))
    if lexicon.get(entity.kind, entity.key) is None:
        # Lexicon entities get their label (and identifiers) once, in the lexicon graph.
        graph.add((node, RDFS.label, Literal(entity.label)))
    return node


def document_graph(extraction: Extraction, lexicon: Lexicon, graph: Graph | None = None) -> Graph:
    """The named graph of one document: its passages, its facts, and the provenance of each fact (added to
    ``graph`` when given: anything with rdflib's ``add``, as ingest collects N-Triples lines)."""
    if graph is None:
        graph = Graph(identifier=document_graph_iri(extraction.document.id))
    add_document_triples(graph, extraction.document)
    for passage_id, trial in extraction.passage_trials:
        graph.add((passage_iri(passage_id), TKB.passageAbout, entity_iri(trial.kind, trial.key)))
    for entity in sorted(extraction.entities(), key=lambda e: (e.kind, e.key)):
        if entity.kind != CONCEPT:  # ontology individuals are described in the ontology
            add_entity(graph, entity, lexicon)
    for fact in extraction.facts:
        subject = entity_iri(fact.subject.kind, fact.subject.key)
        predicate = predicate_iri(fact.predicate)
        obj = _object_term(fact)
        graph.add((subject, predicate, obj))
        if isinstance(fact.object, Value) and fact.object.unit and fact.predicate == "numericValue":
            graph.add((subject, TKB.unitLabel, Literal(fact.object.unit)))
            unit = unit_iri(fact.object.unit)
            if unit is not None:
                graph.add((subject, TKB.unit, unit))
        if fact.predicate == "nctId" and fact.subject.kind == "ClinicalTrial":
            for _trial, link_predicate, link_object in trial_link_triples(str(obj)):
                # Same links as the registry import, on this document's trial node.
                graph.add((subject, link_predicate, link_object))
        if fact.evidence is None:
            continue
        evidence = fact.evidence
        passage = passage_iri(evidence.passage_id)
        statement = _statement_iri(subject, predicate, obj, evidence.passage_id, evidence.start)
        graph.add((statement, RDF.type, RDF.Statement))
        graph.add((statement, RDF.subject, subject))
        graph.add((statement, RDF.predicate, predicate))
        graph.add((statement, RDF.object, obj))
        graph.add((statement, PROV.wasDerivedFrom, passage))
        graph.add((statement, TKB.quote, Literal(evidence.quote)))
        graph.add((statement, TKB.startOffset, Literal(evidence.start)))
        graph.add((statement, TKB.endOffset, Literal(evidence.end)))
        if fact.subject.kind not in SHARED_KINDS:
            # Document-scoped entities (outcomes, cohorts) point at their passages directly too.
            graph.add((subject, PROV.wasDerivedFrom, passage))
    return graph


def _entry_triples(graph: Graph, entry: LexiconEntry) -> None:
    node = entity_iri(entry.kind, entry.key)
    graph.add((node, RDF.type, TKB[entry.kind]))
    graph.add((node, RDFS.label, Literal(entry.label)))
    for synonym in entry.synonyms:
        graph.add((node, SKOS.altLabel, Literal(synonym)))
    for xref in entry.xrefs:
        graph.add((node, TKB.xref, Literal(xref)))
    for iri in entry.exact_match:
        graph.add((node, SKOS.exactMatch, URIRef(iri)))
    for field_name, (predicate, kind) in _LEXICON_LINKS.items():
        for key in getattr(entry, field_name, ()) or ():
            graph.add((node, TKB[predicate], entity_iri(kind, key)))
    symbol = getattr(entry, "gene_symbol", None)
    if symbol:
        graph.add((node, TKB.geneSymbol, Literal(symbol)))
    organization_type = getattr(entry, "organization_type", None)
    if organization_type:
        graph.add((node, TKB.organizationType, Literal(organization_type)))
    for issn in getattr(entry, "issn", ()) or ():
        graph.add((node, TKB.issn, Literal(issn)))


def lexicon_graph(lexicon: Lexicon, used: Iterable[URIRef]) -> Graph:
    """Curated knowledge about the lexicon entities the KB mentions (and what they link to)."""
    graph = Graph(identifier=LEXICON_GRAPH)
    by_iri = {entity_iri(entry.kind, entry.key): entry for entry in lexicon.entries()}
    pending = [iri for iri in used if iri in by_iri]
    seen: set[URIRef] = set()
    while pending:
        iri = pending.pop()
        if iri in seen:
            continue
        seen.add(iri)
        entry = by_iri[iri]
        _entry_triples(graph, entry)
        for field_name, (_, kind) in _LEXICON_LINKS.items():
            for key in getattr(entry, field_name, ()) or ():
                pending.append(entity_iri(kind, key))
    return graph
