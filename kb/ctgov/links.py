"""NCT ids and the IRIs that link a trial to its ClinicalTrials.gov record (shared with the article builder)."""

from __future__ import annotations

import re

from rdflib import Literal, URIRef
from rdflib.namespace import RDFS, SKOS

from kb.ctgov.errors import InvalidNctId
from ontology import CTGOV_STUDY, GRAPH, IDORG, RES, TKB

Triple = tuple[URIRef, URIRef, URIRef | Literal]

NCT_ID = re.compile(r"NCT\d{8}")
API_BASE = "https://clinicaltrials.gov/api/v2"


def normalize_nct_id(value: str) -> str:
    """Return the id in canonical form (upper case, no spaces), or raise :class:`InvalidNctId`."""
    candidate = value.strip().upper() if isinstance(value, str) else ""
    if not NCT_ID.fullmatch(candidate):
        raise InvalidNctId(str(value))
    return candidate


def trial_node(nct_id: str) -> URIRef:
    """The KB node of a trial: the same node the publication extractor creates."""
    return RES["trial/" + normalize_nct_id(nct_id)]


def registry_graph(nct_id: str) -> URIRef:
    """The named graph that holds the facts of a trial's registry record."""
    return GRAPH["registry/" + normalize_nct_id(nct_id)]


def record_url(nct_id: str) -> URIRef:
    """The record's page on ClinicalTrials.gov (also the IRI of the record node)."""
    return URIRef(CTGOV_STUDY + normalize_nct_id(nct_id))


def api_url(nct_id: str, base_url: str = API_BASE) -> URIRef:
    """The API v2 URL a record is read from."""
    return URIRef(f"{base_url.rstrip('/')}/studies/{normalize_nct_id(nct_id)}")


def identifiers_org(nct_id: str) -> URIRef:
    """The identifiers.org IRI of a trial (prefix ``clinicaltrials``)."""
    return IDORG["clinicaltrials:" + normalize_nct_id(nct_id)]


def trial_link_triples(nct_id: str) -> list[Triple]:
    """Triples that link a trial with an NCT id to its registry record and identifiers.org IRI."""
    nct = normalize_nct_id(nct_id)
    trial = trial_node(nct)
    page = record_url(nct)
    return [
        (trial, TKB.nctId, Literal(nct)),
        (trial, TKB.registryRecord, page),
        (trial, RDFS.seeAlso, page),
        (trial, SKOS.exactMatch, identifiers_org(nct)),
    ]
