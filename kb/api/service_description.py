"""The SPARQL 1.1 Service Description of the endpoint (https://www.w3.org/TR/sparql11-service-description/)."""

from __future__ import annotations

from functools import lru_cache

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, VOID

from kb.api.negotiation import GRAPH_OFFERS, RESULT_OFFERS
from ontology import PREFIXES

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")
FORMAT_IRIS = {
    "json": FORMATS.SPARQL_Results_JSON,
    "xml": FORMATS.SPARQL_Results_XML,
    "csv": FORMATS.SPARQL_Results_CSV,
    "tsv": FORMATS.SPARQL_Results_TSV,
    "turtle": FORMATS.Turtle,
    "ntriples": FORMATS["N-Triples"],
    "rdfxml": FORMATS.RDF_XML,
    "jsonld": FORMATS["JSON-LD"],
}
RDFLIB_FORMATS = {"turtle": "turtle", "ntriples": "nt", "rdfxml": "xml", "jsonld": "json-ld"}


def service_description(endpoint: str, graphs: frozenset[str], triples: int) -> Graph:
    """sd:Service with its endpoint, language, result formats, features and the dataset it serves."""
    graph = Graph()
    graph.bind("sd", SD)
    graph.bind("formats", FORMATS)
    graph.bind("void", VOID)
    graph.bind("dcterms", DCTERMS)
    service = URIRef(endpoint)
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, service))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, DCTERMS.title, Literal("TrialKB SPARQL endpoint (read-only)")))
    graph.add((service, RDFS.comment, Literal(
        "Queries only; SERVICE, LOAD and graphs this knowledge base does not hold are refused. "
        "Without a dataset in the request or the query, the default graph is the union of all named graphs."
    )))  # fmt: skip
    for _, name, _ in RESULT_OFFERS + GRAPH_OFFERS:
        graph.add((service, SD.resultFormat, FORMAT_IRIS[name]))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    dataset = BNode()
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    default = BNode()
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    graph.add((default, VOID.triples, Literal(triples)))
    for name in sorted(graphs):
        named = BNode()
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, URIRef(name)))
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph


@lru_cache(maxsize=32)
def serialized_description(endpoint: str, graphs: frozenset[str], triples: int, format_name: str) -> bytes:
    """The description as bytes, cached per endpoint, KB generation and format."""
    graph = service_description(endpoint, graphs, triples)
    return graph.serialize(format=RDFLIB_FORMATS[format_name]).encode("utf-8")
