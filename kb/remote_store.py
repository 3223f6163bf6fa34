"""A remote SPARQL 1.1 store as the KB's home: the Protocol for reads, the Graph Store Protocol for writes.

With ``--store`` (the query endpoint), ``--store-update`` and ``--store-graphs`` (the Graph Store HTTP
Protocol endpoint) every read goes to the store over HTTP, and each commit mirrors the KB's named graphs
into it before the local manifest, the commit point, records them:

1. every named graph whose content differs from the manifest's record is written with one GSP ``PUT
   ?graph=IRI`` (a replace: retried, it doubles nothing); graphs the KB no longer holds are ``DELETE``\\ d;
2. the store's *default graph* is kept equal to the merge of the named graphs, as the embedded store's is
   (`kb.triplestore`): a query without a dataset sees every source once on any compliant store, whatever
   the engine's own default-graph policy. One SPARQL Update adds the written graphs' triples; when a
   triple may have gone (a graph replaced with less, deleted, or left by an interrupted run) the default
   graph is recomputed on the server instead (``DROP DEFAULT`` and ``INSERT … WHERE { GRAPH ?g … }``).
   A store whose default graph is not a graph one can write (Virtuoso's is the union of all graphs, a
   triple once per graph) keeps the merge in a named graph instead (``--store-merged-graph IRI``), and
   a query without a dataset of its own is sent with it as the default graph and the KB's graphs as the
   named graphs (`StoreEndpoints`);
3. the manifest records the store's graph endpoint and each graph's SHA-256 (of its sorted N-Triples),
   so the next commit writes only what changed.

A failed request is retried with exponential backoff (connection refused or reset, timeouts, 5xx); after
the last attempt a `StoreUnavailable` names the URL and the KB stays at its previous commit. A store may
then hold graphs its manifest does not record (written before the failure): the rerun writes them again
and recomputes the default graph, so nothing is doubled and nothing is half-recorded.

Queries and updates are POSTed URL-encoded (SPARQL 1.1 Protocol §2.1.2 and §2.2.1), the form every engine
takes. Reads: `RemoteQueryEngine` answers `query` and `quads_for_pattern` as `pyoxigraph.Store` does (it parses
the results into pyoxigraph's own objects), so `kb.sparql.execute`, `select_rows`, entity pages and
question answering run unchanged against it; `RemoteTripleStore` is the store-level read side.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox

from kb.errors import QueryRejected, QueryTimeout, TrialKBError
from kb.triplestore import canonical_lines, parse_ntriples_into
from ontology import GRAPH
from ontology.namespaces import PREFIXES

if TYPE_CHECKING:
    from rdflib import Dataset, Graph

    from kb.settings import Settings
    from kb.triplestore import TripleStore

RECORD_KEY = "remote_store"
"""The manifest's ``extra`` entry: ``{"graphs_endpoint": URL, "graphs": {IRI: sha256}}``."""

_RESULTS_JSON = "application/sparql-results+json"
_NTRIPLES = "application/n-triples"
_FORM = "application/x-www-form-urlencoded"
_RETRIED_STATUS = {500, 502, 503, 504}


class StoreUnavailable(TrialKBError):
    """The remote SPARQL store did not answer (down, too slow) or refused a request; nothing was committed."""

    status = 503


@dataclass(frozen=True)
class StoreEndpoints:
    """The three URLs of a remote store (only ``query`` is needed to read), and where it keeps the merge.

    ``merged_graph`` None: the store's default graph holds the merge of the KB's graphs. An IRI: a named
    graph holds it, for stores whose default graph is not a graph one can write (Virtuoso: the union of
    all graphs, a triple once per graph); every query without a dataset of its own is then sent with that
    graph as its default graph and the KB's graphs as its named graphs (the protocol's dataset).
    """

    query: str
    update: str | None = None
    graphs: str | None = None
    merged_graph: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> StoreEndpoints | None:
        if not settings.store:
            return None
        return cls(settings.store, settings.store_update, settings.store_graphs, settings.store_merged_graph)


class SparqlClient:
    """HTTP for one store: SPARQL Protocol queries and updates, Graph Store Protocol PUT/GET/DELETE.

    Each request is tried ``attempts`` times, waiting ``backoff``, 2×``backoff``, … between tries, when the
    connection fails, times out or the server answers 5xx; a 4xx is the store refusing and is not retried.
    """

    def __init__(
        self,
        endpoints: StoreEndpoints,
        *,
        timeout: float = 30.0,
        query_timeout: float = 10.0,
        attempts: int = 4,
        backoff: float = 0.5,
    ) -> None:
        self.endpoints = endpoints
        self.timeout = timeout
        self.query_timeout = query_timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> SparqlClient:
        endpoints = StoreEndpoints.from_settings(settings)
        if endpoints is None:
            raise TrialKBError("no remote store is configured (--store URL or TRIALKB_STORE)")
        return cls(
            endpoints,
            timeout=settings.store_timeout,
            query_timeout=settings.query_timeout,
            attempts=settings.store_attempts,
            backoff=settings.store_backoff,
        )

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ transport

    def _request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        timeout: float | None = None,
        retry_read_timeout: bool = True,
        ok: Iterable[int] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """One request with retries; a response that is 2xx or listed in ``ok`` is returned."""
        allowed = set(ok)
        problem = ""
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._http.request(method, url, timeout=timeout or self.timeout, **kwargs)
            except httpx.ReadTimeout:
                if not retry_read_timeout:  # a query that is slow stays slow: its deadline is the user's
                    raise QueryTimeout(
                        f"the SPARQL store at {url} did not answer within {timeout or self.timeout:g} s"
                    ) from None
                problem = f"no answer within {timeout or self.timeout:g} s"
                continue
            except httpx.TimeoutException:
                problem = f"no answer within {timeout or self.timeout:g} s"
                continue
            except httpx.TransportError as error:
                problem = _transport_reason(error)
                continue
            if response.is_success or response.status_code in allowed:
                return response
            detail = _first_line(response.text)
            if response.status_code in _RETRIED_STATUS:
                problem = f"HTTP {response.status_code}{detail}"
                continue
            if what == "query" and response.status_code == 400:
                raise QueryRejected(f"the SPARQL store refused the query: HTTP 400{detail}")
            raise StoreUnavailable(
                f"the SPARQL store at {url} refused to {what}: HTTP {response.status_code}{detail}"
            )
        note = "" if what == "query" else "; nothing was committed, run the command again when it is back"
        raise StoreUnavailable(
            f"the SPARQL store at {url} is unavailable ({problem}) after {self.attempts} attempts{note}"
        )

    # ------------------------------------------------------------------ SPARQL Protocol

    def query(
        self,
        text: str,
        *,
        accept: str = f"{_RESULTS_JSON}, {_NTRIPLES};q=0.9",
        default_graphs: Iterable[str] = (),
        named_graphs: Iterable[str] = (),
    ) -> httpx.Response:
        """POST a query URL-encoded (SPARQL 1.1 Protocol §2.1.2: every engine takes it; Virtuoso 7 does not
        answer a direct ``application/sparql-query`` POST), with the protocol's dataset parameters."""
        form = [("query", text)] + [("default-graph-uri", g) for g in default_graphs]
        form += [("named-graph-uri", g) for g in named_graphs]
        return self._request(
            "POST",
            self.endpoints.query,
            what="query",
            content=urlencode(form).encode("ascii"),
            headers={"Accept": accept, "Content-Type": _FORM},
            timeout=self.query_timeout,
            retry_read_timeout=False,
        )

    def update(self, text: str) -> None:
        """POST a SPARQL Update, URL-encoded (``update=``) like queries."""
        self._request(
            "POST",
            self._required("update", self.endpoints.update),
            what="update",
            content=urlencode({"update": text}).encode("ascii"),
            headers={"Content-Type": _FORM},
        )

    # ------------------------------------------------------------------ Graph Store Protocol

    def put_graph(self, iri: str, ntriples: bytes) -> None:
        """Replace (or create) the named graph ``iri`` with ``ntriples``."""
        self._request(
            "PUT",
            self._required("graphs", self.endpoints.graphs),
            what="write a graph",
            params={"graph": iri},
            content=ntriples,
            headers={"Content-Type": _NTRIPLES},
        )

    def get_graph(self, iri: str | None) -> list[ox.Triple]:
        """A named graph (or the default graph for None); empty when the store has no such graph."""
        params = {"graph": iri} if iri is not None else {"default": ""}
        response = self._request(
            "GET",
            self._required("graphs", self.endpoints.graphs),
            what="read a graph",
            params=params,
            headers={"Accept": f"{_NTRIPLES}, text/turtle;q=0.5"},
            ok=(404,),
        )
        if response.status_code == 404:
            return []
        return _triples(response, response.url)

    def delete_graph(self, iri: str) -> None:
        """Remove the named graph ``iri``; a graph already gone is fine (the delete is idempotent)."""
        self._request(
            "DELETE",
            self._required("graphs", self.endpoints.graphs),
            what="delete a graph",
            params={"graph": iri},
            ok=(404,),
        )

    @staticmethod
    def _required(option: str, url: str | None) -> str:
        if not url:
            flag = {"update": "--store-update", "graphs": "--store-graphs"}[option]
            env = {"update": "TRIALKB_STORE_UPDATE", "graphs": "TRIALKB_STORE_GRAPHS"}[option]
            raise TrialKBError(f"writing to the remote store needs {flag} URL (or {env})")
        return url


def _transport_reason(error: httpx.TransportError) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, httpx.ConnectError):
        return f"cannot connect: {text}"
    return text


def _triples(response: httpx.Response, url: object) -> list[ox.Triple]:
    """The triples of an N-Triples or Turtle response."""
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    rdf_format = ox.RdfFormat.TURTLE if media == "text/turtle" else ox.RdfFormat.N_TRIPLES
    try:
        return [quad.triple for quad in ox.parse(response.content, format=rdf_format)]
    except SyntaxError as error:
        raise StoreUnavailable(f"the SPARQL store at {url} sent RDF that does not parse: {error}") from None


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0][:200] if text.strip() else ""
    return f": {line}" if line else ""


# ---------------------------------------------------------------------- reads


def _prologue(prefixes: Mapping[str, str] | None, base_iri: str | None) -> str:
    """Declarations `pyoxigraph.Store.query` takes as arguments, written into the text for the wire.

    They go first: a ``BASE`` or ``PREFIX`` of the query itself comes later and so wins, as it does locally.
    """
    lines = [f"BASE <{base_iri}>"] if base_iri else []
    lines += [f"PREFIX {prefix}: <{namespace}>" for prefix, namespace in (prefixes or {}).items()]
    return "\n".join(lines) + "\n" if lines else ""


def _node_text(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None, variable: str) -> str:
    return str(term) if term is not None else variable


class RemoteQueryEngine:
    """The read methods of `pyoxigraph.Store` the KB uses, answered by a remote store over the protocol."""

    def __init__(self, client: SparqlClient, kb_graphs: Callable[[], list[str]] | None = None) -> None:
        self.client = client
        self.kb_graphs = kb_graphs  # the KB's graph names: the named graphs of a query with a merged graph

    def query(
        self,
        query: str,
        /,
        *,
        base_iri: str | None = None,
        prefixes: dict[str, str] | None = None,
        default_graph: Any = None,
        named_graphs: list[ox.NamedNode | ox.BlankNode] | None = None,
    ) -> ox.QuerySolutions | ox.QueryBoolean | list[ox.Triple]:
        """Run ``query`` on the store; results as pyoxigraph parses them (triples as a list)."""
        from kb.sparql_guard import scan_query

        text = _prologue(prefixes, base_iri) + query
        shape = scan_query(text)  # the lexer only: the form (what to accept) and the query's own dataset
        defaults = (
            default_graph if isinstance(default_graph, list) else [default_graph] if default_graph else []
        )
        default_graphs = [g.value for g in defaults if isinstance(g, ox.NamedNode)]
        named = [g.value for g in named_graphs or () if isinstance(g, ox.NamedNode)]
        merged = self.client.endpoints.merged_graph
        if merged and self.kb_graphs and not (default_graph is not None or named_graphs is not None):
            if not (shape.from_graphs or shape.from_named_graphs):
                default_graphs, named = [merged], self.kb_graphs()
        return self.run(text, shape.form in {"CONSTRUCT", "DESCRIBE"}, default_graphs, named)

    def run(
        self, text: str, returns_graph: bool, default_graphs: Sequence[str] = (), named: Sequence[str] = ()
    ) -> ox.QuerySolutions | ox.QueryBoolean | list[ox.Triple]:
        """Send ``text`` as it is, with the protocol dataset given (none: the store's own)."""
        accept = (
            f"{_NTRIPLES}, text/turtle;q=0.5"
            if returns_graph
            else f"{_RESULTS_JSON}, application/sparql-results+xml;q=0.5"
        )
        response = self.client.query(text, accept=accept, default_graphs=default_graphs, named_graphs=named)
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if media in {_RESULTS_JSON, "application/json"}:
                return ox.parse_query_results(response.content, format=ox.QueryResultsFormat.JSON)
            if media == "application/sparql-results+xml":
                return ox.parse_query_results(response.content, format=ox.QueryResultsFormat.XML)
            if media in {_NTRIPLES, "text/plain"}:
                return [q.triple for q in ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES)]
            if media == "text/turtle":
                return [q.triple for q in ox.parse(response.content, format=ox.RdfFormat.TURTLE)]
        except SyntaxError as error:
            raise StoreUnavailable(
                f"the SPARQL store at {self.client.endpoints.query} sent results that do not parse: {error}"
            ) from None
        raise StoreUnavailable(
            f"the SPARQL store at {self.client.endpoints.query} answered in {media or 'no media type'}, "
            "not SPARQL results JSON or N-Triples"
        )

    def quads_for_pattern(
        self,
        subject: ox.NamedNode | ox.BlankNode | ox.Triple | None,
        predicate: ox.NamedNode | None,
        object: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None,  # noqa: A002 - pyoxigraph's name
        graph_name: ox.NamedNode | ox.BlankNode | ox.DefaultGraph | None = None,
    ) -> Iterator[ox.Quad]:
        """Quads matching a pattern, as `pyoxigraph.Store.quads_for_pattern`: None matches any graph,
        the default graph included (which holds the merge of the named graphs)."""
        if isinstance(subject, ox.BlankNode) or isinstance(object, ox.BlankNode):
            raise QueryRejected("a blank node cannot be looked up in a remote store")
        s, p, o = _node_text(subject, "?s"), _node_text(predicate, "?p"), _node_text(object, "?o")
        pattern = f"{s} {p} {o}"
        if graph_name is None:
            where = f"{{ {pattern} }} UNION {{ GRAPH ?g {{ {pattern} }} }}"
        elif isinstance(graph_name, ox.DefaultGraph):
            where = pattern
        else:
            where = f"GRAPH {graph_name} {{ {pattern} }} BIND({graph_name} AS ?g)"
        result = self.query(f"SELECT ?s ?p ?o ?g WHERE {{ {where} }}")
        assert isinstance(result, ox.QuerySolutions)
        for row in result:
            graph = row["g"]
            yield ox.Quad(
                subject if subject is not None else row["s"],  # type: ignore[arg-type]
                predicate if predicate is not None else row["p"],  # type: ignore[arg-type]
                object if object is not None else row["o"],  # type: ignore[arg-type]
                graph if graph is not None else ox.DefaultGraph(),  # type: ignore[arg-type]
            )

    def named_graphs(self) -> list[str]:
        """The KB's graphs in the store (under the KB's graph namespace; a store may hold others)."""
        result = self.run(
            f'SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{GRAPH}")) }}',
            False,
        )
        assert isinstance(result, ox.QuerySolutions)
        merged = self.client.endpoints.merged_graph
        return sorted(
            row["g"].value
            for row in result
            if isinstance(row["g"], ox.NamedNode) and row["g"].value != merged
        )


class RemoteTripleStore:
    """The KB's named graphs in a remote store: what `kb.triplestore.TripleStore` offers readers.

    The graph names are read once per loaded KB version (the guard checks every query against them).
    """

    def __init__(self, client: SparqlClient, recorded: Iterable[str] | None = None) -> None:
        self.client = client
        self.native = RemoteQueryEngine(client, self.graph_names)
        # The graphs the manifest records as held (the commit point); None: ask the store.
        self._graph_names: list[str] | None = sorted(recorded) if recorded is not None else None

    def graph_names(self) -> list[str]:
        if self._graph_names is None:
            self._graph_names = self.native.named_graphs()
        return self._graph_names

    def has_graph(self, name: str) -> bool:
        return name in self.graph_names()

    def __len__(self) -> int:
        result = self.native.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        for row in result:  # type: ignore[union-attr]
            return int(row["n"].value)  # type: ignore[index, union-attr]
        return 0

    def graph(self, name: str) -> Graph:
        """A copy of one named graph as an rdflib graph (a Graph Store ``GET``)."""
        from rdflib import Graph, URIRef

        data = ox.serialize(self.client.get_graph(name), format=ox.RdfFormat.N_TRIPLES)
        return parse_ntriples_into(Graph(identifier=URIRef(name)), data)

    def union_graph(self, exclude: Iterable[str] = ()) -> Graph:
        """All named graphs merged into one rdflib graph (SHACL validation, exports)."""
        from rdflib import Graph

        skip = set(exclude)
        out = Graph()
        if not skip:  # the store's default graph (or its merged graph) is that merge: one request
            triples = self.client.get_graph(self.client.endpoints.merged_graph)
            parse_ntriples_into(out, ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
        else:
            for name in self.graph_names():
                if name not in skip:
                    out += self.graph(name)
        for prefix, namespace in PREFIXES.items():
            out.bind(prefix, namespace)
        return out

    @property
    def dataset(self) -> Dataset:
        """The named graphs as an rdflib Dataset (each read with a Graph Store ``GET``)."""
        from rdflib import Dataset, URIRef

        dataset = Dataset()
        for prefix, namespace in PREFIXES.items():
            dataset.bind(prefix, namespace)
        for name in self.graph_names():
            target = dataset.graph(URIRef(name))
            for triple in self.graph(name):
                target.add(triple)
        return dataset

    def to_nquads(self) -> bytes:
        """Canonical N-Quads of the named graphs (sorted lines), read from the store."""
        quads = [
            ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(name))
            for name in self.graph_names()
            for t in self.client.get_graph(name)
        ]
        return canonical_lines(ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b"")

    def trials(self) -> list[tuple[str, str]]:
        from kb.triplestore import trials_of

        return trials_of(self.native)


# ---------------------------------------------------------------------- writes


def graph_ntriples(store: TripleStore, name: str) -> bytes:
    """One named graph of a local store as canonical N-Triples (sorted lines): what is PUT and hashed."""
    return canonical_lines(
        store.native.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(name)) or b""
    )


def held_graphs(extra: Mapping[str, Any] | None, endpoints: StoreEndpoints) -> dict[str, str]:
    """The graphs a manifest records as held by this store (none when it recorded another store)."""
    record = (extra or {}).get(RECORD_KEY) or {}
    if (record.get("graphs_endpoint"), record.get("merged_graph")) != (
        endpoints.graphs,
        endpoints.merged_graph,
    ):
        return {}
    return {str(k): str(v) for k, v in (record.get("graphs") or {}).items()}


def sync_graphs(
    client: SparqlClient, store: TripleStore, held: Mapping[str, str], *, everything: bool = False
) -> dict[str, Any]:
    """Bring the remote store to the content of ``store``; returns the manifest record of what it holds.

    ``held`` is the previous record (IRI -> SHA-256); ``everything`` writes every graph and recomputes the
    default graph whatever the record says (a rebuild). Raises `StoreUnavailable` when the store fails.
    """
    from search.storage import fault_point

    names = store.graph_names()
    hashes: dict[str, str] = {}
    payloads: dict[str, bytes] = {}
    for name in names:
        data = graph_ntriples(store, name)
        hashes[name] = hashlib.sha256(data).hexdigest()
        if everything or held.get(name) != hashes[name]:
            payloads[name] = data
    gone = sorted(set(held) - set(names))
    # Graphs the store holds that the record does not know (written before a failed commit) or that lose
    # triples mean the default graph may keep a triple no named graph has: recompute it then.
    recompute = everything or bool(gone) or store.shrunk or bool(_unrecorded(client, payloads, held))
    for number, (name, data) in enumerate(payloads.items(), 1):
        client.put_graph(name, data)
        fault_point(f"store-put-{number}")  # a test hook: die with some graphs written, none recorded
    for name in gone:
        client.delete_graph(name)
    merged = client.endpoints.merged_graph
    target, into = (
        (f"GRAPH <{merged}>", f"GRAPH <{merged}> {{ ?s ?p ?o }}") if merged else ("DEFAULT", "?s ?p ?o")
    )
    if recompute:
        client.update(
            f"DROP SILENT {target} ;\nINSERT {{ {into} }} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} "
            f'FILTER(STRSTARTS(STR(?g), "{GRAPH}"){f" && ?g != <{merged}>" if merged else ""}) }}'
        )
    elif payloads:
        values = " ".join(f"<{name}>" for name in payloads)
        client.update(f"INSERT {{ {into} }} WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }}")
    return {
        "graphs_endpoint": client.endpoints.graphs,
        "merged_graph": merged,
        "graphs": dict(sorted(hashes.items())),
    }


def _unrecorded(client: SparqlClient, payloads: Mapping[str, bytes], held: Mapping[str, str]) -> list[str]:
    """Of the graphs about to be written and not in the record, those the store already holds."""
    new = [name for name in payloads if name not in held]
    if not new:
        return []
    found: list[str] = []
    for start in range(0, len(new), 200):
        values = " ".join(f"<{name}>" for name in new[start : start + 200])
        rows = RemoteQueryEngine(client).run(  # a write's question: its failure says nothing was committed
            f"SELECT ?g WHERE {{ VALUES ?g {{ {values} }} FILTER EXISTS {{ GRAPH ?g {{ ?s ?p ?o }} }} }}",
            False,
        )
        found += [row["g"].value for row in rows]  # type: ignore[union-attr, index]
    return found
