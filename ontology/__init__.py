"""The TrialKB ontology: namespaces, and the Turtle files (OWL ontology, SHACL shapes) shipped with it."""

from __future__ import annotations

from importlib import resources

from rdflib import Graph, Namespace
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, XSD

BASE = "https://w3id.org/trialkb/"
TKB = Namespace(BASE + "ontology#")
"""Own terms, used only where no standard one fits."""
RES = Namespace(BASE + "resource/")
"""Minted entity IRIs: ``RES["drug/blinatumomab"]``; they dereference under ``/resource/``."""
GRAPH = Namespace(BASE + "graph/")
"""Named graphs: one per source document, ``GRAPH["lexicon"]`` for curated domain knowledge."""

SCHEMA = Namespace("https://schema.org/")
WD = Namespace("http://www.wikidata.org/entity/")
WDT = Namespace("http://www.wikidata.org/prop/direct/")
OBO = Namespace("http://purl.obolibrary.org/obo/")
QUDT = Namespace("http://qudt.org/schema/qudt/")
UNIT = Namespace("http://qudt.org/vocab/unit/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
SH = Namespace("http://www.w3.org/ns/shacl#")
BIBO = Namespace("http://purl.org/ontology/bibo/")
IDORG = Namespace("http://identifiers.org/")
CTGOV_STUDY = "https://clinicaltrials.gov/study/"

PREFIXES: dict[str, Namespace] = {
    "tkb": TKB,
    "res": RES,
    "graph": GRAPH,
    "schema": SCHEMA,
    "wd": WD,
    "wdt": WDT,
    "obo": OBO,
    "qudt": QUDT,
    "unit": UNIT,
    "prov": PROV,
    "skos": SKOS,
    "dcterms": DCTERMS,
    "owl": OWL,
    "rdf": RDF,
    "rdfs": RDFS,
    "xsd": XSD,
    "bibo": BIBO,
    "sd": SD,
}


def sparql_prefixes() -> str:
    """The PREFIX block every shipped query may assume."""
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())


def read_text(name: str) -> str:
    """Read a Turtle file shipped in this package (works from a wheel and an editable install)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def ontology_graph() -> Graph:
    """The OWL ontology as an rdflib graph (all ``*.ttl`` files except the shapes)."""
    graph = Graph()
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".ttl") and not entry.name.startswith("shapes"):
            graph.parse(data=entry.read_text(encoding="utf-8"), format="turtle")
    return graph


def shapes_graph() -> Graph:
    """The SHACL shapes that a built knowledge base must satisfy."""
    graph = Graph()
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if entry.name.startswith("shapes") and entry.name.endswith(".ttl"):
            graph.parse(data=entry.read_text(encoding="utf-8"), format="turtle")
    return graph
