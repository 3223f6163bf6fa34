"""Unit tests of each extractor on small synthetic sentences (none taken from the evaluation documents)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kb.extract import extract
from kb.extract.numbers import duration, parse_int, parse_number
from kb.ingest import parse_document
from kb.models import Entity, Extraction, Value

HEADER = "Study Update\nThe phase 2 KRYPTO-4 trial (NCT01234567) is described here.\n"


def run(body: str, metadata: str = "") -> Extraction:
    return extract(parse_document("synthetic.txt", HEADER + body + "\n" + metadata))


def found(extraction: Extraction, predicate: str) -> set[object]:
    out: set[object] = set()
    for fact in extraction.facts:
        if fact.predicate == predicate:
            out.add(fact.object.key if isinstance(fact.object, Entity) else fact.object.value)
    return out


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Seventy-one", 71),
        ("twenty two", 22),
        ("nine", 9),
        ("1,204", 1204),
        ("a single", 1),
        ("ninety-nine", 99),
    ],
)
def test_number_words(text: str, number: int) -> None:
    assert parse_int(text) == number


def test_decimals_and_durations() -> None:
    assert parse_number("16.4") == Decimal("16.4")
    assert parse_int("16.4") is None
    assert duration("three", "year") == "P3Y" and duration("one", "years") == "P1Y"
    assert duration("6", "months") == "P6M" and duration("2.5", "years") is None


def test_trial_name_nct_phase_and_design() -> None:
    extraction = run("KRYPTO-4 is an open-label, multicenter, randomised study of 120 adults.")
    assert found(extraction, "trialName") == {"KRYPTO-4"}
    assert found(extraction, "nctId") == {"NCT01234567"}
    assert found(extraction, "phase") == {"Phase 2"}
    assert found(extraction, "designFeature") == {"open-label", "multicentre", "randomized"}


def test_design_features_of_trials_in_general_are_not_this_trials() -> None:
    assert not found(run("Larger randomized trials are needed."), "designFeature")


def test_group_prefix_and_cohort() -> None:
    extraction = extract(
        parse_document("x.txt", "Update\nThe SWOG S1234 Cohort 2 trial enrolled 40 patients.\n")
    )
    trial = next(f.subject for f in extraction.facts if f.subject.kind == "ClinicalTrial")
    assert trial.label == "S1234"
    assert found(extraction, "trialName") == {"S1234", "SWOG S1234"}
    assert found(extraction, "conductedBy") == {"swog"}
    assert {f.object.label for f in extraction.facts if f.predicate == "hasCohort"} == {"S1234 Cohort 2"}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("sentence", "predicate", "count"),
    [
        ("The study enrolled 212 participants.", "enrolledCount", 212),
        ("Forty-two patients were randomly assigned to each group.", "randomizedCount", 42),
        ("Of these, 98 adults were treated with the study drug.", "treatedCount", 98),
        ("Ninety patients were accrued and 81 were infused.", "treatedCount", 81),
    ],
)
def test_counts(sentence: str, predicate: str, count: int) -> None:
    assert count in found(run(sentence), predicate)


@pytest.mark.parametrize(
    ("sentence", "minimum", "maximum"),
    [
        ("Patients aged 45 to 79 years were eligible.", 45, 79),
        ("Participants ranged from 21 to 64 years old.", 21, 64),
        ("Adults aged 65 years or older took part.", 65, None),
    ],
)
def test_age_ranges(sentence: str, minimum: int, maximum: int | None) -> None:
    extraction = run(sentence)
    assert found(extraction, "minimumAge") == {Decimal(minimum)}
    assert found(extraction, "maximumAge") == ({Decimal(maximum)} if maximum else set())


def test_median_age_and_status() -> None:
    extraction = run("Adults with relapsed/refractory disease took part; the median age was 57 years.")
    assert found(extraction, "medianAge") == {Decimal(57)}
    assert found(extraction, "diagnosisStatus") == {"relapsed or refractory"}


def test_cycles_dose_route_and_order() -> None:
    extraction = run(
        "Patients received three or four cycles of ponatinib followed by up to six induction cycles of "
        "subcutaneous daratumumab at 16 mg/kg. The regimen was chemotherapy-free."
    )
    steps: dict[Entity, dict[str, object]] = {}
    for fact in extraction.facts:
        if fact.subject.kind == "RegimenStep":
            value = fact.object.key if isinstance(fact.object, Entity) else fact.object.value
            steps.setdefault(fact.subject, {})[fact.predicate] = value
    by_drug = {s["drug"]: s for s in steps.values()}
    assert by_drug["ponatinib"]["minCycles"] == 3 and by_drug["ponatinib"]["maxCycles"] == 4
    assert by_drug["ponatinib"]["stepOrder"] == 1 and by_drug["daratumumab"]["stepOrder"] == 2
    assert by_drug["daratumumab"]["maxCycles"] == 6 and "minCycles" not in by_drug["daratumumab"]
    assert by_drug["daratumumab"]["treatmentPhase"] == "induction"
    assert by_drug["daratumumab"]["route"] == "subcutaneous"
    assert by_drug["daratumumab"]["dose"] == "16 mg/kg"
    assert found(extraction, "chemotherapyFree") == {True}


def outcomes(extraction: Extraction) -> list[dict[str, object]]:
    records: dict[Entity, dict[str, object]] = {}
    for fact in extraction.facts:
        if fact.subject.kind == "OutcomeMeasurement":
            value = fact.object.key if isinstance(fact.object, Entity) else fact.object.value
            records.setdefault(fact.subject, {})[fact.predicate] = value
            if isinstance(fact.object, Value) and fact.object.unit:
                records[fact.subject]["unit"] = fact.object.unit
    return list(records.values())


@pytest.mark.parametrize(
    ("sentence", "endpoint", "value", "unit", "statistic", "time"),
    [
        ("The overall response rate was 64%.", "overall-response-rate", "64", "%", "rate", None),
        ("Two-year event-free survival was 48.5%.", "event-free-survival", "48.5", "%", "rate", "P2Y"),
        (
            "Median progression-free survival was 11.3 months.",
            "progression-free-survival",
            "11.3",
            "month",
            "median",
            None,
        ),
        ("In total, 81% of patients achieved MRD negativity.", "mrd-negativity", "81", "%", "rate", None),
        ("The median follow-up was 27 months.", "follow-up", "27", "month", "median", None),
    ],
)
def test_outcome_phrases(
    sentence: str, endpoint: str, value: str, unit: str, statistic: str, time: str | None
) -> None:
    records = outcomes(run(sentence))
    assert len(records) == 1, records
    record = records[0]
    assert record["measures"] == endpoint and record["numericValue"] == Decimal(value)
    assert record["unit"] == unit and record["statistic"] == statistic
    assert record.get("timePoint") == time


def test_hazard_ratio_arms_and_fractions() -> None:
    extraction = run(
        "Progression-free survival favoured the venetoclax arm over the placebo arm (hazard ratio, 0.55). "
        "Nearly two-thirds of participants completed the planned therapy. "
        "Complete remission was reached by 30 of 40 patients (75%)."
    )
    records = outcomes(extraction)
    ratio = next(r for r in records if r["statistic"] == "hazard ratio")
    assert ratio["numericValue"] == Decimal("0.55") and ratio["measures"] == "progression-free-survival"
    assert str(ratio["population"]).endswith("venetoclax") and str(ratio["comparator"]).endswith("placebo")
    completion = next(r for r in records if r["measures"] == "treatment-completion")
    assert completion["valueQualifier"] == "approximately" and completion["numericValue"] == Decimal("66.7")
    remission = next(r for r in records if r["measures"] == "complete-remission")
    assert (remission["numerator"], remission["denominator"], remission["numericValue"]) == (
        30,
        40,
        Decimal(75),
    )


def test_funders_with_roles() -> None:
    extraction = run(
        "The work was funded by the National Institutes of Health, sponsored by Novartis, and supported by "
        "grants from Amgen and AbbVie. The trial was conducted by the Children's Oncology Group."
    )
    roles = {}
    for fact in extraction.facts:
        if fact.predicate == "fundingRole":
            funder = next(
                f.object for f in extraction.facts if f.subject == fact.subject and f.predicate == "funder"
            )
            roles[funder.key] = fact.object.value  # type: ignore[union-attr]
    assert roles == {"national-institutes-of-health": "funding", "amgen": "grant", "abbvie": "grant"}
    assert found(extraction, "sponsor") == {"novartis"}
    assert found(extraction, "conductedBy") == {"childrens-oncology-group"}


def test_drug_class_targets_and_unknown_inn() -> None:
    extraction = run(
        "Zanvotamab, a bispecific antibody that binds BCMA on myeloma cells, was given weekly. "
        "Tisagenlecleucel is an autologous CAR T-cell therapy directed against CD19."
    )
    assert {"zanvotamab", "tisagenlecleucel"} <= found(extraction, "intervention")
    pairs = {
        (f.subject.key, f.predicate, f.object.key) for f in extraction.facts if isinstance(f.object, Entity)
    }
    assert ("zanvotamab", "drugClass", "bispecific-antibody") in pairs
    assert ("zanvotamab", "target", "bcma") in pairs
    assert ("tisagenlecleucel", "drugClass", "car-t-cell-therapy") in pairs
    assert ("tisagenlecleucel", "target", "cd19") in pairs


def test_markers_and_prior_conditions() -> None:
    extraction = run(
        "Eligible patients had Ph-positive, CD20-positive B-ALL; some had a history of breast cancer."
    )
    assert found(extraction, "positiveFor") == {"philadelphia-chromosome", "cd20"}
    assert found(extraction, "priorCondition") == {"breast-cancer"}
    assert "breast-cancer" not in found(extraction, "condition")


def test_publication_doi_date_and_author() -> None:
    extraction = run(
        "Results appear in Haematologica.",
        "References:\n- Rossi AB, et al. A trial. Haematologica. 2024 Mar 5; DOI: 10.3324/haematol.2024.1234.\n"
        "News Publication Date: 7-Mar-2024\n",
    )
    assert found(extraction, "doi") == {"10.3324/haematol.2024.1234"}
    assert found(extraction, "journal") == {"haematologica"}
    assert found(extraction, "firstAuthor") == {"Rossi AB"}
    assert found(extraction, "schema:datePublished") == {dt.date(2024, 3, 5), dt.date(2024, 3, 7)}
    assert found(extraction, "documentType") == {"news release"}


def test_a_registry_id_alone_names_the_trial() -> None:
    extraction = extract(parse_document("x.txt", "Update\nThe study (NCT07654321) enrolled 61 patients.\n"))
    trial = next(f.subject for f in extraction.facts if f.subject.kind == "ClinicalTrial")
    assert trial.key == trial.label == "NCT07654321"
    assert not found(extraction, "trialName")


def test_hazard_ratio_for_progression_or_death_is_about_pfs_and_decimals_do_not_end_clauses() -> None:
    records = outcomes(
        run(
            "Two-year progression-free survival was 61.5% versus 40.2% (hazard ratio for progression or death, 0.48)."
        )
    )
    assert {r["measures"] for r in records} == {"progression-free-survival"}
    assert {r["numericValue"] for r in records} == {Decimal("61.5"), Decimal("40.2"), Decimal("0.48")}


def test_funding_stated_in_a_closing_parenthesis() -> None:
    extraction = run(
        "Outcomes improved. (Funded by Pfizer; KRYPTO-4 ClinicalTrials.gov number, NCT01234567.)"
    )
    assert found(extraction, "fundedBy") == {"pfizer"}
