"""Read-only SPARQL: checking a query before it runs, running it on Oxigraph, serialising the results.

The checks (`kb.sparql_guard.check_query`, re-exported here) are the endpoint's first line of defence (the
HTTP layer adds deadlines in worker processes): only queries, never updates; no ``SERVICE`` (nothing is
fetched); ``FROM``/``FROM NAMED`` and the protocol's graph parameters may only name graphs the KB holds;
caps on length and nesting.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kb.errors import QueryRejected
from kb.sparql_guard import QueryPlan as QueryPlan
from kb.sparql_guard import check_query as check_query
from ontology.namespaces import PREFIXES

if TYPE_CHECKING:
    from kb.triplestore import QueryEngine

RESULT_FORMATS: dict[str, tuple[str, ox.QueryResultsFormat]] = {
    "json": ("application/sparql-results+json", ox.QueryResultsFormat.JSON),
    "xml": ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
    "csv": ("text/csv", ox.QueryResultsFormat.CSV),
    "tsv": ("text/tab-separated-values", ox.QueryResultsFormat.TSV),
}
GRAPH_FORMATS: dict[str, tuple[str, ox.RdfFormat | None]] = {
    "turtle": ("text/turtle", ox.RdfFormat.TURTLE),
    "ntriples": ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    "rdfxml": ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    "jsonld": ("application/ld+json", None),  # Oxigraph writes no JSON-LD for graphs: rdflib does
}
FORMAT_ALIASES = {
    "ttl": "turtle",
    "nt": "ntriples",
    "xml-rdf": "rdfxml",
    "rdf": "rdfxml",
    "json-ld": "jsonld",
}

_PREFIX_MAP = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_JSON_TRUE = b'{"head":{},"boolean":true}'
_JSON_FALSE = b'{"head":{},"boolean":false}'


@dataclass(frozen=True)
class QueryOutput:
    """A serialised result: media type, bytes, and whether it was cut at the result cap."""

    form: str
    media_type: str
    body: bytes
    truncated: bool = False
    count: int = 0


def check_graph_parameters(
    default_graphs: list[str], named_graphs: list[str], known_graphs: AbstractSet[str]
) -> None:
    for iri in [*default_graphs, *named_graphs]:
        if iri not in known_graphs:
            raise QueryRejected(f"graph {iri} is not held by this knowledge base (graphs are never fetched)")


def normalise_format(name: str, plan: QueryPlan) -> str:
    name = FORMAT_ALIASES.get(name.lower(), name.lower())
    allowed = GRAPH_FORMATS if plan.returns_graph else RESULT_FORMATS
    if name not in allowed:
        kind = "graphs" if plan.returns_graph else "SELECT and ASK results"
        raise QueryRejected(
            f"format {name!r} is not available for {kind}; choose one of {', '.join(allowed)}"
        )
    return name


def execute(
    store: QueryEngine,
    plan: QueryPlan,
    result_format: str,
    *,
    default_graphs: list[str] | None = None,
    named_graphs: list[str] | None = None,
    max_results: int = 10_000,
    base_iri: str | None = None,
) -> QueryOutput:
    """Run a checked query on Oxigraph and serialise it.

    Without a dataset the default graph is the store's, which holds the merge of all named graphs, and the
    query's own ``FROM``/``FROM NAMED`` apply. A dataset given here (the protocol's ``default-graph-uri``
    and ``named-graph-uri``) replaces the query's whole dataset (SPARQL 1.1 Protocol §2.1.4): a part left
    empty is empty, not every graph. ``base_iri`` resolves relative IRIs (a ``BASE`` in the query wins).
    """
    name = normalise_format(result_format, plan)
    kwargs: dict[str, Any] = {}
    if plan.prefixes is None:
        kwargs["prefixes"] = _PREFIX_MAP
    elif plan.prefixes:
        kwargs["prefixes"] = {prefix: _PREFIX_MAP[prefix] for prefix in plan.prefixes}
    if base_iri:
        kwargs["base_iri"] = base_iri
    if default_graphs or named_graphs:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in default_graphs or ()]
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in named_graphs or ()]
    try:
        result = store.query(plan.text, **kwargs)
    except SyntaxError as error:
        raise QueryRejected(f"SPARQL syntax error: {error}") from None
    except (OSError, ValueError, RuntimeError) as error:
        raise QueryRejected(f"query failed: {error}") from None
    if isinstance(result, ox.QueryBoolean):
        media, fmt = RESULT_FORMATS[name]
        if fmt == ox.QueryResultsFormat.JSON:
            return QueryOutput("ASK", media, _JSON_TRUE if result else _JSON_FALSE, count=1)
        from kb.sparql_results import serialize_boolean

        return QueryOutput("ASK", media, serialize_boolean(bool(result), fmt), count=1)
    if isinstance(result, ox.QuerySolutions):
        media, fmt = RESULT_FORMATS[name]
        rows, truncated = _take(result, max_results)
        body = _serialize_solutions(result.variables, rows, fmt)
        return QueryOutput("SELECT", media, body, truncated, len(rows))
    triples, truncated = _take(result, max_results)
    media, rdf_format = GRAPH_FORMATS[name]
    body = _serialize_triples(triples, rdf_format)
    return QueryOutput(plan.form, media, body, truncated, len(triples))


def _take(iterator: Iterable[Any], limit: int) -> tuple[list[Any], bool]:
    rows: list[Any] = []
    for item in iterator:
        if len(rows) >= limit:
            return rows, True
        rows.append(item)
    return rows, False


def _serialize_solutions(
    variables: list[ox.Variable], rows: list[ox.QuerySolution], fmt: ox.QueryResultsFormat
) -> bytes:
    names = [v.value for v in variables]
    if fmt == ox.QueryResultsFormat.JSON:
        return _solutions_json(names, rows)
    from kb.sparql_results import serialize_solutions

    return serialize_solutions(names, rows, fmt)


def _json_term(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> dict[str, Any]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.Literal):
        if term.language:
            return {"type": "literal", "value": term.value, "xml:lang": term.language}
        datatype = term.datatype.value
        if datatype == _XSD_STRING:
            return {"type": "literal", "value": term.value}
        return {"type": "literal", "value": term.value, "datatype": datatype}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    return {"type": "literal", "value": str(term)}


def _solutions_json(names: list[str], rows: list[ox.QuerySolution]) -> bytes:
    """SPARQL 1.1 Query Results JSON; orjson when installed (several times faster than json for big results)."""
    bindings = []
    for row in rows:
        binding = {}
        for position, name in enumerate(names):
            term = row[position]
            if term is not None:
                binding[name] = _json_term(term)
        bindings.append(binding)
    document = {"head": {"vars": names}, "results": {"bindings": bindings}}
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency; json gives the same bytes, slower
        import json

        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return orjson.dumps(document)


def _serialize_triples(triples: list[ox.Triple], rdf_format: ox.RdfFormat | None) -> bytes:
    if rdf_format is not None:
        return ox.serialize(triples, format=rdf_format, prefixes=dict(PREFIXES)) or b""
    from rdflib import Graph

    graph = Graph()
    nt = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
    graph.parse(data=nt.decode("utf-8"), format="nt")
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph.serialize(format="json-ld").encode("utf-8")


def python_value(term: object) -> Any:
    """An Oxigraph term as a Python value: IRIs as str, typed literals as int/Decimal/bool/str."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        local = datatype.rsplit("#", 1)[-1]
        try:
            if local in {"integer", "int", "long", "nonNegativeInteger", "positiveInteger"}:
                return int(term.value)
            if local == "decimal":
                return Decimal(term.value)
            if local in {"double", "float"}:
                return float(term.value)
            if local == "boolean":
                return term.value in {"true", "1"}
        except (ValueError, ArithmeticError):
            return term.value
        return term.value
    return getattr(term, "value", str(term))


def select_rows(store: QueryEngine, query: str) -> list[dict[str, Any]]:
    """Run a trusted SELECT over the merge of all graphs; rows as dicts of Python values."""
    result = store.query(query, prefixes=dict(PREFIXES))
    if not isinstance(result, ox.QuerySolutions):
        raise QueryRejected("select_rows expects a SELECT query")
    names = [v.value for v in result.variables]
    return [{name: python_value(row[name]) for name in names} for row in result]
