"""Serialising triples and quads for the resource, graph and download routes."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

from ontology import PREFIXES

# Minted IRIs have slashes in their local part, which Turtle must escape (res:drug\/x): written in full instead.
_PREFIXES = {
    prefix: str(namespace) for prefix, namespace in PREFIXES.items() if prefix not in {"res", "graph"}
}
# (media type, name, aliases): RDF serialisations a resource or a named graph can be had in.
GRAPH_DOWNLOADS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("text/turtle", "turtle", ("application/x-turtle",)),
    ("application/trig", "trig", ()),
    ("application/n-quads", "nquads", ()),
    ("application/n-triples", "ntriples", ("text/plain",)),
    ("application/ld+json", "jsonld", ("application/json",)),
    ("application/rdf+xml", "rdfxml", ()),
)
_OXIGRAPH = {
    "turtle": ox.RdfFormat.TURTLE,
    "trig": ox.RdfFormat.TRIG,
    "nquads": ox.RdfFormat.N_QUADS,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "rdfxml": ox.RdfFormat.RDF_XML,
}
EXTENSIONS = {
    "turtle": "ttl",
    "trig": "trig",
    "nquads": "nq",
    "ntriples": "nt",
    "jsonld": "jsonld",
    "rdfxml": "rdf",
}


def serialize(statements: Iterable[ox.Triple | ox.Quad], name: str) -> bytes:
    """Triples (or quads, for TriG and N-Quads) in the named format; JSON-LD goes through rdflib."""
    items = list(statements)
    if name == "jsonld":
        from rdflib import Dataset

        quads = [s if isinstance(s, ox.Quad) else ox.Quad(s.subject, s.predicate, s.object) for s in items]
        dataset = Dataset()
        data = ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b""
        dataset.parse(data=data.decode("utf-8"), format="nquads")
        for prefix, namespace in PREFIXES.items():
            dataset.bind(prefix, namespace)
        return dataset.serialize(format="json-ld").encode("utf-8")
    rdf_format = _OXIGRAPH[name]
    if not rdf_format.supports_datasets:
        items = [ox.Triple(s.subject, s.predicate, s.object) if isinstance(s, ox.Quad) else s for s in items]
    elif items and isinstance(items[0], ox.Triple):
        items = [ox.Quad(t.subject, t.predicate, t.object) for t in items]  # type: ignore[union-attr]
    prefixes = (
        _PREFIXES if rdf_format in {ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML} else None
    )
    return ox.serialize(items, format=rdf_format, prefixes=prefixes) or b""  # type: ignore[arg-type]
