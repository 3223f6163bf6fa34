"""SHACL shapes of the randomised-trial evidence terms (issue 14): every randomised-trial document's KB
conforms, and broken evidence nodes are reported with the shape's message."""

from __future__ import annotations

import pytest
import support
from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, XSD
from support import DATA

from kb.facade import KnowledgeBase
from ontology import TKB, ontology_graph, shapes_graph

RES = "https://w3id.org/trialkb/resource/"


@pytest.fixture(scope="module")
def rct_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    paths = sorted((DATA / "evidence").glob("*.txt")) + sorted((DATA / "corpus").glob("*.txt"))
    paths += sorted(support.UNSEEN.glob("*.txt"))
    return support.ingested_kb(tmp_path_factory.mktemp("shapes-evidence"), paths)


def test_every_randomised_trial_document_conforms(rct_kb: KnowledgeBase) -> None:
    report = rct_kb.validate()
    assert report.conforms, report.text
    count = rct_kb.select("SELECT (COUNT(?e) AS ?n) WHERE { ?e a tkb:EffectEstimate }")[0]["n"]
    assert int(count) >= 20


def _report(graph: Graph) -> str:
    conforms, _, text = validate(
        graph, shacl_graph=shapes_graph(), ont_graph=ontology_graph(), inference="none", advanced=True
    )
    assert not conforms
    return str(text)


def _passage(graph: Graph) -> URIRef:
    passage, document = URIRef(RES + "passage/x-p001"), URIRef(RES + "document/x")
    graph.add((passage, RDF.type, TKB.Passage))
    graph.add((passage, PROV.value, Literal("text")))
    graph.add((passage, TKB.startOffset, Literal(0)))
    graph.add((passage, TKB.endOffset, Literal(4)))
    graph.add((passage, URIRef("http://purl.org/dc/terms/isPartOf"), document))
    graph.add((document, RDF.type, TKB.SourceDocument))
    return passage


def test_an_estimate_without_kind_or_with_a_reversed_interval_is_reported() -> None:
    graph = Graph()
    effect = URIRef(RES + "effect-estimate/x-effect-1")
    graph.add((effect, RDF.type, TKB.EffectEstimate))
    graph.add((effect, TKB.estimate, Literal("0.80", datatype=XSD.decimal)))
    graph.add((effect, TKB.ciLower, Literal("0.90", datatype=XSD.decimal)))
    graph.add((effect, TKB.ciUpper, Literal("0.70", datatype=XSD.decimal)))
    graph.add((effect, TKB.pValue, Literal("2", datatype=XSD.decimal)))
    graph.add((effect, PROV.wasDerivedFrom, _passage(graph)))
    text = _report(graph)
    assert "an effect estimate needs its kind" in text
    assert "the lower confidence limit exceeds the upper" in text
    assert "pValue" in text


def test_an_adverse_event_outside_ctcae_grades_or_without_arm_is_reported() -> None:
    graph = Graph()
    event = URIRef(RES + "adverse-event/x-adverse-event-1")
    graph.add((event, RDF.type, TKB.AdverseEventCount))
    graph.add((event, RDFS.label, Literal("neutropenia")))
    graph.add((event, TKB.adverseEventTerm, Literal("neutropenia")))
    graph.add((event, TKB.minGrade, Literal(6)))
    graph.add((event, TKB.percentage, Literal("120", datatype=XSD.decimal)))
    graph.add((event, PROV.wasDerivedFrom, _passage(graph)))
    text = _report(graph)
    assert "an adverse-event count needs its group" in text
    assert "minGrade" in text and "percentage" in text


def test_an_arm_role_outside_the_four_is_reported() -> None:
    graph = Graph()
    arm = URIRef(RES + "arm/x-arm-a")
    graph.add((arm, RDF.type, TKB.Arm))
    graph.add((arm, RDFS.label, Literal("A group")))
    graph.add((arm, TKB.armRole, TKB.HazardRatio))
    assert "an arm's role is experimental" in _report(graph)


def test_every_evidence_term_is_labelled_and_documented() -> None:
    ontology = ontology_graph()
    evidence = Graph().parse(data=__import__("ontology").read_text("evidence.ttl"), format="turtle")
    terms = {s for s in evidence.subjects(RDF.type, None) if str(s).startswith(str(TKB))}
    assert len(terms) > 40
    for term in terms:
        assert ontology.value(term, RDFS.label) is not None, term
        assert ontology.value(term, RDFS.comment) is not None, term
