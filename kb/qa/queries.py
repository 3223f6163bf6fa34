"""SPARQL templates for answering: parametrised only with IRIs from the KB and numbers, each escaped.

Nothing from the question text ever reaches a query: entities are linked to KB IRIs first, and only those
IRIs (checked against the IRI grammar) and numbers are injected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from kb.errors import QueryRejected

PREFIX_IRIS = {
    "tkb": "https://w3id.org/trialkb/ontology#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
    "schema": "https://schema.org/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
_IRI_SAFE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|^`\\]*$")
_CURIE = re.compile(r"^(tkb|rdfs|schema|dcterms|skos|prov|rdf):[A-Za-z][A-Za-z0-9_]*$")

NODE_PATTERNS: dict[str, str] = {
    "trial": "?trial a tkb:ClinicalTrial . BIND(?trial AS ?node)",
    "group": "?trial a tkb:ClinicalTrial ; (tkb:hasCohort|tkb:hasArm)? ?node .",
    # One path rather than a UNION: over every trial of the 1,000-document benchmark KB the UNION took 3-8 s
    # in Oxigraph, the path 80 ms.
    "publication": "?trial a tkb:ClinicalTrial ; tkb:reportedIn|^tkb:about/tkb:reports ?node .",
    "document": "?node tkb:about ?trial .",
    "step": "?trial tkb:hasRegimen/tkb:hasStep ?node . OPTIONAL { ?node tkb:drug ?drug } OPTIONAL { ?node tkb:treatmentPhase ?stepPhase }",
    "funding": "?trial tkb:hasFunding ?node . OPTIONAL { ?node tkb:fundingRole ?role }",
    "drug": "",  # a drug's own facts: the trials that give it are not asked for
    "regimen": "?trial tkb:hasRegimen ?node .",
}


def iri(value: str) -> str:
    """An IRI term, refused unless it is a well-formed absolute IRI (so it cannot close the term)."""
    if not _IRI_SAFE.match(value):
        raise QueryRejected(f"not an IRI: {value!r}")
    return f"<{value}>"


def curie(value: str) -> str:
    if not _CURIE.match(value):
        raise QueryRejected(f"not a known property: {value!r}")
    return value


def number(value: float) -> str:
    """A numeric literal from a Python number (never from text)."""
    return repr(float(value))


def values(variable: str, iris: Iterable[str]) -> str:
    terms = " ".join(iri(i) for i in iris)
    return f"VALUES ?{variable} {{ {terms} }}"


def with_prefixes(query: str) -> str:
    """The query with the PREFIX lines it uses, so it runs as shown on any SPARQL endpoint."""
    used = [p for p in PREFIX_IRIS if f"{p}:" in query]
    return "".join(f"PREFIX {p}: <{PREFIX_IRIS[p]}>\n" for p in used) + query.strip() + "\n"


def property_query(via: str, predicates: Sequence[str], trials: Sequence[str], nodes: Sequence[str]) -> str:
    """Values of ``predicates`` on the nodes reached from the trials (or the given nodes), with their graph."""
    restrict = []
    if trials:
        restrict.append(values("trial", trials))
    if nodes:
        restrict.append(values("node", nodes))
    patterns = [
        *restrict,
        f"VALUES ?p {{ {' '.join(curie(p) for p in predicates)} }}",
        NODE_PATTERNS[via],
        "GRAPH ?g { ?node ?p ?value }",
        "OPTIONAL { ?value rdfs:label ?valueLabel }",
        "OPTIONAL { ?trial rdfs:label ?trialLabel }" if via != "drug" else "",
        "OPTIONAL { ?node rdfs:label ?nodeLabel }",
    ]
    body = "\n  ".join(pattern for pattern in patterns if pattern)
    extra = {
        "step": " ?drug ?stepPhase",
        "funding": " ?role",
    }.get(via, "")
    trial = "" if via == "drug" else "?trial ?trialLabel "
    return with_prefixes(
        f"SELECT DISTINCT {trial}?node ?nodeLabel ?p ?value ?valueLabel ?g{extra} WHERE {{\n  {body}\n}}"
    )


def outcome_query(endpoints: Sequence[str], trials: Sequence[str]) -> str:
    """Outcome measurements of the endpoints (optionally of some trials): value, unit, statistic, group."""
    # Bound to trials, the query starts from them and their outcomes, and meets the endpoints after: with
    # the endpoint's VALUES first, Oxigraph walks every outcome of that endpoint in the KB (20 ms on the
    # 1,000-document benchmark KB, against 0.5 ms).
    start = (
        [values("trial", trials), "?trial tkb:hasOutcome ?outcome ."]
        if trials
        else [values("endpoint", endpoints)]
    )
    body = "\n  ".join(
        [
            *start,
            "GRAPH ?g { ?outcome tkb:measures ?endpoint ; tkb:numericValue ?value . }",
            *([values("endpoint", endpoints)] if trials else []),
            "OPTIONAL { ?endpoint rdfs:label ?endpointLabel }",
            "OPTIONAL { ?outcome tkb:unitLabel ?unit }",
            "OPTIONAL { ?outcome tkb:statistic ?statistic }",
            "OPTIONAL { ?outcome tkb:timePoint ?timePoint }",
            "OPTIONAL { ?outcome tkb:population ?population . OPTIONAL { ?population rdfs:label ?populationLabel } }",
            "OPTIONAL { ?outcome tkb:numerator ?numerator }",
            "OPTIONAL { ?outcome tkb:denominator ?denominator }",
            "OPTIONAL { ?outcome tkb:valueQualifier ?qualifier }",
            *([] if trials else ["?trial tkb:hasOutcome ?outcome ."]),
            "OPTIONAL { ?trial rdfs:label ?trialLabel }",
        ]
    )
    return with_prefixes(
        "SELECT DISTINCT ?trial ?trialLabel ?outcome ?endpoint ?endpointLabel ?value ?unit ?statistic ?timePoint "
        f"?population ?populationLabel ?numerator ?denominator ?qualifier ?g WHERE {{\n  {body}\n}}"
    )


def evidence_query(pairs: Sequence[tuple[str, str]]) -> str:
    """The statements (and their passages) behind (subject, predicate) pairs."""
    rows = " ".join(f"({iri(s)} {iri(p)})" for s, p in pairs)
    return with_prefixes(
        "SELECT ?s ?p ?o ?passage ?text ?start ?end ?quote ?document WHERE {\n"
        f"  VALUES (?s ?p) {{ {rows} }}\n"
        "  ?st rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; prov:wasDerivedFrom ?passage .\n"
        "  OPTIONAL { ?st tkb:quote ?quote }\n"
        "  ?passage prov:value ?text ; tkb:startOffset ?start ; tkb:endOffset ?end ; dcterms:isPartOf ?document .\n"
        "}"
    )


ENTITY_NAMES = with_prefixes(
    """SELECT DISTINCT ?entity ?type ?name ?predicate WHERE {
  VALUES ?type { tkb:ClinicalTrial tkb:Drug tkb:DrugClass tkb:MolecularTarget tkb:Biomarker tkb:Disease
                 tkb:Organization tkb:Endpoint tkb:Journal tkb:Arm }
  VALUES ?predicate { rdfs:label skos:altLabel tkb:trialName tkb:nctId }
  ?entity a ?type ; ?predicate ?name .
}"""
)

TRIALS = with_prefixes(
    """SELECT DISTINCT ?trial ?label ?name ?nct ?g WHERE {
  GRAPH ?g { ?trial a tkb:ClinicalTrial }
  OPTIONAL { ?trial rdfs:label ?label }
  OPTIONAL { ?trial tkb:trialName ?name }
  OPTIONAL { ?trial tkb:nctId ?nct }
}"""
)

PASSAGES = with_prefixes(
    """SELECT ?passage ?text ?start ?end ?document ?trial WHERE {
  ?passage a tkb:Passage ; prov:value ?text ; tkb:startOffset ?start ; tkb:endOffset ?end ; dcterms:isPartOf ?document .
  OPTIONAL { ?passage tkb:passageAbout ?trial }
}"""
)

TRIAL_RELATED = with_prefixes(
    """SELECT DISTINCT ?trial ?entity WHERE {
  ?trial a tkb:ClinicalTrial ; tkb:intervention|tkb:sponsor|tkb:conductedBy|tkb:fundedBy ?entity .
}"""
)

DOCUMENT_TRIALS = with_prefixes(
    """SELECT DISTINCT ?trial ?document WHERE {
  GRAPH ?g { ?trial a tkb:ClinicalTrial }
  ?g prov:wasDerivedFrom ?document .
}"""
)


def trials_with_query(relation: str, entities: Sequence[str]) -> str:
    """Trials related to entities: ``drug`` (intervention), ``target``, ``class``, ``disease``, ``organization``."""
    patterns = {
        "drug": "?trial tkb:intervention ?entity . BIND(?entity AS ?via)",
        "target": "?trial tkb:intervention ?via . ?via tkb:target ?entity .",
        "class": "?trial tkb:intervention ?via . ?via tkb:drugClass ?entity .",
        "disease": "?trial (tkb:hasCohort|tkb:hasArm)?/tkb:condition ?entity . BIND(?entity AS ?via)",
        "organization": "?trial tkb:sponsor|tkb:fundedBy|tkb:conductedBy|(tkb:hasFunding/tkb:funder) ?entity . BIND(?entity AS ?via)",
    }
    return with_prefixes(
        "SELECT DISTINCT ?trial ?trialLabel ?via ?viaLabel ?entity WHERE {\n"
        f"  {values('entity', entities)}\n  {patterns[relation]}\n"
        "  ?trial a tkb:ClinicalTrial .\n"
        "  OPTIONAL { ?trial rdfs:label ?trialLabel }\n  OPTIONAL { ?via rdfs:label ?viaLabel }\n}"
    )


def drugs_with_query(relation: str, entities: Sequence[str]) -> str:
    """Drugs with a target or of a class (only drugs some document mentions)."""
    predicate = {"target": "tkb:target", "class": "tkb:drugClass"}[relation]
    return with_prefixes(
        "SELECT DISTINCT ?drug ?drugLabel ?entity ?g WHERE {\n"
        f"  {values('entity', entities)}\n"
        f"  GRAPH ?g {{ ?drug {predicate} ?entity }}\n"
        "  ?drug a tkb:Drug .\n  OPTIONAL { ?drug rdfs:label ?drugLabel }\n}"
    )
