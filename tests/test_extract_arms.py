"""Arms and time points of outcome values on synthetic sentences, and an unseen news article end to end."""

from __future__ import annotations

import pytest
import support

from kb.extract import extract
from kb.facade import KnowledgeBase
from kb.ingest import parse_document
from kb.models import Entity, Extraction, Value
from kb.qa.linking import build_index

HEADER = "Study Update\nThe phase 3 KRYPTO-7 trial (NCT07654321) is described here.\n"
KEYNOTE = support.UNSEEN / "keynote.txt"


def run(body: str) -> Extraction:
    return extract(parse_document("synthetic.txt", HEADER + body + "\n"))


def outcomes(extraction: Extraction) -> dict[str, dict[str, object]]:
    """Each outcome's value, statistic, time point and population/comparator labels."""
    found: dict[str, dict[str, object]] = {}
    for fact in extraction.facts:
        if fact.subject.kind != "OutcomeMeasurement":
            continue
        row = found.setdefault(fact.subject.key, {})
        if isinstance(fact.object, Value):
            row[fact.predicate] = fact.object.value
        elif isinstance(fact.object, Entity):
            row[fact.predicate] = fact.object.label
    return found


def by_value(extraction: Extraction) -> dict[str, dict[str, object]]:
    return {str(row["numericValue"]): row for row in outcomes(extraction).values()}


def arms(extraction: Extraction) -> set[str]:
    return {
        f.object.label for f in extraction.facts if f.predicate == "hasArm" and isinstance(f.object, Entity)
    }


def test_time_point_between_endpoint_and_value_and_second_group() -> None:
    rows = by_value(
        run(
            "The rate of overall survival at 24 months was 61% in the study-drug group versus 45% in the "
            "control group."
        )
    )
    assert set(rows) == {"61", "45"}  # "24 months" is when, not a median
    assert rows["61"]["timePoint"] == "P24M" and rows["45"]["timePoint"] == "P24M"
    assert rows["61"]["population"] == "KRYPTO-7 study-drug group"
    assert rows["45"]["population"] == "KRYPTO-7 control group"


def test_with_phrases_name_the_document_groups() -> None:
    rows = by_value(
        run(
            "Median overall survival was 20 months in the dexamethasone-combination group and 11 months in the "
            "placebo-combination group. The overall response rate was 52% with the dexamethasone combination, "
            "compared with 20% with placebo."
        )
    )
    assert rows["52"]["population"] == "KRYPTO-7 dexamethasone-combination group"
    assert rows["20"]["population"] == "KRYPTO-7 placebo-combination group"


@pytest.mark.parametrize(
    ("sentence", "arm"),
    [
        (
            "The overall response rate was 52% with dexamethasone plus chemotherapy.",
            "dexamethasone plus chemotherapy",
        ),
        ("The overall response rate was 12% with placebo.", "placebo"),
        ("The overall response rate was 12% with chemotherapy alone.", "chemotherapy alone"),
        (
            "The overall response rate was 14% with standard of care, versus 30% otherwise.",
            "standard of care",
        ),
        ("The overall response rate was 9% among patients receiving placebo.", "placebo"),
        ("The overall response rate was 9% among patients who were assigned to observation.", "observation"),
    ],
)
def test_regimen_and_control_phrases_are_arms(sentence: str, arm: str) -> None:
    extraction = run(sentence)
    assert arms(extraction) == {f"KRYPTO-7 {arm} arm"}
    populations = {row["population"] for row in outcomes(extraction).values()}
    assert f"KRYPTO-7 {arm} arm" in populations


def test_in_the_arm_is_an_arm() -> None:
    rows = by_value(run("The overall response rate was 33% in the observation arm."))
    assert rows["33"]["population"] == "KRYPTO-7 observation arm"


@pytest.mark.parametrize(
    "sentence",
    [
        "Patients treated with steroids had an overall response rate of 40%.",
        "The overall response rate was 40% with steroids.",  # not a drug the lexicon knows, not a control
        "The overall response rate was 40% with grade 3 or higher events.",
        "The overall response rate was 40% with dexamethasone-related toxicity in few.",
        "The overall response rate was 40% with a median follow-up of 12 months.",
        "The overall response rate was 40% among patients with relapsed disease.",
    ],
)
def test_other_phrases_are_not_arms(sentence: str) -> None:
    extraction = run(sentence)
    assert arms(extraction) == set()
    assert {row["population"] for row in outcomes(extraction).values()} == {"KRYPTO-7 participants"}


def test_with_placebo_is_not_guessed_among_two_placebo_groups() -> None:
    extraction = run(
        "Survival was longer in the drug-placebo group than in the placebo-placebo group. "
        "The overall response rate was 12% with dexamethasone plus chemotherapy, versus 10% with placebo."
    )
    populations = {str(row["numericValue"]): row["population"] for row in outcomes(extraction).values()}
    assert populations["10"] == "KRYPTO-7 placebo arm"  # not one of the two groups it could be


def _values(kb: KnowledgeBase, question: str) -> list[tuple[float, str]]:
    answer = kb.ask(question)
    assert not answer.abstained, (question, answer)
    return [(float(v.value), v.subject) for v in answer.values]


def test_unseen_twelve_month_survival_per_arm(keynote_kb: KnowledgeBase) -> None:
    values = _values(keynote_kb, "What was the 12-month overall survival rate?")
    assert values == [
        (69.2, "KEYNOTE-189 pembrolizumab-combination group"),
        (49.4, "KEYNOTE-189 placebo-combination group"),
    ]


def test_unseen_response_rate_per_arm(keynote_kb: KnowledgeBase) -> None:
    values = _values(keynote_kb, "What was the objective response rate?")
    assert values == [
        (47.6, "KEYNOTE-189 pembrolizumab-combination group"),
        (18.9, "KEYNOTE-189 placebo-combination group"),
    ]


def test_unseen_hazard_ratio_is_the_comparison_of_the_arms(keynote_kb: KnowledgeBase) -> None:
    values = _values(keynote_kb, "What was the hazard ratio for death?")
    assert values == [(0.49, "KEYNOTE-189 pembrolizumab-combination group vs placebo-combination group")]


def test_arm_names_link_without_the_trial_name() -> None:
    trial, arm = "https://x/trial/T1", "https://x/arm/t1-placebo-combination"
    rows = [
        {"entity": trial, "type": "tkb#ClinicalTrial", "name": "KRYPTO-7", "predicate": "rdfs#label"},
        {
            "entity": arm,
            "type": "tkb#Arm",
            "name": "KRYPTO-7 placebo-combination group",
            "predicate": "rdfs#label",
        },
    ]
    index = build_index(rows, [])
    found = {
        (m.surface, m.entity.kind) for m in index.find("the KRYPTO-7 rate in the placebo-combination group")
    }
    assert found == {("KRYPTO-7", "ClinicalTrial"), ("placebo-combination group", "Arm")}


def test_unseen_question_naming_an_arm(keynote_kb: KnowledgeBase) -> None:
    values = _values(keynote_kb, "What was the overall survival rate in the placebo-combination group?")
    assert values == [(49.4, "KEYNOTE-189 placebo-combination group")]
