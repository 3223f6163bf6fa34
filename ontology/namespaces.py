"""Namespace IRIs as plain strings: importable without rdflib, for the fast query path."""

from __future__ import annotations

BASE = "https://w3id.org/trialkb/"
TKB = BASE + "ontology#"
RES = BASE + "resource/"
GRAPH = BASE + "graph/"
CTGOV_STUDY = "https://clinicaltrials.gov/study/"

PREFIXES: dict[str, str] = {
    "tkb": TKB,
    "res": RES,
    "graph": GRAPH,
    "schema": "https://schema.org/",
    "wd": "http://www.wikidata.org/entity/",
    "wdt": "http://www.wikidata.org/prop/direct/",
    "obo": "http://purl.obolibrary.org/obo/",
    "qudt": "http://qudt.org/schema/qudt/",
    "unit": "http://qudt.org/vocab/unit/",
    "prov": "http://www.w3.org/ns/prov#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "bibo": "http://purl.org/ontology/bibo/",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
}


def sparql_prefixes() -> str:
    """The PREFIX block every shipped query may assume."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
