"""Several trials in one document: a news item on two trials where only one gives its registry id, and trial
names in their real forms (a word after the acronym, a number after a space, CamelCase)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.extract import extract
from kb.extract.trial import _CANDIDATE
from kb.ingest import parse_document, read_document
from kb.lexicon import load_lexicon
from kb.models import Entity

FRESH = Path(__file__).parent / "data" / "fresh"


def _trials(extraction) -> dict[str, Entity]:  # type: ignore[no-untyped-def]
    return {f.subject.label: f.subject for f in extraction.facts if f.subject.kind == "ClinicalTrial"}


def _values(extraction, trial: Entity, predicate: str) -> set[str]:  # type: ignore[no-untyped-def]
    out = set()
    for fact in extraction.facts:
        if fact.subject == trial and fact.predicate == predicate:
            obj = fact.object
            out.add(obj.label if isinstance(obj, Entity) else str(obj.value))
    return out


def test_two_trials_one_without_a_registry_id_keep_their_own_facts() -> None:
    extraction = extract(read_document(FRESH / "hfpef-two-trials-news.txt"), load_lexicon())
    trials = _trials(extraction)
    assert set(trials) == {"EMPEROR-Preserved", "DELIVER"}
    emperor, deliver = trials["EMPEROR-Preserved"], trials["DELIVER"]
    assert _values(extraction, emperor, "nctId") == {"NCT03057951"}
    assert _values(extraction, deliver, "nctId") == set()  # the id is EMPEROR-Preserved's, never DELIVER's
    assert _values(extraction, deliver, "fundedBy") == {"AstraZeneca"}
    assert _values(extraction, emperor, "fundedBy") == {"Boehringer Ingelheim", "Eli Lilly and Company"}
    assert _values(extraction, deliver, "intervention") == {"dapagliflozin"}
    assert _values(extraction, emperor, "intervention") == {"empagliflozin"}


def test_a_trial_cited_in_passing_is_not_split_off() -> None:
    text = (
        "Finerenone in Heart Failure\n\nIn the FINEARTS-HF trial (NCT04435626), 6001 patients were randomly "
        "assigned to finerenone or placebo. Earlier, the TOPCAT trial had tested spironolactone in a similar "
        "population. The primary outcome occurred in 1083 patients in the finerenone group.\n"
    )
    extraction = extract(parse_document("finearts.txt", text), load_lexicon())
    assert set(_trials(extraction)) == {"FINEARTS-HF"}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("In the EMPEROR-Reduced trial, patients", "EMPEROR-Reduced"),
        ("the CheckMate 227 trial enrolled", "CheckMate 227"),
        ("results of the KEYNOTE 189 study", "KEYNOTE 189"),
        ("the IMpower150 trial", "IMpower150"),
        ("the SUSTAIN Program trials", "SUSTAIN Program"),
        ("DESTINY-Breast01 (NCT03248492)", "DESTINY-Breast01"),
    ],
)
def test_trial_names_in_their_real_forms_are_candidates(text: str, name: str) -> None:
    assert name in [m.group(1) for m in _CANDIDATE.finditer(text)]


def test_passages_of_each_trial_are_marked_and_a_composite_primary_endpoint_is_kept_in_words() -> None:
    extraction = extract(read_document(FRESH / "hfpef-two-trials-news.txt"), load_lexicon())
    owners = {passage: trial.label for passage, trial in extraction.passage_trials}
    deliver = [p for p, label in owners.items() if label == "DELIVER"]
    emperor = [p for p, label in owners.items() if label == "EMPEROR-Preserved"]
    assert deliver and emperor and not set(deliver) & set(emperor)
    trials = _trials(extraction)
    assert _values(extraction, trials["DELIVER"], "primaryEndpointText") == {
        "a composite of worsening heart failure or cardiovascular death"
    }


def test_a_single_trial_document_marks_no_passage() -> None:
    extraction = extract(read_document(FRESH / "keynote189-summary.txt"), load_lexicon())
    assert extraction.passage_trials == ()


def test_a_sentence_about_the_primary_outcome_is_not_its_definition() -> None:
    text = (
        "Drug X in Heart Failure\n\nIn the ALPHA-HF trial (NCT01234567), 900 patients were randomly assigned "
        "to X or placebo. The effect of X on the primary outcome was consistent in patients with diabetes.\n"
    )
    extraction = extract(parse_document("alpha.txt", text), load_lexicon())
    assert not [f for f in extraction.facts if f.predicate == "primaryEndpointText"]


def test_a_three_arm_trial_gets_three_arms_and_values_only_where_the_text_ties_them() -> None:
    extraction = extract(read_document(FRESH / "checkmate067-abstract.txt"), load_lexicon())
    roles = {
        f.subject.label.split(" ", 2)[-1]: f.object.key  # type: ignore[union-attr]
        for f in extraction.facts
        if f.predicate == "armRole"
    }
    assert roles == {
        "nivolumab group": "ExperimentalArm",
        "nivolumab-plus-ipilimumab group": "ExperimentalArm",
        "ipilimumab group": "ActiveComparatorArm",
    }
    # "in 16.3%, 55.0%, and 27.3% of the patients in the nivolumab group, the nivolumab-plus-ipilimumab group,
    # and the ipilimumab group, respectively": in the stated order.
    adverse = {}
    for fact in extraction.facts:
        if fact.subject.kind == "AdverseEventCount" and fact.predicate == "percentage":
            adverse[fact.subject.label.split(", CheckMate 067 ")[-1]] = str(fact.object.value)  # type: ignore[union-attr]
    assert adverse == {
        "nivolumab group": "16.3",
        "nivolumab-plus-ipilimumab group": "55",
        "ipilimumab group": "27.3",
    }
    # With three arms, an estimate's comparison is not guessed from roles.
    assert not [f for f in extraction.facts if f.predicate in {"experimentalArm", "comparatorArm"}]


def test_a_dose_ranging_trial_gets_an_arm_per_dose_with_signed_values() -> None:
    extraction = extract(read_document(FRESH / "surmount1-news.txt"), load_lexicon())
    arms = {f.subject.label for f in extraction.facts if f.predicate == "armRole"}
    assert arms == {
        "SURMOUNT-1 tirzepatide 5 mg group",
        "SURMOUNT-1 tirzepatide 10 mg group",
        "SURMOUNT-1 tirzepatide 15 mg group",
        "SURMOUNT-1 placebo group",
    }
    values: dict[str, dict[str, str]] = {}
    for fact in extraction.facts:
        if fact.predicate in {"numericValue", "percentage"}:
            what, arm = fact.subject.label.split(", SURMOUNT-1 ")
            values.setdefault(what, {})[arm] = str(fact.object.value)  # type: ignore[union-attr]
    assert values["mean percentage change in weight at week 72 rate"] == {
        "tirzepatide 5 mg group": "-15",
        "tirzepatide 10 mg group": "-19.5",
        "tirzepatide 15 mg group": "-20.9",
        "placebo group": "-3.1",
    }
    assert values["discontinuation because of adverse events"] == {
        "tirzepatide 5 mg group": "4.3",
        "tirzepatide 10 mg group": "7.1",
        "tirzepatide 15 mg group": "6.2",
        "placebo group": "2.6",
    }


def test_a_parenthesised_list_of_adverse_events_keeps_each_items_name_and_the_stated_arm_order() -> None:
    text = (
        "Drug Y for Influenza\n\nIn the BETA-FLU trial (NCT07654321), 800 adults were randomly assigned in a 1:1 "
        "ratio to receive drug Y or placebo. The incidence of adverse events was similar in the two groups (any "
        "adverse event, 22.6% with drug Y vs. 23.9% with placebo; serious adverse events, 1.6% vs. 6.6%; and "
        "adverse events leading to discontinuation, 2.1% vs. 4.2%). The relative risk reduction was 89%; "
        "relative risk reduction, 89.1%.\n"
    )
    extraction = extract(parse_document("beta.txt", text), load_lexicon())
    found = set()
    for fact in extraction.facts:
        if fact.subject.kind == "AdverseEventCount" and fact.predicate == "percentage":
            term, arm = fact.subject.label.split(", BETA-FLU ")
            found.add((term, arm, str(fact.object.value)))  # type: ignore[union-attr]
    assert ("serious adverse events", "placebo group", "6.6") in found
    assert ("serious adverse events", "placebo group", "1.6") not in found
    assert ("any adverse event", "placebo group", "23.9") in found
    reductions = {
        str(f.object.value)  # type: ignore[union-attr]
        for f in extraction.facts
        if f.predicate == "estimate" and "relative risk reduction" in f.subject.label
    }
    assert "89.1" in reductions
