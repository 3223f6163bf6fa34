"""An entity's description for ``/resource/...``: its triples in every graph, the labels of what it links
to, incoming links, and the reified statements about it with the passages they came from (CBD-like)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import pyoxigraph as ox

from kb.api.problems import Problem
from ontology import BASE, PREFIXES, RES

if TYPE_CHECKING:
    from kb.triplestore import QueryEngine

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
EXACT_MATCH = "http://www.w3.org/2004/02/skos/core#exactMatch"
SEE_ALSO = "http://www.w3.org/2000/01/rdf-schema#seeAlso"
PROV_VALUE = "http://www.w3.org/ns/prov#value"
IS_PART_OF = "http://purl.org/dc/terms/isPartOf"
_PROLOGUE = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
MAX_INCOMING = 500


@dataclass(frozen=True)
class Source:
    document: str | None
    document_label: str | None
    passage: str | None
    quote: str | None


@dataclass(frozen=True)
class Fact:
    predicate: str
    predicate_label: str
    value: str
    is_iri: bool
    value_label: str | None
    datatype: str | None
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Link:
    iri: str
    label: str | None
    predicate_label: str | None = None


@dataclass(frozen=True)
class EntityDescription:
    iri: str
    label: str | None
    types: tuple[Link, ...]
    facts: tuple[Fact, ...]
    external: tuple[Link, ...]
    incoming: tuple[Link, ...]
    triples: tuple[ox.Triple, ...]


@lru_cache(maxsize=1)
def predicate_labels() -> dict[str, str]:
    """rdfs:label of the ontology's properties and classes (and of the standard terms it maps)."""
    from rdflib.namespace import RDFS

    from ontology import ontology_graph

    graph = ontology_graph()
    return {
        str(s): str(o)
        for s, o in graph.subject_objects(RDFS.label)
        if getattr(o, "language", None) in {None, "en"}
    }


def local_name(iri: str) -> str:
    return iri.rstrip("/#").rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def minted(iri: str) -> bool:
    return iri.startswith(BASE)


def _rows(store: QueryEngine, query: str) -> list[ox.QuerySolution]:
    result = store.query(_PROLOGUE + query)
    assert isinstance(result, ox.QuerySolutions)
    return list(result)


def _labels(store: QueryEngine, iris: set[str]) -> dict[str, str]:
    if not iris:
        return {}
    values = " ".join(f"<{iri}>" for iri in sorted(iris))
    rows = _rows(store, f"SELECT ?x ?label WHERE {{ VALUES ?x {{ {values} }} ?x rdfs:label ?label }}")
    return {row["x"].value: row["label"].value for row in rows}  # type: ignore[union-attr]


def _text(row: ox.QuerySolution, name: str) -> str | None:
    term = row[name]
    return term.value if term is not None else None  # type: ignore[union-attr]


def _sources(
    store: QueryEngine, node: ox.NamedNode
) -> tuple[dict[tuple[str, str], list[Source]], list[ox.Triple]]:
    """Reified statements about ``node``: sources per (predicate, object N-Triples), and their triples."""
    rows = _rows(
        store,
        f"""SELECT ?st ?p ?o ?quote ?passage ?text ?doc ?docLabel WHERE {{
        ?st rdf:subject {node} ; rdf:predicate ?p ; rdf:object ?o .
        OPTIONAL {{ ?st tkb:quote ?quote }}
        OPTIONAL {{ ?st prov:wasDerivedFrom ?passage OPTIONAL {{ ?passage prov:value ?text }}
            OPTIONAL {{ ?passage dcterms:isPartOf ?doc OPTIONAL {{ ?doc rdfs:label ?docLabel }} }} }} }}""",
    )
    by_fact: dict[tuple[str, str], list[Source]] = {}
    statements = {row["st"] for row in rows}
    for row in rows:
        source = Source(_text(row, "doc"), _text(row, "docLabel"), _text(row, "passage"), _text(row, "quote"))
        by_fact.setdefault((row["p"].value, str(row["o"])), []).append(source)  # type: ignore[union-attr]
    triples: list[ox.Triple] = []
    for row in rows:  # the passages themselves: where each statement's quote sits, and in which document
        if row["passage"] is not None and row["text"] is not None:
            triples.append(ox.Triple(row["passage"], ox.NamedNode(PROV_VALUE), row["text"]))  # type: ignore[arg-type]
        if row["passage"] is not None and row["doc"] is not None:
            triples.append(ox.Triple(row["passage"], ox.NamedNode(IS_PART_OF), row["doc"]))  # type: ignore[arg-type]
    for statement in statements:
        triples += [
            ox.Triple(q.subject, q.predicate, q.object)
            for q in store.quads_for_pattern(statement, None, None)
        ]
    return by_fact, triples


def describe_entity(store: QueryEngine, iri: str) -> EntityDescription | None:
    """The description of ``iri``, or None when the KB says nothing about it."""
    node = ox.NamedNode(iri)
    outgoing = {
        ox.Triple(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(node, None, None)
    }
    incoming_rows = _rows(
        store,
        f"""SELECT DISTINCT ?s ?p WHERE {{ ?s ?p {node}
        FILTER(?p NOT IN (rdf:subject, rdf:object)) FILTER(isIRI(?s)) }} LIMIT {MAX_INCOMING}""",
    )
    if not outgoing and not incoming_rows:
        return None
    by_fact, statement_triples = _sources(store, node)
    linked = {t.object.value for t in outgoing if isinstance(t.object, ox.NamedNode)}
    linked |= {row["s"].value for row in incoming_rows}  # type: ignore[union-attr]
    linked |= {s.document for sources in by_fact.values() for s in sources if s.document}
    labels = _labels(store, linked | {iri})
    names = predicate_labels()
    facts, types, external = [], [], []
    for triple in sorted(outgoing, key=lambda t: (t.predicate.value, str(t.object))):
        predicate, obj = triple.predicate.value, triple.object
        if isinstance(obj, ox.Triple):  # RDF-star terms are not minted here; nothing to show
            continue
        is_iri = isinstance(obj, ox.NamedNode)
        if predicate == RDF_TYPE and is_iri:
            types.append(Link(obj.value, labels.get(obj.value) or names.get(obj.value)))
        elif predicate in {EXACT_MATCH, SEE_ALSO} and is_iri and not minted(obj.value):
            external.append(Link(obj.value, None, names.get(predicate, local_name(predicate))))
        elif predicate != RDFS_LABEL:
            facts.append(Fact(
                predicate, names.get(predicate, local_name(predicate)), obj.value, is_iri,
                labels.get(obj.value) if is_iri else None,
                obj.datatype.value if isinstance(obj, ox.Literal) and not obj.language else None,
                tuple(by_fact.get((predicate, str(obj)), ())),
            ))  # fmt: skip
    incoming = tuple(
        Link(
            row["s"].value, labels.get(row["s"].value), names.get(row["p"].value, local_name(row["p"].value))
        )  # type: ignore[union-attr]
        for row in incoming_rows
    )
    label_triples = [
        ox.Triple(ox.NamedNode(x), ox.NamedNode(RDFS_LABEL), ox.Literal(text))
        for x, text in labels.items()
        if x != iri
    ]
    incoming_triples = [ox.Triple(row["s"], row["p"], node) for row in incoming_rows]  # type: ignore[arg-type]
    everything = dict.fromkeys(
        [*sorted(outgoing, key=str), *statement_triples, *incoming_triples, *label_triples]
    )
    return EntityDescription(
        iri, labels.get(iri), tuple(types), tuple(facts), tuple(external), incoming, tuple(everything)
    )


MAX_RESOURCE_PATH = 2000
"""Longest ``/resource/`` path, in characters: the KB mints short slugs, and nothing longer is one of them."""
_UCS = "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef" + "".join(
    f"{chr(plane << 16)}-{chr((plane << 16) + 0xFFFD)}" for plane in range(1, 15)
)
_PRIVATE = "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
_IPCHAR = rf"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@{_UCS}]|%[0-9A-Fa-f]{{2}})"
_IRI_TAIL = re.compile(rf"(?:{_IPCHAR}|/)*(?:\?(?:{_IPCHAR}|[/?{_PRIVATE}])*)?(?:#(?:{_IPCHAR}|[/?])*)?")
"""A path, query and fragment as RFC 3987 allows them (``ipath-abempty [ "?" iquery ] [ "#" ifragment ]``)."""
_IRI_CHARACTER = re.compile(rf"[A-Za-z0-9\-._~!$&'()*+,;=:@/?#%{_UCS}{_PRIVATE}]")


def resource_iri(path: str) -> str:
    """The KB IRI a ``/resource/`` path names (the path as the server decoded it).

    Raises `Problem` 400 when the result would not be an IRI: a character IRIs do not allow (a space, ``"``,
    ``<``, ``{``, ``|``, ``\\``, ``^``, a backquote, a control character), a ``%`` not followed by two hex
    digits, bytes that were not UTF-8 (decoded as U+FFFD, which IRIs do not allow either), or a path longer
    than `MAX_RESOURCE_PATH`. Checked here, before Oxigraph would refuse it with a ValueError (a 500).
    """
    if len(path) > MAX_RESOURCE_PATH:
        raise Problem(
            400, f"the resource path is {len(path)} characters long; KB IRIs have at most {MAX_RESOURCE_PATH}",
            kind="invalid-iri",
        )  # fmt: skip
    iri = str(RES) + path
    bad = next((character for character in path if not _IRI_CHARACTER.fullmatch(character)), None)
    if bad is not None or not _IRI_TAIL.fullmatch(path):
        reason = f"the character {bad!r} is not allowed in an IRI" if bad else "it is not a well-formed IRI"
        raise Problem(400, f"/resource/ names no KB IRI: {reason} (RFC 3987)", kind="invalid-iri")
    try:
        ox.NamedNode(iri)  # the engine's own parser has the last word
    except ValueError as error:
        raise Problem(400, f"/resource/ names no KB IRI: {error}", kind="invalid-iri") from None
    return iri
