"""Reconciliation of registry graphs with article graphs, over a small rdflib Dataset queried with SPARQL."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import RDF, RDFS
from rdflib.query import ResultRow

from kb.ctgov import parse_record, record_to_graph
from kb.ctgov.reconcile import reconcile
from ontology import GRAPH, RES, TKB

# rdflib's own SPARQL evaluation uses its deprecated Dataset API; not this code's concern.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:rdflib.*")

DATA = Path(__file__).parent / "data" / "ctgov"
DOC = "a041703-news"
ARTICLE = GRAPH[DOC]
PAGE = "https://clinicaltrials.gov/study/NCT03739814"
KNOWN = {
    ("Drug", "Inotuzumab Ozogamicin"): "inotuzumab-ozogamicin",
    ("Drug", "Blinatumomab"): "blinatumomab",
    ("Drug", "Cytarabine"): "cytarabine",
    ("Organization", "National Cancer Institute"): "national-cancer-institute",
    ("Organization", "ECOG-ACRIN Cancer Research Group"): "ecog-acrin",
    ("Endpoint", "Event-free survival (Cohort 1)"): "event-free-survival",
}
ALL, B_ALL = RES["disease/acute-lymphoblastic-leukemia"], RES["disease/b-cell-acute-lymphoblastic-leukemia"]


def resolve(kind: str, name: str) -> str | None:
    return KNOWN.get((kind, name))


def mentions(kind: str, text: str) -> list[str]:
    if kind == "Disease" and "Acute Lymphoblastic Leukemia" in text:
        return ["acute-lymphoblastic-leukemia"]
    if kind == "Endpoint":
        lowered = text.lower()
        return [
            key
            for phrase, key in (
                ("event-free", "event-free-survival"),
                ("overall survival", "overall-survival"),
            )
            if phrase in lowered
        ]
    return []


def ancestors(iri: str) -> set[str]:
    return {str(ALL)} if iri == str(B_ALL) else set()


def add_registry(dataset: Dataset, name: str) -> None:
    record = parse_record((DATA / name).read_text(encoding="utf-8"))
    iri, graph = record_to_graph(
        record, retrieved_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), resolve=resolve, mentions=mentions
    )
    named = dataset.graph(iri)
    for triple in graph:
        named.add(triple)


def add_article(dataset: Dataset, document: str, nct: str, facts: list[tuple[str, str, Any]]) -> None:
    """Facts as (subject key, tkb property, object): keys under RES, objects literals or "res:" keys."""
    graph = dataset.graph(GRAPH[document])
    trial = RES[f"trial/{nct}"]
    graph.add((trial, RDF.type, TKB.ClinicalTrial))
    graph.add((trial, TKB.nctId, Literal(nct)))
    for subject, prop, obj in facts:
        node = trial if subject == "trial" else RES[subject]
        if isinstance(obj, str) and obj.startswith("res:"):
            term: URIRef | Literal = RES[obj[4:]]
        else:
            term = Literal(obj)
        graph.add((node, TKB[prop] if prop != "label" else RDFS.label, term))


def a041703_article(dataset: Dataset) -> None:
    cohort = f"cohort/{DOC}-cohort-1"
    add_article(
        dataset,
        DOC,
        "NCT03739814",
        [
            ("trial", "hasCohort", f"res:{cohort}"),
            (cohort, "label", "A041703 Cohort 1"),
            (cohort, "enrolledCount", 33),
            (cohort, "minimumAge", Decimal(60)),
            (cohort, "maximumAge", Decimal(84)),
            ("trial", "phase", "Phase II"),
            ("trial", "fundedBy", "res:organization/national-cancer-institute"),
            ("trial", "conductedBy", "res:organization/alliance"),
            ("organization/alliance", "label", "Alliance for Clinical Trials in Oncology"),
            ("trial", "intervention", "res:drug/inotuzumab-ozogamicin"),
            ("trial", "intervention", "res:drug/blinatumomab"),
            ("trial", "condition", "res:disease/b-cell-acute-lymphoblastic-leukemia"),
            ("trial", "hasOutcome", f"res:outcome/{DOC}-cr"),
            (f"outcome/{DOC}-cr", "label", "complete remission rate, A041703 Cohort 1"),
            (f"outcome/{DOC}-cr", "measures", "res:endpoint/complete-remission"),
            (f"outcome/{DOC}-cr", "numericValue", Decimal(97)),
            (f"outcome/{DOC}-cr", "unitLabel", "%"),
            ("trial", "hasOutcome", f"res:outcome/{DOC}-os"),
            (f"outcome/{DOC}-os", "label", "overall survival rate at 1 year, A041703 Cohort 1"),
            (f"outcome/{DOC}-os", "measures", "res:endpoint/overall-survival"),
            (f"outcome/{DOC}-os", "numericValue", Decimal(85)),
            (f"outcome/{DOC}-os", "unitLabel", "%"),
        ],
    )
    lexicon = dataset.graph(GRAPH["lexicon"])
    for key, label in (
        ("drug/blinatumomab", "blinatumomab"),
        ("organization/national-cancer-institute", "NCI"),
    ):
        lexicon.add((RES[key], RDFS.label, Literal(label)))
    lexicon.add((RES["trial/NCT03739814"], TKB.enrolledCount, Literal(1000)))  # not an article: ignored


def selector(dataset: Dataset) -> Any:
    def select(sparql: str) -> list[dict[str, Any]]:
        rows = []
        for row in dataset.query(sparql):
            assert isinstance(row, ResultRow)
            rows.append({k: v.toPython() if isinstance(v, Literal) else v for k, v in row.asdict().items()})
        return rows

    return select


@pytest.fixture()
def kb() -> Dataset:
    dataset = Dataset()
    a041703_article(dataset)
    add_registry(dataset, "NCT03739814.json")
    return dataset


def test_enrollment_differs_cohort_against_whole_study_with_both_sources(kb: Dataset) -> None:
    result = reconcile(selector(kb), "NCT03739814")
    item = result.item("enrollment")
    assert item.status == "differ" and not item.conflict
    assert [v.value for v in item.article] == [33] and [v.value for v in item.registry] == [64]
    assert item.article[0].document == DOC and item.article[0].graph == str(ARTICLE)
    assert item.registry[0].record == PAGE and item.registry[0].detail == "ESTIMATED"
    assert item.registry[0].graph == str(GRAPH["registry/NCT03739814"])
    assert "article reports Cohort 1 only" in item.note
    assert "registry counts all cohorts (64, estimated)" in item.note


def test_primary_outcome_listed_next_to_the_articles_headline_endpoints(kb: Dataset) -> None:
    item = reconcile(selector(kb), "NCT03739814").item("primary_endpoint")
    registered = [v.label for v in item.registry]
    assert registered == [
        "Tolerability of inotuzumab ozogamicin followed by blinatumomab (Up to 1 year)",
        "Event-free survival (Cohort 1) (At 1 year)",
        "Event-free survival (Cohort 2) (At 1 year)",
    ]
    reported = {v.label for v in item.article}
    assert reported == {
        "complete remission rate, A041703 Cohort 1: 97%",
        "overall survival rate at 1 year, A041703 Cohort 1: 85%",
    }
    assert item.status == "only_registry" and "state no primary endpoint" in item.note


def test_other_topics_of_the_shared_record(kb: Dataset) -> None:
    result = reconcile(selector(kb), "NCT03739814", ancestors=ancestors)
    phase = result.item("phase")
    assert (
        phase.status == "agree"
        and phase.article[0].value == "Phase II"
        and phase.registry[0].value == "Phase 2"
    )
    sponsor = result.item("sponsor")
    assert sponsor.status == "agree" and "lead sponsor NCI is the articles' funder" in sponsor.note
    assert "Alliance for Clinical Trials in Oncology (conducted by)" in sponsor.note
    assert result.item("interventions").status == "agree"
    conditions = result.item("conditions")
    assert conditions.status == "agree" and "one disease at different detail" in conditions.note
    ages = result.item("eligible_ages")
    assert ages.status == "differ" and not ages.conflict
    assert (
        "60–84 years (A041703 Cohort 1), lie within the registry's eligibility (18 Years and over"
        in ages.note
    )
    assert result.documents == (DOC,) and result.registry_graph == str(GRAPH["registry/NCT03739814"])


def test_without_lexicon_ancestors_similar_disease_names_still_agree(kb: Dataset) -> None:
    item = reconcile(selector(kb), "NCT03739814", ancestors=lambda iri: set()).item("conditions")
    assert (
        item.status == "agree" and "resemble the articles' b-cell-acute-lymphoblastic-leukemia" in item.note
    )


def test_unrelated_conditions_differ() -> None:
    dataset = Dataset()
    add_article(dataset, "other", "NCT09999991", [("trial", "condition", "res:disease/breast-cancer")])
    add_registry(dataset, "NCT09999991.json")
    item = reconcile(selector(dataset), "NCT09999991", ancestors=ancestors).item("conditions")
    assert item.status == "differ" and item.conflict
    assert [v.label for v in item.registry] == ["Multiple Myeloma"]


def test_record_with_results_against_its_article() -> None:
    dataset = Dataset()
    cohort = "cohort/e1910-news-all"
    add_article(
        dataset,
        "e1910-news",
        "NCT02003222",
        [
            ("trial", "hasCohort", f"res:{cohort}"),
            (cohort, "label", "E1910 patients"),
            (cohort, "enrolledCount", 488),
            (cohort, "randomizedCount", 224),
            (cohort, "minimumAge", Decimal(30)),
            (cohort, "maximumAge", Decimal(70)),
            ("trial", "phase", "Phase 2"),
            ("trial", "primaryEndpoint", "res:endpoint/overall-survival"),
            ("endpoint/overall-survival", "label", "overall survival"),
            ("trial", "intervention", "res:drug/blinatumomab"),
            ("trial", "conductedBy", "res:organization/ecog-acrin"),
        ],
    )
    add_registry(dataset, "NCT02003222.json")
    dataset.graph(GRAPH["lexicon"]).add((RES["drug/cytarabine"], RDFS.label, Literal("Cytarabine")))
    result = reconcile(selector(dataset), "NCT02003222")
    assert result.item("enrollment").status == "agree"
    assert {v.label for v in result.item("enrollment").article} == {
        "488 enrolled (E1910 patients)",
        "224 randomized (E1910 patients)",
    }
    assert result.item("eligible_ages").status == "agree"
    assert result.item("primary_endpoint").status == "agree"
    phase = result.item("phase")
    assert phase.status == "differ" and phase.conflict
    interventions = result.item("interventions")
    assert interventions.status == "differ" and "only in the registry: Cytarabine" in interventions.note
    assert "Laboratory Biomarker Analysis" in {v.label for v in interventions.registry}
    assert result.item("sponsor").status == "agree"


def test_registry_not_imported_says_so(kb: Dataset) -> None:
    dataset = Dataset()
    a041703_article(dataset)
    result = reconcile(selector(dataset), "NCT03739814")
    assert result.registry_graph is None
    assert result.item("enrollment").status == "only_article"
    assert result.item("phase").status == "only_article"
    assert "trialkb link NCT03739814" in result.render_text()


def test_unknown_trial_has_nothing(kb: Dataset) -> None:
    result = reconcile(selector(kb), "NCT00000001")
    assert {item.status for item in result.items} == {"neither"} and result.documents == ()


def test_json_is_stable_and_text_is_readable(kb: Dataset) -> None:
    first = json.dumps(reconcile(selector(kb), "NCT03739814").to_dict())
    second = json.dumps(reconcile(selector(kb), "NCT03739814").to_dict())
    assert first == second
    data = json.loads(first)
    topics = [item["topic"] for item in data["items"]]
    assert topics[:7] == [
        "enrollment",
        "phase",
        "sponsor",
        "interventions",
        "conditions",
        "eligible_ages",
        "primary_endpoint",
    ]
    # Then an item per arm, effect estimate and adverse event (tests/test_ctgov_results.py), in that order.
    assert topics[7:] == sorted(topics[7:], key=["arms", "effect_estimates", "adverse_events"].index)
    enrollment = data["items"][0]
    assert enrollment["article"][0]["value"] == 33 and enrollment["article"][0]["source"] == DOC
    assert enrollment["registry"][0]["value"] == 64 and enrollment["registry"][0]["source"] == PAGE
    text = reconcile(selector(kb), "NCT03739814").render_text()
    assert "enrollment: DIFFER" in text and f"64 enrolled, all arms (estimated)  [{PAGE}]" in text
    assert f"33 enrolled (A041703 Cohort 1)  [{DOC}]" in text
