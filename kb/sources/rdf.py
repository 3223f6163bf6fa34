"""RDF for what an XML record says beyond its text: PMID, PMCID and DOI as resolvable IRIs, MeSH headings,
substances and publication types as MeSH IRIs, the journal with its ISSNs, the trials its registry ids name,
and each passage's section heading; added to the article's own named graph."""

from __future__ import annotations

from urllib.parse import quote

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from kb.build import entity_iri, passage_iri
from kb.ctgov.links import trial_link_triples, trial_node
from kb.ingest import slugify
from kb.models import Entity, Extraction
from ontology import TKB

SCHEMA = "https://schema.org/"
MESH = "http://id.nlm.nih.gov/mesh/"


def pubmed_iri(pmid: str) -> URIRef:
    return URIRef(f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/")


def pmc_iri(pmcid: str) -> URIRef:
    return URIRef(f"https://www.ncbi.nlm.nih.gov/pmc/articles/{pmcid}/")


def doi_iri(doi: str) -> URIRef:
    # A DOI may hold characters an IRI may not ("<", spaces); "/", "(", ")" and ";" are kept as written.
    return URIRef("https://doi.org/" + quote(doi, safe="/:;()._-"))


def mesh_iri(ui: str) -> URIRef:
    return URIRef(MESH + ui)


def _publication(graph: Graph, extraction: Extraction) -> URIRef:
    """The publication node the extractors made for the document, or a new one."""
    for fact in extraction.facts:
        if (
            fact.predicate == "reports"
            and isinstance(fact.object, Entity)
            and fact.object.kind == "Publication"
        ):
            return entity_iri("Publication", fact.object.key)
    document = extraction.document
    record = document.record
    key = slugify(record.doi, 120) if record and record.doi else f"{document.id}-publication"
    node = entity_iri("Publication", key)
    graph.add((node, RDF.type, TKB.Publication))
    graph.add((node, RDFS.label, Literal(record.title if record and record.title else document.id)))
    graph.add((entity_iri("SourceDocument", document.id), TKB.reports, node))
    return node


def add_article_record(graph: Graph, extraction: Extraction) -> None:
    """The record's identifiers and indexing terms, and the passages' section headings, into ``graph``."""
    document = extraction.document
    for passage in document.passages:
        if passage.heading:
            graph.add((passage_iri(passage.id), TKB.sectionHeading, Literal(passage.heading)))
    record = document.record
    if record is None:
        return
    publication = _publication(graph, extraction)
    same_as = URIRef(SCHEMA + "sameAs")
    if record.pmid:
        graph.add((publication, TKB.pmid, Literal(record.pmid)))
        graph.add((publication, same_as, pubmed_iri(record.pmid)))
    if record.pmcid:
        graph.add((publication, TKB.pmcid, Literal(record.pmcid)))
        graph.add((publication, same_as, pmc_iri(record.pmcid)))
    if record.doi:
        if not any(f.predicate == "doi" for f in extraction.facts):
            graph.add((publication, TKB.doi, Literal(record.doi)))
        graph.add((publication, same_as, doi_iri(record.doi)))
    for predicate, terms in (
        (TKB.meshHeading, record.mesh_headings),
        (TKB.substance, record.substances),
        (TKB.publicationType, record.publication_types),
    ):
        for ui, label in terms:
            if ui and label:
                graph.add((publication, predicate, mesh_iri(ui)))
                graph.add((mesh_iri(ui), RDFS.label, Literal(label)))
    for _ui, label in record.publication_types:
        graph.add((publication, URIRef(SCHEMA + "genre"), Literal(label)))
    _journal(graph, extraction, publication)
    extracted = {
        f.object.value
        for f in extraction.facts
        if f.predicate == "nctId" and not isinstance(f.object, Entity)
    }
    for nct in record.registry_ids:
        trial = trial_node(nct)
        if nct not in extracted:
            # Named by the record only (the text does not mention it): the trial is known by its id.
            graph.add((trial, RDF.type, TKB.ClinicalTrial))
            graph.add((trial, RDFS.label, Literal(nct)))
            for triple in trial_link_triples(nct):
                graph.add(triple)
        graph.add((trial, TKB.reportedIn, publication))


def _journal(graph: Graph, extraction: Extraction, publication: URIRef) -> None:
    """The journal from the record, when the extractors did not find it in the lexicon."""
    record = extraction.document.record
    if record is None or any(f.predicate == "journal" for f in extraction.facts):
        return
    name = record.journal_title or record.journal_abbreviation
    if not name:
        return
    key = "issn-" + record.issns[0] if record.issns else slugify(name)
    journal = entity_iri("Journal", key.lower())
    graph.add((journal, RDF.type, TKB.Journal))
    graph.add((journal, RDFS.label, Literal(name)))
    if record.journal_abbreviation and record.journal_abbreviation != name:
        graph.add((journal, SKOS.altLabel, Literal(record.journal_abbreviation)))
    for issn in record.issns:
        graph.add((journal, TKB.issn, Literal(issn)))
    graph.add((publication, TKB.journal, journal))
