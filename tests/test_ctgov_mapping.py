"""Registry records (API v2 shape) parse into ``RegistryRecord`` and map to RDF in the registry graph."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, URIRef, namespace
from rdflib.namespace import OWL, PROV, RDF, RDFS, SKOS

from kb.ctgov import InvalidRecord, RecordMismatch, parse_record, record_to_graph, trial_link_triples
from kb.ctgov.mapping import phase_label, registry_cohort
from kb.ctgov.record import age_in_years
from kb.ctgov.resolve import lexicon_mentions, lexicon_resolver, no_mentions
from ontology import GRAPH, IDORG, RES, SCHEMA, TKB, ontology_graph

DATA = Path(__file__).parent / "data" / "ctgov"
READ_AT = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
KNOWN = {
    ("Drug", "Inotuzumab Ozogamicin"): "inotuzumab-ozogamicin",
    ("Drug", "Blincyto"): "blinatumomab",  # found through an other name, not the intervention name
    ("Organization", "National Cancer Institute"): "national-cancer-institute",
    ("Disease", "Multiple Myeloma"): "multiple-myeloma",
}


def resolve(kind: str, name: str) -> str | None:
    return KNOWN.get((kind, name))


def raw(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def mapped(name: str, **options: Any) -> tuple[URIRef, Graph]:
    nct = name.removesuffix(".json")
    record = parse_record((DATA / name).read_text(encoding="utf-8"), expected_nct_id=nct)
    options.setdefault("resolve", resolve)
    options.setdefault("mentions", no_mentions)
    return record_to_graph(record, retrieved_at=READ_AT, **options)


def values(graph: Graph, subject: URIRef, predicate: URIRef) -> set[Any]:
    return {o.toPython() if isinstance(o, Literal) else o for o in graph.objects(subject, predicate)}


def one(graph: Graph, subject: URIRef, predicate: URIRef) -> Any:
    found = values(graph, subject, predicate)
    assert len(found) == 1, (subject, predicate, found)
    return found.pop()


TRIAL = RES["trial/NCT03739814"]
PAGE = URIRef("https://clinicaltrials.gov/study/NCT03739814")


def test_shared_record_maps_its_facts() -> None:
    graph_iri, g = mapped("NCT03739814.json")
    assert graph_iri == GRAPH["registry/NCT03739814"]
    assert (TRIAL, RDF.type, TKB.ClinicalTrial) in g
    assert one(g, TRIAL, TKB.phase) == "Phase 2"
    assert one(g, TRIAL, TKB.overallStatus) == "SUSPENDED"
    assert one(g, TRIAL, TKB.whyStopped) == "Other - FDA Partial Clinical Hold"
    assert one(g, TRIAL, TKB.orgStudyId) == "A041703"
    assert one(g, TRIAL, TKB.allocation) == "NON_RANDOMIZED"
    assert one(g, TRIAL, TKB.masking) == "NONE"
    assert one(g, TRIAL, SCHEMA.name).startswith("Inotuzumab Ozogamicin and Blinatumomab")
    assert one(g, TRIAL, SCHEMA.alternateName).startswith("A Phase II Study")
    assert (TRIAL, TKB.startDate, Literal("2018-11-16", datatype=namespace.XSD.date)) in g
    assert one(g, TRIAL, TKB.sponsor) == RES["organization/national-cancer-institute"]
    assert one(g, RES["organization/national-cancer-institute"], TKB.agencyClass) == "NIH"


def test_shared_record_enrollment_and_eligibility_sit_on_the_registered_population() -> None:
    _, g = mapped("NCT03739814.json")
    cohort = registry_cohort("NCT03739814")
    assert (TRIAL, TKB.hasCohort, cohort) in g
    assert (cohort, TKB.enrolledCount, Literal(64, datatype=namespace.XSD.integer)) in g
    assert one(g, cohort, TKB.enrollmentType) == "ESTIMATED"
    assert (cohort, TKB.minimumAge, Literal(Decimal("18.00"), datatype=namespace.XSD.decimal)) in g
    assert one(g, cohort, TKB.minimumAgeText) == "18 Years"
    assert not values(g, cohort, TKB.maximumAge)
    assert one(g, cohort, TKB.sex) == "ALL"
    assert values(g, cohort, TKB.stdAge) == {"ADULT", "OLDER_ADULT"}


def test_shared_record_arms_interventions_and_drug_links() -> None:
    _, g = mapped("NCT03739814.json")
    ino, blina = RES["drug/inotuzumab-ozogamicin"], RES["drug/blinatumomab"]
    assert values(g, TRIAL, TKB.intervention) == {ino, blina}
    assert {"Besponsa", "CMC-544", "Inotuzumab Ozogamicin"} <= values(g, ino, SKOS.altLabel)
    assert {"Blincyto", "MT103", "AMG 103", "Blinatumomab"} <= values(g, blina, SKOS.altLabel)
    assert not values(g, blina, RDFS.label), "lexicon nodes keep their label in the lexicon graph"
    arms = values(g, TRIAL, TKB.hasArm)
    assert len(arms) == 2
    cohort1 = RES["arm/NCT03739814-cohort-1-newly-diagnosed-older-adults"]
    assert cohort1 in arms and one(g, cohort1, TKB.armType) == "EXPERIMENTAL"
    assert values(g, cohort1, TKB.intervention) == {ino, blina}


def test_shared_record_outcomes_officials_conditions() -> None:
    _, g = mapped("NCT03739814.json")
    primary = values(g, TRIAL, TKB.primaryEndpoint)
    assert len(primary) == 3 and len(values(g, TRIAL, TKB.secondaryEndpoint)) == 3
    labels = {one(g, node, RDFS.label): one(g, node, TKB.timeFrame) for node in primary}
    assert labels["Event-free survival (Cohort 1)"] == "At 1 year"
    assert all((node, RDF.type, TKB.RegistryOutcome) in g for node in primary)
    official = one(g, TRIAL, TKB.hasOfficial)
    assert one(g, official, SCHEMA.name) == "Matthew Wieduwilt"
    assert one(g, official, TKB.officialRole) == "PRINCIPAL_INVESTIGATOR"
    assert len(values(g, TRIAL, TKB.condition)) == 3


def test_links_and_provenance() -> None:
    graph_iri, g = mapped("NCT03739814.json")
    for triple in trial_link_triples("NCT03739814"):
        assert triple in g
    assert (TRIAL, SKOS.exactMatch, IDORG["clinicaltrials:NCT03739814"]) in g
    assert (TRIAL, TKB.registryRecord, PAGE) in g and (TRIAL, RDFS.seeAlso, PAGE) in g
    assert (PAGE, RDF.type, TKB.RegistryRecord) in g
    assert (PAGE, TKB.lastUpdatePosted, Literal("2023-04-04", datatype=namespace.XSD.date)) in g
    assert (PAGE, TKB.statusVerifiedDate, Literal("2023-04", datatype=namespace.XSD.gYearMonth)) in g
    assert one(g, PAGE, PROV.wasDerivedFrom) == URIRef(
        "https://clinicaltrials.gov/api/v2/studies/NCT03739814"
    )
    assert one(g, PAGE, TKB.retrievedAt) == READ_AT
    assert one(g, PAGE, PROV.generatedAtTime) == READ_AT
    assert one(g, PAGE, TKB.hasResults) is False
    assert one(g, graph_iri, PROV.wasDerivedFrom) == PAGE
    assert (graph_iri, RDF.type, PROV.Entity) in g


def test_every_ontology_term_used_is_defined_with_label_and_comment() -> None:
    ontology = ontology_graph()
    for name in ("NCT03739814.json", "NCT02003222.json", "NCT09999991.json"):
        _, g = mapped(name)
        terms = {p for p in g.predicates() if str(p).startswith(str(TKB))}
        terms |= {o for o in g.objects(None, RDF.type) if str(o).startswith(str(TKB))}
        for term in terms:
            assert (term, RDFS.label, None) in ontology, term
            assert (term, RDFS.comment, None) in ontology, term


def test_record_with_results() -> None:
    _, g = mapped("NCT02003222.json")
    trial, page = RES["trial/NCT02003222"], URIRef("https://clinicaltrials.gov/study/NCT02003222")
    assert one(g, page, TKB.hasResults) is True
    assert one(g, page, TKB.resultMeasure) == "Overall Survival (OS)"
    assert one(g, trial, TKB.phase) == "Phase 3"
    assert one(g, trial, TKB.allocation) == "RANDOMIZED"
    assert (trial, TKB.startDate, Literal("2013-12", datatype=namespace.XSD.gYearMonth)) in g
    assert one(g, trial, TKB.sponsor) == RES["organization/ecog-acrin-cancer-research-group"]
    assert one(g, trial, TKB.collaborator) == RES["organization/national-cancer-institute"]
    cohort = registry_cohort("NCT02003222")
    assert (cohort, TKB.enrolledCount, Literal(488, datatype=namespace.XSD.integer)) in g
    assert one(g, cohort, TKB.enrollmentType) == "ACTUAL"
    assert one(g, cohort, TKB.minimumAge) == Decimal("30.00") and one(g, cohort, TKB.maximumAge) == Decimal(
        "70.00"
    )
    assert one(g, cohort, TKB.healthyVolunteers) is False
    assert values(g, trial, TKB.intervention) == {RES["drug/blinatumomab"], RES["drug/cytarabine"]}
    biomarker = RES["intervention/laboratory-biomarker-analysis"]
    assert one(g, trial, TKB.otherIntervention) == biomarker
    assert (biomarker, RDF.type, TKB.Intervention) in g and (biomarker, RDF.type, TKB.Drug) not in g
    arm_d = RES["arm/NCT02003222-arm-d-blinatumomab-and-consolidation-chemotherapy"]
    assert RES["drug/blinatumomab"] in values(g, arm_d, TKB.intervention)
    assert biomarker in values(g, arm_d, TKB.otherIntervention)
    arm_c = RES["arm/NCT02003222-arm-c-consolidation-chemotherapy"]
    assert RES["drug/blinatumomab"] not in values(g, arm_c, TKB.intervention)
    assert one(g, trial, SCHEMA.keywords) == "MRD-negative"


def test_withdrawn_record_with_missing_modules() -> None:
    record = parse_record(raw("NCT09999991.json"), "NCT09999991")
    assert record.overall_status == "WITHDRAWN" and record.arms == () and record.primary_outcomes == ()
    assert record.lead_sponsor is None and record.enrollment is not None and record.enrollment.count == 0
    _, g = mapped("NCT09999991.json")
    trial = RES["trial/NCT09999991"]
    assert one(g, trial, TKB.phase) == "Phase 1/2"
    assert one(g, trial, TKB.whyStopped).startswith("No participants")
    assert one(g, trial, TKB.condition) == RES["disease/multiple-myeloma"]
    assert not values(g, trial, TKB.sponsor) and not values(g, trial, TKB.hasArm)
    assert not values(g, trial, TKB.primaryEndpoint)
    assert (
        registry_cohort("NCT09999991"),
        TKB.enrolledCount,
        Literal(0, datatype=namespace.XSD.integer),
    ) in g


def test_moved_record_keeps_the_old_trial_node_joined() -> None:
    record = parse_record(raw("NCT09999991.json"))
    _, g = record_to_graph(
        record, retrieved_at=READ_AT, resolve=resolve, mentions=no_mentions, aliases=["NCT01111111"]
    )
    assert (RES["trial/NCT09999991"], OWL.sameAs, RES["trial/NCT01111111"]) in g


def test_naive_retrieval_time_is_taken_as_utc() -> None:
    record = parse_record(raw("NCT09999991.json"))
    _, g = record_to_graph(
        record, retrieved_at=dt.datetime(2026, 1, 1), resolve=resolve, mentions=no_mentions
    )
    page = URIRef("https://clinicaltrials.gov/study/NCT09999991")
    assert one(g, page, TKB.retrievedAt) == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_unknown_fields_are_ignored() -> None:
    data = raw("NCT03739814.json")
    data["futureSection"] = {"anything": [1, 2, 3]}
    data["protocolSection"]["newModule"] = "text"
    data["protocolSection"]["designModule"]["enrollmentInfo"]["precision"] = "high"
    assert parse_record(data, "NCT03739814") == parse_record(raw("NCT03739814.json"), "NCT03739814")


def test_malformed_json_is_a_clear_error() -> None:
    with pytest.raises(InvalidRecord, match="malformed JSON") as bad:
        parse_record('{"protocolSection": {', "NCT03739814")
    assert bad.value.status == 422
    with pytest.raises(InvalidRecord, match="expected a JSON object"):
        parse_record("[1, 2]")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("designModule", "enrollmentInfo", "count"),
            "sixty",
            "protocolSection.designModule.enrollmentInfo.count",
        ),
        (("designModule", "enrollmentInfo", "count"), -3, "non-negative"),
        (("designModule", "phases"), "PHASE2", "protocolSection.designModule.phases: expected a list"),
        (("statusModule", "startDateStruct", "date"), "16 Nov 2018", "startDateStruct.date"),
        (("identificationModule", "briefTitle"), 42, "identificationModule.briefTitle: expected a string"),
        (("eligibilityModule", "healthyVolunteers"), "no", "healthyVolunteers: expected true or false"),
        (("armsInterventionsModule", "interventions"), [{"type": "DRUG"}], "interventions[0].name: missing"),
        (
            ("conditionsModule",),
            ["not", "an", "object"],
            "protocolSection.conditionsModule: expected an object",
        ),
    ],
)
def test_wrong_types_name_the_field(path: tuple[str, ...], value: Any, message: str) -> None:
    data = raw("NCT03739814.json")
    target = data["protocolSection"]
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
    with pytest.raises(InvalidRecord, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_record(data, "NCT03739814")


def test_missing_or_bad_nct_id() -> None:
    data = raw("NCT03739814.json")
    data["protocolSection"]["identificationModule"]["nctId"] = "A041703"
    with pytest.raises(InvalidRecord, match="not an NCT id"):
        parse_record(data)
    del data["protocolSection"]["identificationModule"]["nctId"]
    with pytest.raises(InvalidRecord, match="identificationModule.nctId: missing"):
        parse_record(data)


def test_record_for_another_trial_is_a_mismatch() -> None:
    with pytest.raises(RecordMismatch, match="is for NCT03739814, not NCT02003222") as wrong:
        parse_record(raw("NCT03739814.json"), expected_nct_id="NCT02003222")
    assert wrong.value.status == 422


def test_search_response_with_one_study_is_accepted() -> None:
    record = parse_record({"studies": [raw("NCT03739814.json")]}, "NCT03739814")
    assert record.nct_id == "NCT03739814"


@pytest.mark.parametrize(
    ("text", "years"),
    [("18 Years", "18.00"), ("6 Months", "0.50"), ("2 Weeks", "0.04"), ("30 Days", "0.08"), ("N/A", None)],
)
def test_ages_become_decimal_years(text: str, years: str | None) -> None:
    assert age_in_years(text) == (Decimal(years) if years else None)


@pytest.mark.parametrize(
    ("phases", "label"),
    [
        (["PHASE2"], "Phase 2"),
        (["PHASE1", "PHASE2"], "Phase 1/2"),
        (["EARLY_PHASE1"], "Early Phase 1"),
        (["NA"], None),
        ([], None),
    ],
)
def test_phase_labels(phases: list[str], label: str | None) -> None:
    assert phase_label(phases) == label


def test_lexicon_links_registry_names_to_kb_nodes() -> None:
    pytest.importorskip("kb.lexicon")
    _, g = mapped("NCT03739814.json", resolve=lexicon_resolver, mentions=lexicon_mentions)
    assert RES["drug/blinatumomab"] in values(g, TRIAL, TKB.intervention)
    assert RES["drug/inotuzumab-ozogamicin"] in values(g, TRIAL, TKB.intervention)
    efs = [n for n in values(g, TRIAL, TKB.primaryEndpoint) if "Event-free" in one(g, n, RDFS.label)]
    assert all(one(g, n, SKOS.broadMatch) == RES["endpoint/event-free-survival"] for n in efs)
