"""Registry results (issue 14, item 5): a record's results section parsed, mapped to the same evidence terms
as articles (arms with roles and counts, per-arm results, effect estimates, adverse events), conforming to the
same shapes, shown by the competency queries, and reconciled with the articles per arm, estimate and event."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, XSD
from support import DATA, run_cli

from kb import queries
from kb.ctgov import InvalidRecord, parse_record, record_to_graph
from kb.ctgov.evidence import effect_kind
from kb.ctgov.reconcile_evidence import same_number
from kb.ctgov.reconciliation import Reconciliation, ReconciliationItem
from kb.ctgov.results import parse_p_value
from kb.facade import KnowledgeBase
from kb.settings import Settings
from ontology import RES, TKB, ontology_graph, shapes_graph

DAPA, ACTT = "NCT03036124", "NCT04280705"
RECORDS = {nct: DATA / "ctgov" / f"{nct}.json" for nct in (DAPA, ACTT)}
ARTICLES = [DATA / "evidence" / "dapahf-abstract.txt", DATA / "corpus" / "actt1-news.txt"]
PAGE = "https://clinicaltrials.gov/study/"


def record_data(nct: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RECORDS[nct].read_text(encoding="utf-8"))
    return data


def registry_graph(data: dict[str, Any]) -> Graph:
    _, graph = record_to_graph(parse_record(data), retrieved_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    return graph


# ---------------------------------------------------------------------------------------------- parsing


def test_results_section_is_parsed_with_the_api_field_names() -> None:
    results = parse_record(record_data(DAPA)).results
    assert [g.title for g in results.flow.groups] == ["Dapagliflozin 10 mg", "Placebo"]
    assert [(c.group_id, c.count) for c in results.flow.started] == [("FG000", 2373), ("FG001", 2371)]
    assert [c.count for c in results.baseline.counts] == [2373, 2371, 4744]
    primary = results.outcomes[0]
    assert primary.type == "PRIMARY" and primary.param_type == "COUNT_OF_PARTICIPANTS"
    assert [(m.group_id, m.value) for m in primary.measurements] == [
        ("OG000", Decimal(386)),
        ("OG001", Decimal(502)),
    ]
    assert [(c.group_id, c.count) for c in primary.analysed] == [("OG000", 2373), ("OG001", 2371)]
    analysis = primary.analyses[0]
    assert analysis.param_type == "Hazard Ratio (HR)" and analysis.group_ids == ("OG000", "OG001")
    assert (analysis.value, analysis.ci_lower, analysis.ci_upper, analysis.ci_percent) == (
        Decimal("0.74"),
        Decimal("0.65"),
        Decimal("0.85"),
        Decimal(95),
    )
    assert analysis.p_value == "<0.001" and analysis.method == "Regression, Cox"
    events = results.adverse_events
    assert [(g.title, g.serious_affected, g.serious_at_risk) for g in events.groups] == [
        ("Dapagliflozin 10 mg", 895, 2368),
        ("Placebo", 950, 2368),
    ]
    actt = parse_record(record_data(ACTT)).results
    recovery = actt.outcomes[0]
    assert recovery.param_type == "MEDIAN" and recovery.unit == "days"
    assert (recovery.measurements[0].lower, recovery.measurements[0].upper) == (Decimal(9), Decimal(11))
    assert (
        recovery.analyses[0].param_type == "Other" and recovery.analyses[0].comment == "Recovery rate ratio"
    )


def test_missing_and_partial_results_are_read_without_error() -> None:
    assert parse_record(json.loads((DATA / "ctgov" / "NCT03739814.json").read_text())).results.empty
    data = record_data(DAPA)
    section = data["resultsSection"]
    del section["participantFlowModule"], section["baselineCharacteristicsModule"]
    measure = section["outcomeMeasuresModule"]["outcomeMeasures"][0]
    del measure["denoms"], measure["classes"]
    measure["analyses"] = [
        {"groupIds": ["OG000", "OG001"], "paramType": "Hazard Ratio (HR)", "paramValue": "NA"}
    ]
    section["adverseEventsModule"] = {
        "eventGroups": [{"id": "EG000", "title": "Dapagliflozin 10 mg", "seriousNumAffected": "12"}],
        "seriousEvents": [{"term": "Pneumonia", "stats": [{"groupId": "EG000", "numAffected": 2}]}],
    }
    results = parse_record(data).results
    assert not results.flow.started and results.outcomes[0].measurements == ()
    assert results.outcomes[0].analyses[0].value is None
    assert results.adverse_events.groups[0].serious_affected == 12
    assert results.adverse_events.events[0].stats[0].at_risk is None
    graph = registry_graph(data)  # maps what there is, leaves out the estimate without a value
    estimates = set(graph.subjects(RDF.type, TKB.EffectEstimate))
    assert RES[f"effect-estimate/{DAPA}-registry-1-1"] not in estimates and len(estimates) == 4
    assert len(list(graph.subjects(RDF.type, TKB.AdverseEventCount))) == 2


def test_a_malformed_count_is_an_invalid_record() -> None:
    data = record_data(DAPA)
    data["resultsSection"]["participantFlowModule"]["periods"][0]["milestones"][0]["achievements"][0][
        "numSubjects"
    ] = "many"
    with pytest.raises(InvalidRecord, match="numSubjects"):
        parse_record(data)


@pytest.mark.parametrize(
    ("param_type", "comment", "kind"),
    [
        ("Hazard Ratio (HR)", None, "HazardRatio"),
        ("Odds Ratio (OR)", None, "OddsRatio"),
        ("Risk Ratio (RR)", None, "RiskRatio"),
        ("Risk Difference (RD)", None, "RiskDifference"),
        ("Mean Difference (Final Values)", None, "MeanDifference"),
        ("Mean Difference (Net)", None, "MeanDifference"),
        ("Other", "Recovery rate ratio", "RateRatio"),
        ("Hazard Ratio, log", None, None),
        ("Odds Ratio, log", None, None),
        ("Slope", None, None),
        ("Median Difference (Final Values)", None, None),
        ("Other", "difference in days, or more", None),
    ],
)
def test_effect_kind_of_an_analysis(param_type: str, comment: str | None, kind: str | None) -> None:
    assert effect_kind(param_type, comment) == kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<0.001", ("<", Decimal("0.001"))),
        ("0.0004", ("=", Decimal("0.0004"))),
        ("< .05", ("<", Decimal("0.05"))),
        ("≤0.05", ("<=", Decimal("0.05"))),
        (">0.99", (">", Decimal("0.99"))),
        ("NA", None),
        ("2.5", None),
    ],
)
def test_p_values_as_the_registry_writes_them(text: str, expected: tuple[str, Decimal] | None) -> None:
    assert parse_p_value(text) == expected


# ---------------------------------------------------------------------------------------------- mapping


def test_results_map_to_the_evidence_terms() -> None:
    graph = registry_graph(record_data(DAPA))
    trial = RES[f"trial/{DAPA}"]
    dapagliflozin, placebo = RES[f"arm/{DAPA}-dapagliflozin-10-mg"], RES[f"arm/{DAPA}-placebo"]
    assert graph.value(dapagliflozin, TKB.armRole) == TKB.ExperimentalArm
    assert graph.value(placebo, TKB.armRole) == TKB.PlaceboComparatorArm
    assert graph.value(placebo, TKB.randomizedCount) == Literal(2371, datatype=XSD.integer)
    assert graph.value(placebo, TKB.analyzedCount) == Literal(2371, datatype=XSD.integer)
    assert len(set(graph.objects(trial, TKB.hasArm))) == 2  # result groups matched to the arms, "Total" none

    estimates = set(graph.objects(trial, TKB.hasEffectEstimate))
    assert len(estimates) == 5
    primary = next(
        e for e in estimates if graph.value(e, TKB.estimate) == Literal("0.74", datatype=XSD.decimal)
    )
    assert graph.value(primary, TKB.effectMeasure) == TKB.HazardRatio
    assert (str(graph.value(primary, TKB.ciLower)), str(graph.value(primary, TKB.ciUpper))) == (
        "0.65",
        "0.85",
    )
    assert str(graph.value(primary, TKB.confidenceLevel)) == "95"
    assert (str(graph.value(primary, TKB.pValueRelation)), str(graph.value(primary, TKB.pValue))) == (
        "<",
        "0.001",
    )
    assert str(graph.value(primary, TKB.pValueText)) == "P<0.001"
    assert graph.value(primary, TKB.experimentalArm) == dapagliflozin
    assert graph.value(primary, TKB.comparatorArm) == placebo
    assert (
        graph.value(primary, TKB.estimates) == RES[f"outcome-measure/{DAPA}-primary-1"]
    )  # the registered one
    assert graph.value(primary, PROV.wasDerivedFrom) == URIRef(PAGE + DAPA)

    outcomes = {
        (graph.value(o, TKB.population), str(graph.value(o, TKB.numericValue)))
        for o in graph.subjects(RDF.type, TKB.OutcomeMeasurement)
        if graph.value(o, TKB.measures) == RES[f"outcome-measure/{DAPA}-primary-1"]
    }
    assert outcomes == {(dapagliflozin, "386"), (placebo, "502")}

    serious = {
        graph.value(e, TKB.inArm): (
            graph.value(e, TKB.numerator).toPython(),  # type: ignore[union-attr]
            graph.value(e, TKB.denominator).toPython(),  # type: ignore[union-attr]
            str(graph.value(e, TKB.percentage)),
            graph.value(e, TKB.serious).toPython(),  # type: ignore[union-attr]
        )
        for e in graph.objects(trial, TKB.hasAdverseEvent)
    }
    assert serious == {dapagliflozin: (895, 2368, "37.8", True), placebo: (950, 2368, "40.12", True)}


def test_a_second_record_maps_other_kinds_and_units() -> None:
    graph = registry_graph(record_data(ACTT))
    kinds = {
        str(graph.value(e, TKB.effectMeasure)).rsplit("#", 1)[-1]: str(graph.value(e, TKB.estimate))
        for e in graph.subjects(RDF.type, TKB.EffectEstimate)
    }
    assert kinds == {"RateRatio": "1.29", "OddsRatio": "1.5", "HazardRatio": "0.73"}
    odds = next(
        e for e in graph.subjects(RDF.type, TKB.EffectEstimate) if "odds" in str(graph.value(e, RDFS_LABEL))
    )
    assert str(graph.value(odds, TKB.estimateTimePoint)) == "P15D"
    assert graph.value(odds, TKB.pValue) is None  # none posted, none made up
    rates = {
        str(graph.value(o, TKB.numericValue)): str(graph.value(o, TKB.unitLabel))
        for o in graph.subjects(RDF.type, TKB.OutcomeMeasurement)
    }
    assert rates == {"10": "days", "15": "days", "11.4": "%", "15.2": "%"}


RDFS_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")


def test_unmatched_groups_become_arms_and_undecided_comparisons_stay_unstated() -> None:
    data = record_data(DAPA)
    for arm in data["protocolSection"]["armsInterventionsModule"]["armGroups"]:
        arm["type"] = "EXPERIMENTAL"  # two experimental arms: which is the comparator cannot be told
    measure = data["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][0]
    measure["groups"][1]["title"] = "Control tablets"
    graph = registry_graph(data)
    arms = set(graph.objects(RES[f"trial/{DAPA}"], TKB.hasArm))
    assert RES[f"arm/{DAPA}-control-tablets"] in arms and len(arms) == 3
    assert not list(graph.subject_objects(TKB.experimentalArm))


def test_registry_evidence_conforms_to_the_same_shapes() -> None:
    graph = registry_graph(record_data(DAPA)) + registry_graph(record_data(ACTT))
    conforms, report, text = validate(
        graph, shacl_graph=shapes_graph(), ont_graph=ontology_graph(), inference="none", advanced=True
    )
    evidence = {
        str(node)
        for kind in (TKB.EffectEstimate, TKB.AdverseEventCount, TKB.OutcomeMeasurement, TKB.Arm)
        for node in graph.subjects(RDF.type, kind)
    }
    focus = {str(o) for o in report.objects(None, URIRef("http://www.w3.org/ns/shacl#focusNode"))}
    assert evidence and not evidence & focus, text
    # Derived from something that is neither a passage nor the record: refused.
    estimate = next(graph.subjects(RDF.type, TKB.EffectEstimate))
    graph.remove((estimate, PROV.wasDerivedFrom, None))
    graph.add((estimate, PROV.wasDerivedFrom, URIRef("https://example.org/somewhere")))
    _, _, text = validate(graph, shacl_graph=shapes_graph(), ont_graph=ontology_graph(), inference="none")
    assert "an effect estimate needs its source" in str(text)


# ---------------------------------------------------------------------------------------------- in a KB


@pytest.fixture(scope="module")
def articles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("ctgov-results") / "kb"
    report = KnowledgeBase(home, Settings(cache_dir=home.parent / "cache")).ingest(ARTICLES)
    assert not report.failed
    return home


def linked(articles: Path, tmp_path: Path, records: dict[str, dict[str, Any]]) -> KnowledgeBase:
    home = tmp_path / "kb"
    shutil.copytree(articles, home)
    kb = KnowledgeBase(home, Settings(cache_dir=tmp_path / "cache"))
    for nct, data in records.items():
        path = tmp_path / f"{nct}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        assert not kb.link([nct], record=path).failed
    return kb


def by_subject(result: Reconciliation, topic: str) -> dict[str | None, ReconciliationItem]:
    return {item.subject: item for item in result.items_of(topic)}


def test_reconcile_agrees_per_arm_estimate_and_event(articles: Path, tmp_path: Path) -> None:
    kb = linked(articles, tmp_path, {DAPA: record_data(DAPA), ACTT: record_data(ACTT)})
    assert kb.validate().conforms

    dapa = kb.reconcile(DAPA)
    arms = by_subject(dapa, "arms")
    assert set(arms) == {"Dapagliflozin 10 mg", "Placebo"}
    assert all(item.status == "agree" for item in arms.values())
    assert "only the registry counts randomised (2373)" in arms["Dapagliflozin 10 mg"].note
    effects = by_subject(dapa, "effect_estimates")
    primary = effects[
        "hazard ratio for Time to First Occurrence of Worsening Heart Failure or Cardiovascular Death"
    ]
    assert primary.status == "agree" and primary.note == "both give 0.74 (0.65 to 0.85)"
    assert [v.source for v in primary.article] == ["dapahf-abstract"]
    assert primary.registry[0].source == PAGE + DAPA
    assert effects["hazard ratio for Time to Cardiovascular Death"].status == "agree"  # not all-cause death
    assert effects["hazard ratio for Time to Death From Any Cause"].article[0].value == Decimal("0.83")
    only_registry = effects[
        "hazard ratio for Time to Cardiovascular Death or Hospitalization for Heart Failure"
    ]
    assert only_registry.status == "only_registry" and not only_registry.article
    events = by_subject(dapa, "adverse_events")
    assert events["serious adverse events"].status == "only_registry"
    assert events["adverse events related to volume depletion"].status == "only_article"

    actt = kb.reconcile(ACTT)
    arms = by_subject(actt, "arms")
    assert arms["Remdesivir"].status == "agree" and "both count 541 randomised" in arms["Remdesivir"].note
    effects = by_subject(actt, "effect_estimates")
    assert effects["rate ratio for Time to Recovery"].status == "agree"
    assert effects["odds ratio for Clinical Status Assessed by Ordinal Scale at Day 15"].status == "agree"
    assert effects["hazard ratio for Mortality Through Day 29"].status == "agree"
    subgroup = effects["rate ratio for recovery"]  # the oxygen subgroup's estimate: the registry posts none
    assert subgroup.status == "only_article" and "subgroup" in subgroup.note
    serious = by_subject(actt, "adverse_events")["serious adverse events"]
    assert serious.status == "agree" and "both give 131" in serious.note
    assert by_subject(actt, "adverse_events")["adverse events, grade 3–4"].status == "only_article"
    as_json = actt.to_dict()
    assert {item["subject"] for item in as_json["items"] if item["topic"] == "arms"} == {
        "Remdesivir",
        "Placebo",
    }


def test_reconcile_reports_values_that_differ(articles: Path, tmp_path: Path) -> None:
    dapa, actt = record_data(DAPA), record_data(ACTT)
    measures = dapa["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"]
    measures[0]["analyses"][0]["ciUpperLimit"] = "0.86"  # the interval differs, the estimate agrees
    measures[3]["analyses"][0]["paramValue"] = "0.80"  # the estimate differs
    started = actt["resultsSection"]["participantFlowModule"]["periods"][0]["milestones"][0]["achievements"]
    started[1]["numSubjects"] = "520"
    actt["resultsSection"]["adverseEventsModule"]["eventGroups"][1]["seriousNumAffected"] = 165
    kb = linked(articles, tmp_path, {DAPA: dapa, ACTT: actt})

    effects = by_subject(kb.reconcile(DAPA), "effect_estimates")
    primary = effects[
        "hazard ratio for Time to First Occurrence of Worsening Heart Failure or Cardiovascular Death"
    ]
    assert primary.status == "differ"
    assert "dapahf-abstract's interval 0.65 to 0.85, the registry's 0.65 to 0.86" in primary.note
    death = effects["hazard ratio for Time to Cardiovascular Death"]
    assert death.status == "differ" and "dapahf-abstract gives 0.82, the registry 0.8" in death.note

    result = kb.reconcile(ACTT)
    placebo = by_subject(result, "arms")["Placebo"]
    assert placebo.status == "differ" and placebo.conflict
    assert "actt1-news counts 521 randomised, the registry 520" in placebo.note
    assert by_subject(result, "arms")["Remdesivir"].status == "agree"
    serious = by_subject(result, "adverse_events")["serious adverse events"]
    assert serious.status == "differ" and "163 against 165" in serious.note


def test_registry_evidence_shows_in_the_competency_queries(articles: Path, tmp_path: Path) -> None:
    kb = linked(articles, tmp_path, {DAPA: record_data(DAPA)})
    trial = {"trial": str(RES[f"trial/{DAPA}"])}
    effects = kb.select(queries.load("effect_estimates", bindings=trial))
    registry = [r for r in effects if str(r.get("endpoint", "")).startswith("Time to")]
    assert {str(r["estimate"]) for r in registry} == {"0.74", "0.75", "0.7", "0.82", "0.83"}
    assert any(str(r.get("experimentalLabel")) == "Dapagliflozin 10 mg" for r in registry)
    arms = kb.select(queries.load("arms", bindings=trial))
    assert any(str(r["armLabel"]) == "Placebo" and int(r["randomized"]) == 2371 for r in arms)
    events = kb.select(queries.load("adverse_events", bindings=trial))
    assert any(str(r["term"]) == "serious adverse events" and str(r["percentage"]) == "37.8" for r in events)


def test_cli_link_a_record_with_results_then_reconcile(articles: Path, tmp_path: Path) -> None:
    home = tmp_path / "kb"
    shutil.copytree(articles, home)
    linked_record = run_cli("link", ACTT, "--record", str(RECORDS[ACTT]), home=home)
    assert linked_record.returncode == 0, linked_record.stderr
    text = run_cli("reconcile", ACTT, home=home)
    assert text.returncode == 0, text.stderr
    assert "arms \u2014 Remdesivir: AGREE" in text.stdout
    assert "effect estimates \u2014 rate ratio for Time to Recovery: AGREE" in text.stdout
    assert (
        f"registry  rate ratio 1.29 (1.12 to 1.49), P<0.001 for Time to Recovery  [{PAGE}{ACTT}]"
        in text.stdout
    )
    assert "adverse events \u2014 serious adverse events: AGREE" in text.stdout
    data = json.loads(run_cli("reconcile", ACTT, "--json", home=home).stdout)
    topics = [item["topic"] for item in data["items"]]
    assert topics.index("primary_endpoint") < topics.index("arms") < topics.index("effect_estimates")
    broken = copy.deepcopy(record_data(ACTT))
    broken["resultsSection"]["adverseEventsModule"]["eventGroups"][0]["seriousNumAffected"] = -1
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    refused = run_cli("link", ACTT, "--record", str(path), home=home)
    assert refused.returncode == 1 and "error:" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("0.74", "0.740", True),
        ("0.735", "0.74", True),
        ("0.74", "0.75", False),
        ("37.8", "37.80", True),
        ("24.62", "24.6", True),
        ("0.82", "0.8", False),
    ],
)
def test_numbers_agree_at_the_coarser_precision(a: str, b: str, same: bool) -> None:
    assert same_number(Decimal(a), Decimal(b)) is same


@pytest.mark.e2e
def test_api_reconcile_shows_the_per_estimate_items(  # type: ignore[no-untyped-def]
    articles: Path, tmp_path_factory: pytest.TempPathFactory, live_server
) -> None:
    import httpx

    home = linked(articles, tmp_path_factory.mktemp("api-results"), {DAPA: record_data(DAPA)}).home
    response = httpx.get(f"{live_server(home)}/api/reconcile/{DAPA}", timeout=30)
    assert response.status_code == 200
    items = [item for item in response.json()["items"] if item["topic"] == "effect_estimates"]
    primary = next(
        item for item in items if item["subject"].startswith("hazard ratio for Time to First Occurrence")
    )
    assert primary["status"] == "agree"
    assert [v["value"] for v in primary["article"]] == [0.74] and [
        v["value"] for v in primary["registry"]
    ] == [0.74]
    assert (
        primary["registry"][0]["source"] == PAGE + DAPA
        and primary["article"][0]["source"] == "dapahf-abstract"
    )
    arms = {item["subject"]: item for item in response.json()["items"] if item["topic"] == "arms"}
    assert arms["Placebo"]["registry"][0]["value"] == 2371


def test_groups_match_arms_by_their_words_and_event_rows_map_per_arm() -> None:
    data = record_data(DAPA)
    section = data["resultsSection"]
    section["participantFlowModule"]["groups"] = [
        {"id": "FG000", "title": "Dapagliflozin"},  # the arm's words, fewer of them
        {"id": "FG001", "title": "Placebo + recommended therapy"},  # more of them
    ]
    section["adverseEventsModule"]["otherEvents"] = [
        {
            "term": "Hypotension",
            "organSystem": "Vascular disorders",
            "stats": [{"groupId": "EG000", "numAffected": 10}, {"groupId": "EG001", "numAffected": 5}],
        }
    ]
    section["adverseEventsModule"]["eventGroups"][0]["otherNumAtRisk"] = 2368
    graph = registry_graph(data)
    trial = RES[f"trial/{DAPA}"]
    assert len(set(graph.objects(trial, TKB.hasArm))) == 2
    placebo = RES[f"arm/{DAPA}-placebo"]
    assert graph.value(placebo, TKB.randomizedCount) == Literal(2371, datatype=XSD.integer)
    rows = {
        graph.value(e, TKB.inArm): (
            graph.value(e, TKB.serious),
            graph.value(e, TKB.denominator),
            graph.value(e, TKB.percentage),
        )
        for e in graph.objects(trial, TKB.hasAdverseEvent)
        if str(graph.value(e, TKB.adverseEventTerm)) == "hypotension"
    }
    # Non-serious ("other") rows; the at-risk count from the group when the row has none (or nothing at all).
    assert rows == {
        RES[f"arm/{DAPA}-dapagliflozin-10-mg"]: (
            Literal(False),
            Literal(2368, datatype=XSD.integer),
            Literal("0.42", datatype=XSD.decimal),
        ),
        placebo: (Literal(False), None, None),
    }
