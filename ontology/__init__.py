"""The TrialKB ontology: namespaces, and the Turtle files (OWL ontology, SHACL shapes) shipped with it.

The rdflib `Namespace` objects (``TKB``, ``RES``, ``GRAPH``, ``SCHEMA``, ...) are created on first use, so
that importing this package does not import rdflib (the cold `trialkb ask` path only needs strings, from
`ontology.namespaces`).
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

from ontology.namespaces import BASE, CTGOV_STUDY, sparql_prefixes
from ontology.namespaces import PREFIXES as PREFIX_IRIS

if TYPE_CHECKING:
    from rdflib import Graph, Namespace

    TKB: Namespace
    RES: Namespace
    GRAPH: Namespace
    SCHEMA: Namespace
    WD: Namespace
    WDT: Namespace
    OBO: Namespace
    QUDT: Namespace
    UNIT: Namespace
    SD: Namespace
    SH: Namespace
    BIBO: Namespace
    IDORG: Namespace
    PREFIXES: dict[str, Namespace]

__all__ = [
    "BASE",
    "CTGOV_STUDY",
    "PREFIX_IRIS",
    "ontology_graph",
    "read_text",
    "shapes_graph",
    "sparql_prefixes",
]

_NAMESPACE_IRIS: dict[str, str] = {
    "TKB": PREFIX_IRIS["tkb"],
    "RES": PREFIX_IRIS["res"],
    "GRAPH": PREFIX_IRIS["graph"],
    "SCHEMA": PREFIX_IRIS["schema"],
    "WD": PREFIX_IRIS["wd"],
    "WDT": PREFIX_IRIS["wdt"],
    "OBO": PREFIX_IRIS["obo"],
    "QUDT": PREFIX_IRIS["qudt"],
    "UNIT": PREFIX_IRIS["unit"],
    "SD": PREFIX_IRIS["sd"],
    "SH": "http://www.w3.org/ns/shacl#",
    "BIBO": PREFIX_IRIS["bibo"],
    "IDORG": "http://identifiers.org/",
}


def __getattr__(name: str) -> Any:
    from rdflib import Namespace

    if name in _NAMESPACE_IRIS:
        value: Any = Namespace(_NAMESPACE_IRIS[name])
    elif name == "PREFIXES":
        value = {prefix: Namespace(iri) for prefix, iri in PREFIX_IRIS.items()}
    else:
        raise AttributeError(f"module 'ontology' has no attribute {name!r}")
    globals()[name] = value
    return value


def read_text(name: str) -> str:
    """Read a Turtle file shipped in this package (works from a wheel and an editable install)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _graph_of(selector: Any) -> Graph:
    from rdflib import Graph

    graph = Graph()
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".ttl") and selector(entry.name):
            graph.parse(data=entry.read_text(encoding="utf-8"), format="turtle")
    return graph


def ontology_graph() -> Graph:
    """The OWL ontology as an rdflib graph (all ``*.ttl`` files except the shapes)."""
    return _graph_of(lambda name: not name.startswith("shapes"))


def shapes_graph() -> Graph:
    """The SHACL shapes that a built knowledge base must satisfy."""
    return _graph_of(lambda name: name.startswith("shapes"))
