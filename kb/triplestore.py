"""The in-memory triple store: rdflib's API over an Oxigraph store (oxrdflib), loaded from a snapshot.

The default graph holds the RDF merge of all named graphs, materialised when the snapshot is loaded:
queries without a dataset see every source once. (Oxigraph's ``use_default_graph_as_union`` returns a
triple once per graph that holds it, and a drug described in 200 documents multiplies joins 200-fold.)

rdflib is used for building, SHACL and serialisation; SPARQL runs on Oxigraph's native engine (a
two-hop join over 100k triples: about 2 s in rdflib's memory store, 7 ms in Oxigraph).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import pyoxigraph as ox

from ontology.namespaces import PREFIXES, TKB

if TYPE_CHECKING:
    from rdflib import Dataset, Graph, URIRef


class QueryEngine(Protocol):
    """What readers call on a store's ``native`` engine: `pyoxigraph.Store` embedded, or
    `kb.remote_store.RemoteQueryEngine` answering the same calls from a remote SPARQL store."""

    def query(
        self,
        query: str,
        /,
        *,
        base_iri: str | None = None,
        prefixes: dict[str, str] | None = None,
        default_graph: Any = None,
        named_graphs: Any = None,
    ) -> ox.QuerySolutions | ox.QueryBoolean | Iterable[ox.Triple]: ...

    def quads_for_pattern(
        self,
        subject: ox.NamedNode | ox.BlankNode | ox.Triple | None,
        predicate: ox.NamedNode | None,
        object: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None,  # noqa: A002 - pyoxigraph's name
        graph_name: ox.NamedNode | ox.BlankNode | ox.DefaultGraph | None = None,
    ) -> Iterator[ox.Quad]: ...


class ReadableStore(Protocol):
    """The read side of the KB's graphs: `TripleStore` (embedded) or `kb.remote_store.RemoteTripleStore`."""

    @property
    def native(self) -> QueryEngine: ...

    @property
    def dataset(self) -> Dataset: ...

    def __len__(self) -> int: ...

    def graph_names(self) -> list[str]: ...

    def has_graph(self, name: str) -> bool: ...

    def graph(self, name: str) -> Graph: ...

    def union_graph(self, exclude: Iterable[str] = ()) -> Graph: ...

    def to_nquads(self) -> bytes: ...

    def trials(self) -> list[tuple[str, str]]: ...


class TripleStore:
    """Named graphs of the KB, queryable by SPARQL, serialisable as canonical N-Quads."""

    def __init__(self, store: ox.Store | None = None) -> None:
        self.native = store if store is not None else ox.Store()
        self._dataset: Dataset | None = None
        self._merged = False
        # With ``track_removals`` (a writer mirroring to a remote store), ``shrunk`` says whether a write
        # took a triple out of a graph: the store's merged default graph is then recomputed rather than
        # added to (`kb.remote_store.sync_graphs`). Off, nothing is compared.
        self.track_removals = False
        self.shrunk = False

    def merge_default_graph(self) -> None:
        """(Re)materialise the default graph as the merge of the named graphs, if writes changed them."""
        if self._merged:
            return
        self.native.clear_graph(ox.DefaultGraph())
        self.native.update("INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
        self._merged = True

    @property
    def dataset(self) -> Dataset:
        """The same data through rdflib's API (imported on first use: the query path never needs it)."""
        if self._dataset is None:
            from oxrdflib import OxigraphStore
            from rdflib import Dataset

            self._dataset = Dataset(store=OxigraphStore(store=self.native))
            for prefix, namespace in PREFIXES.items():
                self._dataset.bind(prefix, namespace)
        return self._dataset

    @classmethod
    def from_nquads(cls, data: bytes, *, merge: bool = True) -> TripleStore:
        store = ox.Store()
        if data:
            store.bulk_load(data, format=ox.RdfFormat.N_QUADS)
        loaded = cls(store)
        if merge:
            loaded.merge_default_graph()
        return loaded

    def __len__(self) -> int:
        """Quads in the named graphs (the merged default graph is derived, not counted)."""
        result = self.native.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        for row in result:  # type: ignore[union-attr]
            return int(row["n"].value)  # type: ignore[index, union-attr]
        return 0

    def graph_names(self) -> list[str]:
        return sorted(node.value for node in self.native.named_graphs() if isinstance(node, ox.NamedNode))

    def has_graph(self, name: str) -> bool:
        return self.native.contains_named_graph(ox.NamedNode(name))

    def replace_graph(self, graph: Graph) -> int:
        """Put ``graph`` in the store under its identifier, replacing a graph of that name."""
        name = ox.NamedNode(str(graph.identifier))
        quads = [ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o), name) for s, p, o in graph]  # type: ignore[arg-type]
        if self.native.contains_named_graph(name):
            if self.track_removals and not self.shrunk:
                new = {quad.triple for quad in quads}
                old = (quad.triple for quad in self.native.quads_for_pattern(None, None, None, name))
                # Blank nodes get new labels on every write: a graph holding one counts as changed.
                self.shrunk = any(
                    triple not in new
                    or isinstance(triple.subject, ox.BlankNode)
                    or isinstance(triple.object, ox.BlankNode)
                    for triple in old
                )
            self.native.remove_graph(name)
        self.native.add_graph(name)
        self.native.extend(quads)
        self._merged = False
        return len(quads)

    def replace_graph_data(self, name: str, ntriples: bytes) -> None:
        """Put the N-Triples ``ntriples`` in the store as the graph ``name``, replacing a graph of that name
        (parsed by Oxigraph: no rdflib terms are built, as ingest workers ship their graphs this way)."""
        node = ox.NamedNode(name)
        if self.native.contains_named_graph(node):
            if self.track_removals:
                self.shrunk = True  # a replaced graph may have lost triples: the remote merge is recomputed
            self.native.remove_graph(node)
        self.native.add_graph(node)
        if ntriples:
            self.native.load(ntriples, format=ox.RdfFormat.N_TRIPLES, to_graph=node)
        self._merged = False

    def remove_graph(self, name: str) -> None:
        node = ox.NamedNode(name)
        if self.native.contains_named_graph(node):
            self.native.remove_graph(node)
            self._merged = False
            self.shrunk = True

    def graph(self, name: str) -> Graph:
        """A copy of one named graph as an rdflib graph."""
        from rdflib import Graph, URIRef

        data = self.native.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(name))
        return parse_ntriples_into(Graph(identifier=URIRef(name)), data)

    def union_graph(self, exclude: Iterable[str] = ()) -> Graph:
        """All named graphs merged into one rdflib graph (for SHACL validation and exports)."""
        from rdflib import Graph

        skip = set(exclude)
        out = Graph()
        for name in self.graph_names():
            if name in skip:
                continue
            parse_ntriples_into(
                out, self.native.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(name))
            )
        for prefix, namespace in PREFIXES.items():
            out.bind(prefix, namespace)
        return out

    def to_nquads(self) -> bytes:
        """Canonical N-Quads: sorted lines, so one KB content always gives the same bytes."""
        named = (quad for quad in self.native if not isinstance(quad.graph_name, ox.DefaultGraph))
        return canonical_lines(ox.serialize(named, format=ox.RdfFormat.N_QUADS) or b"")

    def used_iris(self, exclude_graph: str | None = None) -> set[URIRef]:
        """IRIs used as subject or object in the named graphs (except one), to pick lexicon entries."""
        query = "SELECT DISTINCT ?x WHERE { GRAPH ?g { { ?x ?p ?o } UNION { ?s ?p ?x } } FILTER(isIRI(?x)) "
        if exclude_graph:
            query += f"FILTER(?g != <{exclude_graph}>) "
        query += "}"
        from rdflib import URIRef

        return {URIRef(row["x"].value) for row in self.native.query(query)}  # type: ignore[union-attr, index]

    def trials(self) -> list[tuple[str, str]]:
        """(IRI, label) of every trial."""
        return trials_of(self.native)


def canonical_lines(data: bytes) -> bytes:
    """N-Triples or N-Quads as sorted, distinct lines: one content always gives the same bytes."""
    lines = sorted(set(line for line in data.decode("utf-8").splitlines() if line.strip()))
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def parse_ntriples_into(graph: Graph, data: bytes | None) -> Graph:
    """Add the N-Triples ``data`` to the rdflib ``graph`` (nothing for none); returns the graph."""
    if data:
        graph.parse(data=data.decode("utf-8"), format="nt")
    return graph


def trials_of(engine: QueryEngine) -> list[tuple[str, str]]:
    """(IRI, label) of every trial a store holds."""
    rows = engine.query(
        f"SELECT DISTINCT ?t ?l WHERE {{ GRAPH ?g {{ ?t a <{TKB}ClinicalTrial> }} "
        f"OPTIONAL {{ GRAPH ?h {{ ?t <http://www.w3.org/2000/01/rdf-schema#label> ?l }} }} }} ORDER BY ?t"
    )
    return [(row["t"].value, row["l"].value if row["l"] else "") for row in rows]  # type: ignore[union-attr, index]


def _to_ox(term: object) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as a pyoxigraph term."""
    from rdflib import BNode, Literal, URIRef

    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")
